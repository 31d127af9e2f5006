// Activations: nominal evaluation and the per-coordinate slope bound over a reachable interval.
//
// For a coordinate with nominal pre-activation y0 that can reach any y in [lo, hi] (lo ≤ y0 ≤ hi),
// slope(lo, y0, hi) is a number r with |σ(y) − σ(y0)| ≤ r |y − y0| for every y in [lo, hi]:
// - piecewise-linear σ (ReLU, LeakyReLU, Clip, HardSigmoid): the exact supremum of the chord slope
//   |σ(y) − σ(y0)| / |y − y0|. On each linear piece not containing y0 the chord slope is a Möbius
//   function of y, hence monotone, so the supremum is attained at a piece end (a kink or lo/hi) or is
//   the one-sided slope at y0 itself. We evaluate exactly those candidates.
// - sigmoid, tanh: the largest derivative over [lo, hi] (mean-value theorem); both derivatives peak
//   at 0 and decrease in |y|, so it is the derivative at the point of [lo, hi] closest to 0.
// - HardSwish g(y) = y · clamp(α y + β, 0, 1): the exact supremum of the chord slope, from the
//   candidates derived in docs/derivations.md §15 (piece ends, lo/hi, and the points whose tangent
//   passes through (y0, g(y0))), with chords evaluated as averages of g' to avoid cancellation.
// For ReLU with lo ignored this is method.md §2's r_i; the chord to lo is never larger for a convex
// non-decreasing σ, so using the whole interval changes nothing there.
import type { Activation } from './network';

interface PiecewiseLinear {
  kinks: number[];
  value: (y: number) => number;
  /** Slope of the piece to the right of y (one-sided derivative from the right). */
  slopeRight: (y: number) => number;
  /** Slope of the piece to the left of y. */
  slopeLeft: (y: number) => number;
}

const piecewiseForms = new WeakMap<Activation, PiecewiseLinear | null>();

/** The activation's pieces, built once per activation object (the rules call this per coordinate). */
function piecewise(activation: Activation): PiecewiseLinear | null {
  let form = piecewiseForms.get(activation);
  if (form === undefined) {
    form = buildPiecewise(activation);
    piecewiseForms.set(activation, form);
  }
  return form;
}

function buildPiecewise(activation: Activation): PiecewiseLinear | null {
  switch (activation.kind) {
    case 'relu':
      return {
        kinks: [0],
        value: (y) => (y > 0 ? y : 0),
        slopeRight: (y) => (y >= 0 ? 1 : 0),
        slopeLeft: (y) => (y > 0 ? 1 : 0),
      };
    case 'leakyRelu': {
      const a = activation.alpha;
      return {
        kinks: [0],
        value: (y) => (y > 0 ? y : a * y),
        slopeRight: (y) => (y >= 0 ? 1 : a),
        slopeLeft: (y) => (y > 0 ? 1 : a),
      };
    }
    case 'clip': {
      const { min, max } = activation;
      return {
        kinks: [min, max],
        value: (y) => Math.min(max, Math.max(min, y)),
        slopeRight: (y) => (y >= min && y < max ? 1 : 0),
        slopeLeft: (y) => (y > min && y <= max ? 1 : 0),
      };
    }
    case 'hardSigmoid': {
      const { alpha, beta } = activation;
      const value = (y: number) => Math.max(0, Math.min(1, alpha * y + beta));
      if (alpha === 0) return { kinks: [], value, slopeRight: () => 0, slopeLeft: () => 0 };
      const k0 = -beta / alpha;
      const k1 = (1 - beta) / alpha;
      const [lo, hi] = k0 < k1 ? [k0, k1] : [k1, k0];
      return {
        kinks: [lo, hi],
        value,
        slopeRight: (y) => (y >= lo && y < hi ? Math.abs(alpha) : 0),
        slopeLeft: (y) => (y > lo && y <= hi ? Math.abs(alpha) : 0),
      };
    }
    default:
      return null;
  }
}

export function activate(activation: Activation, y: number): number {
  switch (activation.kind) {
    case 'log':
      return Math.log(y);
    case 'sqrt':
      return Math.sqrt(y);
    case 'reciprocal':
      return 1 / y;
    case 'power':
      return Math.pow(y, activation.exponent);
    case 'hardSwish':
      return y * Math.max(0, Math.min(1, activation.alpha * y + activation.beta));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-y));
    case 'tanh':
      return Math.tanh(y);
    default:
      return (piecewise(activation) as PiecewiseLinear).value(y);
  }
}

