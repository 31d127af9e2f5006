// A Network with its operators built once (weights widened lazily by the operators themselves), so an
// ε sweep, the radius search and the forward pass share them.
import { activationRange } from './activations';
import { UnsupportedLayerError } from './errors';
import { NETWORK_INPUT, type Activation, type Layer, type Network, type Shape, type TensorRef } from './network';
import { AvgPoolOperator, GlobalAvgPoolOperator } from './operators/avgPool';
import { AxisMapOperator } from './operators/axisMap';
import { countedOperator, newCounters, type OperatorCounters } from './operators/countingOperator';
import type { AffineOperator, LinearOperator } from './operators/linearOperator';
import type { LayerNormSpec } from './operators/layerNorm';
import { MaxPool } from './operators/maxPool';
import { defaultBackend, type OperatorBackend } from './native/kernels';
import { createAffineOperator } from './operators/registry';
import { transposeIndex } from './operators/transpose';
import { matMulGeometry, matMulOutputShape, type MatMulGeometry } from './operators/batchedMatMul';
import { softmaxGroups, type SoftmaxGroups } from './operators/softmax';

export type PreparedOp =
  | { kind: 'affine'; affine: AffineOperator }
  | { kind: 'activation' }
  | { kind: 'maxPool'; pool: MaxPool }
  /** A bias-free linear map with weights ≥ 0: average pooling and the per-axis maps (axisMap.ts). */
  | { kind: 'linearPool'; linear: LinearOperator }
  | { kind: 'reshape' }
  | { kind: 'add'; signs: number[] }
  | { kind: 'concat'; outer: number; blocks: number[] }
  /** out[k] = in[source[k]]. */
  | { kind: 'transpose'; source: Int32Array }
  | { kind: 'softmax'; groups: SoftmaxGroups }
  | { kind: 'matMul'; geometry: MatMulGeometry }
  /** out[k] = a[k] · b[source[k]] (b broadcast to a's shape). */
  | { kind: 'mul'; source: Int32Array; divide: boolean }
  | { kind: 'layerNorm'; spec: LayerNormSpec }
  /** Output o is the largest of in[window[o · width + s]], s < width. */
  | { kind: 'reduceMax'; window: Int32Array; width: number }
  /** out[k] = max(a[k], b[source[k]]). */
  | { kind: 'maximum'; source: Int32Array };

export interface PreparedLayer {
  layer: Layer;
  op: PreparedOp;
  inSizes: number[];
  outSize: number;
}

