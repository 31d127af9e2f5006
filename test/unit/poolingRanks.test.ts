// Pooling of every spatial rank (docs/derivations.md §63): a 1-D MaxPool or AveragePool is the 2-D
// layer over a height-1 input, a 3-D one a layer of its own. The normaliser's layers against
// onnxruntime and against ONNX's definition (strides, asymmetric pads, dilations, ceil_mode,
// count_include_pad, auto_pad), the pooling constants on hand cases, sampled points of the ball against
// every layer's bound and the network bound, the CLI on a 3-D model, and 4-D pooling refused by name.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward } from '../../src/engine/forward';
import type { Network } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, mulberry32, node, randomTensor, relu, type ModelSpec } from '../fixtures/onnxBuilder';
import { referenceForward } from './helpers/engineNetworks';
import { assertMatchesRuntime, assertSampledSound } from './helpers/networkChecks';
import { cli } from './helpers/runCli';

const random = new SeededRandom(63);

/** Conv 1-D + Relu [4, 11], MaxPool (window 3 dilated by 2, stride 2, pads 1/0, ceil_mode) [4, 5], AveragePool (2, pads 0/1, valid taps only) [4, 5], Flatten, MatMul. */
function pool1dModel(): ModelSpec {
  const rng = mulberry32(11);
  return {
    inputs: [{ name: 'x', shape: [1, 3, 11] }],
    outputs: [{ name: 'y' }],
    opset: 13,
    initializers: [randomTensor('w', [4, 3, 3], rng), randomTensor('b', [4], rng), randomTensor('fc', [20, 3], rng)],
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], { pads: [1, 1] }, 'conv'),
      relu('c', 'r', 'relu'),
      node('MaxPool', ['r'], ['m'], { kernel_shape: [3], strides: [2], pads: [1, 0], dilations: [2], ceil_mode: 1 }, 'max1d'),
      node('AveragePool', ['m'], ['a'], { kernel_shape: [2], pads: [0, 1], count_include_pad: 0 }, 'avg1d'),
      node('Flatten', ['a'], ['f'], { axis: 1 }, 'flatten'),
      node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
    ],
  };
}

/**
 * Conv 3-D + Relu [3, 3, 4, 5], MaxPool 2×2×2 (strides 1, 2, 1; asymmetric pads; width dilated by 2)
 * [3, 3, 2, 4], AveragePool 2×2×2 (SAME_UPPER, strides 1, 1, 2, padded taps counted) [3, 3, 2, 2],
 * Flatten, MatMul.
 */
function pool3dModel(): ModelSpec {
  const rng = mulberry32(33);
  return {
    inputs: [{ name: 'x', shape: [1, 2, 4, 5, 6] }],
    outputs: [{ name: 'y' }],
    opset: 13,
    initializers: [randomTensor('w', [3, 2, 2, 2, 2], rng), randomTensor('b', [3], rng), randomTensor('fc', [36, 3], rng)],
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], undefined, 'conv'),
      relu('c', 'r', 'relu'),
      node('MaxPool', ['r'], ['m'], { kernel_shape: [2, 2, 2], strides: [1, 2, 1], pads: [1, 1, 0, 0, 0, 1], dilations: [1, 1, 2] }, 'max3d'),
      node('AveragePool', ['m'], ['a'], { kernel_shape: [2, 2, 2], strides: [1, 1, 2], auto_pad: 'SAME_UPPER', count_include_pad: 1 }, 'avg3d'),
      node('Flatten', ['a'], ['f'], { axis: 1 }, 'flatten'),
      node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
    ],
  };
}

function normalised(spec: ModelSpec): { bytes: Uint8Array; network: Network } {
  const bytes = buildModel(spec);
  const result = normaliseGraph(readModelFromBytes(bytes, { path: 'pool.onnx' }));
  assert.deepEqual(result.unsupported, []);
  return { bytes, network: result.network! };
}

/** The engine's forward pass against the definition (engineNetworks' referenceForward pools tap by tap, any rank). */
function assertMatchesDefinition(network: Network): void {
  const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
  const engine = pureForward(prepareNetwork(network), x0);
  if (engine instanceof Promise) throw new Error('pure forward must be synchronous');
  const reference = referenceForward(network, x0);
  network.layers.forEach((layer, k) => {
    assert.equal(engine.outputs[k].length, reference[k].length, `${layer.label}: size`);
    reference[k].forEach((v, i) => assert.ok(Math.abs(engine.outputs[k][i] - v) <= 1e-12 * (1 + Math.abs(v)), `${layer.label}[${i}]: ${engine.outputs[k][i]} vs ${v}`));
  });
}

