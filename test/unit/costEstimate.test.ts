// The cost estimate before an analysis: its formula pinned on a hand-counted network, the example
// model well inside the default budget, and valid models with 4096×4096 and 30000×30000 inputs
// refused before anything is allocated for them (BudgetError, naming the estimate and the limit).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { estimateCost } from '../../src/engine/costEstimate';
import { BudgetError } from '../../src/engine/errors';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { readModel } from '../../src/onnx/reader';
import { SETTING_DEFAULTS } from '../../src/shared/settings';
import { buildModel, conv, mulberry32, randomTensor, relu } from '../fixtures/onnxBuilder';
import { chain, denseLayer, NETWORK_INPUT } from './helpers/engineNetworks';

const EXAMPLE = join(__dirname, '../../examples/mnist/mnist-cnn.onnx');
const DEFAULT_BUDGET = SETTING_DEFAULTS.maxMemoryGB * 2 ** 30;

/** A fully convolutional model (symbolic H, W): 1→C and C→C 3×3 convolutions with ReLU. */
async function fullyConvolutional(channels: number): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-cost-'));
  const path = join(folder, 'fcn.onnx');
  const rng = mulberry32(5);
  await writeFile(path, buildModel({
    inputs: [{ name: 'x', shape: [1, 1, 'H', 'W'] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w1', [channels, 1, 3, 3], rng), randomTensor('w2', [channels, channels, 3, 3], rng)],
    nodes: [
      conv({ name: 'c1', input: 'x', weight: 'w1', output: 'a', pads: [1, 1, 1, 1] }),
      relu('a', 'b', 'r1'),
      conv({ name: 'c2', input: 'b', weight: 'w2', output: 'y', pads: [1, 1, 1, 1] }),
    ],
  }));
  return path;
}

describe('cost estimate', () => {
  test('hand-counted dense network: every part of the formula', () => {
    const network = chain([4], [denseLayer('fc', [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [1, 2, 3], NETWORK_INPUT, { kind: 'relu' })]);
    const cost = estimateCost(network, { epsilonCount: 1, radius: false, lowerBound: true });
    // Parameters: 4 input values + 12 weights + 3 biases = 19, at 12 bytes each.
    assert.equal(cost.parts.weights, 19 * 12);
    // Activations: input 4 + output 3 values, five float64 vectors each.
    assert.equal(cost.parts.activations, 7 * 5 * 8);
    // Lanczos: the widest layer (3 out + 4 in) times six float64 vectors.
    assert.equal(cost.parts.lanczos, 7 * 6 * 8);
    assert.equal(cost.parts.packedConv, 0);
    // Exact path: the 4e6-entry block plus two 7×7 matrices (side capped by the widest layer).
    assert.equal(cost.parts.exactBlocks, (4_000_000 + 2 * 49) * 8);
    assert.equal(cost.bytes, Object.values(cost.parts).reduce((a, b) => a + b, 0));
    // Work: 12 multiply-adds per pass; 2 norms × 2 applications × 200 steps, plus 100 lower-bound passes.
    assert.equal(cost.multiplyAdds, 2 * 2 * 200 * 12 + 100 * 12);
    const sweep = estimateCost(network, { epsilonCount: 3, radius: true, lowerBound: false });
    assert.equal(sweep.multiplyAdds, (3 + 18) * 2 * 2 * 200 * 12);
  });

  test('the example model is far inside the default budget and runs under it', async () => {
    const { network } = loadAnalysisNetwork(await readModel(EXAMPLE));
    const cost = estimateCost(network, { epsilonCount: 3, radius: true, lowerBound: true });
    assert.ok(cost.bytes < DEFAULT_BUDGET / 10, `${cost.bytes}`);
    const report = await analyzeModelFile({
      modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [1e-3], options: { lowerBound: false, maxMemoryBytes: DEFAULT_BUDGET },
    });
    assert.ok(report.runs[0].network.localBound > 0);
  });

  test('4096×4096 and 30000×30000 inputs are refused by the default budget before any allocation', async () => {
    for (const [channels, side, atLeastGB] of [[8, 4096, 4], [1, 30000, 50]] as const) {
      const model = await fullyConvolutional(channels);
      await assert.rejects(
        analyzeModelFile({ modelPath: model, input: { kind: 'synthetic' }, inputShape: [1, side, side], epsilons: [1e-3], options: { maxMemoryBytes: DEFAULT_BUDGET } }),
        (error: unknown) => {
          assert.ok(error instanceof BudgetError, String(error));
          assert.ok(error.neededBytes >= atLeastGB * 2 ** 30, `${side}: ${error.neededBytes}`);
          assert.equal(error.limitBytes, DEFAULT_BUDGET);
          assert.match(error.message, /^the analysis needs about [\d.]+ GB of memory \(and about [\d.]+ TFLOP of operator work\); the limit is 4 GB$/);
          return true;
        },
      );
    }
  });

  test('a layer beyond the element limit is refused by name even before the estimate', async () => {
    const model = await fullyConvolutional(8);
    await assert.rejects(
      analyzeModelFile({ modelPath: model, input: { kind: 'synthetic' }, inputShape: [1, 30000, 30000], epsilons: [1e-3], options: { maxMemoryBytes: DEFAULT_BUDGET } }),
      /fcn\.onnx: node 'r1' \(Relu\): output 'b' of shape \[8,30000,30000\] would hold 7200000000 values; the limit is 2147483647/,
    );
  });
});
