// Builders of small analysis graphs for the engine tests, plus an independent naive forward pass
// (direct index formulas, no engine code) used to evaluate f at sampled points.
import { NETWORK_INPUT, type Activation, type AxisMatrix, type Conv3dParams, type ConvTranspose3dParams, type Layer, type LayerOp, type Network, type Shape, type TensorRef } from '../../../src/engine/network';
import { SeededRandom } from '../../../src/engine/random';

export function denseLayer(
  label: string,
  weight: number[][],
  bias: number[] | null,
  input: TensorRef,
  activation?: Activation,
): Layer {
  const outFeatures = weight.length;
  const inFeatures = weight[0].length;
  return {
    label,
    nodes: [`${label}_gemm`, ...(activation ? [`${label}_act`] : [])],
    opTypes: ['Gemm', ...(activation ? ['Relu'] : [])],
    op: {
      kind: 'affine',
      linear: {
        kind: 'dense',
        weight: Float32Array.from(weight.flat()),
        outFeatures,
        inFeatures,
        ...(bias ? { bias: Float32Array.from(bias) } : {}),
      },
      ...(activation ? { activation } : {}),
    },
    inputs: [input],
    inputShapes: [[inFeatures]],
    outputShape: [outFeatures],
    onnxOutput: `${label}_out`,
  };
}

export function genericLayer(label: string, op: LayerOp, inputs: TensorRef[], inputShapes: Shape[], outputShape: Shape): Layer {
  return { label, nodes: [label], opTypes: [op.kind], op, inputs, inputShapes, outputShape, onnxOutput: `${label}_out` };
}

export function chain(inputShape: Shape, layers: Layer[]): Network {
  return { inputName: 'x', inputShape, layers, output: layers.length - 1 };
}

export function randomArray(random: SeededRandom, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * random.gaussian());
}

export { NETWORK_INPUT };

// ---- independent reference forward pass ----

function act(a: Activation, y: number): number {
  switch (a.kind) {
    case 'log':
      return Math.log(y);
    case 'sqrt':
      return Math.sqrt(y);
    case 'reciprocal':
      return 1 / y;
    case 'power':
      return y ** a.exponent;
    case 'relu':
      return Math.max(0, y);
    case 'leakyRelu':
      return y >= 0 ? y : a.alpha * y;
    case 'clip':
      return Math.min(a.max, Math.max(a.min, y));
    case 'hardSigmoid':
      return Math.max(0, Math.min(1, a.alpha * y + a.beta));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-y));
    case 'tanh':
      return Math.tanh(y);
    case 'hardSwish':
      return y * Math.max(0, Math.min(1, a.alpha * y + a.beta));
  }
}

function naiveLinear(layer: Layer, x: Float64Array): Float64Array {
  if (layer.op.kind !== 'affine') throw new Error('not affine');
  const p = layer.op.linear;
  if (p.kind === 'dense') {
    const rows = p.rows ?? 1;
    const y = new Float64Array(rows * p.outFeatures);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < p.outFeatures; i++) {
        let s = p.bias ? p.bias[i] : 0;
        for (let j = 0; j < p.inFeatures; j++) s += p.weight[i * p.inFeatures + j] * x[r * p.inFeatures + j];
        y[r * p.outFeatures + i] = s;
      }
    }
    return y;
  }
  if (p.kind === 'channelAffine') {
    const per = x.length / p.scale.length;
    return x.map((v, i) => p.scale[Math.floor(i / per)] * v + p.shift[Math.floor(i / per)] + (p.offset?.[i] ?? 0));
  }
  if (p.kind === 'conv3d') return naiveConv3d(p, layer.inputShapes[0], layer.outputShape, x);
  if (p.kind === 'convTranspose3d') return naiveConvTranspose3d(p, layer.inputShapes[0], layer.outputShape, x);
  if (p.kind === 'convTranspose') {
    // The 2-D one as a 3-D one of depth 1.
    const [kh, kw] = [p.weightShape[2], p.weightShape[3]];
    const deep: ConvTranspose3dParams = {
      ...p,
      kind: 'convTranspose3d',
      weightShape: [p.weightShape[0], p.weightShape[1], 1, kh, kw],
      strides: [1, p.strides[0], p.strides[1]],
      pads: [0, p.pads[0], p.pads[1], 0, p.pads[2], p.pads[3]],
      dilations: [1, p.dilations[0], p.dilations[1]],
      outputPadding: [0, p.outputPadding[0], p.outputPadding[1]],
    };
    const [c, h, w] = layer.inputShapes[0];
    const [m, oh, ow] = layer.outputShape;
    return naiveConvTranspose3d(deep, [c, 1, h, w], [m, 1, oh, ow], x);
  }
  const [, H, W] = layer.inputShapes[0];
  const [M, Cg, KH, KW] = p.weightShape;
  // A 1-D convolution declares its output [M, L] (its input is read as [C, 1, L]).
  const [OH, OW] = layer.outputShape.length === 2 ? [1, layer.outputShape[1]] : [layer.outputShape[1], layer.outputShape[2]];
  const y = new Float64Array(M * OH * OW);
  for (let m = 0; m < M; m++) {
    const g = Math.floor(m / (M / p.group));
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s = p.bias ? p.bias[m] : 0;
        for (let c = 0; c < Cg; c++) {
          for (let ki = 0; ki < KH; ki++) {
            for (let kj = 0; kj < KW; kj++) {
              const ih = oh * p.strides[0] - p.pads[0] + ki * p.dilations[0];
              const iw = ow * p.strides[1] - p.pads[1] + kj * p.dilations[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              s += p.weight[((m * Cg + c) * KH + ki) * KW + kj] * x[((g * Cg + c) * H + ih) * W + iw];
            }
          }
        }
        y[(m * OH + oh) * OW + ow] = s;
      }
    }
  }
  return y;
}

