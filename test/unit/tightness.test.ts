// Lower bounds (lowerBound.ts) and per-layer tightness (tightness/layerTightness.ts): every witnessed
// ratio is a real ratio at a point of the ball (re-checked with the independent reference forward
// pass), never above the upper bounds, and as good as hand-derived values where those are known.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { analyzeNetwork } from '../../src/engine/analyze';
import { CancelledError } from '../../src/engine/errors';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { LowerBoundSearch } from '../../src/engine/lowerBound';
import type { Activation, Network } from '../../src/engine/network';
import { prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { NetworkTape } from '../../src/engine/tightness/tape';
import { chain, denseLayer, NETWORK_INPUT, referenceForward } from './helpers/engineNetworks';
import { randomAxisMapNetwork, randomConvNetwork, randomDenseNetwork, randomGraphNetwork, randomHardSwishNetwork, randomProductNetwork, randomTransposeNetwork } from './helpers/engineRandomNetworks';

// Upper bounds carry their own rounding margins; witnessed ratios are float64 evaluations at radii
// ≥ 1e-4 · max(1, ‖x0‖), so 1e-9 relative covers their rounding.
const REL = 1e-9;

function spectralNorm(rows: number[][]): number {
  return new SingularValueDecomposition(new Matrix(rows)).diagonal[0];
}

function workedExample(): Network {
  return chain([3], [
    denseLayer('fc1', [[3, -1, 2], [-2, 7, 1], [5, -3, -1]], [-1, -4, 2], NETWORK_INPUT, { kind: 'relu' }),
    denseLayer('fc2', [[1, 2, -1], [0, 1, 1]], [0.5, -0.5], 0),
  ]);
}

describe('lower bound: hand-derived cases', () => {
  it('method.md §1 scalar ReLU at y0 = −1, ε = 1.5: finds 1/3, which is also the upper bound', async () => {
    // f(x) = ReLU(x − 1) at x0 = 0: the ratio (t − 1)/t for t ∈ (1, 1.5] peaks at t = ε (method.md §1).
    const network = chain([1], [denseLayer('fc', [[1]], [-1], NETWORK_INPUT, { kind: 'relu' })]);
    const result = await analyzeNetwork(network, Float64Array.from([0]), { epsilons: [1.5], lowerBound: {} });
    const run = result.runs[0];
    assert.ok(Math.abs(run.lowerBound!.value - 1 / 3) <= 1e-9, `lower ${run.lowerBound!.value}`);
    assert.ok(Math.abs(run.network.localBound - 1 / 3) <= 1e-9, `upper ${run.network.localBound}`);
    assert.ok(run.lowerBound!.witnessNorm <= 1.5);
  });

  it('method.md §7 network: the lower bound reaches ‖B D A‖ of the nominal activation pattern', async () => {
    // y0 = [0.1, −3.7, 4.0]: ReLU pattern diag(1, 0, 1) near x0, so small steps along the top singular
    // vector of J = B·diag(1,0,1)·A give ratios → ‖J‖ (exact SVD below).
    const J = new Matrix([[1, 2, -1], [0, 1, 1]]).mmul(Matrix.diag([1, 0, 1])).mmul(new Matrix([[3, -1, 2], [-2, 7, 1], [5, -3, -1]]));
    const jacobianNorm = spectralNorm(J.to2DArray());
    const result = await analyzeNetwork(workedExample(), Float64Array.from([0.5, 0.2, -0.1]), { epsilons: [0.1, 2], lowerBound: { budget: 150 } });
    for (const run of result.runs) {
      const lower = run.lowerBound!.value;
      assert.ok(lower >= jacobianNorm * (1 - 1e-4), `ε=${run.epsilon}: lower ${lower} below ‖J‖ ${jacobianNorm}`);
      assert.ok(lower <= run.network.localBound * (1 + REL), `ε=${run.epsilon}: lower ${lower} above upper ${run.network.localBound}`);
    }
  });

  it('a linear network: the lower bound meets ‖W2 W1‖ (exact SVD) and the per-layer values are exact', async () => {
    const w1 = [[1, -2, 0.5], [0.3, 1, -1], [2, 0, 1], [-1, 1, 1]];
    const w2 = [[1, 0.5, -1, 2], [0, -1, 1, 1]];
    const network = chain([3], [denseLayer('fc1', w1, [0.1, 0, -0.2, 0.3], NETWORK_INPUT), denseLayer('fc2', w2, null, 0)]);
    const expected = spectralNorm(new Matrix(w2).mmul(new Matrix(w1)).to2DArray());
    // Budget 200 leaves the power iteration its full 30 steps (close singular values converge slowly).
    const result = await analyzeNetwork(network, Float64Array.from([0.2, -0.4, 1]), { epsilons: [0.5], lowerBound: { budget: 200, layers: true } });
    const run = result.runs[0];
    assert.ok(Math.abs(run.lowerBound!.value - expected) <= 1e-6 * expected, `lower ${run.lowerBound!.value} vs ‖W2W1‖ ${expected}`);
    run.layers.forEach((layer, k) => {
      assert.equal(layer.tightness?.kind, 'exact', `layer ${k}`);
      const norm = spectralNorm(k === 0 ? w1 : w2);
      assert.ok(Math.abs(layer.tightness!.lower - norm) <= 1e-9 * norm, `layer ${k}: ${layer.tightness!.lower} vs SVD ${norm}`);
    });
  });

  it('an input mask restricts the witness to the movable coordinates', () => {
    // One linear layer moving only input 1: the local constant is the norm of column 1 (√(4 + 1 + 9)).
    const network = chain([3], [denseLayer('fc', [[1, 2, 0], [0, 1, 5], [4, 3, 1]], null, NETWORK_INPUT)]);
    const search = new LowerBoundSearch(prepareNetwork(network), Float64Array.from([1, 1, 1]), { inputMask: Uint8Array.from([0, 1, 0]) });
    const found = search.run(0.1);
    assert.ok(Math.abs(found.value - Math.sqrt(14)) <= 1e-9, `masked lower ${found.value}`);
  });

  it('is deterministic for a seed and stops on a cancelled signal', () => {
    const prepared = prepareNetwork(workedExample());
    const x0 = Float64Array.from([0.5, 0.2, -0.1]);
    const a = new LowerBoundSearch(prepared, x0, { seed: 7 }).run(1);
    const b = new LowerBoundSearch(prepared, x0, { seed: 7 }).run(1);
    assert.deepEqual(a, b);
    assert.throws(() => new LowerBoundSearch(prepared, x0, { signal: { aborted: true } }).run(1), CancelledError);
  });
});

describe('lower bound: tape gradients', () => {
  it('backward and tangent passes are adjoint and match finite differences on random graphs', () => {
    const random = new SeededRandom(2024);
    let checked = 0;
    let matched = 0;
    for (const make of [randomDenseNetwork, randomConvNetwork, randomGraphNetwork, randomTransposeNetwork, randomHardSwishNetwork, randomAxisMapNetwork, randomProductNetwork]) {
      for (let k = 0; k < 5; k++) {
        const { network } = make(random);
        const prepared = prepareNetwork(network);
        const tape = new NetworkTape(prepared);
        const x = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
        const recorded = tape.forward(x);
        const v = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
        const out = tape.outputOf(recorded, x);
        const u = Float64Array.from({ length: out.length }, () => random.gaussian());
        const jv = tape.tangent(recorded, v);
        const jtu = tape.backward(recorded, u);
        const left = jv.reduce((s, y, i) => s + y * u[i], 0);
        const right = jtu.reduce((s, y, i) => s + y * v[i], 0);
        // ⟨Jv, u⟩ = ⟨v, Jᵀu⟩ up to rounding of sums of a few hundred terms.
        assert.ok(Math.abs(left - right) <= 1e-9 * (1 + Math.abs(left)), `${make.name} #${k}: ${left} vs ${right}`);
        // Central difference with h = 1e-6 matches J v unless a kink lies within h of x (rare for
        // Gaussian x: most of the 35 cases must match).
        const h = 1e-6;
        const plus = referenceForward(network, x.map((xi, i) => xi + h * v[i]));
        const minus = referenceForward(network, x.map((xi, i) => xi - h * v[i]));
        const fp = plus[network.output];
        const fm = minus[network.output];
        const fd = fp.map((y, i) => (y - fm[i]) / (2 * h));
        const err = Math.sqrt(fd.reduce((s, y, i) => s + (y - jv[i]) ** 2, 0));
        const scale = Math.sqrt(jv.reduce((s, y) => s + y * y, 0));
        if (err <= 1e-5 * (1 + scale)) matched++;
        checked++;
      }
    }
    assert.ok(matched >= checked - 3, `finite differences matched J v in ${matched} of ${checked} cases`);
  });
});

describe('lower bound: random networks', () => {
  it('never exceeds the network or layer bounds; witnesses lie in the ball and are real ratios', async () => {
    const random = new SeededRandom(99);
    let networks = 0;
    let worstGap = Infinity;
    for (const make of [randomDenseNetwork, randomConvNetwork, randomGraphNetwork]) {
      for (let k = 0; k < 10; k++) {
        const { network } = make(random);
        const n = network.inputShape.reduce((a, b) => a * b, 1);
        const x0 = Float64Array.from({ length: n }, () => random.gaussian());
        const epsilons = [1e-3, 0.3, 3];
        const result = await analyzeNetwork(network, x0, { epsilons, lowerBound: { budget: 80, layers: { budget: 30 } } });
        // The witness of the largest ball, re-evaluated with the independent reference forward pass.
        const search = new LowerBoundSearch(prepareNetwork(network), x0, { budget: 80 });
        const found = search.run(epsilons[epsilons.length - 1]);
        const witness = search.lastWitness() as Float64Array;
        const f0 = referenceForward(network, x0)[network.output];
        const fx = referenceForward(network, witness)[network.output];
        const dx = Math.sqrt(witness.reduce((s, v, i) => s + (v - x0[i]) ** 2, 0));
        const ratio = Math.sqrt(fx.reduce((s, v, i) => s + (v - f0[i]) ** 2, 0)) / dx;
        // The reported value is the witness's ratio less a small rounding allowance, never more.
        assert.ok(found.value <= ratio * (1 + REL) && found.value >= ratio * (1 - 1e-6), `witness ratio ${ratio} vs reported ${found.value}`);
        assert.ok(dx <= epsilons[epsilons.length - 1]);
        let previous = 0;
        for (const run of result.runs) {
          const lower = run.lowerBound!;
          assert.ok(lower.witnessNorm > 0 && lower.witnessNorm <= run.epsilon, `witness norm ${lower.witnessNorm} at ε=${run.epsilon}`);
          assert.ok(lower.value <= run.network.localBound * (1 + REL), `${make.name} #${k} ε=${run.epsilon}: lower ${lower.value} > upper ${run.network.localBound}`);
          assert.ok(run.network.localBound <= run.network.spectralBound * (1 + REL));
          // L(f, x0, ε) is non-decreasing in ε and the search carries witnesses to larger balls.
          assert.ok(lower.value >= previous, `lower fell from ${previous} to ${lower.value} at ε=${run.epsilon}`);
          previous = lower.value;
          if (lower.value > 0) worstGap = Math.min(worstGap, run.network.localBound / lower.value);
          for (const layer of run.layers) {
            if (!layer.tightness) continue;
            assert.ok(layer.tightness.lower <= layer.localBound * (1 + REL) + 1e-12,
              `${make.name} #${k} ε=${run.epsilon} ${layer.label}: ${layer.tightness.kind} ${layer.tightness.lower} > bound ${layer.localBound}`);
          }
        }
        networks++;
      }
    }
    assert.equal(networks, 30);
    assert.ok(worstGap >= 1 - REL);
  });
});

describe('lower bound: unusual activation parameters', () => {
  it('stays below the bounds for LeakyReLU α < 0 and α > 1, HardSigmoid α < 0, Clip(−1, 0.5), Sigmoid, Tanh, HardSwish', async () => {
    // Non-monotone or expanding activations exercise the chord-slope rule over the whole interval.
    const activations: Activation[] = [
      { kind: 'leakyRelu', alpha: -0.5 },
      { kind: 'leakyRelu', alpha: 2 },
      { kind: 'hardSigmoid', alpha: -0.3, beta: 0.4 },
      { kind: 'clip', min: -1, max: 0.5 },
      { kind: 'sigmoid' },
      { kind: 'tanh' },
      { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 },
    ];
    const random = new SeededRandom(31);
    let checked = 0;
    for (const activation of activations) {
      for (let k = 0; k < 6; k++) {
        const n = 3 + random.int(3);
        const m = 3 + random.int(4);
        const matrix = (rows: number, cols: number) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => random.gaussian()));
        const network = chain([n], [
          denseLayer('fc1', matrix(m, n), Array.from({ length: m }, () => random.gaussian()), NETWORK_INPUT, activation),
          { label: 'act', nodes: ['act'], opTypes: ['act'], op: { kind: 'activation', activation }, inputs: [0], inputShapes: [[m]], outputShape: [m], onnxOutput: 'act_out' },
          denseLayer('fc2', matrix(2, m), null, 1),
        ]);
        const x0 = Float64Array.from({ length: n }, () => random.gaussian());
        const result = await analyzeNetwork(network, x0, { epsilons: [0.05, 0.7, 4], lowerBound: { budget: 120, layers: { budget: 60 } } });
        for (const run of result.runs) {
          assert.ok(run.lowerBound!.value <= run.network.localBound * (1 + REL), `${activation.kind} #${k} ε=${run.epsilon}: ${run.lowerBound!.value} > ${run.network.localBound}`);
          for (const layer of run.layers) {
            if (layer.tightness) {
              assert.ok(layer.tightness.lower <= layer.localBound * (1 + REL) + 1e-12, `${activation.kind} #${k} ε=${run.epsilon} ${layer.label}: ${layer.tightness.lower} > ${layer.localBound}`);
            }
          }
          // docs/derivations.md §3: for a lone piecewise-linear activation the bound is the exact constant
          // (HardSwish, not piecewise linear, is only witnessed).
          const lone = run.layers[1];
          if (activation.kind !== 'sigmoid' && activation.kind !== 'tanh' && activation.kind !== 'hardSwish') {
            assert.equal(lone.tightness?.kind, 'exact');
            assert.ok(Math.abs(lone.tightness!.lower - lone.localBound) <= 1e-12, `${activation.kind}: exact ${lone.tightness!.lower} vs bound ${lone.localBound}`);
          } else {
            assert.equal(lone.tightness?.kind, 'witnessed');
          }
          checked++;
        }
      }
    }
    assert.equal(checked, activations.length * 6 * 3);
  });
});

