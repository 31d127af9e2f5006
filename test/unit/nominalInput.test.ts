import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, matchInputShape, parseJsonInput, parseNpy, syntheticInput } from '../../src/engine/nominalInput';
import { npyBytes } from './helpers/npy';

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

/** A .npy file with the given header text (padded as numpy pads it) and float32 values. */
function npyWithHeader(headerText: string, values: number[]): Uint8Array {
  const header = headerText + ' '.repeat(63 - ((10 + headerText.length) % 64)) + '\n';
  const bytes = new Uint8Array(10 + header.length + 4 * values.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  values.forEach((v, i) => view.setFloat32(10 + header.length + 4 * i, v, true));
  return bytes;
}

test('the npy header is parsed strictly: decimal shapes only, the last of repeated keys, one line naming file and field', () => {
  const ok = parseNpy(npyWithHeader(`{"descr": '<f4', 'fortran_order': False, 'shape': ( 2 , ), }`, [1, 2]), 'q.npy');
  assert.deepEqual(ok.shape, [2]);
  // numpy's literal_eval keeps the last of two keys: here float64 would need 16 bytes, float32 needs 8.
  const last = parseNpy(npyWithHeader(`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '<f4'}`, [1, 2]), 'd.npy');
  assert.deepEqual(Array.from(last.values), [1, 2]);
  const refusals: [string, RegExp][] = [
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (0x310,), }`, /'shape' entry 0 must be a decimal integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (1_0,), }`, /'shape' entry 0 must be a decimal integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (010,), }`, /'shape' entry 0 must be a decimal integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }`, /'shape' entry 0 is 99999999999999999999, too large/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (784), }`, /'shape' is \(784\), a number, not a tuple/],
    [`{'descr': '<f4', 'fortran_order': False, }`, /'shape' is missing/],
    [`{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,), }`, /'fortran_order' must be True or False/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}`, /the value of 'extra' as a quoted string/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 'y'}`, /unknown key "x"/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (1,) } trailing`, /text after the closing brace/],
    [`{'descr': '<f\x1b[31m4, 'fortran_order': False}`, /expected ',' or '\}' after/],
  ];
  for (const [header, reason] of refusals) {
    assert.throws(
      () => parseNpy(npyWithHeader(header, [1]), 'h.npy'),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.match(e.message, /^h\.npy: malformed \.npy header: /);
        assert.match(e.message, reason);
        assert.doesNotMatch(e.message, /[\x00-\x1f\x7f]/, 'no raw control characters');
        return true;
      },
      header,
    );
  }
});

test('a JSON input nested 100 000 deep gives one clean line, not a stack overflow; 32 levels still parse', () => {
  const deep = '['.repeat(100_000) + '1' + ']'.repeat(100_000);
  assert.throws(() => parseJsonInput(deep, 'deep.json'), /^InputError: deep\.json: the data nests arrays more than 32 deep; an input has at most 32 dimensions\.$/);
  const ok = parseJsonInput('['.repeat(32) + '1' + ']'.repeat(32), 'ok.json');
  assert.deepEqual(ok.shape, new Array(32).fill(1));
  assert.throws(() => parseJsonInput(`{"shape": [${new Array(40).fill(1)}], "data": [1]}`, 's.json'), /at most 32 non-negative integers/);
  assert.throws(() => parseJsonInput('[[[1], [2]], [[3], 4]]', 'r.json'), /r\.json: data\[1\]\[1\] is not an array, unlike its siblings/);
  assert.throws(() => parseJsonInput('[[[1], [2]], [[3], [4, 5]]]', 'r.json'), /r\.json: data\[1\]\[1\] is ragged \(2 entries where data\[0\]\[0\] has 1\)/);
  const nested = parseJsonInput('[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]', 'n.json');
  assert.deepEqual(nested.shape, [2, 2, 2]);
  assert.deepEqual(Array.from(nested.values), [1, 2, 3, 4, 5, 6, 7, 8]);
});
