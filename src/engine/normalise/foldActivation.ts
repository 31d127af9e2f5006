// Element-wise activations whose inputs are all constants (masks, positional tables and scales
// computed from initializers) fold into constants, computed as onnxruntime computes them: for a float32
// tensor every step is rounded to float32 (so a HardSigmoid is round(round(α x) + β), not α x + β in
// float64), attributes included (a default α of 0.01 is the float32 nearest 0.01, as in the runtime's
// kernels). exp, tanh and log are the platform's float64 functions rounded once: within an ulp or two
// of the runtime's float32 approximations, not bit-identical.

import type { Node } from '../../onnx/model';
import { DataType } from '../../onnx/tensor';
import { checkNodeOutput, MAX_FOLDED_ELEMENTS } from '../limits';
import { broadcastShapes, type FullShape } from '../shapes';
import { broadcastBinary } from './constFold';
import type { NormaliseContext } from './context';
import { constNumbers, foldedConst, type ConstValue } from './values';

type Round = (v: number) => number;

const float32: Round = Math.fround;
const exact: Round = (v) => v;

/** f(x) per element, in the tensor's own precision (r rounds each step's result). */
type ElementMap = (node: Node, ctx: NormaliseContext, r: Round) => ((x: number) => number) | undefined;

const hardSigmoid = (alpha: number, beta: number, r: Round) => (x: number) => Math.max(0, Math.min(1, r(r(r(alpha) * x) + r(beta))));

/** Clip bounds from the attributes (before opset 11) or the optional inputs; undefined when a bound is computed. */
function clipBounds(node: Node, ctx: NormaliseContext): [number, number] | undefined {
  if (node.opset < 11) return [node.floatOrInfinity('min', -Infinity), node.floatOrInfinity('max', Infinity)];
  const bounds: number[] = [];
  for (const [index, absent] of [[1, -Infinity], [2, Infinity]]) {
    if (!ctx.hasInput(node, index)) {
      bounds.push(absent);
      continue;
    }
    const value = ctx.lookup(node.inputs[index]);
    if (value?.kind !== 'const') return undefined;
    const numbers = constNumbers(value);
    if (numbers.length !== 1) throw node.error(`${index === 1 ? 'min' : 'max'} '${value.name}' has ${numbers.length} values, expected a scalar`, index === 1 ? 'min' : 'max');
    bounds.push(numbers[0]);
  }
  return [bounds[0], bounds[1]];
}

const elementMaps = new Map<string, ElementMap>([
  ['Relu', () => (x) => Math.max(x, 0)],
  ['LeakyRelu', (node, _ctx, r) => {
    const alpha = r(node.float('alpha'));
    return (x) => (x >= 0 ? x : r(alpha * x));
  }],
  ['Clip', (node, ctx) => {
    const bounds = clipBounds(node, ctx);
    return bounds && ((x) => Math.min(Math.max(x, bounds[0]), bounds[1]));
  }],
  ['HardSigmoid', (node, _ctx, r) => hardSigmoid(node.float('alpha'), node.float('beta'), r)],
  ['HardSwish', (_node, _ctx, r) => {
    const gate = hardSigmoid(1 / 6, 0.5, r);
    return (x) => r(x * gate(x));
  }],
  ['Sigmoid', (_node, _ctx, r) => (x) => r(1 / (1 + Math.exp(-x)))],
  ['Tanh', (_node, _ctx, r) => (x) => r(Math.tanh(x))],
  ['Log', (_node, _ctx, r) => (x) => r(Math.log(x))],
  ['Sqrt', (_node, _ctx, r) => (x) => r(Math.sqrt(x))],
  ['Reciprocal', (_node, _ctx, r) => (x) => r(1 / x)],
]);

/** Max and Min of any number of constants, broadcast as numpy does. */
function foldExtremum(node: Node, ctx: NormaliseContext, values: ConstValue[]): void {
  const pick = node.opType === 'Max' ? Math.max : Math.min;
  let result: { values: Float64Array; shape: FullShape } = { values: constNumbers(values[0]), shape: values[0].dims };
  for (const next of values.slice(1)) {
    const shape = broadcastShapes(result.shape, next.dims);
    if (typeof shape !== 'string') checkNodeOutput(node, shape, MAX_FOLDED_ELEMENTS);
    const combined = broadcastBinary(result.values, result.shape, constNumbers(next), next.dims, pick);
    if (typeof combined === 'string') throw node.error(`inconsistent shapes: ${combined}`);
    result = combined;
  }
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], result.shape, values[0].dataType, result.values));
}

/**
 * Folds an activation node whose data inputs are all constants and returns true; false when one of
 * them is computed (the node is then a layer, handled by the caller).
 */
export function foldConstantActivation(node: Node, ctx: NormaliseContext): boolean {
  if (node.opType === 'Max' || node.opType === 'Min') {
    const values = node.inputs.filter((name) => name !== '').map((name) => ctx.lookup(name));
    if (values.length === 0 || values.some((value) => value?.kind !== 'const')) return false;
    foldExtremum(node, ctx, values as ConstValue[]);
    return true;
  }
  const x = ctx.hasInput(node, 0) ? ctx.lookup(node.inputs[0]) : undefined;
  const elementMap = elementMaps.get(node.opType);
  if (x?.kind !== 'const' || !elementMap) return false;
  const f = elementMap(node, ctx, x.dataType === DataType.FLOAT ? float32 : exact);
  if (!f) return false;
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], x.dims, x.dataType, constNumbers(x).map(f)));
  return true;
}