export interface PreparedNetwork {
  network: Network;
  /** Which operators conv and dense layers run on (the native float64 kernels or the TypeScript reference). */
  backend: OperatorBackend;
  /** Applications and multiply-adds of the conv, dense and affine operators so far. */
  counters: OperatorCounters;
  inputSize: number;
  layers: PreparedLayer[];
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

function layerName(layer: Layer, index: number): string {
  return `layer ${index} '${layer.label}' [${layer.nodes.join(', ')}]`;
}

/** Activations with a slope rule (activations.ts); anything else is refused by node name. */
function checkActivation(activation: Activation, layer: Layer): void {
  const fail = (reason: string) => {
    throw new UnsupportedLayerError(layer.nodes, reason);
  };
  switch (activation.kind) {
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'log':
    case 'sqrt':
    case 'reciprocal':
      return;
    case 'power':
      if (!Number.isFinite(activation.exponent)) fail(`Pow exponent ${activation.exponent} is not finite`);
      return;
    case 'leakyRelu':
      if (!Number.isFinite(activation.alpha)) fail(`LeakyRelu alpha ${activation.alpha} is not finite`);
      return;
    case 'clip':
      if (!(activation.min <= activation.max)) fail(`Clip min ${activation.min} > max ${activation.max}`);
      return;
    case 'hardSigmoid':
      if (!Number.isFinite(activation.alpha) || !Number.isFinite(activation.beta)) fail('HardSigmoid alpha/beta not finite');
      return;
    case 'hardSwish':
      if (!(activation.alpha > 0 && Number.isFinite(activation.alpha)) || !Number.isFinite(activation.beta)) {
        fail(`HardSwish needs a finite alpha > 0 and a finite beta, got ${activation.alpha}, ${activation.beta}`);
      }
      return;
    default:
      fail(`activation '${(activation as { kind: string }).kind}' has no slope rule`);
  }
}

/** Multiply-adds of one application of an affine layer's linear map. */
function multiplyAddsOf(params: Layer['op'] & { kind: 'affine' }, inSize: number, outSize: number): number {
  const linear = params.linear;
  switch (linear.kind) {
    case 'conv':
      return outSize * linear.weightShape[1] * linear.weightShape[2] * linear.weightShape[3];
    case 'conv3d':
      return outSize * linear.weightShape[1] * linear.weightShape[2] * linear.weightShape[3] * linear.weightShape[4];
    case 'convTranspose':
    case 'convTranspose3d':
      // One product per (input value, output channel of its group, kernel tap).
      return inSize * linear.weightShape.slice(1).reduce((a, b) => a * b, 1);
    case 'dense':
      return linear.outFeatures * linear.inFeatures * (linear.rows ?? 1);
    case 'channelAffine':
      return outSize;
  }
}

export function prepareNetwork(network: Network, backend: OperatorBackend = defaultBackend()): PreparedNetwork {
  const inputSize = sizeOf(network.inputShape);
  const counters = newCounters();
  const sizes: number[] = [];
  const sizeOfRef = (ref: TensorRef, name: string): number => {
    if (ref === NETWORK_INPUT) return inputSize;
    if (!Number.isInteger(ref) || ref < 0 || ref >= sizes.length) throw new Error(`${name}: input ${ref} is not an earlier layer`);
    return sizes[ref];
  };
  const layers = network.layers.map((layer, index): PreparedLayer => {
    const name = layerName(layer, index);
    if (layer.inputs.length === 0 || layer.inputs.length !== layer.inputShapes.length) {
      throw new Error(`${name}: ${layer.inputs.length} inputs but ${layer.inputShapes.length} input shapes`);
    }
    const inSizes = layer.inputs.map((ref, k) => {
      const size = sizeOfRef(ref, name);
      if (size !== sizeOf(layer.inputShapes[k])) {
        throw new Error(`${name}: input ${k} has ${size} values but shape [${layer.inputShapes[k].join(', ')}]`);
      }
      return size;
    });
    const outSize = sizeOf(layer.outputShape);
    const single = () => {
      if (inSizes.length !== 1) throw new Error(`${name}: expects one input, has ${inSizes.length}`);
    };
    const expectOut = (size: number) => {
      if (size !== outSize) throw new Error(`${name}: computes ${size} values but declares output [${layer.outputShape.join(', ')}]`);
    };
    let op: PreparedOp;
    const lop = layer.op;
    switch (lop.kind) {
      case 'affine': {
        single();
        if (lop.activation) checkActivation(lop.activation, layer);
        const built = createAffineOperator(lop.linear, layer.inputShapes[0], name, backend);
        expectOut(built.linear.outSize);
        const affine = { linear: countedOperator(built.linear, multiplyAddsOf(lop, built.linear.inSize, built.linear.outSize), counters), bias: built.bias };
        op = { kind: 'affine', affine };
        break;
      }
      case 'activation':
        single();
        checkActivation(lop.activation, layer);
        expectOut(inSizes[0]);
        op = { kind: 'activation' };
        break;
      case 'maxPool':
        single();
        op = { kind: 'maxPool', pool: new MaxPool(lop, layer.inputShapes[0], layer.outputShape, name) };
        break;
      case 'avgPool':
        single();
        op = { kind: 'linearPool', linear: new AvgPoolOperator(lop, layer.inputShapes[0], layer.outputShape, name) };
        break;
      case 'globalAvgPool':
        single();
        op = { kind: 'linearPool', linear: new GlobalAvgPoolOperator(layer.inputShapes[0], layer.outputShape, name) };
        break;
      case 'axisMap':
        single();
        op = { kind: 'linearPool', linear: new AxisMapOperator(lop.axes, layer.inputShapes[0], layer.outputShape, name) };
        break;
      case 'reshape':
        single();
        expectOut(inSizes[0]);
        op = { kind: 'reshape' };
        break;
      case 'transpose': {
        single();
        const { outputShape, source } = transposeIndex(layer.inputShapes[0], lop.perm, name);
        if (outputShape.length !== layer.outputShape.length || outputShape.some((d, i) => d !== layer.outputShape[i])) {
          throw new Error(`${name}: transposing [${layer.inputShapes[0].join(', ')}] by [${lop.perm.join(', ')}] gives [${outputShape.join(', ')}], declared [${layer.outputShape.join(', ')}]`);
        }
        op = { kind: 'transpose', source };
        break;
      }
      case 'softmax':
        single();
        expectOut(inSizes[0]);
        op = { kind: 'softmax', groups: softmaxGroups(layer.inputShapes[0], lop.axis, lop.flattenTail ?? false, name) };
        break;
      case 'matMul': {
        const [aShape, bShape] = layer.inputShapes;
        const geometry = layer.inputs.length === 2 ? matMulGeometry(aShape, bShape) : 'needs two inputs';
        if (typeof geometry === 'string') throw new Error(`${name}: ${geometry}`);
        const shape = matMulOutputShape(aShape, geometry);
        if (shape.length !== layer.outputShape.length || shape.some((d, i) => d !== layer.outputShape[i])) {
          throw new Error(`${name}: the product is [${shape.join(', ')}], declared [${layer.outputShape.join(', ')}]`);
        }
        op = { kind: 'matMul', geometry };
        break;
      }
      case 'mul': {
        const [aShape, bShape] = layer.inputShapes;
        const fits = layer.inputs.length === 2 && bShape.length === aShape.length && bShape.every((d, i) => d === aShape[i] || d === 1);
        if (!fits || sizeOf(aShape) !== outSize) {
          throw new Error(`${name}: a product needs b [${bShape?.join(', ')}] broadcasting to a [${aShape.join(', ')}] = the output [${layer.outputShape.join(', ')}]`);
        }
        op = { kind: 'mul', source: broadcastSource(aShape, bShape), divide: lop.divide === true };
        break;
      }
      case 'layerNorm': {
        single();
        expectOut(inSizes[0]);
        op = { kind: 'layerNorm', spec: layerNormSpec(lop, layer, name) };
        break;
      }
      case 'maximum': {
        const [aShape, bShape] = layer.inputShapes;
        const padded = bShape && bShape.length <= aShape.length ? [...new Array<number>(aShape.length - bShape.length).fill(1), ...bShape] : undefined;
        if (layer.inputs.length !== 2 || !padded || padded.some((d, i) => d !== aShape[i] && d !== 1) || sizeOf(aShape) !== outSize) {
          throw new Error(`${name}: a maximum needs b [${bShape?.join(', ')}] broadcasting to a [${aShape.join(', ')}] = the output [${layer.outputShape.join(', ')}]`);
        }
        op = { kind: 'maximum', source: broadcastSource(aShape, padded) };
        break;
      }
      case 'reduceMax': {
        single();
        const { window, width } = reductionWindows(layer.inputShapes[0], lop.axes, name);
        expectOut(window.length / width);
        op = { kind: 'reduceMax', window, width };
        break;
      }
      case 'add':
        if (inSizes.length < 2 || inSizes.some((s) => s !== outSize)) {
          throw new UnsupportedLayerError(layer.nodes, 'Add needs two or more inputs of the output shape (no broadcasting)');
        }
        if (lop.signs && (lop.signs.length !== inSizes.length || lop.signs.some((s) => s !== 1 && s !== -1))) {
          throw new Error(`${name}: signs [${lop.signs.join(', ')}] must be ±1, one per input`);
        }
        op = { kind: 'add', signs: lop.signs ?? inSizes.map(() => 1) };
        break;
      case 'concat': {
        const axis = lop.axis;
        const rank = layer.outputShape.length;
        if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
          throw new Error(`${name}: concat axis ${axis} outside the batchless output rank ${rank}`);
        }
        const outer = sizeOf(layer.outputShape.slice(0, axis));
        const blocks = layer.inputShapes.map((s) => sizeOf(s.slice(axis)));
        expectOut(outer * blocks.reduce((a, b) => a + b, 0));
        op = { kind: 'concat', outer, blocks };
        break;
      }
      default:
        throw new UnsupportedLayerError(layer.nodes, `layer kind '${(lop as { kind: string }).kind}' has no rule`);
    }
    sizes.push(outSize);
    return { layer, op, inSizes, outSize };
  });
  sizeOfRef(network.output, 'network output');
  return { network, backend, counters, inputSize, layers };
}

