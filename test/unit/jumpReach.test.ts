// Caps over the units whose window holds a jump of σ' (docs/derivations.md §68): a hand-derived
// HardSwish case, every unit's realised secant slope inside the slopes run's interval at sampled and
// hill-climbed points of the ball (random HardSwish networks), and the network bound never beaten.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activate, slopeJumps } from '../../src/engine/activations';
import { analyzeNetwork } from '../../src/engine/analyze';
import { layerRunPrefixReach, type PrefixReach } from '../../src/engine/composed/composedBound';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunContext, type RunOutcome } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Activation, type Network } from '../../src/engine/network';
import { prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { assertRatiosWithin, ballPoints } from './helpers/ballPoints';
import { chain, denseLayer, referenceForward } from './helpers/engineNetworks';
import { randomHardSwishNetwork } from './helpers/engineRandomNetworks';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };
const HARD_SWISH: Activation = { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 };

/**
 * The slopes-only run with prefix reach (as analyze.ts runs it), and how many norms it asked that are
 * not kept as β_k; with `jumpRounds` false those are refused (null), which is the run before §68.
 */
function slopesRun(ctx: RunContext, epsilon: number, jumpRounds = true): { run: RunOutcome; subsetNorms: number } {
  const product = runEpsilon(ctx, epsilon);
  const { prefixReach } = layerRunPrefixReach(ctx.prepared, ctx.spectral, Infinity);
  let subsetNorms = 0;
  const counted: PrefixReach = (layer, rows, slopes, keep = true) => {
    if (keep) return prefixReach(layer, rows, slopes, keep);
    subsetNorms++;
    return jumpRounds ? prefixReach(layer, rows, slopes, keep) : null;
  };
  return { run: runEpsilon({ ...ctx, prefixReach: counted }, epsilon, product), subsetNorms };
}

/** The values each activation layer's units read: an affine layer's pre-activations, a lone activation's input. */
function unitValues(prepared: PreparedNetwork, values: NominalValues, x: Float64Array, layer: number): Float64Array {
  const p = prepared.layers[layer];
  return p.op.kind === 'affine' ? (values.preActivations[layer] as Float64Array) : tensorValue(values, x, p.layer.inputs[0]);
}

function activationOf(prepared: PreparedNetwork, layer: number): Activation | undefined {
  const op = prepared.layers[layer].layer.op;
  return op.kind === 'affine' ? op.activation : op.kind === 'activation' ? op.activation : undefined;
}