/**
 * The points where σ' jumps: a piecewise-linear σ's kinks, HardSwish's piece ends (slope 0 | −β at
 * −β/α, 2 − β | 1 at (1 − β)/α); none for a smooth σ. A unit whose reachable window holds one has a
 * secant slope interval that does not shrink with its reach (docs/derivations.md §68).
 */
export function slopeJumps(activation: Activation): readonly number[] {
  if (activation.kind === 'hardSwish') {
    const { k0, k1 } = hardSwishPieces(activation);
    return [k0, k1];
  }
  return piecewise(activation)?.kinks ?? [];
}

/** An interval holding every output value of the activation (the whole line when unbounded or not simple). */
export function activationRange(activation: Activation): [number, number] {
  switch (activation.kind) {
    case 'relu':
      return [0, Infinity];
    case 'clip':
      return [activation.min, activation.max];
    case 'hardSigmoid':
    case 'sigmoid':
      return [0, 1];
    case 'tanh':
      return [-1, 1];
    case 'sqrt':
      return [0, Infinity];
    case 'power':
      return Number.isInteger(activation.exponent) && activation.exponent % 2 !== 0 ? [-Infinity, Infinity] : [0, Infinity];
    default:
      return [-Infinity, Infinity];
  }
}

/** Global Lipschitz constant of the activation (for the conservative bound). */
export function globalSlope(activation: Activation): number {
  switch (activation.kind) {
    case 'relu':
    case 'clip':
    case 'tanh':
      return 1;
    case 'leakyRelu':
      return Math.max(1, Math.abs(activation.alpha));
    case 'hardSigmoid':
      return Math.abs(activation.alpha);
    case 'sigmoid':
      return 0.25;
    case 'hardSwish':
      // |g'| is 0, then |2αy + β| rising from −β to 2 − β across the quadratic piece, then 1.
      return Math.max(1, Math.abs(activation.beta), Math.abs(2 - activation.beta));
    case 'power':
      return activation.exponent === 0 ? 0 : activation.exponent === 1 ? 1 : Infinity;
    case 'log':
    case 'sqrt':
    case 'reciprocal':
      return Infinity;
  }
}

export type SmoothActivation = Extract<Activation, { kind: 'log' | 'sqrt' | 'reciprocal' | 'power' }>;

export function isSmoothWithSingularity(activation: Activation): activation is SmoothActivation {
  return activation.kind === 'log' || activation.kind === 'sqrt' || activation.kind === 'reciprocal' || activation.kind === 'power';
}

/** Relative outward margin on σ' of the smooth maps (a division or Math.pow: a few ulps). */
const SMOOTH_DERIVATIVE_MARGIN = 1e-12;

/** σ' of a smooth map at y (inside its domain). */
function smoothSlope(activation: SmoothActivation, y: number): number {
  switch (activation.kind) {
    case 'log':
      return 1 / y;
    case 'sqrt':
      return 0.5 / Math.sqrt(y);
    case 'reciprocal':
      return -1 / (y * y);
    case 'power': {
      const p = activation.exponent;
      return p === 0 ? 0 : p === 1 ? 1 : p * Math.pow(y, p - 1);
    }
  }
}

/**
 * [smallest σ', largest σ'] over [lo, hi] for a smooth map (docs/derivations.md §24), or undefined when
 * the interval leaves the part of the domain where σ' is finite: log and sqrt need lo > 0, 1/y an
 * interval without 0, y^p with p a negative integer the same, with p not an integer lo > 0 (lo ≥ 0
 * when p ≥ 1). On each side of 0, σ' is monotone (1/y, y^{-1/2}, −y^{-2}, p y^{p−1}), so its extremes
 * over the interval are at lo, hi, and 0 when 0 lies inside (integer p ≥ 1 only).
 */
