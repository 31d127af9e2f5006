import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeModelFile, exampleInputCandidates } from '../../src/engine/pipeline';
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

test('the bundled example input is looked for beside the model, model-specific names first', () => {
  const names = exampleInputCandidates('/models/net.onnx').map((p) => p.split('/').pop());
  assert.deepEqual(names, ['net.input.json', 'net.input.npy', 'sample-input.json', 'sample-input.npy']);
});
