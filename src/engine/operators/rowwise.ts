// One linear map applied to each of `rows` consecutive blocks: A = I_rows ⊗ W in C order (MatMul of a
// [.., rows, in] tensor with a constant [in, out] weight). Every product runs the inner operator block
// by block, so the native dense kernels serve it unchanged; norms are certified on the whole map like
// any other operator (its exact value is ‖W D_r‖ maximised over the blocks, docs/derivations.md §25).
import { checkLength, type LinearOperator } from './linearOperator';

export class RowwiseOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  readonly applyAbsolute?: (x: Float64Array) => Float64Array;

  constructor(
    private readonly inner: LinearOperator,
    readonly rows: number,
  ) {
    this.inSize = inner.inSize * rows;
    this.outSize = inner.outSize * rows;
    if (inner.applyAbsolute) {
      const absolute = inner.applyAbsolute.bind(inner);
      this.applyAbsolute = (x) => this.blockwise(x, this.inner.inSize, this.inner.outSize, absolute);
    }
  }

  private blockwise(x: Float64Array, inBlock: number, outBlock: number, apply: (block: Float64Array) => Float64Array): Float64Array {
    checkLength('rowwise operator', x.length, inBlock * this.rows);
    const out = new Float64Array(outBlock * this.rows);
    for (let r = 0; r < this.rows; r++) out.set(apply(x.subarray(r * inBlock, (r + 1) * inBlock)), r * outBlock);
    return out;
  }

  apply(x: Float64Array): Float64Array {
    return this.blockwise(x, this.inner.inSize, this.inner.outSize, (block) => this.inner.apply(Float64Array.from(block)));
  }

  applyTranspose(y: Float64Array): Float64Array {
    return this.blockwise(y, this.inner.outSize, this.inner.inSize, (block) => this.inner.applyTranspose(Float64Array.from(block)));
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    return this.blockwise(d, this.inner.inSize, this.inner.outSize, (block) => this.inner.rowNormsSquared(Float64Array.from(block)));
  }
}
