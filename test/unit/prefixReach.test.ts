// Reach from composed prefixes during the layer run (docs/derivations.md §56): the caps ε β_k bound how
// far every capped unit actually moves (sampled and hill-climbed points of the ball), the run's slopes
// lie inside the product-reach run's, a hand-built case where the product calls a unit unstable and the
// prefix does not, and the network bound is never beaten.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { composedBound, layerRunPrefixReach, type KnownPrefixNorm } from '../../src/engine/composed/composedBound';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunContext, type RunOutcome } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { chain, denseLayer, referenceForward } from './helpers/engineNetworks';
import { randomConvNetwork, randomDenseNetwork, randomGraphNetwork, randomTransposeNetwork } from './helpers/engineRandomNetworks';
import { assertRatiosWithin, ballPoints } from './helpers/ballPoints';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };
// Sampled values are float64 sums of a few hundred terms (as in composedBound.test.ts).
const REL = 1e-9;
const ABS = 1e-12;

const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork, randomTransposeNetwork];

/**
 * The product-reach layer run, then the slopes-only run with each unit's reach from its composed prefix
 * (as analyze.ts runs them), and the prefix norms it certified.
 */
function runWithPrefixReach(ctx: RunContext, epsilon: number): { product: RunOutcome; run: RunOutcome; certified: Map<number, KnownPrefixNorm> } {
  const product = runEpsilon(ctx, epsilon);
  const { prefixReach, certified } = layerRunPrefixReach(ctx.prepared, ctx.spectral, Infinity);
  return { product, run: runEpsilon({ ...ctx, prefixReach }, epsilon, product), certified };
}

