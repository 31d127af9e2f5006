// A Transpose that moves the unit batch axis, read only by per-head selections (docs/derivations.md
// §32): attention exports transpose [1, T, 3, h, d] by [2, 0, 3, 1, 4] to [3, 1, h, T, d] and take q, k
// and v with Slice(axis 0, one index) + Squeeze(axis 0), or Gather(axis 0, a scalar index). Moving an
// axis of extent 1 keeps the memory order, so the transposed tensor is the batchless transpose by
// [P0 − 1, P2 − 1, …], and each head a selection of its axis 0; with P1 = 0 every head is again a
// batch-1 tensor.

import type { Node } from '../../../onnx/model';
import { normaliseAxis } from '../../shapes';
import { identityAxis, selectAxis, sliceIndices } from '../axisMatrices';
import type { NormaliseContext } from '../context';
import { constIntegers, type DataValue } from '../values';
import { axesOf } from './reshapeLike';
import { sliceArguments } from './slice';

interface Head {
  index: number;
  nodes: Node[];
  output: string;
}

/** The head one reader takes from axis 0 (of the given extent), or undefined when it is not such a selection. */
function headOf(reader: Node, tensor: string, ctx: NormaliseContext, extent: number, rank: number): Head | undefined {
  // The tensor is the data input only, and every other input is a constant already known.
  const [data, ...rest] = reader.inputs;
  if (data !== tensor || rest.some((input) => input === tensor || (input !== '' && ctx.lookup(input)?.kind !== 'const'))) return undefined;
  if (reader.opType === 'Gather') {
    if (normaliseAxis(reader.int('axis', 0), rank) !== 0) return undefined;
    const indices = ctx.lookup(reader.inputs[1] ?? '');
    if (indices?.kind !== 'const' || indices.dims.length !== 0) return undefined;
    const [index] = constIntegers(indices);
    if (!Number.isInteger(index) || index < -extent || index >= extent) return undefined;
    return { index: index < 0 ? index + extent : index, nodes: [reader], output: reader.outputs[0] };
  }
  if (reader.opType !== 'Slice') return undefined;
  const { starts, ends, axes, steps } = sliceArguments(reader, ctx);
  if (axes.length !== 1 || normaliseAxis(axes[0], rank) !== 0 || steps[0] !== 1) return undefined;
  const selected = sliceIndices(extent, starts[0], ends[0], steps[0]);
  const squeeze = ctx.soleConsumer(reader.outputs[0]);
  if (selected.length !== 1 || squeeze?.opType !== 'Squeeze') return undefined;
  const squeezed = axesOf(squeeze, ctx, 13);
  if (!squeezed || squeezed.length !== 1 || normaliseAxis(squeezed[0], rank) !== 0) return undefined;
  return { index: selected[0], nodes: [reader, squeeze], output: squeeze.outputs[0] };
}

/**
 * Emits the transpose and one selection per head when every reader of the node's output takes one
 * head; returns false (nothing emitted) otherwise.
 */
export function emitHeadSlices(node: Node, ctx: NormaliseContext, x: DataValue, perm: readonly number[]): boolean {
  const full = [1, ...x.shape];
  if (perm[1] !== 0) return false;
  const readers = ctx.hiddenConsumers(node.outputs[0]);
  if (!readers || readers.length === 0) return false;
  const extent = full[perm[0]];
  const heads: Head[] = [];
  for (const reader of readers) {
    const head = headOf(reader, node.outputs[0], ctx, extent, full.length);
    if (!head) return false;
    heads.push(head);
  }
  const batchless = [perm[0], ...perm.slice(2)].map((p) => p - 1);
  const shape = batchless.map((p) => x.shape[p]);
  const transposed = batchless.every((p, i) => p === i)
    ? x
    : ctx.emit({ nodes: [node], op: { kind: 'transpose', perm: batchless }, inputs: [x], output: node.outputs[0], outputShape: shape, nonNegative: x.nonNegative });
  if (transposed === x) ctx.consume(node);
  for (const head of heads) {
    ctx.emit({
      nodes: head.nodes,
      op: { kind: 'axisMap', axes: [selectAxis(extent, [head.index]), ...shape.slice(1).map((d) => identityAxis(d))] },
      inputs: [transposed],
      output: head.output,
      outputShape: shape.slice(1),
      nonNegative: x.nonNegative,
    });
  }
  return true;
}