describe('1-D and 3-D pooling', () => {
  it('1-D: the layers read [C, 1, L] with a 1 × k window, keep the node’s [C, L] shape, and match onnxruntime and the definition', async () => {
    const { bytes, network } = normalised(pool1dModel());
    assert.deepEqual(network.layers.map((l) => l.label), ['conv+relu', 'max1d', 'avg1d', 'flatten', 'fc']);
    const [max, avg] = [network.layers[1], network.layers[2]];
    assert.ok(max.op.kind === 'maxPool' && avg.op.kind === 'avgPool');
    // ceil_mode adds one end pad: (11 + 1 − 5) / 2 = 3.5 → 5 windows.
    assert.deepEqual([max.inputShapes[0], max.outputShape, max.op.kernel, max.op.strides, max.op.pads, max.op.dilations], [[4, 1, 11], [4, 5], [1, 3], [1, 2], [0, 1, 0, 1], [1, 2]]);
    assert.deepEqual([avg.inputShapes[0], avg.outputShape, avg.op.countIncludePad], [[4, 1, 5], [4, 5], false]);
    await assertMatchesRuntime(bytes, network);
    assertMatchesDefinition(network);
  });

  it('3-D: dilations, asymmetric pads and SAME_UPPER resolved per axis, matching onnxruntime and the definition', async () => {
    const { bytes, network } = normalised(pool3dModel());
    assert.deepEqual(network.layers.map((l) => l.label), ['conv+relu', 'max3d', 'avg3d', 'flatten', 'fc']);
    const [max, avg] = [network.layers[1], network.layers[2]];
    assert.ok(max.op.kind === 'maxPool' && avg.op.kind === 'avgPool');
    assert.deepEqual([max.outputShape, max.op.pads, max.op.dilations], [[3, 3, 2, 4], [1, 1, 0, 0, 0, 1], [1, 1, 2]]);
    // SAME_UPPER over [3, 2, 4] with strides 1, 1, 2: total pads 1, 1, 0, at the ends.
    assert.deepEqual([avg.outputShape, avg.op.pads, avg.op.countIncludePad], [[3, 3, 2, 2], [0, 0, 0, 1, 1, 0], true]);
    await assertMatchesRuntime(bytes, network);
    assertMatchesDefinition(network);
  });

  it('hand cases: a 2×2×2 max pool with stride 1 has constant √8, with stride 2 constant 1; a disjoint 2×2×2 average has norm 1/√8', async () => {
    const single = (opType: string, strides: number[]) =>
      normalised({
        inputs: [{ name: 'x', shape: [1, 1, 4, 4, 4] }],
        outputs: [{ name: 'y' }],
        opset: 13,
        nodes: [node(opType, ['x'], ['y'], { kernel_shape: [2, 2, 2], strides }, 'pool')],
      }).network;
    const constantOf = async (network: Network) => (await analyzeNetwork(network, new Float64Array(64).map(() => random.gaussian()), { epsilons: [0.1], backend: 'typescript' })).runs[0].layers[0].spectralNorm;
    // An interior input lies in 2 windows per axis: 8 windows share it.
    assert.equal(await constantOf(single('MaxPool', [1, 1, 1])), Math.sqrt(8));
    assert.equal(await constantOf(single('MaxPool', [2, 2, 2])), 1);
    const average = await constantOf(single('AveragePool', [2, 2, 2]));
    assert.ok(Math.abs(average - 1 / Math.sqrt(8)) <= 1e-12, `${average}`);
  });

  it('sampled points of the ball never beat a layer’s bound, its output radius, or the network bound (1-D and 3-D models)', async () => {
    await assertSampledSound(normalised(pool1dModel()).network, random);
    await assertSampledSound(normalised(pool3dModel()).network, random);
  });

  it('the CLI analyses a 3-D pooling model end to end (fidelity checked on onnxruntime)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'pool3d-'));
    try {
      const file = join(folder, 'pool3d.onnx');
      writeFileSync(file, buildModel(pool3dModel()));
      const { code, stdout, stderr } = await cli(['analyze', file, '--synthetic', '--eps', '0.01', '--json', '--quiet', '--no-lower-bound']);
      assert.equal(code, 0, stderr);
      const report = JSON.parse(stdout);
      assert.deepEqual(report.runs[0].layers.map((l: { nodes: string[] }) => l.nodes.join('+')), ['conv+relu', 'max3d', 'avg3d', 'flatten', 'fc']);
      assert.ok(report.runs[0].network.localBound > 0 && report.runs[0].network.localBound <= report.runs[0].network.spectralBound);
      assert.ok(report.fidelity.tensors >= 4 && report.fidelity.maxRelativeDifference < 1e-3, JSON.stringify(report.fidelity));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('4-D pooling is refused, naming the node', () => {
    const refused = normaliseGraph(readModelFromBytes(buildModel({
      inputs: [{ name: 'x', shape: [1, 1, 2, 2, 2, 2] }],
      outputs: [{ name: 'y' }],
      opset: 13,
      nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: [1, 1, 1, 1] }, 'pool4d')],
    }))).unsupported;
    assert.equal(refused.length, 1);
    assert.equal(refused[0].node, 'pool4d');
    assert.match(refused[0].reason, /4-D pooling .* only 1-D, 2-D and 3-D pooling are supported/);
  });
});