export function smoothDerivativeRange(activation: SmoothActivation, lo: number, hi: number): [number, number] | undefined {
  if (!(lo <= hi) || !Number.isFinite(lo) || !Number.isFinite(hi)) return undefined;
  const p = activation.kind === 'power' ? activation.exponent : undefined;
  const crossesZero = lo <= 0 && hi >= 0;
  switch (activation.kind) {
    case 'log':
    case 'sqrt':
      if (!(lo > 0)) return undefined;
      break;
    case 'reciprocal':
      if (crossesZero) return undefined;
      break;
    case 'power':
      if (p === undefined || !Number.isFinite(p)) return undefined;
      if (Number.isInteger(p)) {
        if (p < 0 && crossesZero) return undefined;
      } else if (p >= 1 ? !(lo >= 0) : !(lo > 0)) return undefined;
      break;
  }
  const candidates = [smoothSlope(activation, lo), smoothSlope(activation, hi)];
  if (crossesZero && p !== undefined && Number.isInteger(p) && p >= 1) candidates.push(smoothSlope(activation, 0));
  let smallest = Math.min(...candidates);
  let largest = Math.max(...candidates);
  if (!Number.isFinite(smallest) || !Number.isFinite(largest)) return undefined;
  const margin = SMOOTH_DERIVATIVE_MARGIN * Math.max(Math.abs(smallest), Math.abs(largest));
  smallest -= margin;
  largest += margin;
  return [smallest, largest];
}

/** The interval every point within tau + reach of y0 lies in, rounded outward and cut to the input's range. */
function reachableWindow(y0: number, tau: number, reach: number, [low, high]: readonly [number, number]): [number, number] {
  const width = tau + reach;
  const slack = (Math.abs(y0) + width) * OUTWARD_ROUNDING;
  return [Math.max(low, y0 - width - slack), Math.min(high, y0 + width + slack)];
}

/** Largest |σ'| of a smooth map over W (every chord inside W is an average of σ'); ∞ at a singularity. */
function smoothSlopeBound(activation: SmoothActivation, lo: number, hi: number): number {
  const range = smoothDerivativeRange(activation, lo, hi);
  return range ? Math.max(Math.abs(range[0]), Math.abs(range[1])) : Infinity;
}

interface HardSwishPieces {
  alpha: number;
  beta: number;
  /** g = 0 left of k0, quadratic α y² + β y between, identity right of k1. */
  k0: number;
  k1: number;
}

function hardSwishPieces(activation: Extract<Activation, { kind: 'hardSwish' }>): HardSwishPieces {
  const { alpha, beta } = activation;
  return { alpha, beta, k0: -beta / alpha, k1: (1 - beta) / alpha };
}

/**
 * (g(b) − g(a)) / (b − a) for a < b, as the length-weighted average of g' over the pieces: on the
 * quadratic piece ∫ g' over [p, q] is (q − p)(α(p + q) + β), exactly factored, so no cancellation.
 */
function hardSwishChord(h: HardSwishPieces, a: number, b: number): number {
  let integral = 0;
  const qa = Math.max(a, h.k0);
  const qb = Math.min(b, h.k1);
  if (qb > qa) integral += (qb - qa) * (h.alpha * (qa + qb) + h.beta);
  const la = Math.max(a, h.k1);
  if (b > la) integral += b - la;
  return integral / (b - a);
}

/** Largest |g'| over [p, q]. */
function hardSwishSteepest(h: HardSwishPieces, p: number, q: number): number {
  let best = 0;
  if (q > h.k1) best = 1;
  const a = Math.max(p, h.k0);
  const b = Math.min(q, h.k1);
  if (b >= a) best = Math.max(best, Math.abs(2 * h.alpha * a + h.beta), Math.abs(2 * h.alpha * b + h.beta));
  return best;
}

/** Relative and absolute allowances for the float64 evaluation of the HardSwish chord candidates. */
const HARD_SWISH_RELATIVE_MARGIN = 1e-12;

