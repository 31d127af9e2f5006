// The cost estimate before an analysis: its formula pinned on a hand-counted network, each phase's
// part scaling with what it counts, VGG-16's structure above the peak RSS measured on it, the example
// model well inside the default budget, and valid models with 4096×4096 and 30000×30000 inputs
// refused before anything is allocated for them (BudgetError, naming the estimate and the limit).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { estimateCost, largestParts } from '../../src/engine/costEstimate';
import { BudgetError } from '../../src/engine/errors';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { readModel } from '../../src/onnx/reader';
import { SETTING_DEFAULTS } from '../../src/shared/settings';
import { buildModel, conv, mulberry32, randomTensor, relu } from '../fixtures/onnxBuilder';
import type { Layer, Network, Shape } from '../../src/engine/network';
import { chain, denseLayer, genericLayer, NETWORK_INPUT } from './helpers/engineNetworks';

const EXAMPLE = join(__dirname, '../../examples/mnist/mnist-cnn.onnx');
const DEFAULT_BUDGET = SETTING_DEFAULTS.maxMemoryGB * 2 ** 30;
const MiB = 2 ** 20;

/**
 * A 3×3 convolution (pad 1) with a fused ReLU, or a 2×2 max pool (stride 2), or a dense layer, on
 * [C, H, W]. estimateCost reads only shapes, so the weights are left empty: VGG-16's 138 M would take
 * half a gigabyte in a unit test.
 */