describe('reach from composed prefixes during the layer run (derivations §56)', () => {
  it('a unit the layer product calls unstable is stable once its reach comes from the composed prefix', async () => {
    // Layer 1: diag(10, 1) with ReLU, both units on and stable at x0 = (1, 1); ‖A1‖ = 10, so the product
    // gives layer 2 (row (0, 1), bias −0.95, y0 = 0.05) the reach 10 ε = 0.1 > 0.05: unstable. Its prefix
    // is (0, 1) · diag(10, 1) = (0, 1): reach ε = 0.01 < 0.05, stable; f = x2 − 0.95 near x0, L = 1.
    const network = chain([2], [
      denseLayer('fc1', [[10, 0], [0, 1]], [0, 0], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('fc2', [[0, 1]], [-0.95], 0, { kind: 'relu' }),
    ]);
    const x0 = Float64Array.from([1, 1]);
    const prepared = prepareNetwork(network, 'typescript');
    const first = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, 0.01);
    assert.ok(Math.abs(first.layers[1].epsilonIn - 0.1) < 1e-9, `product reach ${first.layers[1].epsilonIn}`);
    assert.equal(composedBound(prepared, first.slopes, TS_SPECTRAL)?.uncertainUnits, 1, 'with the product reach the unit may switch off (slopes [0, 1])');
    const result = await analyzeNetwork(network, x0, { epsilons: [0.01], backend: 'typescript' });
    const run = result.runs[0];
    assert.equal(run.network.method, 'composed');
    assert.equal(run.network.composed?.uncertainUnits, 0, 'with the prefix reach no unit is uncertain');
    assert.ok(run.network.localBound >= 1 && run.network.localBound <= 1 + 1e-8, `bound ${run.network.localBound}, exact 1`);
  });

  it('every capped unit moves at most its cap ε β_k at sampled and hill-climbed points (random DAGs, TypeScript and native)', () => {
    const random = new SeededRandom(424);
    let capped = 0;
    let tightest = 0;
    let belowProduct = 0;
    for (let k = 0; k < 40; k++) {
      const { network } = builders[k % builders.length](random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const n = prepared.inputSize;
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.5));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const spectral = backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS;
      const { product: run, certified } = runWithPrefixReach({ prepared, x0, nominal, spectralCache: new Map(), spectral }, epsilon);
      // Every certified β_k bounds the move of the units it covers (max-pool layers' prefix rows read
      // window entries minus the window mean: not a single entry's move, so not checked here).
      const caps = prepared.layers.map((p, layer) => {
        const known = certified.get(layer);
        if (!known || (p.op.kind !== 'affine' && p.op.kind !== 'activation')) return null;
        return Float64Array.from(known.rows, (u) => (u ? epsilon * known.value : Infinity));
      });
      if (!caps.some((cap) => cap)) continue;
      /** The tensor each capped layer's units read: the pre-activation, or a lone activation's input. */
      const unitValues = (values: NominalValues, x: Float64Array, layer: number) => {
        const p = prepared.layers[layer];
        return p.op.kind === 'affine' ? (values.preActivations[layer] as Float64Array) : tensorValue(values, x, p.layer.inputs[0]);
      };
      const before = caps.map((cap, layer) => (cap ? Float64Array.from(unitValues(nominal, x0, layer)) : null));
      // Hill-climb the largest move relative to the cap.
      const score = (x: Float64Array) => {
        const values = pureForward(prepared, x) as NominalValues;
        let worst = 0;
        caps.forEach((cap, layer) => {
          if (!cap) return;
          const z = unitValues(values, x, layer);
          cap.forEach((c, i) => {
            if (Number.isFinite(c)) worst = Math.max(worst, Math.abs(z[i] - (before[layer] as Float64Array)[i]) / c);
          });
        });
        return worst;
      };
      for (const x of ballPoints(random, x0, epsilon, score)) {
        const values = pureForward(prepared, x) as NominalValues;
        caps.forEach((cap, layer) => {
          if (!cap) return;
          const z = unitValues(values, x, layer);
          cap.forEach((c, i) => {
            if (!Number.isFinite(c)) return;
            const moved = Math.abs(z[i] - (before[layer] as Float64Array)[i]);
            assert.ok(moved <= c * (1 + REL) + ABS, `network ${k} layer ${layer} unit ${i}: moved ${moved} > cap ${c}`);
            tightest = Math.max(tightest, moved / c);
            capped++;
          });
        });
      }
      // Not vacuous: the caps are below the product's reach somewhere (compare with the layer's ε_in).
      caps.forEach((cap, layer) => {
        if (cap && cap.some((c) => Number.isFinite(c) && c < run.layers[layer].epsilonIn)) belowProduct++;
      });
    }
    assert.ok(capped > 500, `${capped} unit moves checked`);
    assert.ok(tightest > 0.05, `largest move / cap = ${tightest}`);
    assert.ok(belowProduct > 3, `${belowProduct} layers with a cap below the product's ε_in`);
  });

  it('the slopes-only run with prefix reach: slopes inside the product-reach run\'s, the same deviations, only its prefix certificates counted', () => {
    const random = new SeededRandom(77);
    let slopeLayers = 0;
    let narrowed = 0;
    let counted = 0;
    for (let k = 0; k < 24; k++) {
      const { network } = builders[k % builders.length](random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.5));
      const spectral = backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS;
      const ctx = { prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral };
      const { product, run, certified } = runWithPrefixReach(ctx, epsilon);
      // Its local norms are the product run's (their certificates counted there); only prefix norms add.
      if (certified.size === 0) assert.equal(run.failureProbability, 0, `network ${k}: no prefix norm, no new certificate`);
      else if (run.failureProbability > 0) counted++;
      run.layers.forEach((layer, i) => {
        assert.ok(layer.epsilonOut <= product.layers[i].epsilonOut, `network ${k} layer ${i}: deviation ${layer.epsilonOut} > ${product.layers[i].epsilonOut}`);
        const [s, t] = [run.slopes[i], product.slopes[i]];
        // Max-pool slopes are per candidate edge, and a smaller reach leaves fewer candidates: not aligned.
        if (!s || !t || s.edges || t.edges) return;
        slopeLayers++;
        s.mid.forEach((mid, u) => {
          const slack = 1e-12 * (1 + Math.abs(t.mid[u]));
          assert.ok(mid - s.outputRadius[u] >= t.mid[u] - t.outputRadius[u] - slack, `network ${k} layer ${i} unit ${u}: lower slope`);
          assert.ok(mid + s.outputRadius[u] <= t.mid[u] + t.outputRadius[u] + slack, `network ${k} layer ${i} unit ${u}: upper slope`);
          if (s.outputRadius[u] < t.outputRadius[u] * 0.99) narrowed++;
        });
      });
    }
    assert.ok(slopeLayers > 10, `${slopeLayers} slope layers compared`);
    assert.ok(narrowed > 10, `${narrowed} units whose slope interval the prefix reach narrowed`);
    assert.ok(counted > 0, `${counted} runs whose failure probability includes their prefix norms' (Lanczos) certificates`);
  });

  it('the network bound is never beaten by sampled or hill-climbed ratios (random DAGs)', async () => {
    const random = new SeededRandom(99);
    for (let k = 0; k < 24; k++) {
      const { network } = builders[k % builders.length](random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.5));
      const result = await analyzeNetwork(network, x0, { epsilons: [epsilon], backend: 'typescript' });
      const bound = result.runs[0].network.localBound;
      const output = (x: Float64Array) => (network.output === NETWORK_INPUT ? x : referenceForward(network as Network, x)[network.output]);
      assertRatiosWithin(random, output, x0, epsilon, bound, `network ${k}`);
    }
  });
});
