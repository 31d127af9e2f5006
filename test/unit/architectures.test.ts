// Architectures end to end (issue 7): generated ResNet- and MobileNetV2-style ONNX models
// (test/fixtures/architectures.ts) are normalised and analysed at several ε; sampled points of the
// ball (independent reference forward pass) and the gradient-searched witness never exceed the
// reported bounds, and lower ≤ local ≤ spectral at every ε. The example MNIST model gets the same
// ordering over an ε sweep. BlazeFace (a real model, with layout transposes) is analysed end to end
// on a reduced budget.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accurateForward } from '../../src/engine/accurateForward';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { LowerBoundSearch } from '../../src/engine/lowerBound';
import { syntheticInput } from '../../src/engine/nominalInput';
import type { Network } from '../../src/engine/network';
import { formatUnsupported, normaliseGraph } from '../../src/engine/normalise/normalise';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import type { AnalysisResult } from '../../src/shared/results';
import { mobileNetV2Fixture, resNetFixture } from '../fixtures/architectures';
import { buildModel, type ModelSpec } from '../fixtures/onnxBuilder';
import { thirdPartyModel } from '../fixtures/thirdParty';
import { referenceForward } from './helpers/engineNetworks';

// As in engineSoundness.test.ts: bounds carry their own rounding margins; sampled values are float64
// sums of at most a few hundred terms.
const REL = 1e-9;
const ABS = 1e-12;
// Lanczos (not the dense path) above 64 dimensions and fewer steps keep the suite fast; the certificate
// simply inflates more (still an upper bound).
const FAST_SPECTRAL = { lanczosSteps: 60, failureProbability: 1e-3, exactCutoff: 64 };

