import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleInputCandidates, resolveExampleInput, shapeMismatch } from '../../src/engine/exampleInput';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { readModel } from '../../src/onnx/reader';
import { describeModelFile } from '../../src/worker/describeModel';
import { npyBytes } from './helpers/npy';

// method.md §7's worked example: one input x of shape [1, 3].
const TINY = join(__dirname, '../fixtures/tiny.onnx');

/** A folder holding a copy of tiny.onnx as net.onnx, and the given files beside it. */
async function folderWith(files: Record<string, string | Uint8Array>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-example-input-'));
  await copyFile(TINY, join(folder, 'net.onnx'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(folder, name), content);
  return join(folder, 'net.onnx');
}

/** A 1×1×4×4 image: the shape of another model in the same folder. */
const FOREIGN_SAMPLE = JSON.stringify({ shape: [1, 1, 4, 4], data: Array.from({ length: 16 }, (_, i) => i / 16) });

test('candidates: files named after the model first, the folder-wide sample last', () => {
  const names = exampleInputCandidates('/models/net.onnx').map((p) => p.split('/').pop());
  assert.deepEqual(names, ['net.npy', 'net.input.npy', 'net.input.json', 'net.json', 'sample-input.json', 'sample-input.npy']);
});

test('shapeMismatch accepts the declared shape, it without the batch axis, a flat array of as many values, and any size on a symbolic dimension', () => {
  assert.equal(shapeMismatch([1, 3], [1, 3]), undefined);
  assert.equal(shapeMismatch([3], [1, 3]), undefined);
  assert.equal(shapeMismatch([12], [1, 3, 2, 2]), undefined);
  assert.equal(shapeMismatch([1, 3, 7, 9], ['batch', 3, 'H', 'W']), undefined);
  assert.equal(shapeMismatch([1, 1, 4, 4], undefined), undefined, 'no declared shape: nothing to compare');
  assert.match(shapeMismatch([1, 1, 4, 4], [1, 3]) ?? '', /its shape \[1, 1, 4, 4\] does not fit the model's input of shape \[1, 3\]/);
  assert.match(shapeMismatch([1, 4, 3], ['batch', 3, 'H', 'W']) ?? '', /does not fit/);
  assert.match(shapeMismatch([11], [1, 3, 2, 2]) ?? '', /does not fit/, '11 values cannot fill 3×2×2');
});

test('the .npy named after the model wins over a folder-wide sample-input.json', async () => {
  const model = await folderWith({ 'sample-input.json': '[0.1, 0.1, 0.1]', 'net.npy': npyBytes('<f4', [1, 3], [0.5, 0.25, -0.125]) });
  const { resolution, input } = await resolveExampleInput(model, await readModel(model));
  assert.equal(resolution.fileName, 'net.npy');
  assert.deepEqual(resolution.shape, [1, 3]);
  assert.deepEqual(resolution.skipped, []);
  assert.deepEqual(Array.from(input!.values), [0.5, 0.25, -0.125]);
  const report = await analyzeModelFile({ modelPath: model, input: { kind: 'auto' }, epsilons: [0.1], options: { lowerBound: false, fidelity: false } });
  // ‖x0‖ = √(0.5² + 0.25² + 0.125²) = √0.328125.
  assert.deepEqual(report.input, { name: 'x', source: 'example', origin: 'net.npy', shape: [1, 3], norm: Math.sqrt(0.328125) });
});

test('a sample-input.json of another model is passed over with the reason, for the next candidate', async () => {
  const model = await folderWith({ 'sample-input.json': FOREIGN_SAMPLE, 'sample-input.npy': npyBytes('<f8', [3], [0.5, 0.2, -0.1]) });
  const { resolution } = await resolveExampleInput(model, await readModel(model));
  assert.equal(resolution.fileName, 'sample-input.npy');
  assert.deepEqual(resolution.skipped.map((s) => s.fileName), ['sample-input.json']);
  assert.match(resolution.skipped[0].reason, /sample-input\.json: its shape \[1, 1, 4, 4\] does not fit the model's input of shape \[1, 3\]/);
});

test('with no candidate that fits, the analysis uses the synthetic input and its report says which file was passed over and why', async () => {
  const model = await folderWith({ 'sample-input.json': FOREIGN_SAMPLE, 'net.json': '{"not": "an input"}' });
  const report = await analyzeModelFile({ modelPath: model, input: { kind: 'auto' }, epsilons: [0.1], options: { lowerBound: false, fidelity: false } });
  assert.equal(report.input.source, 'synthetic');
  const notes = report.notes ?? [];
  assert.ok(notes.some((note) => /^net\.json beside the model was not used as its example input: net\.json: expected an array/.test(note)), notes.join('\n'));
  assert.ok(notes.some((note) => /^sample-input\.json beside the model was not used as its example input: .*does not fit/.test(note)), notes.join('\n'));
});

test('the model overview names the example input an analysis will use, before any analysis', async () => {
  const model = await folderWith({ 'sample-input.json': FOREIGN_SAMPLE, 'net.input.json': '[0.5, 0.2, -0.1]' });
  const overview = await describeModelFile(model);
  assert.equal(overview.exampleInput?.fileName, 'net.input.json');
  assert.equal(overview.exampleInput?.path, join(model, '..', 'net.input.json'));
  // sample-input.json comes after net.input.json, so it was never tried.
  assert.deepEqual(overview.exampleInput?.skipped, []);
});
