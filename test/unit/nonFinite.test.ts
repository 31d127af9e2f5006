import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNonFinite, reviveNonFinite } from '../../src/shared/nonFinite';

// What VS Code does to a message, a workspaceState value or a webview's saved state.
const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

test('non-finite numbers survive a JSON crossing once encoded, nested anywhere', () => {
  const report = {
    label: 'Infinity',
    runs: [{ network: { localBound: 29.95, layerProduct: Infinity, spectralBound: -Infinity }, ratios: [1, NaN, Infinity] }],
    radius: { local: Infinity },
  };
  // The failure this prevents: plain JSON turns them into null.
  assert.equal(throughJson(report).runs[0].network.layerProduct, null);
  const revived = reviveNonFinite(throughJson(encodeNonFinite(report)));
  assert.deepEqual(revived, report);
  assert.equal(revived.runs[0].network.layerProduct, Infinity);
  assert.equal(revived.runs[0].network.spectralBound, -Infinity);
  assert.ok(Number.isNaN(revived.runs[0].ratios[1]));
  // A model's own strings are not numbers, whatever they read.
  assert.equal(revived.label, 'Infinity');
});

test('encoding leaves finite values, undefined and typed arrays as they are, and does not change its argument', () => {
  const samples = new Float64Array([1, 2]);
  const value = { a: 1, b: undefined, c: null, d: samples, e: [Infinity] };
  const encoded = encodeNonFinite(value);
  assert.equal(encoded.a, 1);
  assert.equal(encoded.b, undefined);
  assert.equal(encoded.c, null);
  assert.equal(encoded.d, samples);
  assert.deepEqual(encoded.e, [{ $nonFinite: 'Infinity' }]);
  assert.deepEqual(value.e, [Infinity]);
  assert.deepEqual(reviveNonFinite(encoded), value);
});

test('reviving a value that was never encoded returns it unchanged', () => {
  const plain = { kind: 'model', values: [0, -1.5e308, 'x'], nested: { $other: 'Infinity' } };
  assert.deepEqual(reviveNonFinite(plain), plain);
  assert.equal(reviveNonFinite(undefined), undefined);
});