describe('caps over the units whose window holds a jump of the slope (derivations §68)', () => {
  it('slopeJumps: HardSwish at −β/α and (1 − β)/α, the kinks of piecewise-linear maps, none for smooth ones', () => {
    assert.deepEqual(slopeJumps(HARD_SWISH), [-3, 3]);
    assert.deepEqual(slopeJumps({ kind: 'hardSwish', alpha: 0.5, beta: 0.25 }), [-0.5, 1.5]);
    assert.deepEqual(slopeJumps({ kind: 'relu' }), [0]);
    assert.deepEqual(slopeJumps({ kind: 'clip', min: 0, max: 6 }), [0, 6]);
    assert.deepEqual(slopeJumps({ kind: 'sigmoid' }), []);
    assert.deepEqual(slopeJumps({ kind: 'tanh' }), []);
  });

  it('hand-derived: a HardSwish unit 0.017 below 3 whose layer norm and box let it cross 3, but its own row does not', () => {
    // x0 = (0.1, 1); fc1 = diag(10, 1), ReLU, both units on and stable (they read the input: exact reach
    // 10ε and ε). fc2 = [[1, 0], [0.1, 1]] with bias (−1, 1.883) and HardSwish: z = (0, 2.983) at x0.
    // The prefix of fc2 is H = [[10, 0], [1, 1]]: β over both units is ‖H‖ = 10.05, so the cap is
    // 10.05ε = 0.1005, above §67's box, which gives unit 2 the reach 0.1 · 10ε + ε = 2ε = 0.02: its window
    // [2.963, 3.003] holds the jump at 3 (σ' = 1.5 left, 1 right), its interval is [1, chord to 3],
    // radius ≈ 0.247. Unit 1 stays uncertain on the quadratic piece, so the uncertain set does not
    // halve; unit 2 alone is the jump set: its own row (1, 1) gives the cap c = √2 ε = 0.01414 < 0.017,
    // the window holds no jump, and the interval runs from σ'(z − c) = 2α(z − c) + β to the steepest
    // chord from z, α(2z + c) + β: radius 1.5 α c = 0.003536.
    const network = chain([2], [
      denseLayer('fc1', [[10, 0], [0, 1]], [0, 0], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('fc2', [[1, 0], [0.1, 1]], [-1, 1.883], 0, HARD_SWISH),
    ]);
    const x0 = Float64Array.from([0.1, 1]);
    const prepared = prepareNetwork(network, 'typescript');
    const nominal = pureForward(prepared, x0) as NominalValues;
    const ctx: RunContext = { prepared, x0, nominal, spectralCache: new Map(), spectral: TS_SPECTRAL };
    const epsilon = 0.01;
    const before = slopesRun(ctx, epsilon, false);
    const after = slopesRun(ctx, epsilon);
    assert.equal(after.subsetNorms, 1, 'one norm over the jump set {unit 2}');
    const radius = (run: RunOutcome, unit: number) => (run.slopes[1]?.outputRadius[unit] as number);
    const z2 = (nominal.preActivations[1] as Float64Array)[1];
    assert.ok(Math.abs(z2 - 2.983) < 1e-6, `z2 = ${z2}`);
    const chord = (3 - z2 * (z2 / 6 + 0.5)) / (3 - z2);
    assert.ok(Math.abs(radius(before.run, 1) - (chord - 1) / 2) < 1e-6, `before: radius ${radius(before.run, 1)}, hand ${(chord - 1) / 2}`);
    const quadratic = 1.5 * (1 / 6) * Math.SQRT2 * epsilon;
    // At least the hand value (the cap is a certified upper bound), within the certificates' slack.
    assert.ok(radius(after.run, 1) >= quadratic && radius(after.run, 1) <= quadratic * (1 + 1e-4), `after: radius ${radius(after.run, 1)}, hand ${quadratic}`);
    // Unit 1 keeps its own reach 10ε (row (1, 0) of fc2 times fc1's 10ε, below the cap ‖H‖ε) on the
    // quadratic piece around 0: radius 1.5 α · 10ε, the same as before.
    assert.ok(Math.abs(radius(after.run, 0) - 1.5 * (1 / 6) * 10 * epsilon) < 1e-6, `unit 1: radius ${radius(after.run, 0)}, hand ${1.5 * (1 / 6) * 10 * epsilon}`);
    assert.equal(radius(after.run, 0), radius(before.run, 0));
  });

  it('every realised secant slope lies in the slopes run\'s interval at sampled and hill-climbed points (random HardSwish networks)', () => {
    const random = new SeededRandom(680);
    let checked = 0;
    let subsetNorms = 0;
    let narrowed = 0;
    for (let k = 0; k < 24; k++) {
      const { network } = randomHardSwishNetwork(random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => 2 * random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.3));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const ctx: RunContext = { prepared, x0, nominal, spectralCache: new Map(), spectral: backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS };
      const { run, subsetNorms: asked } = slopesRun(ctx, epsilon);
      subsetNorms += asked;
      const { run: without } = slopesRun(ctx, epsilon, false);
      const layers = prepared.layers.flatMap((_p, layer) => (activationOf(prepared, layer) && run.slopes[layer] ? [layer] : []));
      layers.forEach((layer) => {
        (run.slopes[layer]?.outputRadius as Float64Array).forEach((r, i) => {
          if (r < (without.slopes[layer]?.outputRadius as Float64Array)[i] * 0.5) narrowed++;
        });
      });
      const a0 = layers.map((layer) => Float64Array.from(unitValues(prepared, nominal, x0, layer)));
      // How far outside its interval each unit's secant slope lies, in units of its radius (≤ 1 inside).
      const excess = (x: Float64Array, check: boolean) => {
        const values = pureForward(prepared, x) as NominalValues;
        let worst = 0;
        layers.forEach((layer, l) => {
          const activation = activationOf(prepared, layer) as Activation;
          const { mid, outputRadius } = run.slopes[layer] as { mid: Float64Array; outputRadius: Float64Array };
          unitValues(prepared, values, x, layer).forEach((y, i) => {
            const a = a0[l][i];
            // Too short a secant is all rounding (values are O(1), computed to ~1e-15).
            if (Math.abs(y - a) < 1e-7) return;
            const secant = (activate(activation, y) - activate(activation, a)) / (y - a);
            const off = Math.abs(secant - mid[i]) - outputRadius[i];
            if (check) {
              assert.ok(off <= 1e-6, `network ${k} layer ${layer} unit ${i}: secant ${secant} outside ${mid[i]} ± ${outputRadius[i]}`);
              checked++;
            }
            worst = Math.max(worst, Math.abs(secant - mid[i]) / (outputRadius[i] + 1e-12));
          });
        });
        return worst;
      };
      for (const x of ballPoints(random, x0, epsilon, (x) => excess(x, false))) excess(x, true);
    }
    assert.ok(checked > 2000, `${checked} secant slopes checked`);
    assert.ok(subsetNorms > 5, `${subsetNorms} norms over jump sets`);
    assert.ok(narrowed > 5, `${narrowed} units whose radius the jump caps at least halved`);
  });

  it('the network bound is never beaten by sampled or hill-climbed ratios (random HardSwish networks)', async () => {
    const random = new SeededRandom(681);
    for (let k = 0; k < 12; k++) {
      const { network } = randomHardSwishNetwork(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => 2 * random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.3));
      const result = await analyzeNetwork(network, x0, { epsilons: [epsilon], backend: 'typescript' });
      const bound = result.runs[0].network.localBound;
      assertRatiosWithin(random, (x) => referenceForward(network as Network, x)[network.output], x0, epsilon, bound, `network ${k}`);
    }
  });
});