function convRelu(label: string, input: number, [c, h, w]: Shape, out: number): Layer {
  return {
    ...genericLayer(label, {
      kind: 'affine',
      linear: { kind: 'conv', weight: new Float32Array(0), weightShape: [out, c, 3, 3], bias: new Float32Array(out), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
      activation: { kind: 'relu' },
    }, [input], [[c, h, w]], [out, h, w]),
    onnxPreActivation: `${label}_pre`,
  };
}

function maxPool(label: string, input: number, [c, h, w]: Shape): Layer {
  return genericLayer(label, { kind: 'maxPool', kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, [input], [[c, h, w]], [c, h / 2, w / 2]);
}

function dense(label: string, input: number, inFeatures: number, outFeatures: number, relu: boolean): Layer {
  return {
    ...genericLayer(label, {
      kind: 'affine',
      linear: { kind: 'dense', weight: new Float32Array(0), outFeatures, inFeatures, bias: new Float32Array(outFeatures) },
      ...(relu ? { activation: { kind: 'relu' as const } } : {}),
    }, [input], [[inFeatures]], [outFeatures]),
    ...(relu ? { onnxPreActivation: `${label}_pre` } : {}),
  };
}

/** VGG-16 (configuration D) on a 3×224×224 input, each conv fused with its ReLU as the normaliser fuses them. */
function vgg16(): Network {
  const layers: Layer[] = [];
  let shape: Shape = [3, 224, 224];
  const add = (layer: Layer) => {
    layers.push(layer);
    shape = layer.outputShape;
  };
  for (const [stage, [channels, convs]] of [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]].entries()) {
    for (let i = 0; i < convs; i++) add(convRelu(`conv${stage + 1}_${i + 1}`, layers.length - 1, shape, channels));
    add(maxPool(`pool${stage + 1}`, layers.length - 1, shape));
  }
  add(genericLayer('flatten', { kind: 'reshape' }, [layers.length - 1], [shape], [25088]));
  add(dense('fc6', layers.length - 1, 25088, 4096, true));
  add(dense('fc7', layers.length - 1, 4096, 4096, true));
  add(dense('fc8', layers.length - 1, 4096, 1000, false));
  return chain([3, 224, 224], layers);
}

/** The parts the estimate had before the composed bound, the tape and the session were counted. */
function layerRunParts(parts: Record<string, number>): number {
  return parts.weights + parts.activations + parts.lanczos + parts.packedConv + parts.exactBlocks + parts.runtime;
}

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

  test('each phase has its part, which scales with the values it holds', () => {
    const widths = (width: number) => {
      const network = chain([4], [denseLayer('fc1', Array.from({ length: width }, () => [1, 2, 3, 4]), null, NETWORK_INPUT, { kind: 'relu' }), denseLayer('fc2', [Array.from({ length: width }, () => 1)], null, 0)]);
      network.layers[0].onnxPreActivation = 'fc1_pre';
      return network;
    };
    const request = { epsilonCount: 1, radius: false, lowerBound: true };
    const narrow = estimateCost(widths(1000), request);
    const wide = estimateCost(widths(2000), request);
    // Activation values: input 4 + fc1 1000 + fc2 1. The composed bound: 9 vectors, one more pair per ε
    // and the uncertain flags, plus its prefix norms' Lanczos vectors (the widest layer: 1000 + 4).
    assert.equal(narrow.parts.composed, 1005 * ((9 + 2) * 8 + 1) + 1004 * 6 * 8);
    assert.equal(narrow.parts.lowerBoundTape, 1005 * 4 * 8);
    // No product of two computed tensors: the layer run keeps no intervals.
    assert.equal(narrow.parts.layerRunIntervals, 0);
    // The session: 64 MiB, two float32 copies of the 4 + 4000 + 1000 parameters, and three float32
    // copies of fc1's output, its pre-activation and fc2's output for each of the search's 16 points.
    assert.equal(narrow.parts.onnxruntime, 64 * MiB + 5004 * 2 * 4 + 16 * 2001 * 3 * 4);
    // Doubling fc1's width doubles what each part holds per value.
    assert.equal(wide.parts.composed - narrow.parts.composed, 1000 * ((9 + 2) * 8 + 1) + 1000 * 6 * 8);
    assert.equal(wide.parts.lowerBoundTape, 2005 * 4 * 8);
    assert.equal(wide.parts.onnxruntime - narrow.parts.onnxruntime, 5000 * 2 * 4 + 16 * 2000 * 3 * 4);
    // Each ε keeps its slope units for the search.
    assert.equal(estimateCost(widths(1000), { ...request, epsilonCount: 3 }).parts.composed - narrow.parts.composed, 2 * 2 * 1005 * 8);
    // What the request turns off holds nothing, and the sum follows.
    const lean = estimateCost(widths(1000), { ...request, lowerBound: false, composed: false, fidelity: false });
    assert.equal(lean.parts.composed, 0);
    assert.equal(lean.parts.lowerBoundTape, 0);
    assert.equal(lean.parts.onnxruntime, 0);
    assert.equal(narrow.bytes - lean.bytes, narrow.parts.composed + narrow.parts.lowerBoundTape + narrow.parts.onnxruntime);
    // Without the search the session runs only the fidelity check's three points.
    const checkOnly = estimateCost(widths(1000), { ...request, lowerBound: false });
    assert.equal(checkOnly.parts.onnxruntime, 64 * MiB + 5004 * 2 * 4 + 3 * 2001 * 3 * 4);
    // A refusal names the largest parts, largest first: here the fixed runtimes, then the exact path.
    assert.deepEqual(largestParts(narrow, 3), [
      { name: 'Node and the engine', bytes: 128 * MiB },
      { name: "onnxruntime's session", bytes: narrow.parts.onnxruntime },
      { name: 'exact-path blocks', bytes: narrow.parts.exactBlocks },
    ]);
  });

  test('a product of two computed tensors keeps the layer run\'s intervals, and max windows add edges', () => {
    const gate = genericLayer('gate', { kind: 'activation', activation: { kind: 'sigmoid' } }, [NETWORK_INPUT], [[4, 8, 8]], [4, 8, 8]);
    const product = genericLayer('mul', { kind: 'mul' }, [NETWORK_INPUT, 0], [[4, 8, 8], [4, 8, 8]], [4, 8, 8]);
    const request = { epsilonCount: 1, radius: false, lowerBound: true };
    const gated = estimateCost(chain([4, 8, 8], [gate, product]), request);
    // Input 256 + gate 256 + mul 256 values, two float64 each.
    assert.equal(gated.parts.layerRunIntervals, 768 * 2 * 8);
    const pooled = estimateCost(chain([4, 8, 8], [gate, maxPool('pool', 0, [4, 8, 8])]), request);
    const unpooled = estimateCost(chain([4, 8, 8], [gate, genericLayer('pool', { kind: 'avgPool', countIncludePad: false, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, [0], [[4, 8, 8]], [4, 4, 4])]), request);
    assert.equal(pooled.parts.layerRunIntervals, 0);
    // 64 windows of 4 entries: an edge (two Int32) and a centred flag each.
    assert.equal(pooled.parts.composed - unpooled.parts.composed, 64 * 4 * (8 + 1));
  });

  test('VGG-16 is estimated above the 7 150 MiB it peaked at (CLI, defaults)', () => {
    const cost = estimateCost(vgg16(), { epsilonCount: 1, radius: false, lowerBound: true });
    // The structure is VGG-16's: the parts counted before (2.78 GiB for the lead's model) are the same here.
    assert.ok(Math.abs(layerRunParts(cost.parts) / 2 ** 30 - 2.78) < 0.03, `${layerRunParts(cost.parts) / 2 ** 30} GiB`);
    assert.ok(cost.bytes > 7150 * MiB, `${cost.bytes / MiB} MiB`);
    // Conservative, not absurd: within 3× of the measured peak.
    assert.ok(cost.bytes < 3 * 7150 * MiB, `${cost.bytes / MiB} MiB`);
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
          assert.match(error.message, /^the analysis needs about [\d.]+ GB of memory \(the largest parts: [^)]+\) and about [\d.]+ TFLOP of operator work; the limit is 4 GB$/);
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