function normalised(spec: ModelSpec): Network {
  const result = normaliseGraph(readModelFromBytes(buildModel(spec)));
  assert.deepEqual(result.unsupported, []);
  return result.network!;
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function assertOrdered(result: AnalysisResult, name: string): void {
  for (const run of result.runs) {
    const lower = run.lowerBound!.value;
    const { localBound, spectralBound } = run.network;
    assert.ok(lower > 0, `${name} ε=${run.epsilon}: no positive lower bound`);
    assert.ok(lower <= localBound * (1 + REL), `${name} ε=${run.epsilon}: lower ${lower} > local ${localBound}`);
    assert.ok(localBound <= spectralBound * (1 + REL), `${name} ε=${run.epsilon}: local ${localBound} > spectral ${spectralBound}`);
  }
}

/** Uniform points in the ball and on its sphere: every layer stays within its radius, the output within the bound. */
function assertSampledSoundness(network: Network, x0: Float64Array, result: AnalysisResult, random: SeededRandom, points: number): void {
  const base = referenceForward(network, x0);
  const n = x0.length;
  for (const run of result.runs) {
    for (let p = 0; p < points; p++) {
      const direction = Float64Array.from({ length: n }, () => random.gaussian());
      const scale = (p % 2 === 0 ? run.epsilon : run.epsilon * Math.pow(random.uniform(), 1 / n)) / Math.sqrt(direction.reduce((s, v) => s + v * v, 0));
      const x = x0.map((v, i) => v + scale * direction[i]);
      const dx = distance(x, x0);
      const values = referenceForward(network, x);
      network.layers.forEach((layer, k) => {
        const moved = distance(values[k], base[k]);
        assert.ok(moved <= run.layers[k].epsilonOut * (1 + REL) + ABS, `ε=${run.epsilon} ${layer.label}: moved ${moved} > radius ${run.layers[k].epsilonOut}`);
      });
      const ratio = distance(values[network.output], base[network.output]) / dx;
      assert.ok(ratio <= run.network.localBound * (1 + REL), `ε=${run.epsilon}: sampled ratio ${ratio} > bound ${run.network.localBound}`);
    }
  }
}

/** The gradient-searched witness, re-evaluated independently, stays below the bound. */
function assertWitnessBelowBound(network: Network, x0: Float64Array, result: AnalysisResult): void {
  const search = new LowerBoundSearch(prepareNetwork(network), x0, { budget: 60 });
  const base = referenceForward(network, x0)[network.output];
  for (const run of result.runs) {
    search.run(run.epsilon);
    const witness = search.lastWitness() as Float64Array;
    const dx = distance(witness, x0);
    assert.ok(dx <= run.epsilon);
    const ratio = distance(referenceForward(network, witness)[network.output], base) / dx;
    assert.ok(ratio <= run.network.localBound * (1 + REL), `ε=${run.epsilon}: witness ratio ${ratio} > bound ${run.network.localBound}`);
  }
}

function layerKinds(network: Network): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const layer of network.layers) {
    const op = layer.op;
    const key = op.kind === 'affine'
      ? `${op.linear.kind}${op.linear.kind === 'conv' && op.linear.group > 1 ? '-depthwise' : ''}${op.activation ? `+${op.activation.kind}` : ''}`
      : op.kind === 'activation' ? op.activation.kind : op.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function inputFor(network: Network, random: SeededRandom): Float64Array {
  const n = network.inputShape.reduce((a, b) => a * b, 1);
  return Float64Array.from({ length: n }, () => random.between(0, 1));
}

const EPSILONS = [1e-3, 0.1, 1];

describe('architectures end to end', () => {
  it('ResNet-style: BN folded into convs, identity and 1×1-conv shortcuts, ReLU after Add, global average pooling', async () => {
    const network = normalised(resNetFixture());
    // Expected structure: the fixture's 6 conv-BN units (4 with a fused ReLU), 2 Adds each followed by
    // a lone ReLU, then GlobalAveragePool, Flatten, Gemm.
    assert.deepEqual(layerKinds(network), { 'conv+relu': 3, conv: 3, add: 2, relu: 2, globalAvgPool: 1, reshape: 1, dense: 1 });
    const random = new SeededRandom(5);
    const x0 = inputFor(network, random);
    const result = await analyzeNetwork(network, x0, { epsilons: EPSILONS, ...FAST_SPECTRAL, lowerBound: { budget: 60, layers: { budget: 20 } } });
    assertOrdered(result, 'ResNet');
    assertSampledSoundness(network, x0, result, random, 12);
    assertWitnessBelowBound(network, x0, result);
    for (const run of result.runs) {
      for (const layer of run.layers) {
        if (layer.tightness) assert.ok(layer.tightness.lower <= layer.localBound * (1 + REL) + ABS, `${layer.label}: tightness above bound`);
      }
    }
  });

  it('MobileNetV2-style: depthwise convs, ReLU6 as Clip(0, 6), inverted residual Add, global average pooling', async () => {
    const network = normalised(mobileNetV2Fixture());
    // Expected structure: stem, 2 expands and the last 1×1 conv with fused Clip; 2 depthwise convs
    // (group 24) with fused Clip; 2 linear projections; 1 Add; then the head.
    assert.deepEqual(layerKinds(network), { 'conv+clip': 4, 'conv-depthwise+clip': 2, conv: 2, add: 1, globalAvgPool: 1, reshape: 1, dense: 1 });
    const depthwise = network.layers.find((l) => l.op.kind === 'affine' && l.op.linear.kind === 'conv' && l.op.linear.group > 1)!;
    assert.ok(depthwise.op.kind === 'affine' && depthwise.op.linear.kind === 'conv' && depthwise.op.linear.group === 24);
    assert.ok(depthwise.op.kind === 'affine' && depthwise.op.activation?.kind === 'clip' && depthwise.op.activation.min === 0 && depthwise.op.activation.max === 6);
    const random = new SeededRandom(6);
    const x0 = inputFor(network, random);
    const result = await analyzeNetwork(network, x0, { epsilons: EPSILONS, ...FAST_SPECTRAL, lowerBound: { budget: 60, layers: { budget: 20 } } });
    assertOrdered(result, 'MobileNetV2');
    assertSampledSoundness(network, x0, result, random, 12);
    assertWitnessBelowBound(network, x0, result);
  });

  it('MobileNetV2-style export that pools with ReduceMean over H, W: the same network and the same bounds as with GlobalAveragePool', async () => {
    const network = normalised(mobileNetV2Fixture(12, 'reduceMean'));
    const pooled = network.layers.find((l) => l.nodes[0] === 'mean')!;
    assert.equal(pooled.op.kind, 'axisMap');
    assert.deepEqual(pooled.outputShape, [32]);
    const reference = normalised(mobileNetV2Fixture(12, 'global'));
    const random = new SeededRandom(33);
    const x0 = inputFor(network, random);
    const options = { epsilons: EPSILONS, lowerBound: { budget: 40 } };
    const [result, global] = await Promise.all([analyzeNetwork(network, x0, options), analyzeNetwork(reference, x0, options)]);
    assertOrdered(result, 'MobileNetV2 (ReduceMean)');
    assertSampledSoundness(network, x0, result, random, 12);
    result.runs.forEach((run, k) => {
      // The same function; the mean over 3×3 is exactly global pooling's 1/3 (§7, §18), the other norms
      // certified alike (Lanczos seeds differ with the layer count: within its 1e-4 tolerance).
      const other = global.runs[k].network.localBound;
      assert.ok(Math.abs(run.network.localBound - other) <= 1e-3 * other, `ε=${run.epsilon}: ${run.network.localBound} vs ${other}`);
      assert.equal(run.layers.find((l) => l.nodes[0] === 'mean')!.localBound, global.runs[k].layers.find((l) => l.nodes[0] === 'gap')!.localBound);
    });
  });

  it('example MNIST CNN: lower ≤ local ≤ spectral over an ε sweep from 1e-4 to 10', async () => {
    const folder = join(__dirname, '..', '..', 'examples', 'mnist');
    const result = normaliseGraph(await readModel(join(folder, 'mnist-cnn.onnx')));
    const network = result.network!;
    const x0 = Float64Array.from(JSON.parse(readFileSync(join(folder, 'sample-input.json'), 'utf8')).data as number[]);
    const sweep = [1e-4, 1e-2, 1, 10];
    const analysis = await analyzeNetwork(network, x0, { epsilons: sweep, ...FAST_SPECTRAL, lowerBound: { budget: 50 } });
    assertOrdered(analysis, 'MNIST');
    for (let k = 1; k < sweep.length; k++) {
      assert.ok(analysis.runs[k].network.localBound >= analysis.runs[k - 1].network.localBound * (1 - REL), 'local bound rises with ε');
      assert.ok(analysis.runs[k].lowerBound!.value >= analysis.runs[k - 1].lowerBound!.value, 'lower bound rises with ε');
    }
  });

  it('BlazeFace (front, 128×128): NHWC↔NCHW transposes around the body, analysed end to end with lower ≤ local ≤ spectral', async (t) => {
    // The classifier output only (the default stacks all four outputs, 15,232 values; see normaliseThirdParty).
    const network = normaliseGraph(await readModel(await thirdPartyModel('blazeFaceFront')), { outputs: ['Identity:0'] }).network!;
    // Observed 2026-11-25: 34 conv units (the stem with its ReLU, 11 depthwise, 22 others: 1×1
    // projections, channel padding as embedding convs, the heads), 11 residual Adds each followed by a
    // lone ReLU, 2 max pools, the two layout transposes and the final Reshape of the classifier output.
    assert.deepEqual(layerKinds(network), {
      transpose: 2, 'conv-depthwise': 11, 'conv+relu': 1, conv: 22, add: 11, relu: 11, maxPool: 2, reshape: 1,
    });
    const random = new SeededRandom(7);
    const x0 = inputFor(network, random);
    // A reduced budget keeps this under ~20 s in pure TypeScript: very few Lanczos steps inflate every
    // certificate (still upper bounds), and the lower-bound search gets its minimum budget.
    const started = performance.now();
    const result = await analyzeNetwork(network, x0, {
      epsilons: [1e-3], exactCutoff: 16, lanczosSteps: 10, failureProbability: 1e-3, lowerBound: { budget: 40 },
    });
    assertOrdered(result, 'BlazeFace');
    assertSampledSoundness(network, x0, result, random, 2);
    const run = result.runs[0];
    t.diagnostic(`BlazeFace ε=1e-3: lower ${run.lowerBound!.value.toPrecision(4)}, local ${run.network.localBound.toPrecision(4)}, spectral ${run.network.spectralBound.toPrecision(4)}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  for (const id of ['heyMycroft', 'heyRhasspy'] as const) {
    it(`openWakeWord ${id}: both written-out LayerNorms become one layer each, analysed end to end with lower ≤ local ≤ spectral, sampled points inside the bounds, the composed bound below the layer product at small ε`, async (t) => {
      const network = normaliseGraph(await readModel(await thirdPartyModel(id))).network!;
      // Flatten, then twice Gemm → LayerNorm → (Mul, Add by γ, β) + ReLU, then Gemm + Sigmoid.
      assert.deepEqual(layerKinds(network), { reshape: 1, dense: 2, layerNorm: 2, 'channelAffine+relu': 2, 'dense+sigmoid': 1 });
      const random = new SeededRandom(11);
      const x0 = inputFor(network, random);
      const result = await analyzeNetwork(network, x0, { epsilons: EPSILONS, ...FAST_SPECTRAL, lowerBound: { budget: 50 } });
      if (id === 'heyRhasspy') assertOrdered(result, id);
      else {
        // hey_mycroft's output Sigmoid is saturated (1 − 1e-14 at every random input tried): the witnessed
        // ratio can be 0, so only the ordering is checked, not a positive lower bound.
        for (const run of result.runs) {
          assert.ok(run.lowerBound!.value <= run.network.localBound * (1 + REL) && run.network.localBound <= run.network.spectralBound * (1 + REL), `${id} ε=${run.epsilon}`);
        }
      }
      assertSampledSoundness(network, x0, result, random, 30);
      // The composed bound covers layer normalisation (docs/derivations.md §55.1); at the smallest ε it gives the network bound.
      for (const run of result.runs) assert.equal(run.network.composedSkipped, undefined, `${id} ε=${run.epsilon}`);
      assert.equal(result.runs[0].network.method, 'composed', `${id} ε=${result.runs[0].epsilon}`);
      t.diagnostic(result.runs.map((run) => `ε=${run.epsilon}: lower ${run.lowerBound!.value.toPrecision(4)}, local ${run.network.localBound.toPrecision(4)} (layer product ${run.network.layerProduct.toPrecision(4)}), spectral ${run.network.spectralBound.toPrecision(4)}`).join('; '));
    });
  }

  for (const [id, kinds] of [
    ['alexa', { reshape: 1, 'dense+relu': 2, 'dense+sigmoid': 1 }],
    ['timer', { reshape: 1, 'dense+relu': 3 }],
    ['weather', { reshape: 1, 'dense+relu': 2, 'dense+sigmoid': 1 }],
  ] as const) {
    it(`openWakeWord ${id}: dense layers on embedding frames, analysed end to end with lower ≤ local ≤ spectral, sampled points inside the bounds, the composed bound at the smallest ε`, async (t) => {
      const network = normaliseGraph(await readModel(await thirdPartyModel(id))).network!;
      assert.deepEqual(layerKinds(network), kinds);
      const random = new SeededRandom(13);
      const x0 = inputFor(network, random);
      const result = await analyzeNetwork(network, x0, { epsilons: EPSILONS, ...FAST_SPECTRAL, lowerBound: { budget: 50 } });
      for (const run of result.runs) {
        assert.ok(run.lowerBound!.value <= run.network.localBound * (1 + REL) && run.network.localBound <= run.network.spectralBound * (1 + REL), `${id} ε=${run.epsilon}`);
      }
      assertSampledSoundness(network, x0, result, random, 30);
      assert.equal(result.runs[0].network.method, 'composed', `${id} ε=${result.runs[0].epsilon}`);
      t.diagnostic(result.runs.map((run) => `ε=${run.epsilon}: lower ${run.lowerBound!.value.toPrecision(4)}, local ${run.network.localBound.toPrecision(4)} (layer product ${run.network.layerProduct.toPrecision(4)}), spectral ${run.network.spectralBound.toPrecision(4)}`).join('; '));
    });
  }

  it('openWakeWord hey_jarvis: its If (control flow) is refused up front, naming the nodes', async () => {
    const result = normaliseGraph(await readModel(await thirdPartyModel('heyJarvis')));
    assert.equal(result.network, undefined);
    assert.deepEqual(result.unsupported.map((u) => u.opType), ['GreaterOrEqual', 'Cast', 'If']);
    assert.equal(formatUnsupported(result.unsupported), "3 nodes are not supported: GreaterOrEqual 'GreaterOrEqual_30', Cast 'Cast_31', If 'If_32'");
    assert.equal(result.unsupported.find((u) => u.opType === 'If')?.reason, 'no analysis rule for If');
  });

  it('openWakeWord melspectrogram (1760 samples of a two-tone signal): analysed end to end with lower ≤ local ≤ spectral and sampled points inside the bounds; the composed bound (products, ReduceMax, the Clip floor: §55) below the layer product', async (t) => {
    const network = normaliseGraph(await readModel(await thirdPartyModel('melSpectrogram')), { inputShape: [1760] }).network!;
    const x0 = Float64Array.from({ length: 1760 }, (_, i) => 3000 * Math.sin(0.07 * i) + 500 * Math.sin(1.3 * i));
    const result = await analyzeNetwork(network, x0, { epsilons: [1e-3, 1], ...FAST_SPECTRAL, lowerBound: { budget: 40 } });
    assertOrdered(result, 'melspectrogram');
    assertSampledSoundness(network, x0, result, new SeededRandom(12), 6);
    // At ε = 1 the composed bound may run past its budget (most log units then uncertain); it never lacks a rule.
    for (const run of result.runs) assert.doesNotMatch(run.network.composedSkipped ?? '', /no composed rule/, `ε=${run.epsilon}`);
    assert.equal(result.runs[0].network.method, 'composed', `ε=${result.runs[0].epsilon}`);
    t.diagnostic(result.runs.map((run) => `ε=${run.epsilon}: lower ${run.lowerBound!.value.toPrecision(4)}, local ${run.network.localBound.toPrecision(4)} (layer product ${run.network.layerProduct.toPrecision(4)}), spectral ${run.network.spectralBound.toPrecision(4)}`).join('; '));
  });

  it('PP-OCRv4 recogniser (3×48×320, 181 layers): the nominal pass bounds its rounding at every layer (§52), and where the float64 pass also does, both bounds hold the same exact values (its analysis takes ~8 min: not run here)', async () => {
    const network = normaliseGraph(await readModel(await thirdPartyModel('ppOcrRecogniser')), { inputShape: [3, 48, 320] }).network!;
    assert.equal(network.layers.length, 181);
    // The CLI's synthetic input, so these are the numbers `analyze --input-shape 3,48,320` starts from.
    const x0 = syntheticInput([3, 48, 320]).values;
    const prepared = prepareNetwork(network);
    const pairs = accurateForward(prepared, x0) as NominalValues;
    const float = pureForward(prepared, x0) as NominalValues;
    const firstLayerNorm = network.layers.findIndex((l) => l.op.kind === 'layerNorm');
    // Observed 2026-12-05: 1.9e-14 into the first LayerNorm (∞ before §52), 1.9e2 at the logits (values ≈ 20).
    assert.ok(pairs.outputErrors![network.layers[firstLayerNorm].inputs[0]] < 1e-12, `into the first LayerNorm: ${pairs.outputErrors![network.layers[firstLayerNorm].inputs[0]]}`);
    assert.ok(pairs.outputErrors!.every((e) => e < 1e3) && pairs.preActivationErrors!.every((e) => e < 1e3), 'every bound finite');
    assert.ok(pairs.absoluteError! < 1e2, `τ = ${pairs.absoluteError}`);
    // Each pass's values lie within its bound of the exact ones, so the two intervals must meet.
    let compared = 0;
    network.layers.forEach((_l, k) => {
      const [a, b] = [pairs.outputs[k], float.outputs[k]];
      const slack = pairs.outputErrors![k] + float.outputErrors![k];
      if (!Number.isFinite(slack)) return;
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= slack, `layer ${k} value ${i}: ${v} vs ${b[i]}, bounds sum to ${slack}`));
      compared++;
    });
    assert.ok(compared > 60, `${compared} layers with both bounds finite`);
  });

  it('BlazeFace (back, 256×256): normalised in full, transposes included (its analysis takes ~2 min: not run here)', async () => {
    const network = normaliseGraph(await readModel(await thirdPartyModel('blazeFaceBack')), { outputs: ['Identity:0'] }).network!;
    // Observed 2026-11-25: the same blocks as the front model, repeated (31 residual blocks, 3 max pools).
    assert.deepEqual(layerKinds(network), {
      transpose: 2, 'conv+relu': 1, 'conv-depthwise': 31, conv: 34, add: 31, relu: 31, maxPool: 3, reshape: 1,
    });
    assert.deepEqual(network.layers.filter((l) => l.op.kind === 'transpose').map((l) => l.op), [
      { kind: 'transpose', perm: [2, 0, 1] },
      { kind: 'transpose', perm: [1, 2, 0] },
    ]);
    // One forward pass through the engine's prepared network: shapes and values consistent end to end.
    const x0 = inputFor(network, new SeededRandom(8));
    const values = pureForward(prepareNetwork(network), x0) as NominalValues;
    assert.equal(values.outputs[network.output].length, 512);
  });
});
