// The nominal forward pass on onnxruntime: every layer output and pre-activation fetched as an added
// graph output, shapes equal to our shape inference (onnxruntime is the reference), values equal to
// the engine's pure TypeScript forward pass within 1e-4 · max(1, max |value|) per layer (float32 runtime
// vs float64 arithmetic on the same float32 weights; measured differences are reported as diagnostics).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pureForward } from '../../src/engine/forward';
import type { Network } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { prepareNetwork } from '../../src/engine/prepared';
import { ortForward, ortForwardProvider, prepareForwardModel, tensorsNeeded } from '../../src/engine/runtime/ortForward';
import { graphBytes } from '../../src/onnx/payloadLayout';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, gemm, mulberry32, randomTensor, writeModel } from '../fixtures/onnxBuilder';
import { allSupportedFixtures } from '../fixtures/normaliseModels';

const dir = mkdtempSync(join(tmpdir(), 'll-forward-ort-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RELATIVE_TOLERANCE = 1e-4;

function inputFor(network: Network, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const size = network.inputShape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => rng() * 2 - 1);
}

interface Comparison {
  label: string;
  maxAbsDiff: number;
  scale: number;
}

function compare(label: string, reference: Float32Array, actual: Float64Array): Comparison {
  assert.equal(actual.length, reference.length, `${label}: value count`);
  let maxAbsDiff = 0;
  let scale = 1;
  for (let i = 0; i < reference.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(reference[i] - actual[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return { label, maxAbsDiff, scale };
}

const models = [
  ...allSupportedFixtures().map((f) => ({ name: f.name, bytes: buildModel(f.spec) })),
  { name: 'mnist example', bytes: readFileSync('examples/mnist/mnist-cnn.onnx') as Uint8Array },
];

describe('onnxruntime forward pass against our shapes and the pure forward pass', () => {
  for (const [index, model] of models.entries()) {
    test(model.name, async (t) => {
      const network = normaliseGraph(readModelFromBytes(model.bytes)).network!;
      assert.ok(network, 'the fixture normalises');
      const x0 = inputFor(network, 100 + index);
      const names = tensorsNeeded(network);
      const ort = await ortForward(model.bytes, { name: network.inputName, shape: [1, ...network.inputShape], data: x0 }, names, {
        intraOpNumThreads: 1,
      });
      const pure = await pureForward(prepareNetwork(network), Float64Array.from(x0));
      let worst = 0;
      network.layers.forEach((layer, i) => {
        // Shape inference: onnxruntime's dims are the batch axis plus ours.
        assert.deepEqual(ort.dims.get(layer.onnxOutput), [1, ...layer.outputShape], `${layer.label}: output shape`);
        const out = compare(layer.label, ort.values.get(layer.onnxOutput)!, pure.outputs[i]);
        assert.ok(out.maxAbsDiff <= RELATIVE_TOLERANCE * out.scale, `${layer.label}: max |Δ| ${out.maxAbsDiff} vs scale ${out.scale}`);
        worst = Math.max(worst, out.maxAbsDiff / out.scale);
        if (layer.onnxPreActivation) {
          assert.deepEqual(ort.dims.get(layer.onnxPreActivation), [1, ...layer.outputShape], `${layer.label}: pre-activation shape`);
          const pre = compare(`${layer.label} (pre)`, ort.values.get(layer.onnxPreActivation)!, pure.preActivations[i]!);
          assert.ok(pre.maxAbsDiff <= RELATIVE_TOLERANCE * pre.scale, `${pre.label}: max |Δ| ${pre.maxAbsDiff} vs scale ${pre.scale}`);
          worst = Math.max(worst, pre.maxAbsDiff / pre.scale);
        }
      });
      t.diagnostic(`${model.name}: ${network.layers.length} layers, largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
    });
  }

  test('ortForwardProvider supplies the same nominal values as the pure forward pass', async () => {
    const bytes = models[models.length - 1].bytes;
    const network = normaliseGraph(readModelFromBytes(bytes)).network!;
    const prepared = prepareNetwork(network);
    const x0 = Float64Array.from(inputFor(network, 7));
    const fromOrt = await ortForwardProvider(bytes, { intraOpNumThreads: 1 })(prepared, x0);
    const fromPure = await pureForward(prepared, x0);
    assert.equal(fromOrt.outputs.length, network.layers.length);
    fromOrt.outputs.forEach((values, i) => {
      const diff = compare(network.layers[i].label, Float32Array.from(fromPure.outputs[i]), values);
      assert.ok(diff.maxAbsDiff <= RELATIVE_TOLERANCE * diff.scale, `${diff.label}: max |Δ| ${diff.maxAbsDiff}`);
      assert.equal(fromOrt.preActivations[i] === null, fromPure.preActivations[i] === null, `${diff.label}: pre-activation present`);
    });
  });
});

describe('ortForward leaves the model alone', () => {
  test('reads a model file (weights straight from the file) without changing it; same values as from bytes', async () => {
    const bytes = models[models.length - 1].bytes;
    const path = join(dir, 'mnist.onnx');
    writeFileSync(path, bytes);
    const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const before = hash(bytes);
    const network = normaliseGraph(readModelFromBytes(bytes)).network!;
    const input = { name: 'image', shape: [1, ...network.inputShape], data: inputFor(network, 3) };
    const fromFile = await ortForward(path, input, ['conv1_out', 'logits'], { intraOpNumThreads: 1 });
    const fromBytes = await ortForward(bytes, input, ['conv1_out', 'logits'], { intraOpNumThreads: 1 });
    // Same weights, same runtime, same input: bit-identical outputs expected.
    assert.deepEqual(Array.from(fromFile.values.get('logits')!), Array.from(fromBytes.values.get('logits')!));
    assert.deepEqual(fromFile.dims.get('conv1_out'), [1, 8, 28, 28]);
    assert.equal(hash(readFileSync(path)), before);
    assert.equal(hash(bytes), before);
  });

  test('external data is read from the model folder and gives the same values as inline weights', async () => {
    const fixture = allSupportedFixtures()[0];
    const path = join(dir, 'external.onnx');
    await writeModel(path, { ...fixture.spec, defaults: { encoding: 'external' } });
    const network = normaliseGraph(readModelFromBytes(models[0].bytes)).network!;
    const input = { name: 'x', shape: [1, ...network.inputShape], data: inputFor(network, 5) };
    const external = await ortForward(path, input, ['c1', 'c2'], { intraOpNumThreads: 1 });
    const inline = await ortForward(models[0].bytes, input, ['c1', 'c2'], { intraOpNumThreads: 1 });
    // Same weights, same runtime, same input: bit-identical outputs expected.
    assert.deepEqual(Array.from(external.values.get('c2')!), Array.from(inline.values.get('c2')!));
    await assert.rejects(
      ortForward(readFileSync(path), input, ['c2']),
      /keeps weights in external data files, which cannot be located for a model given as bytes/,
    );
  });

  test('prepareForwardModel adds each name once and skips existing outputs', () => {
    const bytes = models[0].bytes;
    const prepared = prepareForwardModel(bytes, ['c1', 'c1', 'c2', 'x']);
    const extended = readModelFromBytes(prepared.buffer);
    // The fixture's only output is c2 and its input is x: only c1 is new.
    assert.deepEqual(extended.graph.outputs.map((o) => o.name), ['c2', 'c1']);
    assert.equal(prepared.externalFolder, undefined);
  });

  test('for a model file, weights of 1 KiB or more point into the file instead of being copied', () => {
    const bytes = models[models.length - 1].bytes;
    const path = 'examples/mnist/mnist-cnn.onnx';
    const prepared = prepareForwardModel(bytes, ['conv1_out'], path);
    assert.equal(prepared.externalFolder, resolve('examples/mnist'));
    // Weights (8·25 + 16·8·25 + 10·256 floats) leave the buffer; the small biases (< 1 KiB) stay inline.
    assert.ok(prepared.buffer.length < 2000, `graph-only copy is ${prepared.buffer.length} bytes`);
    const model = readModelFromBytes(prepared.buffer, { path: resolve(path) });
    const weight = model.graph.initializers.get('fc.weight')!;
    assert.equal(weight.storage, 'external');
    assert.deepEqual(weight.toFloat32(), readModelFromBytes(bytes).graph.initializers.get('fc.weight')!.toFloat32());
    assert.equal(model.graph.initializers.get('fc.bias')!.storage, 'raw');
  });

  test('a model file with weights of 1 MiB and more: only its graph is read, and the values are those from bytes', async () => {
    // y = W x + b with W 600×512 (1.2 MB, above MIN_SEPARATE_PAYLOAD_BYTES).
    const rng = mulberry32(11);
    const [rows, cols] = [600, 512];
    const spec = {
      inputs: [{ name: 'x', shape: [1, cols] }],
      outputs: [{ name: 'y', shape: [1, rows] }],
      initializers: [randomTensor('W', [rows, cols], rng), randomTensor('b', [rows], rng)],
      nodes: [gemm({ a: 'x', b: 'W', c: 'b', output: 'y', transB: true })],
    };
    const bytes = buildModel(spec);
    const path = join(dir, 'large-dense.onnx');
    writeFileSync(path, bytes);
    const graph = await graphBytes(path);
    const weight = readModelFromBytes(bytes).graph.initializers.get('W')!.rawBytes();
    assert.equal(graph.length, bytes.length);
    assert.ok(graph.subarray(weight.byteOffset, weight.byteOffset + weight.length).every((b) => b === 0), 'the weight was not read');
    graph.fill(0, weight.byteOffset, weight.byteOffset + weight.length);
    const rest = bytes.slice();
    rest.fill(0, weight.byteOffset, weight.byteOffset + weight.length);
    assert.deepEqual(graph, rest, 'everything else was');
    const input = { name: 'x', shape: [1, cols], data: Float32Array.from({ length: cols }, () => rng() * 2 - 1) };
    const fromFile = await ortForward(path, input, ['y'], { intraOpNumThreads: 1 });
    const fromBytes = await ortForward(bytes, input, ['y'], { intraOpNumThreads: 1 });
    assert.deepEqual(Array.from(fromFile.values.get('y')!), Array.from(fromBytes.values.get('y')!));
  });

  test('an input of the wrong size is refused before the runtime loads', async () => {
    await assert.rejects(
      ortForward(models[0].bytes, { name: 'x', shape: [1, 4, 9, 8], data: new Float32Array(5) }, ['c2']),
      /input 'x': 5 values, shape \[1,4,9,8\] needs 288/,
    );
  });
});
