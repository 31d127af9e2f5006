// The dense layer of dense.ts on the compiled float64 kernels (native: the float32 weights are read in
// place, never copied; WebAssembly: copied into the module once), and the Gram product Wᵀ diag(s) W x reads each row once for both products.
import { requireNativeKernels, WEIGHT, type NativeKernels } from '../native/kernels';
import { DenseOperator } from './dense';
import { checkLength, type LinearOperator } from './linearOperator';

export class NativeDenseOperator extends DenseOperator {
  constructor(
    private readonly weights: Float32Array, outFeatures: number, inFeatures: number, name: string,
    private readonly kernels: NativeKernels = requireNativeKernels(),
  ) {
    super(weights, outFeatures, inFeatures, name);
  }

  override apply(x: Float64Array, y = new Float64Array(this.outSize)): Float64Array {
    checkLength('dense apply', x.length, this.inSize);
    checkLength('dense apply output', y.length, this.outSize);
    this.kernels.denseForward(this.weights, this.outSize, this.inSize, x, y, 1, WEIGHT.plain);
    return y;
  }

  applyAbsolute(x: Float64Array): Float64Array {
    checkLength('dense applyAbsolute', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.kernels.denseForward(this.weights, this.outSize, this.inSize, x, y, 1, WEIGHT.absolute);
    return y;
  }

  override applyTranspose(y: Float64Array, x = new Float64Array(this.inSize)): Float64Array {
    checkLength('dense applyTranspose', y.length, this.outSize);
    checkLength('dense applyTranspose output', x.length, this.inSize);
    this.kernels.denseAdjoint(this.weights, this.outSize, this.inSize, y, x, 1);
    return x;
  }

  override rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('dense rowNormsSquared', d.length, this.inSize);
    const y = new Float64Array(this.outSize);
    this.kernels.denseForward(this.weights, this.outSize, this.inSize, d, y, 1, WEIGHT.squared);
    return y;
  }

  /** Aᵀ diag(s) A x in one pass over the weights. */
  gram(x: Float64Array, rowScaleSquared: Float64Array, out = new Float64Array(this.inSize)): Float64Array {
    this.kernels.denseGram(this.weights, this.outSize, this.inSize, rowScaleSquared, x, out, 1);
    return out;
  }

  protected override withWeights(weight: Float32Array, outFeatures: number): LinearOperator {
    return new NativeDenseOperator(weight, outFeatures, this.inSize, this.name, this.kernels);
  }

  /** A diag(d) Aᵀ y. */
  gramOutput(y: Float64Array, colScale: Float64Array, out = new Float64Array(this.outSize)): Float64Array {
    this.kernels.denseGramOutput(this.weights, this.outSize, this.inSize, colScale, y, out);
    return out;
  }
}
