// The editor's overview of a model, read with the ONNX reader from the hand-written fixture.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeModelFile, formatAttribute } from '../../src/worker/describeModel';
import { writeModel } from '../fixtures/onnxBuilder';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');

describe('model overview', () => {
  it('lists producer, opsets, graph inputs and outputs, and one row per analysis layer', async () => {
    const overview = await describeModelFile(TINY);
    // All expected values are what test/fixtures/makeTinyFixture.mjs writes: Gemm fc1 (3×3 + 3),
    // Relu relu1 (fused into fc1's layer), Gemm fc2 (2×3 + 2).
    assert.equal(overview.fileName, 'tiny.onnx');
    assert.equal(overview.irVersion, 8);
    assert.equal(overview.producerName, 'lipschitz-lens makeTinyFixture');
    assert.deepEqual(overview.opsets, [{ domain: '', version: 13 }]);
    assert.deepEqual(overview.inputs, ['x: FLOAT[1,3]']);
    assert.deepEqual(overview.outputs, ['logits: FLOAT[1,2]']);
    assert.equal(overview.rowSource, 'layers');
    assert.deepEqual(overview.unsupported, []);
    assert.deepEqual(
      overview.rows.map((row) => [row.label, row.opTypes.join('+'), row.nodes.join(','), row.inputs.join(','), row.outputs.join(','), row.parameterCount]),
      [
        ['fc1+relu1', 'Gemm+Relu', 'fc1,relu1', '[3]', '[3]', 9 + 3],
        ['fc2', 'Gemm', 'fc2', '[3]', '[2]', 6 + 2],
      ],
    );
    assert.deepEqual(overview.rows[0].attributes, ['fc1: transB = 1'], 'attributes name their node when a row has several');
    assert.deepEqual(overview.rows[1].attributes, ['transB = 1']);
  });

  it('lists unsupported nodes with their reasons and falls back to graph nodes when nothing before them is supported', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'describe-'));
    const path = join(folder, 'softplus.onnx');
    // Softplus has no analysis rule (normalise.ts); it comes first, so there is no supported prefix.
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [],
      nodes: [{ opType: 'Softplus', name: 'sp', inputs: ['x'], outputs: ['y'] }],
      opset: 13,
    });
    const overview = await describeModelFile(path);
    assert.equal(overview.rowSource, 'nodes');
    assert.deepEqual(overview.unsupported.map((node) => [node.label, node.opType]), [['sp', 'Softplus']]);
    assert.match(overview.unsupportedSummary ?? '', /^1 node is not supported: Softplus 'sp'/);
    assert.deepEqual(overview.rows.map((row) => row.label), ['sp']);
  });

  it('explains why the analysis cannot read a graph and still lists its nodes', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'describe-'));
    const path = join(folder, 'two-inputs.onnx');
    await writeModel(path, {
      inputs: [
        { name: 'a', shape: [1, 2] },
        // Held fixed while 'a' is analysed, but its shape is open and no value is given.
        { name: 'b', shape: ['N', 'T'] },
      ],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [],
      nodes: [{ opType: 'Add', name: 'sum', inputs: ['a', 'b'], outputs: ['y'] }],
      opset: 13,
    });
    const overview = await describeModelFile(path);
    assert.equal(overview.rowSource, 'nodes');
    assert.match(overview.notes[0], /cannot read this graph: .*graph input 'b'.*has open dimensions.*give its value to hold it fixed/);
    assert.deepEqual(overview.rows.map((row) => row.label), ['sum']);
  });

  it('an input with open dimensions: the way forward without an input file, the layers from the example beside it or the chosen file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'describe-'));
    const path = join(folder, 'open.onnx');
    // y = relu(x) for any length: its layer shapes depend on the input.
    await writeModel(path, {
      inputs: [{ name: 'x', shape: ['batch', 'samples'] }],
      outputs: [{ name: 'y', shape: ['batch', 'samples'] }],
      initializers: [],
      nodes: [{ opType: 'Relu', name: 'act', inputs: ['x'], outputs: ['y'] }],
      opset: 13,
    });
    const bare = await describeModelFile(path);
    assert.equal(bare.rowSource, 'nodes');
    assert.equal(bare.openInputShape, true);
    assert.match(bare.notes[0], /symbolic or unknown dimensions.*; put an example input beside the model \(open\.npy, open\.input\.npy, open\.input\.json, …\) or choose one with "Choose nominal input…"$/);

    await writeFile(join(folder, 'open.input.json'), JSON.stringify({ shape: [1, 5], data: [1, -2, 3, -4, 5] }));
    const example = await describeModelFile(path);
    assert.equal(example.rowSource, 'layers');
    assert.equal(example.openInputShape, true);
    assert.deepEqual(example.rows.map((row) => [row.label, row.inputs.join(','), row.outputs.join(',')]), [['act', '[5]', '[5]']]);
    assert.equal(example.notes[0], "The input's shape is open in the model; the layers follow open.input.json ([5]).");

    const chosen = join(folder, 'longer.json');
    await writeFile(chosen, JSON.stringify({ shape: [1, 7], data: [1, 2, 3, 4, 5, 6, 7] }));
    const picked = await describeModelFile(path, chosen);
    assert.deepEqual(picked.rows.map((row) => row.inputs.join(',')), ['[7]']);
    assert.match(picked.notes[0], /follow longer\.json \(\[7\]\)/);
    // A fixed shape never reads the input file.
    assert.equal((await describeModelFile(TINY, chosen)).openInputShape, undefined);
  });

  it('rejects a file that is not ONNX, naming it', async () => {
    await assert.rejects(describeModelFile(join(import.meta.dirname, 'describeModel.test.ts')), /describeModel\.test\.ts/);
  });

  it('formats attributes compactly', () => {
    assert.equal(formatAttribute({ type: 'int', value: 2n }), '2');
    assert.equal(formatAttribute({ type: 'float', value: 0.5 }), '0.5');
    assert.equal(formatAttribute({ type: 'float', value: Math.fround(1e-5) }), '1e-5', 'a float32 attribute by the view’s number rule');
    assert.equal(formatAttribute({ type: 'floats', value: [Math.fround(0.1), 2] }), '[0.1, 2]');
    assert.equal(formatAttribute({ type: 'ints', value: [1n, 1n, 0n, 0n] }), '[1, 1, 0, 0]');
    assert.equal(formatAttribute({ type: 'string', value: 'SAME_UPPER' }), '"SAME_UPPER"');
    assert.equal(formatAttribute({ type: 'other', onnxType: 'SPARSE_TENSOR' }), 'SPARSE_TENSOR');
  });
});
