// Error-free transformations of float64 arithmetic (Knuth's TwoSum, Dekker's TwoProduct): the basis of the
// double-double nominal pass (accurateForward.ts, docs/derivations.md §50). A value is a pair (hi, lo)
// with hi = fl(hi + lo); its exact value is hi + lo.

/** The exact rounding error of s = fl(a + b): a + b = s + twoSumError(a, b, s), for any a, b without overflow. */
export function twoSumError(a: number, b: number, s: number): number {
  const bVirtual = s - a;
  const aVirtual = s - bVirtual;
  return a - aVirtual + (b - bVirtual);
}

/** Veltkamp's splitter for float64: 2^27 + 1. */
const SPLITTER = 134217729;

/**
 * The exact rounding error of p = fl(a · b): a · b = p + twoProductError(a, b, p) (Dekker), provided
 * nothing overflows or underflows (|a|, |b| well below 2^996 and the product's error above 2^−1022).
 */
export function twoProductError(a: number, b: number, p: number): number {
  let t = SPLITTER * a;
  const aHigh = t - (t - a);
  const aLow = a - aHigh;
  t = SPLITTER * b;
  const bHigh = t - (t - b);
  const bLow = b - bHigh;
  return aLow * bLow - (p - aHigh * bHigh - aLow * bHigh - aHigh * bLow);
}

/** Normalises every pair in place: (hi, lo) ← (fl(hi + lo), the exact remainder). */
export function normalise(hi: Float64Array, lo: Float64Array): void {
  for (let i = 0; i < hi.length; i++) {
    const s = hi[i] + lo[i];
    lo[i] = twoSumError(hi[i], lo[i], s);
    hi[i] = s;
  }
}

/**
 * The sign of (hi + lo) − c for a normalised pair and a float64 c: sign(hi − c) when hi ≠ c (hi is
 * fl(hi + lo), so a double c below hi is at most the midpoint below it, which hi + lo cannot cross), else sign(lo).
 */
export function compareTo(hi: number, lo: number, c: number): number {
  if (hi !== c) return hi > c ? 1 : -1;
  return lo > 0 ? 1 : lo < 0 ? -1 : 0;
}
