// Dense (Gemm-shaped) layer: y = W x + b, W of shape [outFeatures, inFeatures].
import type { DenseParams } from '../network';
import { checkLength, type AffineOperator, type LinearOperator, type SelectedRows } from './linearOperator';
import { RowwiseOperator } from './rowwise';

export class DenseOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  // Set on both backends, so the reference iterates on the same side as the native kernels.
  readonly preferredGramSide = 'input';

  constructor(private readonly weight: Float32Array, outFeatures: number, inFeatures: number, protected readonly name: string) {
    if (weight.length !== outFeatures * inFeatures) {
      throw new Error(`${name}: dense weight has ${weight.length} values, expected ${outFeatures}×${inFeatures}`);
    }
    this.inSize = inFeatures;
    this.outSize = outFeatures;
  }

  apply(x: Float64Array): Float64Array {
    checkLength('dense apply', x.length, this.inSize);
    const { weight: w, inSize: n, outSize: m } = this;
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let sum = 0;
      const base = i * n;
      for (let j = 0; j < n; j++) sum += w[base + j] * x[j];
      y[i] = sum;
    }
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('dense applyTranspose', y.length, this.outSize);
    const { weight: w, inSize: n, outSize: m } = this;
    const x = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const yi = y[i];
      if (yi === 0) continue;
      const base = i * n;
      for (let j = 0; j < n; j++) x[j] += w[base + j] * yi;
    }
    return x;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('dense rowNormsSquared', d.length, this.inSize);
    const { weight: w, inSize: n, outSize: m } = this;
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let sum = 0;
      const base = i * n;
      for (let j = 0; j < n; j++) {
        const wij = w[base + j];
        sum += wij * wij * d[j];
      }
      out[i] = sum;
    }
    return out;
  }

  /** Up to half the rows, as a dense layer of those rows' weights (copied once; every application then reads only them). */
  selectRows(rows: Int32Array): SelectedRows | null {
    if (rows.length * 2 > this.outSize) return null;
    return { operator: this.withWeights(gatherRows(this.weight, rows, this.inSize), rows.length), multiplyAdds: rows.length * this.inSize };
  }

  /** The same kind of operator over other weights of the same input size. */
  protected withWeights(weight: Float32Array, outFeatures: number): LinearOperator {
    return new DenseOperator(weight, outFeatures, this.inSize, this.name);
  }

  denseBlock(rows: Int32Array, cols: Int32Array): Float64Array {
    const block = new Float64Array(rows.length * cols.length);
    for (let a = 0; a < rows.length; a++) {
      const base = rows[a] * this.inSize;
      for (let b = 0; b < cols.length; b++) block[a * cols.length + b] = this.weight[base + cols[b]];
    }
    return block;
  }
}

/** The rows `rows` of a row-major weight matrix with `cols` columns, in that order. */
function gatherRows(weight: Float32Array, rows: Int32Array, cols: number): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((row, a) => out.set(weight.subarray(row * cols, (row + 1) * cols), a * cols));
  return out;
}

/** The layer with the TypeScript operator, or another implementation of the same weights (registry.ts). */
export function createDense(
  params: DenseParams,
  name: string,
  makeLinear: (weight: Float32Array, outFeatures: number, inFeatures: number, name: string) => LinearOperator = (...args) =>
    new DenseOperator(...args),
): AffineOperator {
  const row = makeLinear(params.weight, params.outFeatures, params.inFeatures, name);
  if (params.bias && params.bias.length !== params.outFeatures) {
    throw new Error(`${name}: dense bias has ${params.bias.length} values, expected ${params.outFeatures}`);
  }
  const rows = params.rows ?? 1;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`${name}: dense rows ${rows} is not a positive integer`);
  const linear = rows === 1 ? row : new RowwiseOperator(row, rows);
  const bias = params.bias ? Float64Array.from({ length: rows * params.outFeatures }, (_v, k) => params.bias![k % params.outFeatures]) : null;
  return { linear, bias };
}
