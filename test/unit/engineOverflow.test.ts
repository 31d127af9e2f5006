// ε so large that the bound leaves float64: a clear OverflowError naming the layer, never a run whose
// numbers are Infinity (and null once written as JSON). Radii from 1e154 on, whose squares overflow,
// still give finite per-layer ε.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { OverflowError } from '../../src/engine/errors';
import { pureForward, type ForwardProvider } from '../../src/engine/forward';
import { analyzeModelFile } from '../../src/engine/pipeline';
import type { Network } from '../../src/engine/network';
import { chain, denseLayer, genericLayer, NETWORK_INPUT } from './helpers/engineNetworks';

const example = chain([3], [
  denseLayer('fc1', [[3, -1, 2], [-2, 7, 1], [5, -3, -1]], [-1, -4, 2], NETWORK_INPUT, { kind: 'relu' }),
  denseLayer('fc2', [[1, 2, -1], [0, 1, 1]], [0.5, -0.5], 0),
]);
const x0 = Float64Array.from([0.5, 0.2, -0.1]);

describe('overflowing ε', () => {
  it('ε = 1e308 is refused naming the layer where the deviation overflows', async () => {
    await assert.rejects(analyzeNetwork(example, x0, { epsilons: [1e308] }), (error: unknown) =>
      error instanceof OverflowError && error.epsilon === 1e308 && error.layerLabel === 'fc1' &&
      /ε = 1e308 is too large: the output deviation it allows after layer 'fc1' exceeds the float64 range/.test(error.message));
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

  it('when no ε checked certifies (no bisection allowed: only the spectral radius, where ε·L of a linear map equals the threshold)', async () => {
    // The margin f0 − f1 = x1 + x2 has norm √2 = √2 ‖W‖, so the margin radius does not beat the network one either.
    const linear = chain([2], [denseLayer('fc', [[1, 0], [0, -1]], null, NETWORK_INPUT)]);
    const result = await analyzeNetwork(linear, Float64Array.from([1, 0.25]), { epsilons: [1e-3], radius: true, radiusIterations: 0 });
    assert.equal(result.radius?.local, 0);
    assert.match(result.radius?.zeroBecause ?? '', /^no ε checked certifies: at the smallest, ε = [\d.e+-]+, the network bound there is 1(\.0+\d*)?, so ε·L = [\d.e+-]+, not below \(gap − 2·logit error\)\/√2 = [\d.e+-]+$/);
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
});
