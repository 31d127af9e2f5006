import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatNumber, tighteningRatio } from '../../src/shared/format';

describe('formatting', () => {
  it('numbers: six significant digits, exponents only for very small or large values', () => {
    assert.equal(formatNumber(0.001), '0.001');
    assert.equal(formatNumber(10.6885391234), '10.6885');
    assert.equal(formatNumber(104000), '104000');
    assert.equal(formatNumber(1e-6), '1e-6');
    assert.equal(formatNumber(15_000_000), '1.5e7');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(Infinity), 'Infinity');
  });

  it('bytes', () => {
    assert.equal(formatBytes(331), '331 bytes');
    assert.equal(formatBytes(24.7 * 1024), '24.7 KB');
    assert.equal(formatBytes(244 * 1024 * 1024), '244.0 MB');
    assert.equal(formatBytes(1536), '1.50 KB');
  });

  it('ratio is undefined for a zero local bound', () => {
    assert.equal(tighteningRatio(25, 10), 2.5);
    assert.equal(tighteningRatio(25, 0), undefined);
  });
});