/**
 * An interval holding every value of a tensor: the output range of the activation that produces it
 * (ReLU ≥ 0, Clip [min, max], …), or the whole line (the network input, linear and other layers).
 */
export function inputRange(prepared: PreparedNetwork, ref: TensorRef): readonly [number, number] {
  if (ref === NETWORK_INPUT) return [-Infinity, Infinity];
  const op = prepared.layers[ref].layer.op;
  return op.kind === 'affine' && op.activation ? activationRange(op.activation) : op.kind === 'activation' ? activationRange(op.activation) : [-Infinity, Infinity];
}

/** For each output of a reduction over `axes` of `shape` (C order), the C-order indices of its window. */
export function reductionWindows(shape: Shape, axes: readonly number[], name: string): { window: Int32Array; width: number } {
  const reduced = new Set(axes);
  if (axes.length === 0 || reduced.size !== axes.length || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= shape.length)) {
    throw new Error(`${name}: reduced axes [${axes.join(', ')}] do not fit the batchless rank ${shape.length}`);
  }
  const size = sizeOf(shape);
  const width = axes.reduce((p, a) => p * shape[a], 1);
  const window = new Int32Array(size);
  const filled = new Int32Array(size / width);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < size; k++) {
    let out = 0;
    for (let d = 0; d < shape.length; d++) if (!reduced.has(d)) out = out * shape[d] + index[d];
    window[out * width + filled[out]++] = k;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return { window, width };
}