function hardSwishSlope(h: HardSwishPieces, lo: number, y0: number, hi: number): number {
  if (lo === hi) return 0;
  const g0 = y0 * Math.max(0, Math.min(1, h.alpha * y0 + h.beta));
  const candidates = [lo, hi, h.k0, h.k1];
  // Points whose tangent passes through (y0, g(y0)): y² − 2 y0 y + (g0 − β y0)/α = 0.
  const discriminant = y0 * y0 - (g0 - h.beta * y0) / h.alpha;
  if (discriminant >= 0) candidates.push(y0 - Math.sqrt(discriminant), y0 + Math.sqrt(discriminant));
  // One-sided derivatives at y0 (the limits of the chord).
  let best = 0;
  if (hi > y0) best = Math.max(best, hardSwishSteepest(h, y0, Math.min(hi, y0 + Number.EPSILON * (1 + Math.abs(y0)))));
  if (lo < y0) best = Math.max(best, hardSwishSteepest(h, Math.max(lo, y0 - Number.EPSILON * (1 + Math.abs(y0))), y0));
  for (const y of candidates) {
    if (!(y >= lo && y <= hi) || y === y0) continue;
    best = Math.max(best, Math.abs(y > y0 ? hardSwishChord(h, y0, y) : hardSwishChord(h, y, y0)));
  }
  if (best === 0) return 0;
  const absolute = 8 * Number.EPSILON * (Math.abs(h.beta) + h.alpha * (Math.abs(lo) + Math.abs(hi)) + 1);
  return best * (1 + HARD_SWISH_RELATIVE_MARGIN) + absolute;
}

/**
 * HardSwish with y0 known to ±tau (docs/derivations.md §15): for the chord from an admissible y0* = a
 * to y, either |y − a| ≥ δ, where |chord| ≤ (|g(y) − g(y0)| + |g(y0) − g(a)|)/|y − a| ≤
 * r_W (1 + τ/δ) + G_W τ/δ, or |y − a| < δ, where it is at most the largest |g'| over
 * [y0 − τ − δ, y0 + τ + δ]; and always by the largest |g'| over W.
 */
function hardSwishSlopeUncertain(h: HardSwishPieces, y0: number, tau: number, reach: number, lo: number, hi: number): number {
  const delta = Math.min(reach, Math.max(Math.sqrt(tau), 1e3 * tau));
  const steepest = hardSwishSteepest(h, lo, hi);
  const far = hardSwishSlope(h, lo, y0, hi) * (1 + tau / delta) + (steepest * tau) / delta;
  const nearWidth = (tau + delta) * (1 + 1e-15) + Math.abs(y0) * 4.5e-16;
  const near = hardSwishSteepest(h, y0 - nearWidth, y0 + nearWidth);
  // Every chord is an average of g' over W, so the steepest slope there bounds it too.
  return Math.min(steepest, Math.max(far, near));
}

/** Slope bound r over [lo, hi] around y0 (see the file comment). r = 0 when lo = hi = y0. */
export function slopeBound(activation: Activation, lo: number, y0: number, hi: number): number {
  if (isSmoothWithSingularity(activation)) return lo === hi ? 0 : smoothSlopeBound(activation, lo, hi);
  if (activation.kind === 'hardSwish') return hardSwishSlope(hardSwishPieces(activation), lo, y0, hi);
  if (activation.kind === 'sigmoid' || activation.kind === 'tanh') {
    if (lo === hi) return 0;
    const nearest = lo > 0 ? lo : hi < 0 ? hi : 0;
    if (activation.kind === 'tanh') {
      const t = Math.tanh(nearest);
      return 1 - t * t;
    }
    const s = 1 / (1 + Math.exp(-nearest));
    return s * (1 - s);
  }
  const f = piecewise(activation) as PiecewiseLinear;
  const f0 = f.value(y0);
  let best = 0;
  const chord = (y: number) => {
    if (y !== y0) best = Math.max(best, Math.abs(f.value(y) - f0) / Math.abs(y - y0));
  };
  if (hi > y0) {
    best = Math.max(best, Math.abs(f.slopeRight(y0)));
    chord(hi);
  }
  if (lo < y0) {
    best = Math.max(best, Math.abs(f.slopeLeft(y0)));
    chord(lo);
  }
  for (const k of f.kinks) if (k >= lo && k <= hi) chord(k);
  return best;
}

