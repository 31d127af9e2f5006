// The composed attempt's budget (docs/derivations.md §64): the layer run's prefix norms stop, and say
// so, once the norms still to come — priced at the cheapest of the last few — cannot fit in what is
// left, instead of running on to the budget; with room for all of them nothing changes. Counted in
// operator applications, so nothing here depends on the machine's speed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layerRunPrefixReach } from '../../src/engine/composed/composedBound';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunContext, type RunOutcome } from '../../src/engine/layerBounds';
import { NETWORK_INPUT } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { chain, denseLayer } from './helpers/engineNetworks';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };

/** A deep ReLU chain whose every layer has units the product's reach leaves uncertain at this ε. */
function deepChain(random: SeededRandom, width: number, depth: number) {
  const layers = Array.from({ length: depth }, (_, k) =>
    denseLayer(
      `fc${k}`,
      Array.from({ length: width }, () => Array.from({ length: width }, () => (1.5 * random.gaussian()) / Math.sqrt(width))),
      Array.from({ length: width }, () => 0.1 * random.gaussian()),
      k === 0 ? NETWORK_INPUT : k - 1,
      { kind: 'relu' },
    ));
  return chain([width], layers);
}

/** The slopes-only run with prefix reach under `budget`: what it used, and whether it foresaw the overrun. */
function cascade(ctx: RunContext, epsilon: number, product: RunOutcome, budget: number, ahead: number[]) {
  const start = ctx.prepared.counters.applications;
  const prefix = layerRunPrefixReach(ctx.prepared, ctx.spectral, budget, undefined, ahead);
  runEpsilon({ ...ctx, prefixReach: prefix.prefixReach }, epsilon, product);
  return { used: ctx.prepared.counters.applications - start, foreseen: prefix.foreseenOverBudget(), norms: prefix.certified.size };
}

describe('the prefix norms of the layer run stop when those ahead cannot fit (derivations §64)', () => {
  it('a budget too small for the norms ahead stops them early and says so; one large enough changes nothing', () => {
    const random = new SeededRandom(5);
    const network = deepChain(random, 12, 10);
    const prepared = prepareNetwork(network, 'typescript');
    const x0 = Float64Array.from({ length: 12 }, () => random.gaussian());
    const epsilon = 0.05;
    const ctx: RunContext = { prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL };
    const product = runEpsilon(ctx, epsilon);
    // The layers the run will ask about: every slope layer after the first (which reads the input).
    const ahead = product.slopes.flatMap((s, k) => (k > 0 && s?.uncertain.includes(1) ? [k] : []));
    assert.ok(ahead.length >= 6, `${ahead.length} layers with uncertain units`);

    const whole = cascade(ctx, epsilon, product, Infinity, ahead);
    assert.equal(whole.foreseen, false);
    assert.equal(whole.norms, ahead.length);
    // Exactly the budget the norms need: none is dropped.
    const exact = cascade(ctx, epsilon, product, whole.used, ahead);
    assert.deepEqual(exact, whole);

    // A third of it: stopped while applications were left, with fewer norms.
    const third = Math.floor(whole.used / 3);
    const short = cascade(ctx, epsilon, product, third, ahead);
    assert.equal(short.foreseen, true);
    assert.ok(short.used <= third, `${short.used} applications against a budget of ${third}`);
    assert.ok(short.norms < whole.norms);
    // Not told what is ahead, it runs into the budget (and past it by the pass it was in), as before.
    const blind = cascade(ctx, epsilon, product, third, []);
    assert.equal(blind.foreseen, false);
    assert.ok(blind.used > third && blind.used > short.used, `${blind.used} against ${short.used}`);
  });

  it('a run that reuses cached conservative norms counts what they cost when computed, so the budget is the same as with a cold cache', () => {
    const random = new SeededRandom(9);
    const network = deepChain(random, 12, 6);
    const prepared = prepareNetwork(network, 'typescript');
    const x0 = Float64Array.from({ length: 12 }, () => random.gaussian());
    // Lanczos norms (no exact path), which count operator applications.
    const ctx: RunContext = { prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: { ...TS_SPECTRAL, exactCutoff: 0 } };
    const cold = runEpsilon(ctx, 0.05);
    assert.equal(cold.reusedApplications, 0);
    assert.ok(ctx.spectralCache.size > 0, 'the run cached its conservative norms');
    // Another ε with the cache warm (as in an ε sweep): fewer applications made, the same work counted.
    const warm = runEpsilon(ctx, 0.05);
    assert.ok(warm.operatorApplications < cold.operatorApplications, `${warm.operatorApplications} vs ${cold.operatorApplications}`);
    assert.ok(warm.reusedApplications > 0);
    assert.equal(warm.operatorApplications + warm.reusedApplications, cold.operatorApplications);
  });
});
