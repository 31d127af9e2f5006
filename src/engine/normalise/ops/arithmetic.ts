// Add, Sub, Mul, Div. Between two constants: folded. Between computed data and a constant that is
// uniform within each channel: a channelAffine layer (x + c, x − c, c − x, x · c, x / c); Add or Sub of
// any other constant of the data's shape: the same with the constant per element (constantOffset.ts).
// Add or Sub of two computed tensors of the same shape: an 'add' layer (signs [1, −1] for Sub). Mul of two computed
// tensors, one broadcasting to the other (squeeze-excitation gates): a 'mul' layer (docs/derivations.md
// §20); Div of two, the divisor broadcasting to the dividend: a 'mul' layer that divides (§28).
// Anything else (broadcasting both ways, a constant divided by a computed tensor) has no rule.

import type { Node } from '../../../onnx/model';
import { broadcastShapes, formatShape } from '../../shapes';
import { FLOAT_TYPES, unsupported, type NormaliseContext } from '../context';
import { checkNodeOutput, MAX_FOLDED_ELEMENTS } from '../../limits';
import { broadcastBinary } from '../constFold';
import { finishAffine } from '../fusion';
import { emitLoneHardSwish } from '../hardSwish';
import { emitConstantOffset } from './constantOffset';
import { constNumbers, finiteNumbers, foldedConst, type ConstValue, type DataValue } from '../values';

/** One value per channel (axis 1 of the [1, C, ...] data) of a constant broadcast against the data. */
export function perChannel(value: ConstValue, shape: readonly number[], node: Node): Float32Array | undefined {
  const full = [1, ...shape];
  const dims = value.dims;
  if (dims.length > full.length) return undefined;
  const aligned = [...new Array<number>(full.length - dims.length).fill(1), ...dims];
  const channels = full[1] ?? 1;
  const fits = aligned.every((d, i) => d === 1 || (i === 1 && d === channels));
  if (!fits) return undefined;
  const numbers = finiteNumbers(value, node);
  return numbers.length === channels ? Float32Array.from(numbers) : new Float32Array(channels).fill(numbers[0]);
}

/**
 * The values of a constant that varies along one batchless axis other than the channels (a [features]
 * vector against [tokens, features] data), with that axis; undefined for any other shape. Such a Mul or
 * Add is a channelAffine layer along that axis (docs/derivations.md §33), never fused with what follows:
 * per-channel constants and BatchNormalization fold along the channels, not along its axis.
 */
function alongOneAxis(value: ConstValue, shape: readonly number[], node: Node): { axis: number; values: Float32Array } | undefined {
  const full = [1, ...shape];
  if (value.dims.length > full.length) return undefined;
  const aligned = [...new Array<number>(full.length - value.dims.length).fill(1), ...value.dims];
  const varying = aligned.map((d, i) => (d === full[i] && d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (varying.length !== 1 || varying[0] < 2 || aligned.some((d, i) => d !== 1 && i !== varying[0])) return undefined;
  return { axis: varying[0] - 1, values: Float32Array.from(finiteNumbers(value, node)) };
}

type Op = 'Add' | 'Sub' | 'Mul' | 'Div';

const apply: Record<Op, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
};

function foldConstants(node: Node, ctx: NormaliseContext, a: ConstValue, b: ConstValue, op: Op): void {
  const shape = broadcastShapes(a.dims, b.dims);
  if (typeof shape !== 'string') checkNodeOutput(node, shape, MAX_FOLDED_ELEMENTS);
  const result = broadcastBinary(constNumbers(a), a.dims, constNumbers(b), b.dims, apply[op]);
  if (typeof result === 'string') throw node.error(`inconsistent shapes: ${result}`);
  // Integer division truncates (shape arithmetic such as size // 2).
  const values = op === 'Div' && !FLOAT_TYPES.has(a.dataType) ? result.values.map(Math.trunc) : result.values;
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], result.shape, a.dataType, values));
}

/** Whether `small` broadcasts to `large` without changing it: same rank, each extent equal or 1. */
function broadcastsInto(small: readonly number[], large: readonly number[]): boolean {
  return small.length === large.length && small.every((d, i) => d === large[i] || d === 1);
}

function product(node: Node, ctx: NormaliseContext, x: DataValue, y: DataValue): void {
  const [a, b] = broadcastsInto(y.shape, x.shape) ? [x, y] : broadcastsInto(x.shape, y.shape) ? [y, x] : [];
  if (!a || !b) {
    throw unsupported(node, `multiplies [1,${x.shape.join(',')}] and [1,${y.shape.join(',')}]; only a product where one factor broadcasts to the other is supported`);
  }
  ctx.emit({
    nodes: [node],
    op: { kind: 'mul' },
    inputs: [a, b],
    output: node.outputs[0],
    outputShape: a.shape,
    nonNegative: a.nonNegative && b.nonNegative,
  });
}