/**
 * Slope bound when the nominal pre-activation is only known to within ±tau (e.g. a float32 forward
 * pass, or the float64 rounding of the pure one): the true y0* lies in [y0 − tau, y0 + tau] and can
 * move by ±reach around itself, so every point involved lies in W = [y0 − tau − reach, y0 + tau + reach].
 * - ReLU, LeakyReLU with 0 ≤ α ≤ 1: r(y0*) is non-decreasing in y0* for a fixed reach (0, then
 *   (y0* + reach(1−α))/reach…, then 1), so r at y0 + tau bounds it.
 * - sigmoid, tanh: the largest derivative over the union of all reachable intervals.
 * - other piecewise-linear σ (docs/derivations.md §6): with r_W the chord-slope supremum from y0 over
 *   W and d the distance from y0 to the nearest kink, W free of kinks gives r_W (σ is affine there);
 *   d > 2 tau gives r_W (1 + 2 tau / (d − tau)); otherwise the largest |slope| of a piece meeting W
 *   (every chord slope is an average of piece slopes). The smaller of the last two is returned.
 * A coordinate that cannot move (reach 0) has r = 0 whatever y0* is.
 */
export function slopeBoundUncertain(activation: Activation, y0: number, tau: number, reach: number, inputRange: readonly [number, number] = WHOLE_LINE): number {
  if (reach === 0) return 0;
  if (isSmoothWithSingularity(activation)) {
    if (!Number.isFinite(reach) || !Number.isFinite(tau) || !Number.isFinite(y0)) return Infinity;
    const [lo, hi] = reachableWindow(y0, tau, reach, inputRange);
    return smoothSlopeBound(activation, lo, hi);
  }
  // An overflowed radius or error bound (deep layer products): no chord exceeds the global slope.
  if (!Number.isFinite(reach) || !Number.isFinite(tau) || !Number.isFinite(y0)) return globalSlope(activation);
  // W = [y0 − tau − reach, y0 + tau + reach], rounded outward: with a reach below half an ulp of y0,
  // y0 ± reach would round back to y0 and every chord would vanish.
  const width = tau + reach;
  const slack = (Math.abs(y0) + width) * OUTWARD_ROUNDING;
  const lo = y0 - width - slack;
  const hi = y0 + width + slack;
  switch (activation.kind) {
    case 'relu':
      return monotoneConvexSlope(0, y0, tau, reach);
    case 'leakyRelu':
      if (activation.alpha >= 0 && activation.alpha <= 1) return monotoneConvexSlope(activation.alpha, y0, tau, reach);
      break;
    case 'sigmoid':
    case 'tanh':
      return slopeBound(activation, lo, y0, hi);
    case 'hardSwish': {
      const h = hardSwishPieces(activation);
      return tau === 0 ? hardSwishSlope(h, lo, y0, hi) : hardSwishSlopeUncertain(h, y0, tau, reach, lo, hi);
    }
  }
  const chordFromY0 = slopeBound(activation, lo, y0, hi);
  if (tau === 0) return chordFromY0;
  const f = piecewise(activation) as PiecewiseLinear;
  let steepest = Math.max(Math.abs(f.slopeRight(lo)), Math.abs(f.slopeLeft(hi)));
  let kinkInside = false;
  let nearest = Infinity;
  for (const k of f.kinks) {
    nearest = Math.min(nearest, Math.abs(k - y0));
    if (k > lo && k < hi) {
      kinkInside = true;
      steepest = Math.max(steepest, Math.abs(f.slopeLeft(k)), Math.abs(f.slopeRight(k)));
    }
  }
  if (!kinkInside) return chordFromY0;
  if (nearest > 2 * tau) return Math.min(steepest, chordFromY0 * (1 + (2 * tau) / (nearest - tau)));
  return steepest;
}

/** Relative outward margin covering the rounding of y0 ± width (two roundings of half an ulp each). */
const OUTWARD_ROUNDING = 4.5e-16;

const WHOLE_LINE: readonly [number, number] = [-Infinity, Infinity];

/**
 * ReLU / LeakyReLU with 0 ≤ α ≤ 1 at the largest admissible nominal value t = y0 + tau (r is
 * non-decreasing in t), in closed form so that no t ± reach is rounded: 1 if t ≥ 0, α if t + reach ≤ 0,
 * else the chord to ybar = t + reach, (ybar − α t) / reach = 1 + (1 − α) t / reach (plus 4u for its
 * own rounding).
 */
