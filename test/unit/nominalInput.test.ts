import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, matchInputShape, parseJsonInput, parseNpy, syntheticInput } from '../../src/engine/nominalInput';

/** Writes a version-1.0 .npy file the way numpy.save does (header padded to a multiple of 64). */
function npyBytes(descr: string, shape: number[], values: number[], fortran = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const itemSize = descr.endsWith('8') ? 8 : 4;
  const bytes = new Uint8Array(10 + header.length + values.length * itemSize);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  values.forEach((v, i) => (itemSize === 8 ? view.setFloat64(10 + header.length + 8 * i, v, true) : view.setFloat32(10 + header.length + 4 * i, v, true)));
  return bytes;
}

test('npy float32 and float64 round-trip in C order', () => {
  const f32 = parseNpy(npyBytes('<f4', [1, 2, 2], [0.5, -1, 2, 3.25]), 'a.npy');
  assert.deepEqual(f32.shape, [1, 2, 2]);
  assert.deepEqual(Array.from(f32.values), [0.5, -1, 2, 3.25]);
  const f64 = parseNpy(npyBytes('<f8', [3], [0.1, 0.2, 0.3]), 'b.npy');
  assert.deepEqual(Array.from(f64.values), [0.1, 0.2, 0.3]);
  assert.equal(f64.source, 'npy');
});

test('npy errors name the file and the problem', () => {
  assert.throws(() => parseNpy(new Uint8Array([1, 2, 3]), 'x.npy'), /x\.npy: not a NumPy/);
  assert.throws(() => parseNpy(npyBytes('<i4', [2], [1, 2]), 'i.npy'), /i\.npy: dtype '<i4'/);
  assert.throws(() => parseNpy(npyBytes('<f4', [2, 2], [1, 2, 3, 4], true), 'f.npy'), /Fortran-order/);
  const truncated = npyBytes('<f4', [4], [1, 2, 3, 4]).subarray(0, -4);
  assert.throws(() => parseNpy(truncated, 't.npy'), /t\.npy: holds 12 data bytes, but shape \(4\) needs 16/);
  assert.throws(() => parseNpy(npyBytes('<f4', [2], [1, Number.NaN]), 'n.npy'), /n\.npy: value 1 is NaN/);
});

test('json nested, flat and object forms', () => {
  const nested = parseJsonInput('[[[1, 2], [3, 4]]]', 'n.json');
  assert.deepEqual(nested.shape, [1, 2, 2]);
  assert.deepEqual(Array.from(nested.values), [1, 2, 3, 4]);
  const flat = parseJsonInput('[1, 2, 3]', 'f.json');
  assert.deepEqual(flat.shape, [3]);
  const object = parseJsonInput('{"shape": [2, 1], "data": [5, 6]}', 'o.json');
  assert.deepEqual(object.shape, [2, 1]);
  assert.deepEqual(Array.from(object.values), [5, 6]);
});

test('json errors name the file and the place', () => {
  assert.throws(() => parseJsonInput('{', 'bad.json'), (e: unknown) => e instanceof InputError && /bad\.json: not valid JSON/.test(e.message));
  assert.throws(() => parseJsonInput('[[1, 2], [3]]', 'r.json'), /r\.json: data\[1\] is ragged/);
  assert.throws(() => parseJsonInput('[1, "a"]', 's.json'), /s\.json: data\[1\] is not a number/);
  assert.throws(() => parseJsonInput('{"shape": [3], "data": [1, 2]}', 'c.json'), /holds 3 values but the data has 2/);
  assert.throws(() => parseJsonInput('{"x": 1}', 'k.json'), /"data" array/);
});

test('input shape matching accepts a batch of one or a flat vector of the right size', () => {
  const model = [1, 2, 2];
  assert.equal(matchInputShape(parseJsonInput('[[[[1, 2], [3, 4]]]]', 'a.json'), model, 'x').length, 4);
  assert.equal(matchInputShape(parseJsonInput('[1, 2, 3, 4]', 'b.json'), model, 'x').length, 4);
  assert.throws(() => matchInputShape(parseJsonInput('[1, 2, 3]', 'c.json'), model, 'x'), /c\.json: shape \[3\] does not match model input 'x' of shape \[1, 1, 2, 2\]/);
});

test('synthetic input is deterministic, finite, in [0, 1] and labelled', () => {
  const a = syntheticInput([3, 4, 4]);
  const b = syntheticInput([3, 4, 4]);
  assert.deepEqual(a.values, b.values);
  assert.equal(a.values.length, 48);
  assert.ok(a.values.every((v) => v >= 0 && v <= 1));
  assert.equal(a.source, 'synthetic');
  assert.match(a.origin, /synthetic/);
});
