// Output shapes of nodes the analysis refuses, so that the nodes after them are still checked and the
// pre-flight list names every unsupported node at once (not only those before the first failure).
// A guess is only ever used to keep checking: layers behind a placeholder are never analysed.

import type { Node } from '../../onnx/model';
import { broadcastShapes, normaliseAxis, type FullShape } from '../shapes';
import type { NormaliseContext } from './context';
import { constIntegers } from './values';

/** Operators whose output has the shape of their first input. */
const SAME_SHAPE = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Celu', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'Hardmax', 'HardSwish', 'InstanceNormalization', 'LayerNormalization', 'Log', 'LogSoftmax',
  'LpNormalization', 'MeanVarianceNormalization', 'Mish', 'Neg', 'Reciprocal', 'Round', 'Selu', 'Shrink', 'Sign',
  'Sin', 'Sinh', 'Softmax', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'ThresholdedRelu',
]);

/** Element-wise operators of any number of inputs: the output has their broadcast shape. */
const BROADCASTING = new Set([
  'Add', 'And', 'Div', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Max', 'Mean', 'Min', 'Mod',
  'Mul', 'Or', 'Pow', 'PRelu', 'Sub', 'Sum', 'Where', 'Xor',
]);

/** Reductions with axes (attribute, or input 1 in later opsets) and keepdims. */
const REDUCTIONS = new Set([
  'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSum', 'ReduceSumSquare',
]);

/** numpy matmul: batch axes broadcast, [.., n, k] × [.., k, m] → [.., n, m] (1-D operands get a unit axis). */
function matMulShape(a: FullShape, b: FullShape): FullShape | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  const left = a.length === 1 ? [1, a[0]] : a;
  const right = b.length === 1 ? [b[0], 1] : b;
  if (left[left.length - 1] !== right[right.length - 2]) return undefined;
  const batch = broadcastShapes(left.slice(0, -2), right.slice(0, -2));
  if (typeof batch === 'string') return undefined;
  const out = [...batch, ...(a.length === 1 ? [] : [left[left.length - 2]]), ...(b.length === 1 ? [] : [right[right.length - 1]])];
  return out;
}

function reduceShape(node: Node, ctx: NormaliseContext, input: FullShape): FullShape | undefined {
  const keep = node.int('keepdims', 1) !== 0;
  let axes: number[] | undefined = node.has('axes') ? node.ints('axes') : undefined;
  if (!axes && node.inputs[1]) {
    const value = ctx.lookup(node.inputs[1]);
    if (value?.kind !== 'const') return undefined;
    axes = constIntegers(value);
  }
  const reduced = new Set((axes && axes.length > 0 ? axes : input.map((_, i) => i)).map((a) => normaliseAxis(a, input.length)));
  if (reduced.has(undefined)) return undefined;
  return keep ? input.map((d, i) => (reduced.has(i) ? 1 : d)) : input.filter((_, i) => !reduced.has(i));
}

/** The full ONNX shape (batch axis first) of a tensor the normaliser has seen, if known. */
function fullShapeOf(name: string, ctx: NormaliseContext): FullShape | undefined {
  const value = name ? ctx.lookup(name) : undefined;
  if (value?.kind === 'data' || value?.kind === 'padded') return [1, ...value.shape];
  return value?.kind === 'const' ? value.dims : undefined;
}

/** The batchless output shape of a refused node, when its inputs' shapes or the file's declarations give it. */
export function outputShapeGuess(node: Node, ctx: NormaliseContext): readonly number[] | undefined {
  let full: FullShape | undefined;
  if (node.domain === '') {
    const shapes = node.inputs.map((name) => fullShapeOf(name, ctx));
    if (SAME_SHAPE.has(node.opType)) full = shapes[0];
    else if (BROADCASTING.has(node.opType) && shapes.length > 0 && shapes.every((s) => s !== undefined)) {
      let shape: FullShape | string = shapes[0]!;
      for (const next of shapes.slice(1)) shape = typeof shape === 'string' ? shape : broadcastShapes(shape, next!);
      full = typeof shape === 'string' ? undefined : shape;
    } else if (node.opType === 'MatMul' && shapes[0] && shapes[1]) full = matMulShape(shapes[0], shapes[1]);
    else if (REDUCTIONS.has(node.opType) && shapes[0]) full = reduceShape(node, ctx, shapes[0]);
  }
  if (full) return full.length >= 1 && full[0] === 1 ? full.slice(1) : undefined;
  const declared = ctx.graph.valueInfo.get(node.outputs[0])?.shape;
  if (!declared || declared.length < 2) return undefined;
  const [batch, ...rest] = declared;
  const staticRest = rest.every((d) => typeof d === 'number' && d > 0);
  return (batch === 1 || typeof batch === 'string') && staticRest ? (rest as number[]) : undefined;
}