/** a / B b for computed a and b, b broadcasting to a (docs/derivations.md §28): a 'mul' layer that divides. */
function quotient(node: Node, ctx: NormaliseContext, a: DataValue, b: DataValue): void {
  if (!broadcastsInto(b.shape, a.shape)) {
    throw unsupported(node, `divides [1,${a.shape.join(',')}] by [1,${b.shape.join(',')}]; only a divisor that broadcasts to the dividend is supported`);
  }
  ctx.emit({ nodes: [node], op: { kind: 'mul', divide: true }, inputs: [a, b], output: node.outputs[0], outputShape: a.shape });
}

function binary(node: Node, ctx: NormaliseContext, op: Op): void {
  const a = ctx.input(node, 0, 'A');
  const b = ctx.input(node, 1, 'B');
  if (a.kind === 'const' && b.kind === 'const') return foldConstants(node, ctx, a, b, op);
  if (a.kind !== 'const' && b.kind !== 'const') {
    const x = ctx.data(node, 0, 'A');
    const y = ctx.data(node, 1, 'B');
    if (op === 'Mul') return product(node, ctx, x, y);
    if (op === 'Div') return quotient(node, ctx, x, y);
    if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
      throw unsupported(node, `${op === 'Add' ? 'adds' : 'subtracts'} [1,${x.shape.join(',')}] and [1,${y.shape.join(',')}]; only same-shape operands are supported`);
    }
    ctx.emit({
      nodes: [node],
      op: op === 'Add' ? { kind: 'add' } : { kind: 'add', signs: [1, -1] },
      inputs: [x, y],
      output: node.outputs[0],
      outputShape: x.shape,
      nonNegative: op === 'Add' && x.nonNegative && y.nonNegative,
    });
    return;
  }
  const dataIndex = a.kind === 'const' ? 1 : 0;
  if (op === 'Add' && emitLoneHardSwish(node, ctx, node.inputs[dataIndex])) return;
  const x = ctx.data(node, dataIndex, dataIndex === 0 ? 'A' : 'B');
  const constant = (dataIndex === 0 ? b : a) as ConstValue;
  const byChannel = perChannel(constant, x.shape, node);
  const byAxis = byChannel ? undefined : alongOneAxis(constant, x.shape, node);
  const c = byChannel ?? byAxis?.values;
  if (!c && (op === 'Add' || op === 'Sub')) return emitConstantOffset(node, ctx, x, constant, op === 'Sub' && dataIndex === 1 ? -1 : 1, op === 'Sub' && dataIndex === 0 ? -1 : 1);
  if (!c) {
    throw unsupported(node, `${op} with constant '${constant.name}' of dims ${formatShape(constant.dims)}, which does not vary along one axis of [1,${x.shape.join(',')}] only`);
  }
  const channels = c.length;
  let scale: Float32Array = new Float32Array(channels).fill(1);
  let shift: Float32Array = new Float32Array(channels);
  switch (op) {
    case 'Add':
      shift = c;
      break;
    case 'Sub':
      if (dataIndex === 0) shift = c.map((v) => -v);
      else {
        scale = scale.fill(-1);
        shift = c;
      }
      break;
    case 'Mul':
      scale = c;
      break;
    case 'Div':
      if (dataIndex === 1) throw unsupported(node, 'divides a constant by a computed tensor (not affine)');
      scale = c.map((v) => 1 / v);
      break;
  }
  if (byAxis) {
    const linear = { kind: 'channelAffine' as const, scale, shift, axis: byAxis.axis };
    ctx.emit({ nodes: [node], op: { kind: 'affine', linear }, inputs: [x], output: node.outputs[0], outputShape: x.shape });
    return;
  }
  finishAffine(ctx, [node], { kind: 'channelAffine', scale, shift }, x, node.outputs[0], x.shape);
}

export const add = (node: Node, ctx: NormaliseContext): void => binary(node, ctx, 'Add');
export const sub = (node: Node, ctx: NormaliseContext): void => binary(node, ctx, 'Sub');
export const mul = (node: Node, ctx: NormaliseContext): void => binary(node, ctx, 'Mul');
export const div = (node: Node, ctx: NormaliseContext): void => binary(node, ctx, 'Div');
