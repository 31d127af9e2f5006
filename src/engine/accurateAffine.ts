// An affine layer A x + b evaluated to about 2^−100 relative on the layer's own float64 operators (native
// kernels or TypeScript), for the double-double nominal pass (docs/derivations.md §50).
//
// The float32 weights and the float64 input are cut into slices on power-of-two grids (Ozaki's
// error-free splitting): W = W0 + W1 + W2, x = x0 + x1 + x2, with few enough bits per slice that every
// product of W0x0, W0x1 and W1x0 is exact and every partial sum of the m products per output is an
// integer multiple of the pair's grid below 2^53 units — exact in any order, fused multiply-adds
// included. The rest, W0x2 + W1(x1 + x2) + W2 x + W x_lo, is about 2^−38 of |A||x| and is computed in
// float64 with its rounding bounded. The pieces are summed into a (hi, lo) pair with TwoSum.
import { twoSumError } from './doubleDouble';
import { gamma, innerLength } from './forward';
import type { LinearParams, Shape } from './network';
import type { OperatorBackend } from './native/kernels';
import { createAffineOperator } from './operators/registry';
import type { AffineOperator } from './operators/linearOperator';


/** The smallest E with |v| ≤ 2^E for every v (v not all zero, all finite: with ∞ the loops would not end). */
function exponentAbove(largest: number): number {
  let e = Math.ceil(Math.log2(largest));
  while (2 ** e < largest) e++;
  while (2 ** (e - 1) >= largest) e--;
  return e;
}

function largestAbsolute(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m) m = a;
  }
  return m;
}

/** 1.5 · 2^52: adding and subtracting it rounds a float64 below 2^51 in magnitude to an integer. */
const ROUNDING_SHIFT = 1.5 * 2 ** 52;

/**
 * x rounded to a nearest integer (ties to even; the splitting only needs |x − round(x)| ≤ 1/2). The
 * shift is exact below 2^51 and several times faster than Math.round, which took most of the pass on
 * a large dense layer's weights (docs/derivations.md §58.2).
 */
function nearestInteger(x: number): number {
  return Math.abs(x) < 2 ** 51 ? x + ROUNDING_SHIFT - ROUNDING_SHIFT : Math.round(x);
}

/** v rounded to the nearest multiple of grid (exact: a power-of-two scaling and an integer rounding). */
function onGrid(v: ArrayLike<number>, grid: number, into: Float64Array): Float64Array {
  for (let i = 0; i < v.length; i++) into[i] = nearestInteger(v[i] / grid) * grid;
  return into;
}

/** The weight tensor the products read: conv, conv-transpose and dense weights, or a channel affine's scales. */
function weightsOf(params: LinearParams): Float32Array {
  return params.kind === 'channelAffine' ? params.scale : params.weight;
}

function withWeights(params: LinearParams, weights: Float32Array): LinearParams {
  if (params.kind === 'channelAffine') return { ...params, scale: weights, shift: new Float32Array(params.shift.length) };
  return { ...params, weight: weights, bias: undefined };
}

/** Smallest float32 subnormal: every weight slice must be a float32 multiple of a grid at least this. */
const FLOAT32_TINY = 2 ** -149;
/** Smallest float64 subnormal: every product grid must be at least this for the products to be exact. */
const FLOAT64_TINY = 2 ** -1074;

interface WeightSlices {
  /** Grid of W0 (W1's is grid · 2^−bits); |W| ≤ 2^exponent. */
  grid: number;
  /** Writes slice k (0, 1 or 2) of W into `into` (one buffer serves all three in turn: a large dense layer's weights are big). */
  fill(k: 0 | 1 | 2, into: Float32Array): Float32Array;
}

/**
 * W = W0 + W1 + W2 with W0 on the grid 2^(E+1−bits) (|W| ≤ 2^E), W1 on that grid times 2^−bits and W2 the
 * rest. Each subtraction is exact (the low bits of a float32 value); null when a slice would not be a
 * float32 (subnormal underflow), checked before anything is written.
 */
function sliceWeights(w: Float32Array, bits: number): WeightSlices | null {
  const largest = largestAbsolute(w);
  if (largest === 0 || !Number.isFinite(largest)) return null;
  const grid = 2 ** (exponentAbove(largest) + 1 - bits);
  const fine = grid * 2 ** -bits;
  if (fine < FLOAT32_TINY) return null;
  const inverseGrid = 1 / grid;
  const inverseFine = 1 / fine;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    const a = nearestInteger(v * inverseGrid) * grid;
    const b = nearestInteger((v - a) * inverseFine) * fine;
    const c = v - a - b;
    if (Math.fround(a) !== a || Math.fround(b) !== b || Math.fround(c) !== c || a + b + c !== v) return null;
  }
  return {
    grid,
    fill(k, into) {
      for (let i = 0; i < w.length; i++) {
        const v = w[i];
        const a = nearestInteger(v * inverseGrid) * grid;
        if (k === 0) {
          into[i] = a;
          continue;
        }
        const b = nearestInteger((v - a) * inverseFine) * fine;
        into[i] = k === 1 ? b : v - a - b;
      }
      return into;
    },
  };
}

