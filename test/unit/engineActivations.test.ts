// Activation slope bounds: r bounds every chord slope |σ(y) − σ(y0)|/|y − y0| over the reachable
// interval (checked on a dense grid), and for piecewise-linear σ it is attained (exact supremum).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activate, neuronState, slopeBound } from '../../src/engine/activations';
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
];
const piecewiseLinear = new Set(['relu', 'leakyRelu', 'clip', 'hardSigmoid']);

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
        if (piecewiseLinear.has(activation.kind)) {
          // Grid spacing (hi − lo)/2000 ≤ 0.006 limits how closely the grid approaches a kink or y0.
          assert.ok(sampledMax >= r - 0.01 * Math.max(1, r), `${activation.kind}: r ${r} not attained (grid max ${sampledMax})`);
        }
      }
    }
    assert.ok(checks > 3_000_000);
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
