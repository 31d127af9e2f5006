// ε so large that the layer product leaves float64 (docs/derivations.md §57): the rows say ∞ from the
// layer where it overflowed, the composed bound still gives a finite network bound where it can (never
// beaten by sampled points or gradient ascent), the JSON writes "Infinity" (never null), and where no
// finite bound remains, a clear OverflowError naming the layer. Radii from 1e154 on, whose squares
// overflow, still give finite per-layer ε.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { composedBound } from '../../src/engine/composed/composedBound';
import type { SlopeUnits } from '../../src/engine/composed/linearisedNetwork';
import { prepareNetwork } from '../../src/engine/prepared';
import { DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { OverflowError } from '../../src/engine/errors';
import { pureForward, type ForwardProvider } from '../../src/engine/forward';
import { analyzeModelFile } from '../../src/engine/pipeline';
import type { Network } from '../../src/engine/network';
import { SeededRandom } from '../../src/engine/random';
import { formatReport } from '../../src/cli/table';
import type { BoundReport } from '../../src/shared/protocol';
import { reportToJson } from '../../src/shared/reportWriters';
import { chain, denseLayer, genericLayer, NETWORK_INPUT, referenceForward } from './helpers/engineNetworks';
import { assertTightestNetworkBound } from './helpers/networkMethod';

const reportShell = { model: 'm.onnx', input: { source: 'synthetic', origin: 'synthetic input', shape: [2] }, outputSize: 2 };

const example = chain([3], [
  denseLayer('fc1', [[3, -1, 2], [-2, 7, 1], [5, -3, -1]], [-1, -4, 2], NETWORK_INPUT, { kind: 'relu' }),
  denseLayer('fc2', [[1, 2, -1], [0, 1, 1]], [0.5, -0.5], 0),
]);
const x0 = Float64Array.from([0.5, 0.2, -0.1]);

describe('overflowing ε', () => {
  it('ε = 1e308: the layer product overflows at fc1 and says so; the composed bound (every ReLU slope in [0, 1]) is finite and never beaten', async () => {
    const run = (await analyzeNetwork(example, x0, { epsilons: [1e308] })).runs[0];
    assert.equal(run.network.layerProductOverflowedAt, 'fc1');
    assert.equal(run.network.layerProduct, Infinity);
    assert.deepEqual([run.layers[0].epsilonOut, run.layers[1].epsilonIn], [Infinity, Infinity]);
    assert.equal(run.network.method, 'composed');
    assertTightestNetworkBound(run.network);
    assert.ok(Number.isFinite(run.network.localBound) && run.network.localBound > 0);
    // Sampled in the ball of radius 1e8 around x0 (inside the ε ball; larger points overflow the reference pass).
    const sampled = worstSampledRatio(new SeededRandom(3), example, x0, 1e308 / 1e300);
    assert.ok(sampled <= run.network.localBound * (1 + 1e-9), `sampled ${sampled} against ${run.network.localBound}`);
  });

  it('ε = 1e200 (squares overflow) gives finite ε per layer and a report without null', async () => {
    const result = await analyzeNetwork(example, x0, { epsilons: [1e200] });
    const run = result.runs[0];
    for (const layer of run.layers) {
      assert.ok(Number.isFinite(layer.epsilonIn) && Number.isFinite(layer.epsilonOut), `${layer.label}: ${layer.epsilonIn} → ${layer.epsilonOut}`);
    }
    assert.equal(run.layers[0].epsilonIn, 1e200);
    assert.ok(Number.isFinite(run.network.localBound) && run.network.localBound > 0);
    assert.ok(!JSON.stringify(result).includes('null'));
  });

  it('concat of two radii of 1e200: √2 · 1e200, not Infinity', async () => {
    const identity = {
      label: 'id', nodes: ['id'], opTypes: ['Identity'], onnxOutput: 'id', inputs: [NETWORK_INPUT], inputShapes: [[2]], outputShape: [2],
      op: { kind: 'affine' as const, linear: { kind: 'channelAffine' as const, scale: new Float32Array([1, 1]), shift: new Float32Array(2) } },
    };
    const network: Network = {
      inputName: 'x', inputShape: [2], output: 1,
      layers: [identity, genericLayer('concat', { kind: 'concat', axis: 0 }, [NETWORK_INPUT, 0], [[2], [2]], [4])],
    };
    const result = await analyzeNetwork(network, Float64Array.from([1, 2]), { epsilons: [1e200] });
    const concat = result.runs[0].layers[1];
    assert.ok(Math.abs(concat.epsilonIn / (Math.SQRT2 * 1e200) - 1) < 1e-12, `${concat.epsilonIn}`);
    assert.ok(Math.abs(result.runs[0].network.localBound - Math.SQRT2) < 1e-9);
  });
});

describe('a certified radius of 0 says why', () => {
  it('when the logits\' rounding bound exceeds half the class gap', async () => {
    const withLargeOutputError: ForwardProvider = async (prepared, x) => {
      const values = await pureForward(prepared, x);
      return { ...values, outputErrors: values.outputs.map(() => 1e3) };
    };
    const result = await analyzeNetwork(example, x0, { epsilons: [1e-3], radius: true, forward: withLargeOutputError });
    assert.equal(result.radius?.local, 0);
    assert.match(result.radius?.zeroBecause ?? '', /rounding bound on each logit \(±1000\) is at least half the gap between the top two logits \([\d.]+\), so class \d is not certified even at x0/);
  });

  it('when the top two logits tie', async () => {
    const tie = chain([2], [denseLayer('fc', [[1, 0], [1, 0]], null, NETWORK_INPUT)]);
    const result = await analyzeNetwork(tie, Float64Array.from([0.5, 0.25]), { epsilons: [1e-3], radius: true });
    assert.equal(result.radius?.local, 0);
    assert.match(result.radius?.zeroBecause ?? '', /top two logits are equal at x0/);
  });

  it('when the bounds of every ε checked certify no representable radius (gap 1e-30 against a bound of 1.4e304)', async () => {
    // Eight 1-wide dense layers of weight 1e38 at x0 = 0: logits (1e-30, 0), margin gradient 2e304.
    // Every ball's bound certifies the radius (gap/√2)/L ≈ 5e-335, below the smallest float64.
    const hidden = Array.from({ length: 7 }, (_v, k) => denseLayer(`fc${k + 1}`, [[1e38]], null, k === 0 ? NETWORK_INPUT : k - 1));
    const steep = chain([1], [...hidden, denseLayer('out', [[1e38], [-1e38]], [1e-30, 0], 6)]);
    const result = await analyzeNetwork(steep, Float64Array.from([0]), { epsilons: [1e-3], radius: true, radiusIterations: 2 });
    assert.equal(result.radius?.local, 0);
    assert.match(result.radius?.zeroBecause ?? '', /^no ε checked certifies: at the smallest, ε = [\d.e+-]+, the network bound there is 1\.414e304, so ε·L = [\d.e+-]+, not below \(gap − 2·logit error\)\/√2 = 7\.071e-31$/);
  });

  it('a check at ε certifies the smaller ball its bound allows (derivations §60.1): with no search step, a linear map gets gap/(√2‖W‖)', async () => {
    // The margin f0 − f1 = x1 + x2 has norm √2 = √2 ‖W‖: the threshold (gap/√2)/‖W‖ = 1.25/√2, which the
    // check at ε = 1e-3 does not reach; the spectral radius's own check certifies it, down to rounding.
    const linear = chain([2], [denseLayer('fc', [[1, 0], [0, -1]], null, NETWORK_INPUT)]);
    const result = await analyzeNetwork(linear, Float64Array.from([1, 0.25]), { epsilons: [1e-3], radius: true, radiusIterations: 0 });
    const radius = result.radius!;
    assert.equal(radius.zeroBecause, undefined);
    assert.ok(radius.local <= 1.25 / Math.SQRT2 && radius.local > (1.25 / Math.SQRT2) * (1 - 1e-12), `radius ${radius.local}`);
  });

  it('and says nothing when the radius is positive', async () => {
    const result = await analyzeNetwork(example, x0, { epsilons: [1e-3], radius: true });
    assert.ok((result.radius?.local ?? 0) > 0);
    assert.equal(result.radius?.zeroBecause, undefined);
  });
});

describe('ε beyond float32 on the example model', () => {
  it('the fidelity check compares points the runtime can evaluate (at most 1 + max|x0| from x0, not ε) and the bound stays finite', async () => {
    const report = await analyzeModelFile({
      modelPath: join(import.meta.dirname, '../../examples/mnist/mnist-cnn.onnx'), input: { kind: 'auto' }, epsilons: [1e39], options: { lowerBound: false },
    });
    assert.ok(report.fidelity && 'points' in report.fidelity, JSON.stringify(report.fidelity));
    assert.equal(report.fidelity.points, 3);
    assert.ok(Number.isFinite(report.runs[0].network.localBound) && report.runs[0].network.localBound > 0);
  });

  it('ε = 1e308: the spectral product, a bound at every ε, is below the composed bound there and gives the network bound (derivations §61.1)', async () => {
    const modelPath = join(import.meta.dirname, '../../examples/mnist/mnist-cnn.onnx');
    const report = await analyzeModelFile({ modelPath, input: { kind: 'auto' }, epsilons: [1e308], options: { lowerBound: false } });
    const network = report.runs[0].network;
    assert.equal(network.layerProduct, Infinity);
    assert.equal(network.method, 'spectral-product');
    assert.equal(network.localBound, network.spectralBound);
    assert.equal(network.composed, undefined);
    assert.ok(Number.isFinite(network.localBound) && network.localBound > 0);
    assertTightestNetworkBound(network);
    // The table says which bound it is, and from where after the overflow.
    const table = formatReport({ ...reportShell, runs: report.runs } as BoundReport);
    assert.match(table, /network: local bound ([\d.]+) \(spectral product\) +layer product ∞ +spectral product \1$/m);
    assert.match(table, /network bound from the spectral product\./);
  });
});

/**
 * A chain whose layer product overflows while the network itself is tame (docs/derivations.md §57):
 * `pairs` dense pairs W = [[1, c], [0, 1]] then W⁻¹ (each of norm ≈ c, the pair the identity), a ReLU
 * on the second of each pair whose bias keeps it on, then t (2) · tᵀ as a MatMul of two computed
 * tensors ([2, 1] × [1, 2], squaring the product's reach), a Softmax over the 4 entries and a dense layer.
 */
function cancellingChain(pairs: number, c: number, random?: SeededRandom): Network {
  const layers: Network['layers'] = [];
  const jitter = () => (random ? 1 + 0.2 * (random.uniform() - 0.5) : 1);
  for (let k = 0; k < pairs; k++) {
    const ck = c * jitter();
    layers.push(denseLayer(`w${k}`, [[1, ck], [0, 1]], null, layers.length - 1 < 0 ? NETWORK_INPUT : layers.length - 1));
    // A bias of 100 keeps both units of the ReLU on over the ball; the next pair takes it off again.
    layers.push(denseLayer(`winv${k}`, [[1, -ck], [0, 1]], [100, 100], layers.length - 1, { kind: 'relu' }));
    layers.push(denseLayer(`shift${k}`, [[1, 0], [0, 1]], [-100, -100], layers.length - 1));
  }
  const t = layers.length - 1;
  layers.push(genericLayer('column', { kind: 'reshape' }, [t], [[2]], [2, 1]));
  layers.push(genericLayer('row', { kind: 'reshape' }, [t], [[2]], [1, 2]));
  layers.push(genericLayer('outer', { kind: 'matMul' }, [layers.length - 2, layers.length - 1], [[2, 1], [1, 2]], [2, 2]));
  layers.push(genericLayer('flat', { kind: 'reshape' }, [layers.length - 1], [[2, 2]], [4]));
  layers.push(genericLayer('soft', { kind: 'softmax', axis: 0, flattenTail: false }, [layers.length - 1], [[4]], [4]));
  layers.push(denseLayer('head', [[1, -1, 2, 0.5], [0.5, 1, -1, 1]], [0, 0], layers.length - 1));
  return chain([2], layers);
}

/**
 * cancellingChain's tame identity t, then a squeeze-excitation-like product read after the product's
 * reach overflowed (§61.4): t (as [2, 1]) times a small sigmoid gate of t (as [1, 2]), a MatMul whose
 * two factors move by very different amounts (the gate's weights are `gateScale`), then Softmax and a head.
 */
function gatedChain(pairs: number, c: number, gateScale: number, random?: SeededRandom): Network {
  const base = cancellingChain(pairs, c, random);
  const layers = base.layers.slice(0, 3 * pairs);
  const t = layers.length - 1;
  layers.push(denseLayer('gate', [[gateScale, 0.5 * gateScale], [-0.5 * gateScale, gateScale]], [0.2, -0.1], t, { kind: 'sigmoid' }));
  layers.push(genericLayer('column', { kind: 'reshape' }, [t], [[2]], [2, 1]));
  layers.push(genericLayer('row', { kind: 'reshape' }, [layers.length - 2], [[2]], [1, 2]));
  layers.push(genericLayer('outer', { kind: 'matMul' }, [layers.length - 2, layers.length - 1], [[2, 1], [1, 2]], [2, 2]));
  layers.push(genericLayer('flat', { kind: 'reshape' }, [layers.length - 1], [[2, 2]], [4]));
  layers.push(genericLayer('soft', { kind: 'softmax', axis: 0, flattenTail: false }, [layers.length - 1], [[4]], [4]));
  layers.push(denseLayer('head', [[1, -1, 2, 0.5], [0.5, 1, -1, 1]], [0, 0], layers.length - 1));
  return chain([2], layers);
}

/** Pairs of norm about c² each after which ε times the layer product leaves float64 inside the chain. */
function overflowingPairs(c: number, epsilon: number): number {
  return Math.ceil((310 - Math.log10(epsilon)) / (2 * Math.log10(c * 0.9)));
}

/** Largest ‖f(x) − f(x0)‖ / ‖x − x0‖ over random points of the ball and a hill climb (independent reference pass). */
function worstSampledRatio(random: SeededRandom, network: Network, x0: Float64Array, epsilon: number): number {
  const f = (x: Float64Array) => referenceForward(network, x)[network.output as number];
  const f0 = f(x0);
  const ratio = (x: Float64Array) => {
    const dx = Math.hypot(...x.map((v, i) => v - x0[i]));
    return dx === 0 ? 0 : Math.hypot(...f(x).map((v, i) => v - f0[i])) / dx;
  };
  const onSphere = (radius: number) => {
    const d = Float64Array.from(x0, () => random.gaussian());
    const norm = Math.hypot(...d);
    return x0.map((v, i) => v + (radius * d[i]) / norm);
  };
  let worst = 0;
  for (let s = 0; s < 200; s++) worst = Math.max(worst, ratio(onSphere(epsilon * random.uniform())));
  let x = onSphere(epsilon);
  let best = ratio(x);
  let step = 0.3 * epsilon;
  for (let i = 0; i < 200; i++) {
    const candidate = x.map((v) => v + step * random.gaussian());
    const r = Math.hypot(...candidate.map((v, k) => v - x0[k]));
    const projected = r > epsilon ? x0.map((v, k) => v + ((candidate[k] - v) * epsilon) / r) : candidate;
    const value = ratio(projected);
    if (value > best) [best, x] = [value, projected];
    else step *= 0.9;
  }
  return Math.max(worst, best);
}

describe('a layer product that overflows while the composed network does not (derivations §57)', () => {
  const x0 = Float64Array.from([0.5, 0.25]);

  it('the hand chain: 52 pairs of norm 1000 overflow the product before a squaring MatMul; the composed bound is finite and never beaten', async () => {
    // The squaring MatMul alone no longer overflows it: its factor is capped by its interval (§70).
    const network = cancellingChain(52, 1000);
    const result = await analyzeNetwork(network, x0, { epsilons: [1], lowerBound: { seed: 3 } });
    const run = result.runs[0];
    assert.match(run.network.layerProductOverflowedAt ?? '', /^(w|winv|shift)5\d$/);
    assert.equal(run.network.layerProduct, Infinity);
    assert.equal(run.network.method, 'composed');
    assert.ok(Number.isFinite(run.network.localBound) && run.network.localBound > 0, `${run.network.localBound}`);
    // The rows before the overflow are finite; from there on, ε out is ∞, and the rows say so.
    const at = run.layers.findIndex((l) => l.label === run.network.layerProductOverflowedAt);
    assert.ok(run.layers.slice(0, at).every((l) => Number.isFinite(l.epsilonOut)));
    assert.equal(run.layers[at].epsilonOut, Infinity);
    // The layer's own bound (a pair's ‖W‖ ≈ 1000) stays finite: only ε times the product left float64.
    assert.ok(Number.isFinite(run.layers[at].localBound), `${run.layers[at].localBound}`);
    assert.ok(run.layers.slice(at + 1).every((l) => l.epsilonIn === Infinity));
    // Softmax over its whole reachable set: ½; the dense head: its ‖A‖, finite.
    assert.equal(run.layers.find((l) => l.label === 'soft')?.localBound, 0.5);
    assert.ok(Number.isFinite(run.layers.find((l) => l.label === 'head')?.localBound ?? NaN));
    const lower = run.lowerBound?.value ?? NaN;
    assert.ok(lower > 0 && lower <= run.network.localBound * (1 + 1e-9), `gradient ascent ${lower} against ${run.network.localBound}`);
    const sampled = worstSampledRatio(new SeededRandom(11), network, x0, 1);
    assert.ok(sampled > 0 && sampled <= run.network.localBound * (1 + 1e-9), `sampled ${sampled} against ${run.network.localBound}`);
  });

  it('random variants (norms 300–3000 per pair, ε from 0.01 to 2): sampled points and gradient ascent never beat the composed bound', async () => {
    const random = new SeededRandom(57);
    for (let trial = 0; trial < 8; trial++) {
      const c = 300 * 10 ** random.uniform();
      // Enough pairs that the product's reach passes float64 before the MatMul (§70 caps the MatMul's factor).
      const epsilon = 0.01 * 200 ** random.uniform();
      const pairs = overflowingPairs(c, epsilon);
      const network = cancellingChain(pairs, c, random);
      const start = Float64Array.from([random.gaussian(), random.gaussian()]);
      const result = await analyzeNetwork(network, start, { epsilons: [epsilon], lowerBound: { seed: trial } });
      const run = result.runs[0];
      assert.match(run.network.layerProductOverflowedAt ?? '', /^(w|winv|shift)\d+$/, `trial ${trial}`);
      assert.ok(Number.isFinite(run.network.localBound), `trial ${trial}: ${run.network.localBound}`);
      const sampled = worstSampledRatio(random, network, start, epsilon);
      const lower = run.lowerBound?.value ?? 0;
      assert.ok(Math.max(sampled, lower) <= run.network.localBound * (1 + 1e-9), `trial ${trial}: sampled ${sampled}, ascent ${lower}, bound ${run.network.localBound}`);
    }
  });

  it('a gated MatMul after the overflow: each factor is capped by its own prefix norm (§61.4); sampled points and gradient ascent never beat the bound', async () => {
    const random = new SeededRandom(61);
    for (let trial = 0; trial < 6; trial++) {
      const c = 300 * 10 ** random.uniform();
      const epsilon = 0.01 * 200 ** random.uniform();
      const network = gatedChain(overflowingPairs(c, epsilon), c, 10 ** (-3 * random.uniform()), random);
      const start = Float64Array.from([random.gaussian(), random.gaussian()]);
      const run = (await analyzeNetwork(network, start, { epsilons: [epsilon], lowerBound: { seed: trial } })).runs[0];
      assert.match(run.network.layerProductOverflowedAt ?? '', /^(w|winv|shift)\d+$/, `trial ${trial}`);
      assert.equal(run.network.method, 'composed', `trial ${trial}: ${JSON.stringify(run.network)}`);
      const sampled = worstSampledRatio(random, network, start, epsilon);
      const lower = run.lowerBound?.value ?? 0;
      assert.ok(Math.max(sampled, lower) <= run.network.localBound * (1 + 1e-9), `trial ${trial}: sampled ${sampled}, ascent ${lower}, bound ${run.network.localBound}`);
    }
  });

  it('a squaring MatMul whose factor its interval bounds (§70): the layer product stays finite, and the composed bound keeps the after-overflow budget (§70.2)', async () => {
    // 26 pairs: ε times the product reaches 1e156 at the MatMul, whose (β + ε_B) ε_A overflowed before §70.
    const network = cancellingChain(26, 1000);
    const run = (await analyzeNetwork(network, x0, { epsilons: [1], lowerBound: { seed: 3 }, composedBudget: 1 })).runs[0];
    assert.equal(run.network.layerProductOverflowedAt, undefined);
    assert.ok(Number.isFinite(run.network.layerProduct) && run.network.layerProduct > 1e150, `layer product ${run.network.layerProduct}`);
    assert.match(run.layers.find((l) => l.label === 'outer')?.certificate.detail ?? '', /capped at .* by the largest ‖B_b‖_F over B's interval \(§70\)/);
    // A budget of 1× the layer run would not fit the composed bound; past the factor's range it gets 40×.
    assert.equal(run.network.method, 'composed', JSON.stringify(run.network));
    const sampled = worstSampledRatio(new SeededRandom(12), network, x0, 1);
    const lower = run.lowerBound?.value ?? 0;
    assert.ok(Math.max(sampled, lower) > 0 && Math.max(sampled, lower) <= run.network.localBound * (1 + 1e-9), `sampled ${sampled}, ascent ${lower}, bound ${run.network.localBound}`);
  });

  it('writes ∞ as "Infinity" in the JSON report, and the CLI table says where the product overflowed', async () => {
    const result = await analyzeNetwork(cancellingChain(52, 1000), x0, { epsilons: [1] });
    const at = result.runs[0].network.layerProductOverflowedAt ?? '';
    const json = reportToJson({ ...reportShell, runs: result.runs } as BoundReport);
    assert.ok(!json.includes('null'), 'no number may turn into null');
    const parsed = JSON.parse(json) as { runs: { network: { layerProduct: unknown; layerProductOverflowedAt: unknown } }[] };
    assert.equal(parsed.runs[0].network.layerProduct, 'Infinity');
    assert.equal(parsed.runs[0].network.layerProductOverflowedAt, at);
    const table = formatReport({ ...reportShell, runs: result.runs } as BoundReport);
    assert.match(table, /network: local bound [\d.]+ \(composed\) +layer product ∞ +spectral product ∞ /);
    assert.ok(table.includes(`the layer product overflowed at layer '${at}' (∞); network bound from the composed network; the spectral product overflowed at layer '`), table);
    assert.doesNotMatch(table, /NaN|Infinity/);
  });

  it('when the capped reach overflows too, the analysis stops with the overflow error naming the layer', async () => {
    // ‖W‖ = 1e10 and ε = 1e300: even the composed prefix gives the MatMul's inputs a reach of 1e310.
    const network = chain([2], [
      denseLayer('big', [[1e10, 0], [0, 1e10]], null, NETWORK_INPUT),
      genericLayer('column', { kind: 'reshape' }, [0], [[2]], [2, 1]),
      genericLayer('row', { kind: 'reshape' }, [0], [[2]], [1, 2]),
      genericLayer('outer', { kind: 'matMul' }, [1, 2], [[2, 1], [1, 2]], [2, 2]),
    ]);
    await assert.rejects(analyzeNetwork(network, x0, { epsilons: [1e300] }), (error: unknown) =>
      error instanceof OverflowError && error.layerLabel === 'big' &&
      /ε = 1e300 is too large: the output deviation it allows after layer 'big' exceeds the float64 range \(about 1.8e308\), and the composed bound is not finite either \(the slopes of layer 'outer' are unbounded/.test(error.message));
  });
});

describe('composed norms beyond float64 (derivations §57)', () => {
  it('a prefix norm of ∞ on the way to the output stops the composed bound at that layer, naming it (derivations §61.3)', async () => {
    // Eleven ReLU layers of norm 1.5e30: the layer and spectral products leave float64 at the last, and
    // the slopes run's prefix norm into the second, ‖H‖ ≈ 1e60, has passes of ‖H‖² (beyond §57's 1e100): ∞ there.
    const layers = Array.from({ length: 11 }, (_v, k) =>
      denseLayer(`d${k + 1}`, [[1e30, 0.5e30], [0.5e30, 1e30]], null, k === 0 ? NETWORK_INPUT : k - 1, { kind: 'relu' }));
    const start = Float64Array.from([0.5, 0.25]);
    await assert.rejects(analyzeNetwork(chain([2], layers), start, { epsilons: [1] }), (error: unknown) => {
      assert.ok(error instanceof OverflowError, String(error));
      assert.equal(error.layerLabel, 'd11');
      assert.match(error.message, /the composed bound is not finite either \(the composed prefix norm into layer 'd2' left the float64 range/);
      return true;
    });
    // Where the layer product stays finite the same stop only skips the composed bound, and says where.
    const run = (await analyzeNetwork(chain([2], layers.slice(0, 6)), start, { epsilons: [1] })).runs[0];
    assert.equal(run.network.layerProductOverflowedAt, undefined);
    assert.match(run.network.composedSkipped ?? '', /the composed prefix norm into layer 'd2' left the float64 range.*; the prefix norms grow with ε, so a smaller ε may keep them finite$/);
    assertTightestNetworkBound(run.network);
  });

  it('a sweep does not retry a composed bound that could only be ∞ at a larger ε, and says at which smaller ε it was (derivations §70.4)', async () => {
    const layers = Array.from({ length: 6 }, (_v, k) =>
      denseLayer(`d${k + 1}`, [[1e30, 0.5e30], [0.5e30, 1e30]], null, k === 0 ? NETWORK_INPUT : k - 1, { kind: 'relu' }));
    const result = await analyzeNetwork(chain([2], layers), Float64Array.from([0.5, 0.25]), { epsilons: [1, 2, 0.5] });
    const [first, larger, smaller] = result.runs.map((run) => run.network);
    assert.match(first.composedSkipped ?? '', /^the composed prefix norm into layer 'd2' left the float64 range/);
    assert.equal(larger.composedSkipped, `not attempted: at the smaller ε = 1 of this analysis ${first.composedSkipped}, and a larger ε only widens the slope intervals (docs/derivations.md §70.4)`);
    // A smaller ε than the first failure is attempted on its own.
    assert.doesNotMatch(smaller.composedSkipped ?? '', /not attempted/);
    result.runs.forEach((run) => assertTightestNetworkBound(run.network));
  });

  it('a Log reached after the overflow is refused in words: where the reach overflowed, never "Infinity"', async () => {
    // ‖W‖ = 1e10 at ε = 1e300: the reach leaves float64 at 'big', and Log has no global slope (§24).
    const network = chain([2], [
      denseLayer('big', [[1e10, 0], [0, 1e10]], [5, 5], NETWORK_INPUT),
      genericLayer('log', { kind: 'activation', activation: { kind: 'log' } }, [0], [[2]], [2]),
    ]);
    await assert.rejects(analyzeNetwork(network, Float64Array.from([0.5, 0.25]), { epsilons: [1e300] }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /\[log\]/);
      assert.match(error.message, /can reach \[−∞, ∞\] inside the ball \(ε_in unbounded: the reach of its input overflowed at layer 'big', where ε times the layer bounds before it left the float64 range/);
      assert.doesNotMatch(error.message, /Infinity/);
      return true;
    });
  });

  it('a linearised network whose passes overflow gives a composed bound of ∞, not a crash or NaN', () => {
    // Two dense layers of weight 1e200, each with a ReLU whose slope is uncertain in [0.5, 1.5]: J(M) = 1e400.
    const network = chain([1], [denseLayer('a', [[1e200]], null, NETWORK_INPUT, { kind: 'relu' }), denseLayer('b', [[1e200]], null, 0, { kind: 'relu' })]);
    const prepared = prepareNetwork(network, 'typescript');
    const slope = (): SlopeUnits => ({ mid: Float64Array.of(1), outputRadius: Float64Array.of(0.5), uncertain: Uint8Array.of(1) });
    const bound = composedBound(prepared, [slope(), slope()], { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null });
    assert.equal(bound?.value, Infinity);
  });
});
