// The dense exact path's certificate: λ_max(G) ≤ τ + ‖M − LLᵀ‖ bound, with M = τI − G.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { certifiedLargestEigenvalue, certifyBelow } from '../../src/engine/spectral/choleskyCertificate';
import { SeededRandom } from '../../src/engine/random';

function randomGram(random: SeededRandom, k: number, inner: number, topScale = 1): Float64Array {
  const m = Array.from({ length: k * inner }, () => random.gaussian());
  // Stretch the first row so the top of the spectrum can be made dominant or clustered.
  for (let t = 0; t < inner; t++) m[t] *= topScale;
  const gram = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s += m[i * inner + t] * m[j * inner + t];
      gram[i * k + j] = s;
    }
  }
  return gram;
}

function referenceLargest(gram: Float64Array, k: number): number {
  const matrix = new Matrix(k, k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) matrix.set(i, j, gram[i * k + j]);
  return Math.max(...new EigenvalueDecomposition(matrix, { assumeSymmetric: true }).realEigenvalues);
}

test('hand case: diag(4, 1) is certified just above 4 and refused below it', () => {
  const gram = Float64Array.from([4, 0, 0, 1]);
  assert.equal(certifyBelow(gram, 2, 3.9), undefined, 'τ below λ_max cannot factor');
  const upper = certifyBelow(gram, 2, 4 + 1e-9);
  assert.ok(upper !== undefined && upper >= 4 && upper <= 4 + 2e-9);
});

test('random Gram matrices: the certificate is never below the reference eigenvalue and within 1e-8 of it', () => {
  const random = new SeededRandom(11);
  for (let trial = 0; trial < 40; trial++) {
    const k = 2 + random.int(60);
    const gram = randomGram(random, k, k + random.int(30), trial % 2 ? 1 : 5);
    const reference = referenceLargest(gram, k);
    const { upper } = certifiedLargestEigenvalue(gram, k, reference * (1 - 1e-14));
    assert.ok(upper >= reference, `trial ${trial}: ${upper} < ${reference}`);
    assert.ok(upper <= reference * (1 + 1e-8), `trial ${trial}: ${upper} too loose vs ${reference}`);
  }
});

test('a low estimate costs retries, not tightness: 5 % low still certifies within 1 %', () => {
  const random = new SeededRandom(5);
  const k = 40;
  const gram = randomGram(random, k, 50);
  const reference = referenceLargest(gram, k);
  const { upper, attempts } = certifiedLargestEigenvalue(gram, k, 0.95 * reference);
  assert.ok(upper >= reference);
  assert.ok(upper <= 1.01 * reference, `${upper} vs ${reference}`);
  assert.ok(attempts > 1);
});

test('an indefinite matrix: the bound still covers its largest eigenvalue', () => {
  const gram = Float64Array.from([1, 3, 3, 1]); // eigenvalues 4 and −2
  const { upper } = certifiedLargestEigenvalue(gram, 2, 3.5);
  assert.ok(upper >= 4 && upper < 4.01);
});
