// The convolution of conv.ts on the compiled float64 kernels (src/native, natively or as WebAssembly):
// same geometry, same float32 weights widened exactly, float64 sums, so it agrees with ConvOperator to
// rounding (tested).
import { requireNativeKernels, WEIGHT, type NativeKernels } from '../native/kernels';
import type { ConvGeometry } from './conv';
import { checkLength, type LinearOperator, type SelectedRows } from './linearOperator';
import { convRows } from './convRows';

function shapeVector(g: ConvGeometry): Int32Array {
  return Int32Array.from([
    g.inChannels, g.inHeight, g.inWidth, g.outChannels, g.outHeight, g.outWidth, g.kernelH, g.kernelW,
    g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW, g.group,
  ]);
}

export class NativeConvOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  private readonly plan: object;

  constructor(private readonly weight: Float32Array, readonly geometry: ConvGeometry, private readonly kernels: NativeKernels = requireNativeKernels()) {
    const g = geometry;
    this.inSize = g.inChannels * g.inHeight * g.inWidth;
    this.outSize = g.outChannels * g.outHeight * g.outWidth;
    this.plan = this.kernels.convPlan(weight, shapeVector(g));
  }

  apply(x: Float64Array, y = new Float64Array(this.outSize)): Float64Array {
    checkLength('conv apply', x.length, this.inSize);
    checkLength('conv apply output', y.length, this.outSize);
    this.kernels.convForward(this.plan, x, y, 1, WEIGHT.plain);
    return y;
  }

  applyAbsolute(x: Float64Array): Float64Array {
    checkLength('conv applyAbsolute', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.kernels.convForward(this.plan, x, y, 1, WEIGHT.absolute);
    return y;
  }

  applyTranspose(y: Float64Array, x = new Float64Array(this.inSize)): Float64Array {
    checkLength('conv applyTranspose', y.length, this.outSize);
    checkLength('conv applyTranspose output', x.length, this.inSize);
    this.kernels.convAdjoint(this.plan, y, x, 1);
    return x;
  }

  /** Aᵀ diag(s) A x in one call. */
  gram(x: Float64Array, rowScaleSquared: Float64Array, out = new Float64Array(this.inSize)): Float64Array {
    this.kernels.convGram(this.plan, x, rowScaleSquared, out, false);
    return out;
  }

  /** A diag(d) Aᵀ y in one call. */
  gramOutput(y: Float64Array, colScale: Float64Array, out = new Float64Array(this.outSize)): Float64Array {
    this.kernels.convGram(this.plan, y, colScale, out, true);
    return out;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('conv rowNormsSquared', d.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.kernels.convForward(this.plan, d, y, 1, WEIGHT.squared);
    return y;
  }

  /** The rows alone, in TypeScript (convRows.ts), while they are at most 1/NATIVE_ROWS_FACTOR of the outputs. */
  selectRows(rows: Int32Array): SelectedRows | null {
    return rows.length * NATIVE_ROWS_FACTOR <= this.outSize ? convRows(this.weight, this.geometry, rows) : null;
  }
}

/**
 * A multiply-add of convRows' scalar loop costs about 7–16 of the vectorised, threaded kernel's (1 ns at
 * best against 0.06–0.14 ns, docs/derivations.md §58.4), so at 1/32 of the rows it takes at most about
 * half the kernel's time.
 */
const NATIVE_ROWS_FACTOR = 32;