/** ONNX Conv over [C, D, H, W] term by term from its definition (docs/derivations.md §34). */
export function naiveConv3d(p: Conv3dParams, inputShape: Shape, outputShape: Shape, x: Float64Array): Float64Array {
  const [, D, H, W] = inputShape;
  const [M, Cg, KD, KH, KW] = p.weightShape;
  const [, OD, OH, OW] = outputShape;
  const y = new Float64Array(M * OD * OH * OW);
  for (let m = 0; m < M; m++) {
    const g = Math.floor(m / (M / p.group));
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = p.bias ? p.bias[m] : 0;
          for (let c = 0; c < Cg; c++) {
            for (let kd = 0; kd < KD; kd++) {
              for (let ki = 0; ki < KH; ki++) {
                for (let kj = 0; kj < KW; kj++) {
                  const id = od * p.strides[0] - p.pads[0] + kd * p.dilations[0];
                  const ih = oh * p.strides[1] - p.pads[1] + ki * p.dilations[1];
                  const iw = ow * p.strides[2] - p.pads[2] + kj * p.dilations[2];
                  if (id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  s += p.weight[(((m * Cg + c) * KD + kd) * KH + ki) * KW + kj] * x[(((g * Cg + c) * D + id) * H + ih) * W + iw];
                }
              }
            }
          }
          y[((m * OD + od) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return y;
}

/** ONNX ConvTranspose over [C, D, H, W] from its definition: x[c, p, q, r] scattered with W[c, m', u, v, t] to y[m, p s − b + u d, …]. */
export function naiveConvTranspose3d(p: ConvTranspose3dParams, inputShape: Shape, outputShape: Shape, x: Float64Array): Float64Array {
  const [C, D, H, W] = inputShape;
  const [Mg, KD, KH, KW] = p.weightShape.slice(1);
  const [M, OD, OH, OW] = outputShape;
  const Cg = C / p.group;
  const y = new Float64Array(M * OD * OH * OW);
  for (let m = 0; m < M; m++) y.fill(p.bias ? p.bias[m] : 0, m * OD * OH * OW, (m + 1) * OD * OH * OW);
  for (let c = 0; c < C; c++) {
    const g = Math.floor(c / Cg);
    for (let d = 0; d < D; d++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const value = x[((c * D + d) * H + h) * W + w];
          for (let mg = 0; mg < Mg; mg++) {
            for (let u = 0; u < KD; u++) {
              for (let v = 0; v < KH; v++) {
                for (let t = 0; t < KW; t++) {
                  const od = d * p.strides[0] - p.pads[0] + u * p.dilations[0];
                  const oh = h * p.strides[1] - p.pads[1] + v * p.dilations[1];
                  const ow = w * p.strides[2] - p.pads[2] + t * p.dilations[2];
                  if (od < 0 || od >= OD || oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                  y[(((g * Mg + mg) * OD + od) * OH + oh) * OW + ow] += p.weight[((((c * Mg + mg) * KD + u) * KH + v) * KW + t)] * value;
                }
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** Pooling of any spatial rank, straight from ONNX's definition: every window of every channel, tap by tap. */
function naivePool(layer: Layer, x: Float64Array, mode: 'max' | 'avg'): Float64Array {
  const op = layer.op;
  if (op.kind !== 'maxPool' && op.kind !== 'avgPool') throw new Error('not a pool');
  const rank = op.kernel.length;
  const [C, ...inExtent] = layer.inputShapes[0];
  // A 1-D pool declares its output [C, L] (its input is read as [C, 1, L]).
  const outExtent = layer.outputShape.length === rank ? [1, ...layer.outputShape.slice(1)] : layer.outputShape.slice(1);
  const count = (extent: readonly number[]) => extent.reduce((a, b) => a * b, 1);
  /** The multi-index of flat index k over the given extents (last axis fastest). */
  const unflatten = (k: number, extent: readonly number[]) => {
    const index = new Array<number>(extent.length);
    for (let d = extent.length - 1; d >= 0; d--) {
      index[d] = k % extent[d];
      k = Math.floor(k / extent[d]);
    }
    return index;
  };
  const outPlane = count(outExtent);
  const inPlane = count(inExtent);
  const y = new Float64Array(C * outPlane);
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < outPlane; o++) {
      const out = unflatten(o, outExtent);
      let best = -Infinity;
      let sum = 0;
      let valid = 0;
      let padded = 0;
      for (let t = 0; t < count(op.kernel); t++) {
        const tap = unflatten(t, op.kernel);
        const position = out.map((v, d) => v * op.strides[d] - op.pads[d] + tap[d] * op.dilations[d]);
        if (position.every((p, d) => p >= -op.pads[d] && p < inExtent[d] + op.pads[rank + d])) padded++;
        if (position.some((p, d) => p < 0 || p >= inExtent[d])) continue;
        const v = x[c * inPlane + position.reduce((flat, p, d) => flat * inExtent[d] + p, 0)];
        best = Math.max(best, v);
        sum += v;
        valid++;
      }
      const countIncludePad = op.kind === 'avgPool' && op.countIncludePad;
      y[c * outPlane + o] = mode === 'max' ? best : sum / (countIncludePad ? padded : valid);
    }
  }
  return y;
}

/** Output element at multi-index (i_0, …) is the input element whose axis perm[d] has index i_d. */
function naiveTranspose(shape: Shape, perm: readonly number[], x: Float64Array): Float64Array {
  const outShape = perm.map((p) => shape[p]);
  const y = new Float64Array(x.length);
  for (let k = 0; k < y.length; k++) {
    const outIndex = new Array<number>(outShape.length);
    let rest = k;
    for (let d = outShape.length - 1; d >= 0; d--) {
      outIndex[d] = rest % outShape[d];
      rest = Math.floor(rest / outShape[d]);
    }
    const inIndex = new Array<number>(shape.length);
    perm.forEach((p, d) => {
      inIndex[p] = outIndex[d];
    });
    y[k] = x[inIndex.reduce((flat, i, d) => flat * shape[d] + i, 0)];
  }
  return y;
}

/** y[i_1..i_r] = Σ over every combination of the rows' terms of Π weights · x[j_1..j_r], term by term. */
export function naiveAxisMap(shape: readonly number[], axes: readonly AxisMatrix[], x: Float64Array): Float64Array {
  const outShape = axes.map((m) => m.rows.length);
  const y = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let k = 0; k < y.length; k++) {
    const outIndex = new Array<number>(outShape.length);
    let rest = k;
    for (let d = outShape.length - 1; d >= 0; d--) {
      outIndex[d] = rest % outShape[d];
      rest = Math.floor(rest / outShape[d]);
    }
    const visit = (d: number, flat: number, weight: number): void => {
      if (d === shape.length) {
        y[k] += weight * x[flat];
        return;
      }
      for (const term of axes[d].rows[outIndex[d]]) visit(d + 1, flat * shape[d] + term.index, weight * term.weight);
    };
    visit(0, 0, 1);
  }
  return y;
}

/**
 * Softmax over one axis (or, with flattenTail, over all axes from it on) by index arithmetic:
 * exp(z_i) / Σ exp(z_j) over the group (no shift; small test values).
 */
export function naiveSoftmax(shape: readonly number[], axis: number, flattenTail: boolean, z: Float64Array): Float64Array {
  const tail = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const stride = flattenTail ? 1 : tail;
  const n = flattenTail ? shape[axis] * tail : shape[axis];
  return z.map((v, i) => {
    const base = i - (Math.floor(i / stride) % n) * stride;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(z[base + j * stride]);
    return Math.exp(v) / sum;
  });
}

/** C_b = A_b B_b for [..., m, k] × [..., k, n], one dot product per output entry. */
export function naiveMatMul(aShape: readonly number[], bShape: readonly number[], a: Float64Array, b: Float64Array): Float64Array {
  const [m, k] = aShape.slice(-2);
  const n = bShape[bShape.length - 1];
  const batch = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[t * m * k + i * k + p] * b[t * k * n + p * n + j];
        c[t * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

/** Values of every layer output at x, by direct formulas. */
export function referenceForward(network: Network, x: Float64Array): Float64Array[] {
  const outs: Float64Array[] = [];
  const get = (ref: TensorRef) => (ref === NETWORK_INPUT ? x : outs[ref]);
  for (const layer of network.layers) {
    const ins = layer.inputs.map(get);
    const op = layer.op;
    let y: Float64Array;
    switch (op.kind) {
      case 'affine': {
        const pre = naiveLinear(layer, ins[0]);
        const a = op.activation;
        y = a ? pre.map((v) => act(a, v)) : pre;
        break;
      }
      case 'activation':
        y = ins[0].map((v) => act(op.activation, v));
        break;
      case 'maxPool':
        y = naivePool(layer, ins[0], 'max');
        break;
      case 'avgPool':
        y = naivePool(layer, ins[0], 'avg');
        break;
      case 'globalAvgPool': {
        const C = layer.inputShapes[0][0];
        const plane = ins[0].length / C;
        y = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let k = 0; k < plane; k++) s += ins[0][c * plane + k];
          y[c] = s / plane;
        }
        break;
      }
      case 'reshape':
        y = ins[0];
        break;
      case 'add':
        y = ins[0].map((_v, i) => ins.reduce((s, t, k) => s + (op.signs?.[k] ?? 1) * t[i], 0));
        break;
      case 'concat': {
        const axis = op.axis;
        const outer = layer.outputShape.slice(0, axis).reduce((a, b) => a * b, 1);
        const parts: number[] = [];
        for (let o = 0; o < outer; o++) {
          ins.forEach((t, k) => {
            const block = layer.inputShapes[k].slice(axis).reduce((a, b) => a * b, 1);
            for (let i = 0; i < block; i++) parts.push(t[o * block + i]);
          });
        }
        y = Float64Array.from(parts);
        break;
      }
      case 'transpose':
        y = naiveTranspose(layer.inputShapes[0], op.perm, ins[0]);
        break;
      case 'axisMap':
        y = naiveAxisMap(layer.inputShapes[0], op.axes, ins[0]);
        break;
      case 'softmax':
        y = naiveSoftmax(layer.inputShapes[0], op.axis, op.flattenTail ?? false, ins[0]);
        break;
      case 'matMul':
        y = naiveMatMul(layer.inputShapes[0], layer.inputShapes[1], ins[0], ins[1]);
        break;
      case 'mul': {
        // b broadcast to a's shape by multi-index, independently of prepared.ts.
        const [aShape, bShape] = layer.inputShapes;
        y = ins[0].map((v, k) => {
          let rest = k;
          let at = 0;
          let stride = 1;
          for (let d = aShape.length - 1; d >= 0; d--) {
            const index = rest % aShape[d];
            rest = Math.floor(rest / aShape[d]);
            if (bShape[d] !== 1) at += index * stride;
            stride *= bShape[d];
          }
          return op.divide ? v / ins[1][at] : v * ins[1][at];
        });
        break;
      }
      case 'maximum': {
        // b right-aligned and broadcast by multi-index, independently of prepared.ts.
        const [aShape, bShape] = layer.inputShapes;
        const padded = [...new Array<number>(aShape.length - bShape.length).fill(1), ...bShape];
        y = ins[0].map((v, k) => {
          let rest = k;
          let at = 0;
          let stride = 1;
          for (let d = aShape.length - 1; d >= 0; d--) {
            const index = rest % aShape[d];
            rest = Math.floor(rest / aShape[d]);
            if (padded[d] !== 1) at += index * stride;
            stride *= padded[d];
          }
          return Math.max(v, ins[1][at]);
        });
        break;
      }
      case 'reduceMax': {
        // By multi-index: output index from the kept axes, independently of prepared.ts.
        const shape = layer.inputShapes[0];
        const kept = shape.map((_d, a) => a).filter((a) => !op.axes.includes(a));
        y = new Float64Array(kept.reduce((p, a) => p * shape[a], 1)).fill(-Infinity);
        ins[0].forEach((v, k) => {
          const index: number[] = [];
          let rest = k;
          for (let d = shape.length - 1; d >= 0; d--) {
            index[d] = rest % shape[d];
            rest = Math.floor(rest / shape[d]);
          }
          const o = kept.reduce((at, a) => at * shape[a] + index[a], 0);
          y[o] = Math.max(y[o], v);
        });
        break;
      }
      case 'layerNorm': {
        // Two-pass mean and variance per group, written out independently of operators/layerNorm.ts.
        const n = layer.outputShape.slice(op.axis).reduce((a, b) => a * b, 1);
        y = new Float64Array(ins[0].length);
        for (let base = 0; base < y.length; base += n) {
          const group = Array.from(ins[0].subarray(base, base + n));
          const mean = group.reduce((s, v) => s + v, 0) / n;
          const variance = group.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
          group.forEach((v, i) => {
            y[base + i] = ((v - mean) / Math.sqrt(variance + op.epsilon)) * (op.scale?.[i] ?? 1) + (op.bias?.[i] ?? 0);
          });
        }
        break;
      }
    }
    outs.push(y);
  }
  return outs;
}
