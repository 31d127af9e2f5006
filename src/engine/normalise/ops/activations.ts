// Element-wise activations: Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Sigmoid, Tanh, Max/Min
// against one constant (a one-sided Clip: max(x, c) = Clip(x, c, +∞)), and Log, Sqrt, Reciprocal
// (slopes from the reachable interval only, docs/derivations.md §24). They share one handler
// and differ only in how their attributes map to the engine's Activation union (whether a sound
// bound exists for each is the engine's decision). A lone activation becomes an 'activation' layer;
// one that directly follows an affine map is fused into it by fusion.ts; one of constants is folded
// (foldActivation.ts).

import type { Node } from '../../../onnx/model';
import type { Activation } from '../../network';
import { unsupported, type NormaliseContext } from '../context';
import { foldConstantActivation } from '../foldActivation';
import { emitLoneHardSwish } from '../hardSwish';
import { emitMaximum } from './maximum';
import { constNumbers } from '../values';

type ActivationParser = (node: Node, ctx: NormaliseContext) => Activation;

/**
 * Clip bounds: attributes before opset 11, optional constant scalar inputs from then on (absent =
 * unbounded). A min of −∞ or a max of +∞ is no bound, which the clip rule handles as such.
 */
function clipBound(node: Node, ctx: NormaliseContext, index: number, role: 'min' | 'max'): number {
  if (node.opset < 11) return node.floatOrInfinity(role);
  const known = ctx.hasInput(node, index) ? ctx.lookup(node.inputs[index]) : undefined;
  // A computed bound is a maximum of two computed tensors (maximum.ts), not an activation.
  if (known && known.kind !== 'const') throw unsupported(node, `${role} '${node.inputs[index]}' is computed from the network input`);
  const value = ctx.optionalConstant(node, index, role);
  if (!value) return role === 'min' ? -Infinity : Infinity;
  const numbers = constNumbers(value);
  if (numbers.length !== 1) throw node.error(`${role} '${value.name}' has ${numbers.length} values, expected a scalar`, role);
  return numbers[0];
}

/**
 * A clip between two bounds, either of which may be infinite on its own side (no bound). A min of +∞
 * or a max of −∞ makes every output infinite: no bound of the analysis holds for that, so it is refused.
 */
function clip(node: Node, min: number, max: number, names: { min: string; max: string }): Activation {
  if (min === Infinity) throw node.error(`${names.min} is Infinity: every output would be +Infinity, which the analysis cannot bound`, 'min');
  if (max === -Infinity) throw node.error(`${names.max} is -Infinity: every output would be -Infinity, which the analysis cannot bound`, 'max');
  if (!(min <= max)) throw unsupported(node, `min ${min} exceeds max ${max}`);
  return { kind: 'clip', min, max };
}

/**
 * Max or Min of a computed tensor and a constant holding one value: exactly a Clip with one bound
 * infinite. The constant may broadcast, but must not add axes the data lacks.
 */
function oneSidedClip(node: Node, ctx: NormaliseContext): Activation {
  if (node.inputs.length !== 2) throw unsupported(node, `${node.opType} of ${node.inputs.length} inputs; only a computed tensor against one constant is supported`);
  const index = dataInputIndex(node, ctx);
  const constant = ctx.input(node, 1 - index, 'constant');
  if (constant.kind !== 'const') throw unsupported(node, `${node.opType} of two computed tensors is not a one-sided clip`);
  const numbers = constNumbers(constant);
  if (numbers.length !== 1) {
    throw unsupported(node, `${node.opType} against constant '${constant.name}' of ${numbers.length} values; only a single value is supported`);
  }
  // Unknown while fusion looks ahead (the affine output is not set yet): declined there, handled alone.
  const data = ctx.lookup(node.inputs[index]);
  if (data?.kind !== 'data' && data?.kind !== 'padded') throw unsupported(node, 'the data input is not known yet');
  const dataRank = data.shape.length + 1;
  if (constant.dims.length > dataRank) {
    throw unsupported(node, `constant '${constant.name}' of rank ${constant.dims.length} broadcasts the rank-${dataRank} input to a higher rank`);
  }
  const c = numbers[0];
  if (Number.isNaN(c)) throw unsupported(node, `constant '${constant.name}' is NaN`);
  const bound = { min: `constant '${constant.name}'`, max: `constant '${constant.name}'` };
  return node.opType === 'Max' ? clip(node, c, Infinity, bound) : clip(node, -Infinity, c, bound);
}

/** The input carrying the data: 0, except for Max/Min written with the constant first. */
function dataInputIndex(node: Node, ctx: NormaliseContext): number {
  if (node.opType !== 'Max' && node.opType !== 'Min') return 0;
  return ctx.hasInput(node, 0) && ctx.lookup(node.inputs[0])?.kind === 'const' ? 1 : 0;
}

const parsers = new Map<string, ActivationParser>([
  ['Relu', () => ({ kind: 'relu' })],
  ['LeakyRelu', (node) => ({ kind: 'leakyRelu', alpha: node.float('alpha') })],
  [
    'Clip',
    (node, ctx) => {
      const names = node.opset < 11 ? { min: "attribute 'min'", max: "attribute 'max'" } : { min: `min '${node.inputs[1]}'`, max: `max '${node.inputs[2]}'` };
      return clip(node, clipBound(node, ctx, 1, 'min'), clipBound(node, ctx, 2, 'max'), names);
    },
  ],
  ['HardSigmoid', (node) => ({ kind: 'hardSigmoid', alpha: node.float('alpha'), beta: node.float('beta') })],
  ['HardSwish', () => ({ kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 })],
  ['Sigmoid', () => ({ kind: 'sigmoid' })],
  ['Tanh', () => ({ kind: 'tanh' })],
  ['Max', oneSidedClip],
  ['Min', oneSidedClip],
  ['Log', () => ({ kind: 'log' })],
  ['Sqrt', () => ({ kind: 'sqrt' })],
  ['Reciprocal', () => ({ kind: 'reciprocal' })],
]);

export const ACTIVATION_OP_TYPES: ReadonlySet<string> = new Set(parsers.keys());

export function isActivationNode(node: Node): boolean {
  return node.domain === '' && parsers.has(node.opType);
}

export function parseActivation(node: Node, ctx: NormaliseContext): Activation {
  const parser = parsers.get(node.opType);
  if (!parser || node.domain !== '') throw unsupported(node, 'is not an element-wise activation the analysis knows');
  return parser(node, ctx);
}

/** Outputs that are ≥ 0 for every input: zero padding after them cannot change a max pool. */
export function isNonNegative(activation: Activation): boolean {
  switch (activation.kind) {
    case 'relu':
    case 'sigmoid':
    case 'hardSigmoid':
      return true;
    case 'clip':
      return activation.min >= 0;
    case 'sqrt':
      return true;
    default:
      return false;
  }
}

export function activationHandler(node: Node, ctx: NormaliseContext): void {
  if (foldConstantActivation(node, ctx)) return;
  if (node.opType === 'HardSigmoid' && emitLoneHardSwish(node, ctx, node.inputs[0])) return;
  if ((node.opType === 'Max' || node.opType === 'Clip') && emitMaximum(node, ctx)) return;
  const x = ctx.data(node, dataInputIndex(node, ctx));
  const activation = parseActivation(node, ctx);
  ctx.emit({
    nodes: [node],
    op: { kind: 'activation', activation },
    inputs: [x],
    output: node.outputs[0],
    outputShape: x.shape,
    nonNegative: isNonNegative(activation),
  });
}
