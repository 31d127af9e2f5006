// The sentence the editor shows for a model file it cannot read: the file and what to do, without the
// reader's protobuf field names and byte offsets (those stay in the detail, for the log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModelFromBytes } from '../../src/onnx/reader';
import { readFailure } from '../../src/worker/readFailure';

const TINY = join(__dirname, '../fixtures/tiny.onnx');

function failureOf(bytes: Uint8Array): OnnxError {
  try {
    readModelFromBytes(bytes, { path: 'model.onnx' });
  } catch (error) {
    assert.ok(error instanceof OnnxError, String(error));
    return error;
  }
  assert.fail('the bytes were read as a model');
}

test('a truncated model: the file ends early, say so and what to do; the reader’s message is the detail', async () => {
  const bytes = await readFile(TINY);
  const error = failureOf(bytes.subarray(0, Math.floor(bytes.length / 2)));
  const failure = readFailure(error, '/models/net.onnx');
  assert.equal(failure.message, 'net.onnx cannot be opened: the file ends before the model does, as an interrupted download or copy leaves it. Export or copy the model again; the reader\'s details are in the engine log.');
  assert.doesNotMatch(failure.message, /protobuf|ModelProto|byte|graph\./);
  assert.equal(failure.detail, error.message);
});

test('bytes that are no ONNX model: a user sentence without protobuf terms', () => {
  const error = failureOf(Uint8Array.from([0x08, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x3a]));
  const failure = readFailure(error, '/models/net.onnx');
  assert.match(failure.message, /^net\.onnx cannot be opened: /);
  assert.doesNotMatch(failure.message, /protobuf|ModelProto|at byte/);
});

test('messages already in the user’s words (an empty file, a node’s attribute) pass unchanged', () => {
  const empty = failureOf(new Uint8Array(0));
  assert.equal(readFailure(empty, '/models/net.onnx').message, empty.message);
  assert.match(empty.message, /is empty \(0 bytes\)/);
  const other = new Error('something else');
  assert.equal(readFailure(other, '/models/net.onnx').message, 'something else');
});
