import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatNumber, formatPercent, formatRatio, SIGNIFICANT_DIGITS, tighteningRatio } from '../../src/shared/format';

describe('formatting', () => {
  it('numbers: four significant digits, trailing zeros dropped, exponents outside [0.001, 10⁴)', () => {
    assert.equal(SIGNIFICANT_DIGITS, 4);
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(-0), '0', 'no signed zero');
    assert.equal(formatNumber(10.6885391234), '10.69');
    assert.equal(formatNumber(-10.6885391234), '-10.69');
    assert.equal(formatNumber(0.001), '0.001');
    assert.equal(formatNumber(0.0012345678), '0.001235');
    assert.equal(formatNumber(0.00098765), '9.877e-4');
    assert.equal(formatNumber(1e-12), '1e-12');
    assert.equal(formatNumber(-1.23456e-12), '-1.235e-12');
    assert.equal(formatNumber(1e12), '1e12');
    assert.equal(formatNumber(9999), '9999');
    assert.equal(formatNumber(12345), '1.235e4', 'no rounding filler digit (not 12350)');
    assert.equal(formatNumber(104000), '1.04e5');
    assert.equal(formatNumber(15_000_000), '1.5e7');
    assert.equal(formatNumber(1.5), '1.5');
    assert.equal(formatNumber(Infinity), '∞');
    assert.equal(formatNumber(-Infinity), '-∞');
    assert.equal(formatNumber(NaN), 'NaN');
  });

  it('numbers: the exponent switch is decided after rounding', () => {
    // 9.9995 is 9.99949999… in binary, so it rounds down; 0.99995 and 9999.5 are exact halves up.
    assert.equal(formatNumber(9.9995), '9.999');
    assert.equal(formatNumber(9.99951), '10');
    assert.equal(formatNumber(0.99995), '1');
    assert.equal(formatNumber(9999.5), '1e4');
    assert.equal(formatNumber(-9999.5), '-1e4');
    assert.equal(formatNumber(0.00099995), '0.001');
    assert.equal(formatNumber(0.00099994), '9.999e-4');
  });

  it('percentages and ratios by the same rule', () => {
    assert.equal(formatPercent(0.2134567), '21.35%');
    assert.equal(formatPercent(0.25), '25%');
    assert.equal(formatPercent(1e-7), '1e-5%');
    assert.equal(formatRatio(2.34567), '2.346×');
    assert.equal(formatRatio(123456), '1.235e5×');
  });

  it('bytes', () => {
    assert.equal(formatBytes(331), '331 bytes');
    assert.equal(formatBytes(24.7 * 1024), '24.7 KB');
    assert.equal(formatBytes(244 * 1024 * 1024), '244 MB');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(1023.5 * 1024 * 1024), '1024 MB');
  });

  it('ratio is undefined for a zero local bound', () => {
    assert.equal(tighteningRatio(25, 10), 2.5);
    assert.equal(tighteningRatio(25, 0), undefined);
  });
});
