// MatMul of two computed tensors (docs/derivations.md §31): A [..., m, k] times B [..., k, n] with the
// same leading dims, C_b = A_b B_b for every leading index b, all C order. The products, the two
// adjoints the tape needs, the factor norms max_b ‖M_b‖₂ certified like any layer's norm, the output
// mask and the forward rounding bound.
import type { Shape } from '../network';
import { certifiedNorm, type NormOperator, type SpectralOptions } from '../spectral/certifiedNorm';

export interface MatMulGeometry {
  batch: number;
  m: number;
  k: number;
  n: number;
}

/** The geometry of A·B, or a sentence saying why the shapes do not multiply batch by batch. */
export function matMulGeometry(aShape: Shape, bShape: Shape): MatMulGeometry | string {
  const rank = aShape.length;
  if (rank < 2 || bShape.length !== rank) return `needs two factors of the same rank ≥ 2, got [${aShape.join(', ')}] and [${bShape.join(', ')}]`;
  const leading = aShape.slice(0, rank - 2);
  if (leading.some((d, i) => d !== bShape[i])) {
    return `the leading dims of [${aShape.join(', ')}] and [${bShape.join(', ')}] differ (broadcasting a factor over them is not supported)`;
  }
  const [m, k] = aShape.slice(rank - 2);
  const [k2, n] = bShape.slice(rank - 2);
  if (k !== k2) return `inner dimensions ${k} and ${k2} differ`;
  return { batch: leading.reduce((x, y) => x * y, 1), m, k, n };
}

export function matMulOutputShape(aShape: Shape, geometry: MatMulGeometry): number[] {
  return [...aShape.slice(0, aShape.length - 2), geometry.m, geometry.n];
}

/** C = A B, or with abs: |A| |B| (the rounding bound's products). */
export function batchedMatMul({ batch, m, k, n }: MatMulGeometry, a: Float64Array, b: Float64Array, abs = false): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = t * m * k;
    const bo = t * k * n;
    const co = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const aip = abs ? Math.abs(a[ao + i * k + p]) : a[ao + i * k + p];
        if (aip === 0) continue;
        const row = bo + p * n;
        const out = co + i * n;
        for (let j = 0; j < n; j++) c[out + j] += aip * (abs ? Math.abs(b[row + j]) : b[row + j]);
      }
    }
  }
  return c;
}

/** The transpose of every [rows × cols] matrix of a batch. */
function transposeBatch(values: Float64Array, batch: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let t = 0; t < batch; t++) {
    const o = t * rows * cols;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[o + j * rows + i] = values[o + i * cols + j];
  }
  return out;
}

/** The adjoint of A ↦ A B at fixed B: U ↦ U Bᵀ. */
export function adjointForA(g: MatMulGeometry, u: Float64Array, b: Float64Array): Float64Array {
  return batchedMatMul({ batch: g.batch, m: g.m, k: g.n, n: g.k }, u, transposeBatch(b, g.batch, g.k, g.n));
}

/** The adjoint of B ↦ A B at fixed A: U ↦ Aᵀ U. */
export function adjointForB(g: MatMulGeometry, a: Float64Array, u: Float64Array): Float64Array {
  return batchedMatMul({ batch: g.batch, m: g.k, k: g.m, n: g.n }, transposeBatch(a, g.batch, g.m, g.k), u);
}

/** One [rows × cols] matrix as an operator for certifiedNorm. */
function matrixOperator(values: Float64Array, rows: number, cols: number): NormOperator {
  return {
    inSize: cols,
    outSize: rows,
    apply: (x) => batchedMatMul({ batch: 1, m: rows, k: cols, n: 1 }, values, x),
    applyTranspose: (y) => batchedMatMul({ batch: 1, m: 1, k: rows, n: cols }, y, values),
  };
}

/**
 * A certified bound on max_b ‖M*_b‖₂ for the exact matrices M* within tau of the computed ones
 * entrywise: max_b ‖M̂_b‖₂ + tau √(rows · cols) (‖E‖₂ ≤ ‖E‖_F), with the failure probabilities of
 * the certificates added over b.
 */
export function largestFactorNorm(values: Float64Array, batch: number, rows: number, cols: number, tau: number, options: SpectralOptions): { value: number; failureProbability: number } {
  let largest = 0;
  let failureProbability = 0;
  for (let t = 0; t < batch; t++) {
    const matrix = matrixOperator(values.subarray(t * rows * cols, (t + 1) * rows * cols), rows, cols);
    const norm = certifiedNorm(matrix, null, null, { ...options, seed: (options.seed + t) >>> 0 });
    largest = Math.max(largest, norm.value);
    failureProbability += norm.certificate.failureProbability ?? 0;
  }
  return { value: largest + tau * Math.sqrt(rows * cols), failureProbability };
}

/** C_b[i, j] can move only if row i of A_b or column j of B_b holds a movable entry. */
export function matMulMask(g: MatMulGeometry, maskA: Uint8Array | null, maskB: Uint8Array | null): Uint8Array | null {
  if (!maskA || !maskB) return null;
  const { batch, m, k, n } = g;
  const out = new Uint8Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const rows = new Uint8Array(m);
    const cols = new Uint8Array(n);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) rows[i] |= maskA[t * m * k + i * k + p];
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) cols[j] |= maskB[t * k * n + p * n + j];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[t * m * n + i * n + j] = rows[i] | cols[j];
  }
  return out;
}
