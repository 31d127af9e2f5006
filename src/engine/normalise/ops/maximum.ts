// The elementwise maximum of two computed tensors, max(a, b) with b broadcasting to a (aligned to the
// right, each extent a's or 1): ONNX Max of two computed inputs, and Clip whose min is computed and whose
// max is absent or +∞ (openWakeWord's melspectrogram clamps at its own maximum − 80 dB). One 'maximum'
// layer (docs/derivations.md §27).

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import { constNumbers } from '../values';

/** Whether `small`, aligned to the right, broadcasts to `large` without changing it. */
function broadcastsInto(small: readonly number[], large: readonly number[]): boolean {
  if (small.length > large.length) return false;
  const offset = large.length - small.length;
  return small.every((d, i) => d === 1 || d === large[offset + i]);
}

/** The two computed operands of the node when it is a maximum of computed tensors; undefined otherwise. */
function operands(node: Node, ctx: NormaliseContext): [number, number] | undefined {
  const computed = (index: number) => {
    if (!ctx.hasInput(node, index)) return false;
    const kind = ctx.lookup(node.inputs[index])?.kind;
    return kind === 'data' || kind === 'padded';
  };
  if (node.opType === 'Max') return node.inputs.length === 2 && computed(0) && computed(1) ? [0, 1] : undefined;
  if (node.opType !== 'Clip' || node.opset < 11 || !computed(0) || !computed(1)) return undefined;
  if (computed(2)) throw unsupported(node, 'both bounds are computed tensors; only a computed min (with no max or max +Infinity) is supported');
  const max = ctx.optionalConstant(node, 2, 'max');
  const numbers = max ? constNumbers(max) : [Infinity];
  if (numbers.length !== 1 || numbers[0] !== Infinity) throw unsupported(node, 'a computed min together with a finite max is not supported (two layers would share one ONNX tensor)');
  return [0, 1];
}

/** When `node` is a maximum of two computed tensors, emits it as one layer and returns true. */
export function emitMaximum(node: Node, ctx: NormaliseContext): boolean {
  const pair = operands(node, ctx);
  if (!pair) return false;
  const x = ctx.data(node, pair[0], 'A');
  const y = ctx.data(node, pair[1], 'B');
  const [a, b] = broadcastsInto(y.shape, x.shape) ? [x, y] : broadcastsInto(x.shape, y.shape) ? [y, x] : [];
  if (!a || !b) throw unsupported(node, `takes the maximum of [1,${x.shape.join(',')}] and [1,${y.shape.join(',')}]; only one operand broadcasting to the other is supported`);
  ctx.emit({ nodes: [node], op: { kind: 'maximum' }, inputs: [a, b], output: node.outputs[0], outputShape: a.shape, nonNegative: a.nonNegative || b.nonNegative });
  return true;
}