/** Group size, ε and the widened scale and bias of a layer normalisation, checked against its shape. */
function layerNormSpec(op: Extract<Layer['op'], { kind: 'layerNorm' }>, layer: Layer, name: string): LayerNormSpec {
  const shape = layer.outputShape;
  if (!Number.isInteger(op.axis) || op.axis < 0 || op.axis >= shape.length) {
    throw new Error(`${name}: layer normalisation axis ${op.axis} outside the batchless rank ${shape.length}`);
  }
  const groupSize = sizeOf(shape.slice(op.axis));
  for (const [role, values] of [['scale', op.scale], ['bias', op.bias]] as const) {
    if (values && values.length !== groupSize) throw new Error(`${name}: ${role} has ${values.length} values, expected ${groupSize}`);
  }
  if (!(op.epsilon >= 0) || !Number.isFinite(op.epsilon)) throw new UnsupportedLayerError(layer.nodes, `epsilon ${op.epsilon} is not a finite value ≥ 0`);
  return {
    groupSize,
    epsilon: op.epsilon,
    scale: op.scale ? Float64Array.from(op.scale) : null,
    bias: op.bias ? Float64Array.from(op.bias) : null,
  };
}

/** For each C-order index of shape `to`, the index of the value of `from` (same rank, extents equal or 1) it replicates. */
export function broadcastSource(to: Shape, from: Shape): Int32Array {
  const size = sizeOf(to);
  const source = new Int32Array(size);
  const strides = new Array<number>(from.length);
  for (let d = from.length - 1, s = 1; d >= 0; s *= from[d], d--) strides[d] = from[d] === 1 ? 0 : s;
  const index = new Array<number>(to.length).fill(0);
  for (let k = 0; k < size; k++) {
    let at = 0;
    for (let d = 0; d < to.length; d++) at += index[d] * strides[d];
    source[k] = at;
    for (let d = to.length - 1; d >= 0; d--) {
      if (++index[d] < to[d]) break;
      index[d] = 0;
    }
  }
  return source;
}

/** The adjoint of concatenate: `whole` split back into the parts of the given sizes. */
export function splitConcatenated(whole: Float64Array, outer: number, blocks: readonly number[], sizes: readonly number[]): Float64Array[] {
  const parts = sizes.map((n) => new Float64Array(n));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    blocks.forEach((block, j) => {
      parts[j].set(whole.subarray(offset, offset + block), o * block);
      offset += block;
    });
  }
  return parts;
}

/** Concatenation in C order along the prepared axis: for each outer index, each input's block in turn. */
export function concatenate<T extends Float64Array | Uint8Array>(parts: T[], outer: number, blocks: number[], out: T): T {
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((part, k) => {
      out.set(part.subarray(o * blocks[k], (o + 1) * blocks[k]), offset);
      offset += blocks[k];
    });
  }
  return out;
}
