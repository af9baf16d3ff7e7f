import { describe, expect, it } from 'vitest';
import { CURRENCY, currencyCaseSql, formatCents, parseCents, productNumber, REGIONS, toCents } from '../src/index.ts';

describe('money in cents', () => {
  it('reads decimal strings with up to two places as exact cents', () => {
    expect(parseCents('12')).toBe(1200n);
    expect(parseCents('12.5')).toBe(1250n);
    expect(parseCents('0.05')).toBe(5n);
    expect(parseCents('9999999999.99')).toBe(999_999_999_999n);
    expect(parseCents('99999999999999999999.99')).toBe(9_999_999_999_999_999_999_999n);
  });

  it('refuses what is not a two-place decimal string', () => {
    for (const bad of ['', '-1', '1.234', '1e3', ' 1', '1.', '.5', '0x10', '1'.repeat(21)]) expect(parseCents(bad)).toBeUndefined();
    expect(() => toCents('1.234')).toThrow('not a price: 1.234');
  });

  it('formats cents with exactly two places, never through a float', () => {
    expect(formatCents(0n)).toBe('0.00');
    expect(formatCents(5n)).toBe('0.05');
    expect(formatCents(3n * toCents('0.10'))).toBe('0.30');
    expect(formatCents(999_999_999_999n)).toBe('9999999999.99');
    expect(formatCents(-5n)).toBe('-0.05');
    expect(formatCents(toCents('1234.5'))).toBe('1234.50');
  });
});

describe('regions', () => {
  it('give each region one currency', () => {
    expect(REGIONS.map((region) => CURRENCY[region])).toEqual(['INR', 'SGD', 'AED', 'USD']);
    expect(currencyCaseSql('r.region')).toBe(
      "CASE r.region WHEN 'IN' THEN 'INR' WHEN 'SEA' THEN 'SGD' WHEN 'ME' THEN 'AED' WHEN 'US' THEN 'USD' END",
    );
  });
});

describe('product ids', () => {
  it('parse p<n> and nothing else', () => {
    expect(productNumber('p42')).toBe(42);
    for (const bad of ['p0', 'p01', 'P1', 'p', 'p1234567890', 'u1']) expect(productNumber(bad)).toBeUndefined();
  });
});
