// The editor's overview of a model, read with the ONNX reader from the hand-written fixture.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeModelFile, formatAttribute } from '../../src/worker/describeModel';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');

describe('model overview', () => {
  it('lists producer, opsets, graph inputs and outputs, and one row per node', async () => {
    const overview = await describeModelFile(TINY);
    // All expected values are what test/fixtures/makeTinyFixture.mjs writes.
    assert.equal(overview.fileName, 'tiny.onnx');
    assert.equal(overview.irVersion, 8);
    assert.equal(overview.producerName, 'lipschitz-lens makeTinyFixture');
    assert.deepEqual(overview.opsets, [{ domain: '', version: 13 }]);
    assert.deepEqual(overview.inputs, ['x: FLOAT[1,3]']);
    assert.deepEqual(overview.outputs, ['logits: FLOAT[1,2]']);
    assert.deepEqual(
      overview.rows.map((row) => [row.label, row.opTypes.join('+'), row.parameterCount]),
      [
        ['fc1', 'Gemm', 9 + 3],
        ['relu1', 'Relu', 0],
        ['fc2', 'Gemm', 6 + 2],
      ],
    );
    assert.deepEqual(overview.rows[0].inputs, ['x: FLOAT[1,3]'], 'weights are not listed as inputs');
    assert.deepEqual(overview.rows[0].attributes, ['transB = 1']);
    assert.deepEqual(overview.rows[1].attributes, []);
  });

  it('rejects a file that is not ONNX, naming it', async () => {
    await assert.rejects(describeModelFile(join(import.meta.dirname, 'describeModel.test.ts')), /describeModel\.test\.ts/);
  });

  it('formats attributes compactly', () => {
    assert.equal(formatAttribute({ type: 'int', value: 2n }), '2');
    assert.equal(formatAttribute({ type: 'float', value: 0.5 }), '0.5');
    assert.equal(formatAttribute({ type: 'ints', value: [1n, 1n, 0n, 0n] }), '[1, 1, 0, 0]');
    assert.equal(formatAttribute({ type: 'string', value: 'SAME_UPPER' }), '"SAME_UPPER"');
    assert.equal(formatAttribute({ type: 'other', onnxType: 'SPARSE_TENSOR' }), 'SPARSE_TENSOR');
  });
});