function monotoneConvexSlope(alpha: number, y0: number, tau: number, reach: number): number {
  const top = tau === 0 ? y0 : y0 + tau + (Math.abs(y0) + tau) * OUTWARD_ROUNDING;
  if (top >= 0) return 1;
  if (top <= -reach) return alpha;
  return Math.min(1, 1 + (1 - alpha) * (top / reach) + 4 * Number.EPSILON);
}

export type NeuronState = 'on' | 'unstable' | 'off';

/**
 * Neuron state for the piecewise-linear activations. ReLU and LeakyReLU follow method.md §2 (only the
 * upper end ybar matters: off if ybar ≤ 0, on if y0 ≥ 0, else unstable); Clip and HardSigmoid use the
 * whole interval (off: inside one flat piece; on: inside the sloped piece; else unstable).
 * Sigmoid and tanh have no neuron states (null).
 */
export function neuronState(activation: Activation, lo: number, y0: number, hi: number): NeuronState | null {
  switch (activation.kind) {
    case 'relu':
    case 'leakyRelu':
      return hi <= 0 ? 'off' : y0 >= 0 ? 'on' : 'unstable';
    case 'clip':
    case 'hardSigmoid': {
      const f = piecewise(activation) as PiecewiseLinear;
      const [k0, k1] = f.kinks.length === 2 ? f.kinks : [-Infinity, Infinity];
      if (hi <= k0 || lo >= k1) return 'off';
      if (lo >= k0 && hi <= k1) return f.slopeRight(y0) === 0 && f.slopeLeft(y0) === 0 ? 'off' : 'on';
      return 'unstable';
    }
    default:
      return null;
  }
}

/**
 * An interval [lower, upper] holding every secant slope (σ(y) − σ(a)) / (y − a) of the unit, where a is
 * the exact nominal pre-activation (within tau of y0) and y any value it reaches (within reach of a):
 * docs/derivations.md §22. Both ends lie in W = [y0 − tau − reach, y0 + tau + reach], and the secant is
 * the average of σ' between them, so it lies between the smallest and largest σ' on W; its size is at
 * most slopeBoundUncertain's r, which narrows the interval where the chord is shorter than the steepest
 * piece (ReLU off at x0: [0, r] with r < 1). A unit on at x0 whatever the rounding has its secant
 * anchored on the sloped piece: at least anchoredSecantFloor (ReLU: [a/reach, 1] instead of [0, 1]).
 * A unit that cannot move (reach 0) has [0, 0]: Δσ = 0 = 0·Δy.
 */
export function secantSlopeRange(activation: Activation, y0: number, tau: number, reach: number, inputRange: readonly [number, number] = WHOLE_LINE): [number, number] {
  if (reach === 0) return [0, 0];
  if (isSmoothWithSingularity(activation)) {
    const [lo, hi] = reachableWindow(y0, tau, reach, inputRange);
    return smoothDerivativeRange(activation, lo, hi) ?? [-Infinity, Infinity];
  }
  const r = slopeBoundUncertain(activation, y0, tau, reach);
  const width = tau + reach;
  const slack = (Math.abs(y0) + width) * OUTWARD_ROUNDING;
  const [smallest, largest] = derivativeRange(activation, y0 - width - slack, y0 + width + slack);
  const upper = Math.min(largest, r);
  return [Math.min(Math.max(smallest, -r, anchoredSecantFloor(activation, y0, tau, reach)), upper), upper];
}

/**
 * ReLU and LeakyReLU (0 ≤ α ≤ 1) on at x0 whatever the rounding (a ≥ y0 − τ > 0): the secant from a to
 * any y with |y − a| ≤ reach is 1 for y ≥ 0, else α + (1 − α) a / (a − y) ≥ α + (1 − α) (y0 − τ) / reach
 * (docs/derivations.md §59.2), rounded down; −∞ (no floor) otherwise.
 */
function anchoredSecantFloor(activation: Activation, y0: number, tau: number, reach: number): number {
  const alpha = activation.kind === 'relu' ? 0 : activation.kind === 'leakyRelu' && activation.alpha >= 0 && activation.alpha <= 1 ? activation.alpha : null;
  if (alpha === null || !Number.isFinite(reach) || !Number.isFinite(tau)) return -Infinity;
  const low = y0 - tau - (Math.abs(y0) + tau) * OUTWARD_ROUNDING;
  if (!(low > 0)) return -Infinity;
  const fraction = Math.min(1, low / reach);
  return (alpha + (1 - alpha) * fraction) * (1 - 4 * Number.EPSILON);
}

