import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeNetwork } from '../../src/engine/analyze';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { readModel } from '../../src/onnx/reader';
import { buildModel, conv, mulberry32, randomTensor, relu } from '../fixtures/onnxBuilder';

/** A conv+ReLU model whose input leaves channels and spatial size open, as fully-convolutional exports do. */
async function symbolicModel(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-pipeline-'));
  const path = join(folder, 'fcn.onnx');
  const rng = mulberry32(7);
  await writeFile(
    path,
    buildModel({
      inputs: [{ name: 'x', shape: ['batch', 2, 'H', 'W'] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [3, 2, 3, 3], rng), randomTensor('b', [3], rng)],
      nodes: [conv({ name: 'c', input: 'x', weight: 'w', bias: 'b', output: 'c_out', kernelShape: [3, 3], pads: [1, 1, 1, 1] }), relu('c_out', 'y', 'r')],
    }),
  );
  return path;
}

test('an open input shape is taken from the nominal input file', async () => {
  const model = await symbolicModel();
  const inputPath = join(model, '..', 'x.json');
  await writeFile(inputPath, JSON.stringify({ shape: [1, 2, 4, 5], data: Array.from({ length: 40 }, (_, i) => Math.sin(i)) }));
  const report = await analyzeModelFile({ modelPath: model, input: { kind: 'file', path: inputPath }, epsilons: [0.1] });
  assert.deepEqual(report.input.shape, [1, 2, 4, 5]);
  assert.equal(report.outputSize, 3 * 4 * 5);
  assert.equal(report.runs[0].layers.length, 1);
});

test('an explicit input shape serves a synthetic input; without one the error asks for it', async () => {
  const model = await symbolicModel();
  const report = await analyzeModelFile({ modelPath: model, input: { kind: 'synthetic' }, inputShape: [2, 3, 3], epsilons: [0.1] });
  assert.equal(report.input.source, 'synthetic');
  assert.equal(report.outputSize, 27);
  await assert.rejects(
    analyzeModelFile({ modelPath: model, input: { kind: 'synthetic' }, epsilons: [0.1] }),
    /graph input 'x'.*symbolic or unknown dimensions.*give the input shape explicitly/,
  );
});

test('the conservative norms ‖A_k‖ are reused across runs of the same file and recomputed when it changes', async () => {
  const model = await symbolicModel();
  const run = async (seed: number) => {
    const input = join(model, '..', `x${seed}.json`);
    await writeFile(input, JSON.stringify({ shape: [1, 2, 4, 5], data: Array.from({ length: 40 }, (_, i) => Math.sin(i * seed)) }));
    return analyzeModelFile({ modelPath: model, input: { kind: 'file', path: input }, epsilons: [0.1], options: { lowerBound: false } });
  };
  const first = await run(1);
  const second = await run(2);
  assert.notDeepEqual(first.runs[0].layers[0].localBound, second.runs[0].layers[0].localBound, 'another input, another local bound');
  // The very same certificate object: taken from the cache, not recomputed (a recomputation would only be equal).
  assert.equal(second.runs[0].layers[0].spectralCertificate, first.runs[0].layers[0].spectralCertificate);
  // New weights of the same size, and a new modification time: the cached norm must not survive.
  const rng = mulberry32(99);
  await writeFile(model, buildModel({
    inputs: [{ name: 'x', shape: ['batch', 2, 'H', 'W'] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w', [3, 2, 3, 3], rng, 5), randomTensor('b', [3], rng)],
    nodes: [conv({ name: 'c', input: 'x', weight: 'w', bias: 'b', output: 'c_out', kernelShape: [3, 3], pads: [1, 1, 1, 1] }), relu('c_out', 'y', 'r')],
  }));
  const later = new Date(Date.now() + 10_000);
  await utimes(model, later, later);
  const third = await run(2);
  assert.notEqual(third.runs[0].layers[0].spectralCertificate, first.runs[0].layers[0].spectralCertificate);
  assert.ok(third.runs[0].layers[0].spectralNorm > 2 * first.runs[0].layers[0].spectralNorm, 'weights 5× larger: the norm was recomputed');
});

test('analyzeNetwork takes ‖A_k‖ from a given cache (the hook the pipeline relies on)', async () => {
  const tiny = join(__dirname, '../fixtures/tiny.onnx');
  const { network } = loadAnalysisNetwork(await readModel(tiny));
  const sentinel = { value: 123, certificate: { method: 'closed-form' as const, detail: 'test sentinel' } };
  const result = await analyzeNetwork(network, Float64Array.from([0.5, 0.2, -0.1]), { epsilons: [0.1], spectralCache: new Map([[0, sentinel]]) });
  assert.equal(result.runs[0].layers[0].spectralNorm, 123);
  assert.equal(result.runs[0].layers[0].spectralCertificate.detail, 'test sentinel');
});
