// The a-posteriori Lanczos bound: never below λ_max on random symmetric PSD matrices (with the
// early stop on), tight once converged, and it saves steps when the top eigenvalue is separated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { SeededRandom } from '../../src/engine/random';
import { aposterioriUpper, logStartThreshold } from '../../src/engine/spectral/aposterioriBound';
import { lanczos } from '../../src/engine/spectral/lanczos';

/** Q diag(eigenvalues) Qᵀ with a random orthogonal Q (QR of a Gaussian matrix). */
function symmetricWithSpectrum(random: SeededRandom, eigenvalues: number[]): { apply: (v: Float64Array) => Float64Array; largest: number } {
  const n = eigenvalues.length;
  const gaussian = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gaussian.set(i, j, random.gaussian());
  const q = new Matrix(n, n);
  // Gram–Schmidt on the columns.
  for (let j = 0; j < n; j++) {
    const column = gaussian.getColumn(j);
    for (let p = 0; p < j; p++) {
      const basis = q.getColumn(p);
      const dot = column.reduce((s, c, i) => s + c * basis[i], 0);
      for (let i = 0; i < n; i++) column[i] -= dot * basis[i];
    }
    const norm = Math.sqrt(column.reduce((s, c) => s + c * c, 0));
    q.setColumn(j, column.map((c) => c / norm));
  }
  const matrix = q.mmul(Matrix.diag(eigenvalues)).mmul(q.transpose());
  const reference = Math.max(...new EigenvalueDecomposition(matrix, { assumeSymmetric: true }).realEigenvalues);
  return {
    apply: (v) => Float64Array.from(matrix.mmul(Matrix.columnVector(Array.from(v))).getColumn(0)),
    largest: reference,
  };
}

test('log δ0 is log p − ½ log(2(n−1)/π)', () => {
  assert.ok(Math.abs(logStartThreshold(101, 1e-6) - (Math.log(1e-6) - 0.5 * Math.log(200 / Math.PI))) < 1e-12);
});

test('never below λ_max, whatever the spectrum and wherever the run stops', () => {
  const random = new SeededRandom(3);
  const logDelta0 = logStartThreshold(60, 1e-6);
  for (let trial = 0; trial < 40; trial++) {
    const n = 60;
    const kind = trial % 4;
    const eigenvalues = Array.from({ length: n }, (_, i) =>
      kind === 0 ? random.uniform() : kind === 1 ? (i < 3 ? 1 - 1e-4 * i : 0.9 * random.uniform()) : kind === 2 ? 1 - 0.02 * random.uniform() : i === 0 ? 5 : random.uniform(),
    );
    const { apply, largest } = symmetricWithSpectrum(random, eigenvalues);
    for (const steps of [3, 8, 20, 59]) {
      const run = lanczos(apply, n, steps, 100 + trial, undefined);
      const upper = aposterioriUpper(run.alpha, run.beta, run.steps, run.theta, logDelta0);
      assert.ok(upper >= largest * (1 - 1e-12), `trial ${trial}, ${steps} steps: ${upper} < λ_max ${largest}`);
    }
  }
});

test('a separated top eigenvalue: the early stop saves steps and the bound is within the tolerance', () => {
  const random = new SeededRandom(9);
  const n = 80;
  const { apply, largest } = symmetricWithSpectrum(random, Array.from({ length: n }, (_, i) => (i === 0 ? 2 : random.uniform())));
  const logDelta0 = logStartThreshold(n, 1e-6);
  const tolerance = 1e-6;
  const run = lanczos(apply, n, 79, 1, undefined, (alpha, beta, k, theta) => aposterioriUpper(alpha, beta, k, theta, logDelta0) <= theta * (1 + tolerance));
  assert.ok(run.steps < 40, `took ${run.steps} steps`);
  const upper = aposterioriUpper(run.alpha, run.beta, run.steps, run.theta, logDelta0);
  assert.ok(upper >= largest && upper <= largest * (1 + 2 * tolerance), `${upper} vs ${largest}`);
});

/** Eigenvalues of the tridiagonal T_k of a run, largest first. */
function ritzValues(alpha: readonly number[], beta: readonly number[], k: number): number[] {
  const t = new Matrix(k, k);
  for (let i = 0; i < k; i++) {
    t.set(i, i, alpha[i]);
    if (i + 1 < k) t.set(i, i + 1, beta[i]).set(i + 1, i, beta[i]);
  }
  return new EigenvalueDecomposition(t, { assumeSymmetric: true }).realEigenvalues.sort((a, b) => b - a);
}

test('long runs of the plain recurrence (lost orthogonality, ghost copies of λ_max): the bound stays above λ_max and tight', () => {
  // Without reorthogonalisation, a converged Ritz value reappears as a ghost once the vectors lose
  // orthogonality. The bound rests on the recurrence alone (derivations §10b), so it must hold there
  // too; these runs go on far past convergence so that the ghosts are really there.
  const random = new SeededRandom(31);
  const n = 200;
  const logDelta0 = logStartThreshold(n, 1e-6);
  let ghosts = 0;
  for (let trial = 0; trial < 9; trial++) {
    const kind = trial % 3;
    const eigenvalues = Array.from({ length: n }, (_, i) =>
      kind === 0 ? (i === 0 ? 5 : random.uniform()) : kind === 1 ? (i < 3 ? 2 - 0.05 * i : random.uniform()) : 0.5 + random.uniform(),
    );
    const { apply, largest } = symmetricWithSpectrum(random, eigenvalues);
    for (const steps of [60, 120, n - 1]) {
      const run = lanczos(apply, n, steps, 500 + trial, undefined, undefined, null);
      const upper = aposterioriUpper(run.alpha, run.beta, run.steps, run.theta, logDelta0);
      assert.ok(upper >= largest * (1 - 1e-12), `trial ${trial}, ${steps} steps: ${upper} < λ_max ${largest}`);
      assert.ok(run.theta <= largest * (1 + 1e-12), `trial ${trial}, ${steps} steps: Ritz value ${run.theta} above λ_max ${largest}`);
      if (kind !== 2 || steps === n - 1) assert.ok(upper <= largest * (1 + 1e-6), `trial ${trial}, ${steps} steps: ${upper} vs λ_max ${largest}`);
      const ritz = ritzValues(run.alpha, run.beta, run.steps);
      if (ritz[1] >= largest * (1 - 1e-9)) ghosts++;
    }
  }
  // The separated spectra converge within ~30 steps, so their long runs must have ghosts.
  assert.ok(ghosts >= 6, `only ${ghosts} runs had a second Ritz value at λ_max`);
});
