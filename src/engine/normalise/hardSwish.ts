// Hard-swish written out in elementary ops, recognised as one 'hardSwish' activation on a tensor t:
// - t · HardSigmoid(t)                          (y · clamp(α y + β, 0, 1), HardSigmoid's α and β)
// - Div(Mul(t, Clip(Add(t, c), 0, M)), M)       (paddle2onnx: y · relu6(y + 3) / 6 → α = 1/M, β = c/M)
// Every intermediate tensor must be read only by the next node of the pattern and not be a graph
// output, so the nodes can be absorbed. Products of two different computed tensors (squeeze-excitation)
// are not matched and stay unsupported.

import type { Node } from '../../onnx/model';
import type { Activation } from '../network';
import { UnsupportedNodeError, type NormaliseContext } from './context';
import { parseActivation } from './ops/activations';
import { constNumbers } from './values';

export interface HardSwishMatch {
  activation: Extract<Activation, { kind: 'hardSwish' }>;
  /** The absorbed nodes, in graph order. */
  nodes: Node[];
  /** The tensor holding g(t). */
  output: string;
}

function scalarConstant(ctx: NormaliseContext, name: string | undefined): number | undefined {
  const value = name ? ctx.lookup(name) : undefined;
  if (value?.kind !== 'const') return undefined;
  const numbers = constNumbers(value);
  return numbers.length === 1 ? numbers[0] : undefined;
}

/** The Mul reads t and the other tensor once each. */
function multiplies(mul: Node, t: string, other: string): boolean {
  return mul.inputs.length === 2 && ((mul.inputs[0] === t && mul.inputs[1] === other) || (mul.inputs[0] === other && mul.inputs[1] === t));
}

function clipRange(ctx: NormaliseContext, clip: Node): { min: number; max: number } | undefined {
  try {
    const activation = parseActivation(clip, ctx);
    return activation.kind === 'clip' ? activation : undefined;
  } catch (error) {
    if (error instanceof UnsupportedNodeError) return undefined;
    throw error;
  }
}

export function matchHardSwish(ctx: NormaliseContext, t: string): HardSwishMatch | undefined {
  const readers = ctx.hiddenConsumers(t);
  if (!readers || readers.length !== 2) return undefined;
  const mul = readers.find((n) => n.opType === 'Mul');
  const first = readers.find((n) => n !== mul);
  if (!mul || !first) return undefined;

  if (first.opType === 'HardSigmoid' && first.inputs[0] === t) {
    const gate = first.outputs[0];
    if (ctx.soleConsumer(gate) !== mul || !multiplies(mul, t, gate)) return undefined;
    const alpha = first.float('alpha', 0.2);
    const beta = first.float('beta', 0.5);
    if (!(alpha > 0) || !Number.isFinite(alpha) || !Number.isFinite(beta)) return undefined;
    return { activation: { kind: 'hardSwish', alpha, beta }, nodes: [first, mul], output: mul.outputs[0] };
  }

  if (first.opType === 'Add' && first.inputs.length === 2 && first.inputs.includes(t)) {
    const shift = scalarConstant(ctx, first.inputs[first.inputs[0] === t ? 1 : 0]);
    const clip = ctx.soleConsumer(first.outputs[0]);
    if (shift === undefined || clip?.opType !== 'Clip' || clip.inputs[0] !== first.outputs[0]) return undefined;
    const range = clipRange(ctx, clip);
    if (!range || range.min !== 0 || !(range.max > 0) || !Number.isFinite(range.max)) return undefined;
    const gate = clip.outputs[0];
    if (ctx.soleConsumer(gate) !== mul || !multiplies(mul, t, gate)) return undefined;
    const div = ctx.soleConsumer(mul.outputs[0]);
    if (div?.opType !== 'Div' || div.inputs[0] !== mul.outputs[0] || scalarConstant(ctx, div.inputs[1]) !== range.max) return undefined;
    return {
      activation: { kind: 'hardSwish', alpha: 1 / range.max, beta: shift / range.max },
      nodes: [first, clip, mul, div],
      output: div.outputs[0],
    };
  }
  return undefined;
}

/**
 * A hard-swish pattern on a tensor that no affine layer produced: when `node` opens one (the Add or
 * the HardSigmoid), emits it as a lone activation layer and returns true.
 */
export function emitLoneHardSwish(node: Node, ctx: NormaliseContext, t: string): boolean {
  const match = matchHardSwish(ctx, t);
  if (!match || match.nodes[0] !== node) return false;
  const x = ctx.data(node, node.inputs.indexOf(t));
  ctx.emit({
    nodes: match.nodes,
    op: { kind: 'activation', activation: match.activation },
    inputs: [x],
    output: match.output,
    outputShape: x.shape,
  });
  return true;
}
