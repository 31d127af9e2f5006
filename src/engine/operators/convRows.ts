// A few output units of a convolution, computed from their receptive fields: the composed bound's prefix
// norms read only a layer's uncertain units, often a few hundred of 10⁴–10⁵ outputs, so computing those
// alone replaces the last convolution of every pass (docs/derivations.md §58.4). No matrix is built:
// each unit reads its output channel's filter (shared by the units of that channel, so it stays in
// cache) and the input positions under it.
import type { ConvGeometry } from './conv';
import { checkLength, type LinearOperator, type SelectedRows } from './linearOperator';

class ConvRowsOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** Per selected unit: output channel, first input row and column under the kernel (may be negative: padding). */
  private readonly channel: Int32Array;
  private readonly top: Int32Array;
  private readonly left: Int32Array;

  /** The float32 weights widened once (exactly), so the loops read one array type. */
  private readonly weight: Float64Array;

  constructor(weight: ArrayLike<number>, private readonly g: ConvGeometry, rows: Int32Array) {
    this.weight = Float64Array.from(weight);
    this.inSize = g.inChannels * g.inHeight * g.inWidth;
    this.outSize = rows.length;
    const plane = g.outHeight * g.outWidth;
    this.channel = Int32Array.from(rows, (row) => Math.floor(row / plane));
    this.top = Int32Array.from(rows, (row) => Math.floor((row % plane) / g.outWidth) * g.strideH - g.padTop);
    this.left = Int32Array.from(rows, (row) => ((row % plane) % g.outWidth) * g.strideW - g.padLeft);
  }

  /** Kernel rows [kiStart, kiEnd) and columns [kjStart, kjEnd) of unit a whose input positions lie inside the input. */
  private taps(a: number): [number, number, number, number] {
    const g = this.g;
    const top = this.top[a];
    const left = this.left[a];
    return [
      Math.max(0, Math.ceil(-top / g.dilationH)), Math.min(g.kernelH, Math.floor((g.inHeight - 1 - top) / g.dilationH) + 1),
      Math.max(0, Math.ceil(-left / g.dilationW)), Math.min(g.kernelW, Math.floor((g.inWidth - 1 - left) / g.dilationW) + 1),
    ];
  }

  /**
   * y_a = Σ w · x over every (input channel, kernel tap inside the unpadded input) of each unit a.
   */
  private gather(weight: Float64Array, x: Float64Array, y: Float64Array): void {
    const g = this.g;
    const inPerGroup = g.inChannels / g.group;
    const outPerGroup = g.outChannels / g.group;
    const inPlane = g.inHeight * g.inWidth;
    const kernelPlane = g.kernelH * g.kernelW;
    for (let a = 0; a < this.outSize; a++) {
      const m = this.channel[a];
      const [kiStart, kiEnd, kjStart, kjEnd] = this.taps(a);
      const firstChannel = Math.floor(m / outPerGroup) * inPerGroup;
      let sum = 0;
      for (let c = 0; c < inPerGroup; c++) {
        const filter = (m * inPerGroup + c) * kernelPlane;
        const plane = (firstChannel + c) * inPlane;
        for (let ki = kiStart; ki < kiEnd; ki++) {
          const row = plane + (this.top[a] + ki * g.dilationH) * g.inWidth + this.left[a];
          const kernelRow = filter + ki * g.kernelW;
          for (let kj = kjStart; kj < kjEnd; kj++) sum += weight[kernelRow + kj] * x[row + kj * g.dilationW];
        }
      }
      y[a] = sum;
    }
  }

  /** The adjoint of gather: the same index pairs, scattering x += w · y_a. */
  private scatter(weight: Float64Array, x: Float64Array, y: Float64Array): void {
    const g = this.g;
    const inPerGroup = g.inChannels / g.group;
    const outPerGroup = g.outChannels / g.group;
    const inPlane = g.inHeight * g.inWidth;
    const kernelPlane = g.kernelH * g.kernelW;
    for (let a = 0; a < this.outSize; a++) {
      const ya = y[a];
      if (ya === 0) continue;
      const m = this.channel[a];
      const [kiStart, kiEnd, kjStart, kjEnd] = this.taps(a);
      const firstChannel = Math.floor(m / outPerGroup) * inPerGroup;
      for (let c = 0; c < inPerGroup; c++) {
        const filter = (m * inPerGroup + c) * kernelPlane;
        const plane = (firstChannel + c) * inPlane;
        for (let ki = kiStart; ki < kiEnd; ki++) {
          const row = plane + (this.top[a] + ki * g.dilationH) * g.inWidth + this.left[a];
          const kernelRow = filter + ki * g.kernelW;
          for (let kj = kjStart; kj < kjEnd; kj++) x[row + kj * g.dilationW] += weight[kernelRow + kj] * ya;
        }
      }
    }
  }

  apply(x: Float64Array): Float64Array {
    checkLength('conv rows apply', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.gather(this.weight, x, y);
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('conv rows applyTranspose', y.length, this.outSize);
    const x = new Float64Array(this.inSize);
    this.scatter(this.weight, x, y);
    return x;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('conv rows rowNormsSquared', d.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.gather(this.weight.map((v) => v * v), d, y);
    return y;
  }

  /** Multiply-adds of one application: the taps inside the input, per unit. */
  multiplyAdds(): number {
    const y = new Float64Array(this.outSize);
    this.gather(new Float64Array(this.weight.length).fill(1), new Float64Array(this.inSize).fill(1), y);
    return y.reduce((a, b) => a + b, 0);
  }
}

/**
 * Output units `rows` (indices into [outChannels, outHeight, outWidth]) of the convolution with these
 * weights: the products the full convolution sums for each of them, in float64.
 */
export function convRows(weight: ArrayLike<number>, g: ConvGeometry, rows: Int32Array): SelectedRows {
  const operator = new ConvRowsOperator(weight, g, rows);
  return { operator, multiplyAdds: operator.multiplyAdds() };
}
