// Average pooling is linear: y_o = (1 / count_o) Σ_{taps} x_i. count_o includes padded taps when
// count_include_pad is set (ONNX semantics), otherwise only the valid ones.
import type { PoolParams, Shape } from '../network';
import { checkLength, type LinearOperator } from './linearOperator';
import { forEachPoolTap, poolGeometry, poolInputSize, poolOutputSize, type PoolAxis, type PoolGeometry } from './pooling';

export class AvgPoolOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  readonly geometry: PoolGeometry;
  /** No input lies in two windows: the rows have disjoint supports, so they are orthogonal. */
  readonly disjointWindows: boolean;
  /** The divisor of each output: its number of taps (padded taps included when count_include_pad is set). */
  readonly counts: Float64Array;
  private readonly inverseCount: Float64Array;

  constructor(params: PoolParams & { countIncludePad: boolean }, inputShape: Shape, outputShape: Shape, name: string) {
    const g = poolGeometry(params, inputShape, outputShape, name);
    this.geometry = g;
    this.inSize = poolInputSize(g);
    this.outSize = poolOutputSize(g);
    const counts = new Float64Array(this.outSize);
    if (params.countIncludePad) {
      // Padded taps count too, so the divisor is the product over axes of the taps inside the pads.
      const covered = (a: PoolAxis, o: number) => {
        let count = 0;
        for (let t = 0; t < a.kernel; t++) {
          const pos = o * a.stride - a.padBegin + t * a.dilation;
          if (pos >= -a.padBegin && pos < a.input + a.padEnd) count++;
        }
        return count;
      };
      const [depth, height, width] = g.axes;
      let o = 0;
      for (let c = 0; c < g.channels; c++) {
        for (let od = 0; od < depth.output; od++) {
          for (let oh = 0; oh < height.output; oh++) {
            for (let ow = 0; ow < width.output; ow++) counts[o++] = covered(depth, od) * covered(height, oh) * covered(width, ow);
          }
        }
      }
    } else {
      forEachPoolTap(g, (o) => {
        counts[o]++;
      });
    }
    const coverage = new Int32Array(this.inSize);
    forEachPoolTap(g, (_o, i) => {
      coverage[i]++;
    });
    this.disjointWindows = coverage.every((c) => c <= 1);
    this.counts = counts;
    this.inverseCount = counts.map((n, o) => {
      if (n === 0) throw new Error(`${name}: average pool window ${o} covers no input`);
      return 1 / n;
    });
  }

  apply(x: Float64Array): Float64Array {
    checkLength('avgPool apply', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    forEachPoolTap(this.geometry, (o, i) => {
      y[o] += x[i];
    });
    for (let o = 0; o < y.length; o++) y[o] *= this.inverseCount[o];
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('avgPool applyTranspose', y.length, this.outSize);
    const x = new Float64Array(this.inSize);
    forEachPoolTap(this.geometry, (o, i) => {
      x[i] += y[o] * this.inverseCount[o];
    });
    return x;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('avgPool rowNormsSquared', d.length, this.inSize);
    const out = new Float64Array(this.outSize);
    forEachPoolTap(this.geometry, (o, i) => {
      out[o] += d[i];
    });
    for (let o = 0; o < out.length; o++) out[o] *= this.inverseCount[o] * this.inverseCount[o];
    return out;
  }
}

/** Mean over each channel's plane: rows are orthogonal, each of norm 1/sqrt(plane). */
export class GlobalAvgPoolOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  readonly planeSize: number;

  constructor(inputShape: Shape, outputShape: Shape, name: string) {
    if (inputShape.length < 2) throw new Error(`${name}: global average pool input [${inputShape.join(', ')}] has no spatial axes`);
    this.outSize = inputShape[0];
    this.inSize = inputShape.reduce((a, b) => a * b, 1);
    this.planeSize = this.inSize / this.outSize;
    const declared = outputShape.reduce((a, b) => a * b, 1);
    if (declared !== this.outSize) {
      throw new Error(`${name}: global average pool output [${outputShape.join(', ')}] should hold ${this.outSize} values`);
    }
  }

  apply(x: Float64Array): Float64Array {
    checkLength('globalAvgPool apply', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    for (let c = 0; c < this.outSize; c++) {
      let sum = 0;
      for (let k = 0; k < this.planeSize; k++) sum += x[c * this.planeSize + k];
      y[c] = sum / this.planeSize;
    }
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('globalAvgPool applyTranspose', y.length, this.outSize);
    const x = new Float64Array(this.inSize);
    for (let c = 0; c < this.outSize; c++) x.fill(y[c] / this.planeSize, c * this.planeSize, (c + 1) * this.planeSize);
    return x;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('globalAvgPool rowNormsSquared', d.length, this.inSize);
    const squaredWeight = 1 / (this.planeSize * this.planeSize);
    return this.apply(d).map((mean) => mean * this.planeSize * squaredWeight);
  }
}
