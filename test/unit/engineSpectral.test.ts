// Certified spectral norms: the exact path against an independent SVD (ml-matrix) of the explicit
// matrix, and the Lanczos path never below the true norm while within its stated inflation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { DenseOperator } from '../../src/engine/operators/dense';
import { ConvOperator, convGeometry } from '../../src/engine/operators/conv';
import type { LinearOperator } from '../../src/engine/operators/linearOperator';
import { SeededRandom } from '../../src/engine/random';
import { certifiedNorm, DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { largestTridiagonalEigenvalue } from '../../src/engine/spectral/tridiagonal';
import { CancelledError } from '../../src/engine/errors';
import { randomArray } from './helpers/engineNetworks';

const random = new SeededRandom(424242);

/** ‖diag(r) A diag(d)‖ from ml-matrix's SVD of the explicit matrix (built by applying A to e_j). */
function referenceNorm(op: LinearOperator, r: Float64Array | null, d: Uint8Array | null): number {
  const m = new Matrix(op.outSize, op.inSize);
  for (let j = 0; j < op.inSize; j++) {
    const e = new Float64Array(op.inSize);
    e[j] = d ? d[j] : 1;
    const column = op.apply(e);
    for (let i = 0; i < op.outSize; i++) m.set(i, j, column[i] * (r ? r[i] : 1));
  }
  return new SingularValueDecomposition(m, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).norm2;
}

/** Dense W = U diag(σ) Vᵀ with random orthogonal U, V (from QR of Gaussian matrices) and chosen σ. */
function matrixWithSingularValues(rows: number, cols: number, sigma: number[]): Float32Array {
  const orth = (n: number, k: number) => {
    const g = Matrix.from1DArray(n, k, Array.from({ length: n * k }, () => random.gaussian()));
    return new SingularValueDecomposition(g, { autoTranspose: true }).leftSingularVectors;
  };
  const k = sigma.length;
  const u = orth(rows, k);
  const v = orth(cols, k);
  const w = u.mmul(Matrix.diag(sigma)).mmul(v.transpose());
  return Float32Array.from(w.to1DArray());
}

describe('engine spectral norms', () => {
  it('exact path agrees with an independent SVD to 1e-6 relative and is never below it', () => {
    let cases = 0;
    for (let t = 0; t < 40; t++) {
      const rows = 2 + random.int(30);
      const cols = 2 + random.int(30);
      const op = new DenseOperator(randomArray(random, rows * cols), rows, cols, 'dense');
      const r = t % 2 ? Float64Array.from({ length: rows }, () => (random.uniform() < 0.3 ? 0 : random.uniform())) : null;
      const d = t % 3 ? Uint8Array.from({ length: cols }, () => (random.uniform() < 0.7 ? 1 : 0)) : null;
      const ours = certifiedNorm(op, r, d, DEFAULT_SPECTRAL_OPTIONS);
      const reference = referenceNorm(op, r, d);
      assert.ok(ours.value >= reference, `certified ${ours.value} below SVD ${reference}`);
      assert.ok(ours.value <= reference * (1 + 1e-6) + 1e-300, `certified ${ours.value} vs SVD ${reference}`);
      if (reference > 0) assert.equal(ours.certificate.method, 'exact-eigen');
      cases++;
    }
    for (let t = 0; t < 10; t++) {
      const c = 1 + random.int(2);
      const params = {
        kind: 'conv' as const, weight: randomArray(random, 3 * c * 9), weightShape: [3, c, 3, 3] as [number, number, number, number],
        strides: [1 + random.int(2), 1 + random.int(2)] as [number, number], pads: [1, 0, 1, 1] as [number, number, number, number],
        dilations: [1, 1] as [number, number], group: 1,
      };
      const op = new ConvOperator(params.weight, convGeometry(params, [c, 6, 5], 'conv'));
      const ours = certifiedNorm(op, null, null, DEFAULT_SPECTRAL_OPTIONS);
      const reference = referenceNorm(op, null, null);
      assert.ok(ours.value >= reference && ours.value <= reference * (1 + 1e-6), `conv: ${ours.value} vs ${reference}`);
      cases++;
    }
    assert.equal(cases, 50);
  });

  it('Lanczos: certified value ≥ true norm and ≤ true norm · sqrt(1/(1−δ)) · margin, incl. clustered top singular values', () => {
    let cases = 0;
    const steps = 40;
    for (let t = 0; t < 60; t++) {
      const rows = 60 + random.int(60);
      const cols = 60 + random.int(60);
      const k = Math.min(rows, cols);
      let sigma: number[];
      switch (t % 4) {
        case 0: // generic Gaussian matrix
          sigma = [];
          break;
        case 1: // top three clustered within 1e-4
          sigma = Array.from({ length: k }, (_, i) => (i < 3 ? 1 - 1e-4 * i : 0.9 * random.uniform()));
          break;
        case 2: // flat spectrum: worst case for a gap-dependent estimate
          sigma = Array.from({ length: k }, () => 1 - 0.02 * random.uniform());
          break;
        default: // one dominant value
          sigma = Array.from({ length: k }, (_, i) => (i === 0 ? 5 : random.uniform()));
      }
      const weight = sigma.length ? matrixWithSingularValues(rows, cols, sigma) : randomArray(random, rows * cols);
      // Hide denseBlock so the certified path must iterate; force Lanczos with exactCutoff 0.
      const dense = new DenseOperator(weight, rows, cols, 'dense');
      const op: LinearOperator = {
        inSize: cols, outSize: rows,
        apply: (x) => dense.apply(x), applyTranspose: (y) => dense.applyTranspose(y), rowNormsSquared: (d) => dense.rowNormsSquared(d),
      };
      const ours = certifiedNorm(op, null, null, { ...DEFAULT_SPECTRAL_OPTIONS, exactCutoff: 0, lanczosSteps: steps, seed: 1000 + t });
      const reference = referenceNorm(op, null, null);
      const c = ours.certificate;
      assert.equal(c.method, 'lanczos-random-start');
      assert.equal(c.seed, 1000 + t);
      assert.ok(c.delta !== undefined && c.delta > 0 && c.delta < 1);
      assert.ok(ours.value >= reference, `case ${t}: certified ${ours.value} below true ${reference}`);
      const inflation = Math.sqrt((1 + (c.roundingMargin ?? 0)) / (1 - c.delta));
      assert.ok(ours.value <= reference * inflation * (1 + 1e-9), `case ${t}: ${ours.value} above true·inflation ${reference * inflation}`);
      cases++;
    }
    assert.equal(cases, 60);
  });

  it('the same seed reproduces the same certificate; cancellation stops Lanczos', () => {
    const op = new DenseOperator(randomArray(random, 80 * 70), 80, 70, 'dense');
    const options = { ...DEFAULT_SPECTRAL_OPTIONS, exactCutoff: 0, lanczosSteps: 30, seed: 7 };
    assert.deepEqual(certifiedNorm(op, null, null, options), certifiedNorm(op, null, null, options));
    let calls = 0;
    const signal = { get aborted() { return ++calls > 5; } };
    assert.throws(() => certifiedNorm(op, null, null, { ...options, signal }), CancelledError);
  });

  it('tridiagonal largest eigenvalue matches a dense symmetric eigensolver', () => {
    for (let t = 0; t < 20; t++) {
      const n = 1 + random.int(40);
      const alpha = Array.from({ length: n }, () => random.gaussian());
      const beta = Array.from({ length: n - 1 }, () => random.gaussian());
      const m = new Matrix(n, n);
      for (let i = 0; i < n; i++) {
        m.set(i, i, alpha[i]);
        if (i < n - 1) {
          m.set(i, i + 1, beta[i]);
          m.set(i + 1, i, beta[i]);
        }
      }
      const svdMax = Math.max(...new SingularValueDecomposition(m.add(Matrix.eye(n).mul(100))).diagonal) - 100;
      const ours = largestTridiagonalEigenvalue(alpha, beta, n);
      assert.ok(Math.abs(ours - svdMax) <= 1e-10 * 100, `n=${n}: ${ours} vs ${svdMax}`);
    }
  });
});