export interface AccurateAffine {
  hi: Float64Array;
  lo: Float64Array;
  /** Per output: a bound on |hi + lo − (A (x_hi + x_lo) + b)|. */
  fresh: Float64Array;
}

/**
 * A (x_hi + x_lo) + b as a normalised pair with a per-output bound on its error; null when the
 * splitting does not apply (a weight or product grid would underflow), and the caller falls back to
 * float64 with γ_m.
 */
export function accurateAffine(
  params: LinearParams,
  inputShape: Shape,
  label: string,
  backend: OperatorBackend,
  affine: AffineOperator,
  xHi: Float64Array,
  xLo: Float64Array,
): AccurateAffine | null {
  // Products summed per output, the bias excluded.
  const m = innerLength(params) - 1;
  const n = affine.linear.outSize;
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  const fresh = new Float64Array(n);
  const bias = affine.bias;
  const mu = largestAbsolute(xHi);
  if (mu === 0) {
    // The input is zero: its low parts are zero too (normalised pairs), so the output is the bias, exact.
    if (bias) hi.set(bias);
    return { hi, lo, fresh };
  }
  // Σ of m products |k_W k_x| ≤ m 2^(α−1) 2^(β−1) < 2^53 keeps every partial sum exact: α + β ≤ 55 − ⌈log2 m⌉.
  const budget = 55 - Math.ceil(Math.log2(m)) - 1;
  const alpha = Math.min(24, Math.floor(budget / 2));
  const beta = budget - alpha;
  // A non-finite input has no grid; the float64 pass and its bound carry it.
  if (!Number.isFinite(mu)) return null;
  const weights = sliceWeights(weightsOf(params), alpha);
  if (!weights) return null;
  const xGrid = 2 ** (exponentAbove(mu) + 1 - beta);
  const xFine = xGrid * 2 ** -beta;
  // The finest product grids (W0 x1 and W1 x0) must not underflow.
  if (Math.min(weights.grid * xFine, weights.grid * 2 ** -alpha * xGrid) < FLOAT64_TINY) return null;
  const x0 = onGrid(xHi, xGrid, new Float64Array(xHi.length));
  const xRest = xHi.map((v, i) => v - x0[i]);
  const x1 = onGrid(xRest, xFine, new Float64Array(xHi.length));
  const x2 = xRest.map((v, i) => v - x1[i]);

  // One slice operator at a time (a large dense layer's widened copy is big). Exact: W0 x0, W0 x1, W1 x0;
  // the rest, in float64: W0 x2 + W1 (x1 + x2) + W2 x_hi + W x_lo.
  // The WebAssembly kernels keep a dense weight in their memory for as long as its array lives (weights
  // are never changed in place elsewhere), so there each slice needs an array of its own.
  const operator = (k: 0 | 1 | 2) =>
    createAffineOperator(withWeights(params, weights.fill(k, backend === 'webassembly' ? new Float32Array(buffer.length) : buffer)), inputShape, label, backend).linear;
  const buffer = new Float32Array(weightsOf(params).length);
  let w = operator(0);
  const exact = [w.apply(x0), w.apply(x1)];
  const rest = [w.apply(x2)];
  w = operator(1);
  exact.push(w.apply(x0));
  rest.push(w.apply(xRest));
  rest.push(operator(2).apply(xHi), affine.linear.apply(xLo));

  // Rounding of the four rest products (γ_m each, relative to Σ|w||x|): |W0| ≤ 2|W| and |x2| ≤ xFine/2;
  // |W1| ≤ grid/2 and |x1 + x2| ≤ xGrid/2; |W2| ≤ grid 2^−α/2 and |x_hi| ≤ μ; |W| times the largest |x_lo|.
  const largestWeight = largestAbsolute(weightsOf(params));
  const perTerm = 2 * largestWeight * (xFine / 2) + (weights.grid / 2) * (xGrid / 2) + ((weights.grid * 2 ** -alpha) / 2) * mu + largestWeight * largestAbsolute(xLo);
  const restRounding = gamma(m) * m * perTerm;
  const sumRounding = gamma(8);
  for (let i = 0; i < n; i++) {
    // hi: TwoSum over the exact pieces and the bias; lo: their errors plus the rest (7 float additions).
    let s = exact[0][i];
    let low = 0;
    let magnitude = 0;
    for (const term of [exact[1][i], exact[2][i], bias ? bias[i] : 0]) {
      const t = s + term;
      const e = twoSumError(s, term, t);
      s = t;
      low += e;
      magnitude += Math.abs(e);
    }
    for (const r of rest) {
      low += r[i];
      magnitude += Math.abs(r[i]);
    }
    const h = s + low;
    hi[i] = h;
    lo[i] = twoSumError(s, low, h);
    fresh[i] = restRounding + sumRounding * magnitude;
  }
  return { hi, lo, fresh };
}