describe('per-layer tightness with inexact nominal values', () => {
  it('claims an exact affine-layer value only when every row stays in one piece over the τ-widened interval', async () => {
    // With τ > 0 the run's slopes cover every admissible nominal value; they are the piece slopes
    // (so the run's norm is ‖J D‖) only where [y0 − τ − reach, y0 + τ + reach] holds no kink.
    const network = workedExample();
    const x0 = Float64Array.from([0.5, 0.2, -0.1]);
    const withError = (tau: number) => (prepared: PreparedNetwork, x: Float64Array) => ({ ...(pureForward(prepared, x) as NominalValues), absoluteError: tau });
    const exactRun = await analyzeNetwork(network, x0, { epsilons: [0.01], lowerBound: { layers: true } });
    const smallError = await analyzeNetwork(network, x0, { epsilons: [0.01], forward: withError(1e-9), lowerBound: { layers: true } });
    const largeError = await analyzeNetwork(network, x0, { epsilons: [0.01], forward: withError(0.1), lowerBound: { layers: true } });
    // At ε = 0.01 layer fc2 is linear and fc1's rows (y0 = 0.1, −3.7, 4.0, reach ≤ 0.01·‖a_i‖ ≤ 0.079)
    // stay clear of the kink even with τ = 1e-9; τ = 0.1 brings 0 into row 1's widened interval.
    assert.deepEqual(exactRun.runs[0].layers.map((l) => l.tightness?.kind), ['exact', 'exact']);
    assert.deepEqual(smallError.runs[0].layers.map((l) => l.tightness?.kind), ['exact', 'exact']);
    assert.deepEqual(largeError.runs[0].layers.map((l) => l.tightness?.kind), ['witnessed', 'exact']);
    for (const run of [smallError, largeError]) {
      run.runs[0].layers.forEach((layer, k) => {
        assert.ok(layer.tightness!.lower <= exactRun.runs[0].layers[k].tightness!.lower * (1 + REL));
        assert.ok(layer.tightness!.lower >= exactRun.runs[0].layers[k].tightness!.lower * (1 - 1e-3));
      });
    }
  });
});
