// Activation slope bounds: r bounds every chord slope |σ(y) − σ(y0)|/|y − y0| over the reachable
// interval (checked on a dense grid), and for piecewise-linear σ it is attained (exact supremum).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activate, globalSlope, neuronState, slopeBound, slopeBoundUncertain } from '../../src/engine/activations';
import type { Activation } from '../../src/engine/network';
import { SeededRandom } from '../../src/engine/random';

const activations: Activation[] = [
  { kind: 'relu' },
  { kind: 'leakyRelu', alpha: 0.1 },
  { kind: 'leakyRelu', alpha: -0.5 },
  { kind: 'clip', min: 0, max: 6 },
  { kind: 'clip', min: -1, max: 1 },
  { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
  { kind: 'hardSigmoid', alpha: -0.3, beta: 0.4 },
  { kind: 'sigmoid' },
  { kind: 'tanh' },
  { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 },
  { kind: 'hardSwish', alpha: 0.2, beta: 0.5 },
  { kind: 'hardSwish', alpha: 1, beta: -0.3 },
];
/** Activations whose slope bound is the exact chord supremum (not a derivative bound). */
const exactSupremum = new Set(['relu', 'leakyRelu', 'clip', 'hardSigmoid', 'hardSwish']);

describe('engine activation slope bounds', () => {
  it('bound every sampled chord slope; exact for piecewise-linear activations', () => {
    const random = new SeededRandom(3);
    let checks = 0;
    for (const activation of activations) {
      for (let t = 0; t < 200; t++) {
        const y0 = random.between(-8, 8);
        const lo = y0 - random.between(0, 6) * (random.uniform() < 0.2 ? 0 : 1);
        const hi = y0 + random.between(0, 6);
        const r = slopeBound(activation, lo, y0, hi);
        let sampledMax = 0;
        const f0 = activate(activation, y0);
        for (let k = 0; k <= 2000; k++) {
          const y = lo + ((hi - lo) * k) / 2000;
          if (y === y0) continue;
          const slope = Math.abs(activate(activation, y) - f0) / Math.abs(y - y0);
          sampledMax = Math.max(sampledMax, slope);
          // The sampled chord divides a float64 difference by |y − y0|, which can be small: allow 1e-9 relative.
          assert.ok(slope <= r * (1 + 1e-9) + 1e-12, `${activation.kind} y0=${y0} [${lo}, ${hi}]: chord ${slope} > r ${r}`);
          checks++;
        }
        if (exactSupremum.has(activation.kind)) {
          // Grid spacing (hi − lo)/2000 ≤ 0.006 limits how closely the grid approaches a kink or y0.
          assert.ok(sampledMax >= r - 0.01 * Math.max(1, r), `${activation.kind}: r ${r} not attained (grid max ${sampledMax})`);
        }
      }
    }
    assert.ok(checks > 3_000_000);
  });

  it('HardSwish: hand-derived suprema (tangent through (y0, g(y0)), far chord, kink) and the global slope', () => {
    const hs: Activation = { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 };
    // g(y) = y(y + 3)/6 on [−3, 3]. From y0 = −3 (g0 = 0) over [−3, 3]: chords (y + 3)/6 · y/(y + 3) = y/6,
    // largest at y = 3: 0.5; hi = 3 is also the kink. From y0 = −5 (flat piece, g0 = 0) over [−5, 0]:
    // chord g(y)/(y + 5), tangent point y² + 10y + 15 = 0 → y = −5 + √10, where the chord equals
    // g'(y) = (2y + 3)/6 = (−7 + 2√10)/6 ≈ −0.112...; |·| = (7 − 2√10)/6.
    // Tolerance 1e-11: the engine adds 1e-12 relative and ~1e-14 absolute for its float64 evaluation.
    assert.ok(Math.abs(slopeBound(hs, -3, -3, 3) - 0.5) <= 1e-11);
    assert.ok(Math.abs(slopeBound(hs, -5, -5, 0) - (7 - 2 * Math.sqrt(10)) / 6) <= 1e-11);
    // From y0 = 0 over [−1, 4]: chords (y + 3)/6 up to y = 3, then g(y)/y = 1 beyond: sup 1.
    assert.ok(Math.abs(slopeBound(hs, -1, 0, 4) - 1) <= 1e-11);
    assert.equal(globalSlope(hs), 1.5);
  });

  it('HardSwish with the nominal value known to ±τ: every chord from an admissible y0* stays below r', () => {
    const random = new SeededRandom(8);
    let checks = 0;
    for (const activation of activations.filter((a) => a.kind === 'hardSwish')) {
      for (let t = 0; t < 300; t++) {
        const y0 = random.between(-8, 8);
        const tau = Math.pow(10, random.between(-15, 0));
        const reach = Math.pow(10, random.between(-6, 0.8));
        const r = slopeBoundUncertain(activation, y0, tau, reach);
        assert.ok(r <= globalSlope(activation) * (1 + 1e-12), `r ${r} above the global slope`);
        for (let k = 0; k < 200; k++) {
          const a = y0 + tau * random.between(-1, 1);
          const y = a + reach * random.between(0.1, 1) * (random.uniform() < 0.5 ? -1 : 1);
          const slope = Math.abs(activate(activation, y) - activate(activation, a)) / Math.abs(y - a);
          // The sampled chord's own rounding: a few ulps of |g| ≤ 1 + y² divided by |y − a|.
          const rounding = (1e-15 * (1 + y * y)) / Math.abs(y - a);
          assert.ok(slope <= r * (1 + 1e-12) + rounding, `y0=${y0} τ=${tau} reach=${reach}: chord ${slope} > r ${r}`);
          checks++;
        }
      }
    }
    assert.ok(checks > 150_000);
  });

  it('a reach below half an ulp of y0 still gets the slope of its piece (y0 ± reach is not rounded back to y0)', () => {
    // y0 = 100, reach = 1e-15 < ulp(100)/2 ≈ 7.1e-15: every coordinate still moves with σ'(y0).
    for (const tau of [0, 1e-16]) {
      assert.equal(slopeBoundUncertain({ kind: 'relu' }, 100, tau, 1e-15), 1);
      assert.equal(slopeBoundUncertain({ kind: 'leakyRelu', alpha: 0.1 }, -100, tau, 1e-15), 0.1);
      assert.ok(slopeBoundUncertain({ kind: 'clip', min: 0, max: 200 }, 100, tau, 1e-15) >= 1);
      assert.ok(slopeBoundUncertain({ kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 }, 100, tau, 1e-15) >= 1);
      // σ'(3) = σ(3)(1 − σ(3)) ≈ 0.0452 (hand value 0.045176659730912).
      assert.ok(slopeBoundUncertain({ kind: 'sigmoid' }, 3, tau, 1e-17) >= 0.045176659730912 * (1 - 1e-9));
    }
  });

  it('classifies ReLU neurons as in method.md §2 (only ybar matters)', () => {
    assert.equal(neuronState({ kind: 'relu' }, -5, 0.1, 2), 'on');
    assert.equal(neuronState({ kind: 'relu' }, -5, -3.7, -0.1), 'off');
    assert.equal(neuronState({ kind: 'relu' }, -30, -3.7, 11), 'unstable');
    assert.equal(neuronState({ kind: 'clip', min: 0, max: 6 }, 1, 2, 3), 'on');
    assert.equal(neuronState({ kind: 'clip', min: 0, max: 6 }, 5, 7, 9), 'unstable');
    assert.equal(neuronState({ kind: 'clip', min: 0, max: 6 }, 7, 8, 9), 'off');
    assert.equal(neuronState({ kind: 'sigmoid' }, -1, 0, 1), null);
  });
});