/**
 * The largest |σ'| on [lo, hi] (its Lipschitz constant there), widened outward by the rounding of the
 * ends: bounds |σ(a) − σ(b)| / |a − b| for any two points of the interval. 0 when lo = hi.
 */
export function steepestSlope(activation: Activation, lo: number, hi: number): number {
  if (!(hi > lo)) return 0;
  const slack = (Math.abs(lo) + Math.abs(hi)) * OUTWARD_ROUNDING;
  const [smallest, largest] = derivativeRange(activation, lo - slack, hi + slack);
  return Math.max(Math.abs(smallest), Math.abs(largest));
}

/** The slopes σ' takes on the open interval (lo, hi), piece by piece ([a, b, slope] triples). */
function slopesMet(pieces: number[], lo: number, hi: number): [number, number] {
  let smallest = Infinity;
  let largest = -Infinity;
  for (let k = 0; k < pieces.length; k += 3) {
    if (lo < pieces[k + 1] && hi > pieces[k]) {
      smallest = Math.min(smallest, pieces[k + 2]);
      largest = Math.max(largest, pieces[k + 2]);
    }
  }
  return [smallest, largest];
}

/** σ' of sigmoid or tanh (both even, positive, decreasing in |y|). */
function smoothDerivative(kind: 'sigmoid' | 'tanh', y: number): number {
  if (kind === 'tanh') {
    const t = Math.tanh(y);
    return 1 - t * t;
  }
  const e = 1 / (1 + Math.exp(-y));
  return e * (1 - e);
}

/**
 * Smallest and largest σ' (signed) on the open interval (lo, hi), rounded outward where computed.
 * Runs for every unit of every ε, so it allocates no closures.
 */
export function derivativeRange(activation: Activation, lo: number, hi: number): [number, number] {
  switch (activation.kind) {
    case 'relu':
      return [lo < 0 ? 0 : 1, hi > 0 ? 1 : 0];
    case 'leakyRelu':
      return slopesMet([-Infinity, 0, activation.alpha, 0, Infinity, 1], lo, hi);
    case 'clip': {
      const { min, max } = activation;
      return slopesMet(max > min ? [-Infinity, min, 0, min, max, 1, max, Infinity, 0] : [-Infinity, Infinity, 0], lo, hi);
    }
    case 'hardSigmoid': {
      const { alpha, beta } = activation;
      if (alpha === 0) return [0, 0];
      const k0 = Math.min(-beta / alpha, (1 - beta) / alpha);
      const k1 = Math.max(-beta / alpha, (1 - beta) / alpha);
      return slopesMet([-Infinity, k0, 0, k0, k1, alpha, k1, Infinity, 0], lo, hi);
    }
    case 'hardSwish': {
      const h = hardSwishPieces(activation);
      let [smallest, largest] = slopesMet([-Infinity, h.k0, 0, h.k1, Infinity, 1], lo, hi);
      const a = Math.max(lo, h.k0);
      const b = Math.min(hi, h.k1);
      if (b > a) {
        // g' = 2αy + β rises across the quadratic piece: its ends bound it.
        const margin = 8 * Number.EPSILON * (Math.abs(h.beta) + h.alpha * (Math.abs(a) + Math.abs(b)) + 1);
        smallest = Math.min(smallest, 2 * h.alpha * a + h.beta - margin);
        largest = Math.max(largest, 2 * h.alpha * b + h.beta + margin);
      }
      return [smallest, largest];
    }
    case 'log':
    case 'sqrt':
    case 'reciprocal':
    case 'power':
      return smoothDerivativeRange(activation, lo, hi) ?? [-Infinity, Infinity];
    case 'sigmoid':
    case 'tanh': {
      // Largest nearest 0, smallest at the end farthest from 0.
      const far = Math.max(Math.abs(lo), Math.abs(hi));
      const near = lo > 0 ? lo : hi < 0 ? -hi : 0;
      return [smoothDerivative(activation.kind, far) * (1 - 1e-12), smoothDerivative(activation.kind, near) * (1 + 1e-12)];
    }
  }
}
