// Soundness by sampling: on hundreds of random small networks (dense, conv, residual/concat graphs,
// mixed signs, all three neuron states), no point of the ε-ball — uniform, on the sphere, or found by
// random-restart hill climbing on ‖f(x) − f(x0)‖/‖x − x0‖ — exceeds any reported layer bound (relative
// to that layer's actual input deviation), any layer's output radius, or the network bound. Values at
// sampled points come from the independent direct-formula forward pass in the helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activate } from '../../src/engine/activations';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunContext } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { randomAttentionNetwork } from './helpers/engineRandomNetworks';
import { certifiedNorm, DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { referenceForward } from './helpers/engineNetworks';
import { randomAxisMapNetwork, randomConvNetwork, randomProductNetwork, randomDenseNetwork, randomGraphNetwork, randomHardSwishNetwork, randomLayerNormNetwork, randomSmoothNetwork, randomTransposeNetwork, type RandomNetwork } from './helpers/engineRandomNetworks';

// Tolerances: bounds carry their own rounding margins; the sampled values are float64 sums of a few
// hundred terms, so 1e-9 relative plus 1e-12 absolute is far above their error and far below any real
// violation.
const REL = 1e-9;
const ABS = 1e-12;

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function nominalOf(network: Network, x0: Float64Array): NominalValues {
  const values = pureForward(prepareNetwork(network), x0);
  if (values instanceof Promise) throw new Error('pure forward must be synchronous');
  return values;
}

interface Tally {
  points: number;
  layerChecks: number;
  states: { on: number; unstable: number; off: number };
  worstRatio: number;
}

/**
 * nominalError > 0: the engine gets every nominal value perturbed by up to ±nominalError (as from a
 * float32 runtime) together with that bound, while samples are still evaluated exactly.
 */
function checkNetwork(random: SeededRandom, { network }: RandomNetwork, epsilon: number, spectral: SpectralOptions, tally: Tally, nominalError = 0): void {
  const prepared = prepareNetwork(network);
  const n = prepared.inputSize;
  const x0 = Float64Array.from({ length: n }, () => random.gaussian());
  const exact = nominalOf(network, x0);
  const perturb = (v: Float64Array) => v.map((value) => value + nominalError * random.between(-1, 1));
  const nominal: NominalValues = nominalError === 0 ? exact : {
    outputs: exact.outputs.map(perturb),
    preActivations: exact.preActivations.map((v) => (v ? perturb(v) : null)),
    absoluteError: nominalError,
  };
  const ctx: RunContext = { prepared, x0, nominal, spectralCache: new Map(), spectral };
  const run = runEpsilon(ctx, epsilon);
  for (const layer of run.layers) {
    if (layer.neurons) {
      tally.states.on += layer.neurons.on;
      tally.states.unstable += layer.neurons.unstable;
      tally.states.off += layer.neurons.off;
    }
  }
  const base = referenceForward(network, x0);
  const valueOf = (values: Float64Array[], x: Float64Array, ref: number) => (ref === NETWORK_INPUT ? x : values[ref]);
  const f0 = valueOf(base, x0, network.output);

  const check = (x: Float64Array): number => {
    const dx = distance(x, x0);
    if (dx === 0) return 0;
    const values = referenceForward(network, x);
    network.layers.forEach((layer, k) => {
      const result = run.layers[k];
      const dOut = distance(values[k], base[k]);
      assert.ok(dOut <= result.epsilonOut * (1 + REL) + ABS, `layer ${k} (${layer.label}) moved ${dOut} > radius ${result.epsilonOut}`);
      if (layer.inputs.length === 1) {
        const dIn = distance(valueOf(values, x, layer.inputs[0]), valueOf(base, x0, layer.inputs[0]));
        assert.ok(dIn <= result.epsilonIn * (1 + REL) + ABS, `layer ${k} input moved ${dIn} > ε_in ${result.epsilonIn}`);
        assert.ok(dOut <= result.localBound * dIn * (1 + REL) + ABS, `layer ${k} (${layer.label}): ‖Δout‖ ${dOut} > L ${result.localBound} · ‖Δin‖ ${dIn}`);
      }
      const mask = run.masks[k];
      if (mask) for (let i = 0; i < mask.length; i++) if (!mask[i]) assert.ok(Math.abs(values[k][i] - base[k][i]) <= ABS, `layer ${k} coordinate ${i} moved outside its mask`);
      tally.layerChecks++;
    });
    const df = distance(valueOf(values, x, network.output), f0);
    const ratio = df / dx;
    assert.ok(ratio <= run.localBound * (1 + REL) + ABS / dx, `network ratio ${ratio} > bound ${run.localBound} at ε=${epsilon}`);
    tally.points++;
    if (run.localBound > 0) tally.worstRatio = Math.max(tally.worstRatio, ratio / run.localBound);
    return ratio;
  };

  const pointAt = (direction: Float64Array, radius: number) => {
    const norm = Math.sqrt(direction.reduce((s, v) => s + v * v, 0));
    return x0.map((v, i) => v + (radius * direction[i]) / norm);
  };
  const gaussian = () => Float64Array.from({ length: n }, () => random.gaussian());
  for (let s = 0; s < 12; s++) check(pointAt(gaussian(), epsilon * Math.pow(random.uniform(), 1 / n)));
  for (let s = 0; s < 6; s++) check(pointAt(gaussian(), epsilon));
  // Random-restart hill climbing on the network ratio (anchored at x0), staying inside the ball.
  for (let restart = 0; restart < 3; restart++) {
    let x = pointAt(gaussian(), epsilon * (restart === 0 ? 1e-3 : random.uniform()));
    let best = check(x);
    let step = 0.3 * epsilon;
    for (let iter = 0; iter < 20; iter++) {
      const move = gaussian();
      const candidate = x.map((v, i) => v + (step * move[i]) / Math.sqrt(n));
      const radius = distance(candidate, x0);
      const projected = radius > epsilon ? x0.map((v, i) => v + ((candidate[i] - v) * epsilon) / radius) : candidate;
      const ratio = check(projected);
      if (ratio > best) {
        best = ratio;
        x = projected;
      } else {
        step *= 0.7;
      }
    }
  }
}

function randomEpsilon(random: SeededRandom): number {
  return Math.pow(10, random.between(-2, 0.5));
}

describe('engine soundness by sampling', () => {
  it('dense, conv and graph networks: no sample exceeds a layer or network bound; all neuron states occur', (t) => {
    const random = new SeededRandom(777);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork];
    let networks = 0;
    for (let k = 0; k < 300; k++) {
      const net = builders[k % 3](random);
      for (let e = 0; e < 2; e++) checkNetwork(random, net, randomEpsilon(random), DEFAULT_SPECTRAL_OPTIONS, tally);
      networks++;
    }
    assert.equal(networks, 300);
    t.diagnostic(`${tally.points} points, ${tally.layerChecks} layer checks, states ${JSON.stringify(tally.states)}, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.states.on > 0 && tally.states.unstable > 0 && tally.states.off > 0, JSON.stringify(tally.states));
    assert.ok(tally.points > 300 * 2 * 70, `${tally.points} points`);
    // The bound is not vacuous on these nets: some sampled ratio reaches a sizeable part of it.
    assert.ok(tally.worstRatio > 0.5 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('nominal values known only to ±τ (with that bound declared) keep every bound sound', () => {
    const random = new SeededRandom(2024);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork];
    for (let k = 0; k < 60; k++) {
      const epsilon = randomEpsilon(random);
      checkNetwork(random, builders[k % 3](random), epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0.5)));
    }
    assert.ok(tally.points > 60 * 70);
  });

  it('layout transposes (NHWC ↔ NCHW around a residual conv body, a lone activation after one) keep every bound and mask sound', (t) => {
    const random = new SeededRandom(4242);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 60; k++) {
      const net = randomTransposeNetwork(random);
      checkNetwork(random, net, randomEpsilon(random), DEFAULT_SPECTRAL_OPTIONS, tally);
      // With a declared nominal error as well: the lone activation after a transpose reads permuted values.
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, states ${JSON.stringify(tally.states)}, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 60 * 2 * 70, `${tally.points} points`);
    assert.ok(tally.states.unstable > 0 && tally.states.off > 0, JSON.stringify(tally.states));
    // Not vacuous (a residual sum and a lone activation loosen these bounds; 0.23 was observed).
    assert.ok(tally.worstRatio > 0.1 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('HardSwish (fused after convs and dense maps, lone after an add) keeps every bound sound, with and without τ', (t) => {
    const random = new SeededRandom(616);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 50; k++) {
      const net = randomHardSwishNetwork(random);
      // Radii up to 30 reach all three pieces of g (the kinks are 6 apart for α = 1/6).
      checkNetwork(random, net, Math.pow(10, random.between(-2, 1.5)), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 50 * 2 * 70, `${tally.points} points`);
    // Not vacuous: some sampled ratio reaches a visible part of the bound (0.064 observed: the lone
    // activation after the residual sum takes the largest slope over all coordinates).
    assert.ok(tally.worstRatio > 0.03 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('per-axis linear maps (slices, gathers, reductions, nearest and linear resizes) and Max/Min against a constant keep every bound and mask sound', (t) => {
    const random = new SeededRandom(1414);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    const kinds = new Set<string>();
    for (let k = 0; k < 90; k++) {
      const net = randomAxisMapNetwork(random);
      kinds.add(net.kind);
      checkNetwork(random, net, randomEpsilon(random), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, kinds ${[...kinds].join(', ')}, states ${JSON.stringify(tally.states)}, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.equal(kinds.size, 6, [...kinds].join(', '));
    assert.ok(tally.points > 90 * 2 * 70, `${tally.points} points`);
    assert.ok(tally.states.unstable > 0 && tally.states.off > 0, JSON.stringify(tally.states));
    assert.ok(tally.worstRatio > 0.1 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('softmax and bilinear MatMul (random attention blocks) keep every bound and mask sound, up to ε = 3', (t) => {
    const random = new SeededRandom(3030);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 80; k++) {
      const net = randomAttentionNetwork(random);
      checkNetwork(random, net, Math.pow(10, random.between(-3, 0.5)), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 80 * 2 * 70, `${tally.points} points`);
    assert.ok(tally.worstRatio > 0.05 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('products of two computed tensors (squeeze-excitation gates, x ⊙ σ(x), x ⊙ x) keep every bound and mask sound, up to ε = 3', (t) => {
    const random = new SeededRandom(2020);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 80; k++) {
      const net = randomProductNetwork(random);
      checkNetwork(random, net, Math.pow(10, random.between(-2, 0.5)), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, states ${JSON.stringify(tally.states)}, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 80 * 2 * 70, `${tally.points} points`);
    // Not vacuous: some sampled ratio reaches a visible part of the bound.
    assert.ok(tally.worstRatio > 0.05 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('layer normalisation keeps every bound and mask sound, with and without scale and shift, up to ε = 3', (t) => {
    const random = new SeededRandom(2323);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 60; k++) {
      const net = randomLayerNormNetwork(random);
      checkNetwork(random, net, Math.pow(10, random.between(-3, 0.5)), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 60 * 2 * 70, `${tally.points} points`);
    assert.ok(tally.worstRatio > 0.05 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('log, sqrt, 1/y and powers, ReduceMax, the maximum, quotient and difference of computed tensors and row-wise MatMul keep every bound and mask sound, up to ε = 3', (t) => {
    const random = new SeededRandom(2424);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    for (let k = 0; k < 80; k++) {
      const net = randomSmoothNetwork(random);
      checkNetwork(random, net, Math.pow(10, random.between(-3, 0.5)), DEFAULT_SPECTRAL_OPTIONS, tally);
      const epsilon = randomEpsilon(random);
      checkNetwork(random, net, epsilon, DEFAULT_SPECTRAL_OPTIONS, tally, epsilon * Math.pow(10, random.between(-3, 0)));
    }
    t.diagnostic(`${tally.points} points, best ratio/bound ${tally.worstRatio.toFixed(4)}`);
    assert.ok(tally.points > 80 * 2 * 70, `${tally.points} points`);
    assert.ok(tally.worstRatio > 0.05 && tally.worstRatio <= 1 + REL, `worst ratio/bound ${tally.worstRatio}`);
  });

  it('the Lanczos path inside the pipeline stays sound', () => {
    const random = new SeededRandom(31337);
    const tally: Tally = { points: 0, layerChecks: 0, states: { on: 0, unstable: 0, off: 0 }, worstRatio: 0 };
    const spectral = { ...DEFAULT_SPECTRAL_OPTIONS, exactCutoff: 0, lanczosSteps: 60 };
    for (let t = 0; t < 30; t++) {
      const net = (t % 2 ? randomConvNetwork : randomGraphNetwork)(random);
      checkNetwork(random, net, randomEpsilon(random), spectral, tally);
    }
    assert.ok(tally.points > 30 * 70);
  });

  it('per layer ‖RAD‖ ≤ ‖AD‖ ≤ ‖A‖; the network bound rises with ε toward the spectral product', () => {
    const random = new SeededRandom(99);
    let orderingChecks = 0;
    let approachChecks = 0;
    for (let t = 0; t < 60; t++) {
      const { network } = (t % 2 ? randomDenseNetwork : randomConvNetwork)(random);
      const prepared = prepareNetwork(network);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const nominal = nominalOf(network, x0);
      const ctx: RunContext = { prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS };
      let previous = 0;
      let spectralBound = 0;
      let last = 0;
      for (const epsilon of [1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1, 3, 10, 100, 1e6]) {
        const run = runEpsilon(ctx, epsilon);
        assert.ok(run.localBound >= previous * (1 - REL), `L_net fell from ${previous} to ${run.localBound} at ε=${epsilon}`);
        assert.ok(run.localBound <= run.spectralBound * (1 + REL), `L_net ${run.localBound} above spectral ${run.spectralBound}`);
        previous = run.localBound;
        spectralBound = run.spectralBound;
        last = run.localBound;
        prepared.layers.forEach((p, k) => {
          if (p.op.kind !== 'affine') return;
          const lop = p.layer.op;
          if (lop.kind !== 'affine') return;
          const inputMask = p.layer.inputs[0] === NETWORK_INPUT ? null : run.masks[p.layer.inputs[0]];
          const ad = certifiedNorm(p.op.affine.linear, null, inputMask, DEFAULT_SPECTRAL_OPTIONS).value;
          const slope = lop.activation ? slopeCeiling(lop.activation) : 1;
          const layer = run.layers[k];
          assert.ok(layer.localBound <= slope * ad * (1 + REL), `layer ${k}: ‖RAD‖ ${layer.localBound} > ${slope}·‖AD‖ ${ad}`);
          assert.ok(slope * ad <= layer.spectralNorm * (1 + REL), `layer ${k}: ‖AD‖ ${ad} > ‖A‖ ${layer.spectralNorm}`);
          orderingChecks++;
        });
      }
      const reluOnly = network.layers.every((l) => l.op.kind !== 'affine' || !l.op.activation || l.op.activation.kind === 'relu');
      const hasAvgPool = network.layers.some((l) => l.op.kind === 'avgPool');
      if (reluOnly && !hasAvgPool) {
        assert.ok(last >= spectralBound * 0.999, `at ε=1e6 L_net ${last} should reach the spectral product ${spectralBound}`);
        approachChecks++;
      }
    }
    assert.ok(orderingChecks > 500, `${orderingChecks} ordering checks`);
    assert.ok(approachChecks > 20, `${approachChecks} approach checks`);
  });
});

/** Largest slope the activation can have anywhere (r_i never exceeds it). */
function slopeCeiling(activation: Parameters<typeof activate>[0]): number {
  switch (activation.kind) {
    case 'hardSigmoid':
      return Math.abs(activation.alpha);
    case 'sigmoid':
      return 0.25;
    case 'leakyRelu':
      return Math.max(1, Math.abs(activation.alpha));
    case 'hardSwish':
      return Math.max(1, Math.abs(activation.beta), Math.abs(2 - activation.beta));
    default:
      return 1;
  }
}
