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

function piecewise(activation: Activation): PiecewiseLinear | null {
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
    case 'sigmoid':
      return 1 / (1 + Math.exp(-y));
    case 'tanh':
      return Math.tanh(y);
    default:
      return (piecewise(activation) as PiecewiseLinear).value(y);
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
  }
}

/** Slope bound r over [lo, hi] around y0 (see the file comment). r = 0 when lo = hi = y0. */
export function slopeBound(activation: Activation, lo: number, y0: number, hi: number): number {
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
 * pass): the true y0* lies in [y0 − tau, y0 + tau] and can move by ±reach around itself.
 * - ReLU, LeakyReLU with 0 ≤ α ≤ 1: r(y0*) is non-decreasing in y0* for a fixed reach (0, then
 *   (y0* + reach(1−α))/reach…, then 1), so r at y0 + tau bounds it.
 * - sigmoid, tanh: the largest derivative over the union of all reachable intervals.
 * - other piecewise-linear σ: every chord slope is an average of piece slopes, so the largest |slope|
 *   of a piece meeting [y0 − tau − reach, y0 + tau + reach] bounds it.
 * A coordinate that cannot move (reach 0) has r = 0 whatever y0* is.
 */
export function slopeBoundUncertain(activation: Activation, y0: number, tau: number, reach: number): number {
  if (tau === 0) return slopeBound(activation, y0 - reach, y0, y0 + reach);
  if (reach === 0) return 0;
  const lo = y0 - tau - reach;
  const hi = y0 + tau + reach;
  switch (activation.kind) {
    case 'relu':
      return slopeBound(activation, y0 + tau - reach, y0 + tau, hi);
    case 'leakyRelu':
      if (activation.alpha >= 0 && activation.alpha <= 1) return slopeBound(activation, y0 + tau - reach, y0 + tau, hi);
      break;
    case 'sigmoid':
    case 'tanh':
      return slopeBound(activation, lo, y0, hi);
  }
  const f = piecewise(activation) as PiecewiseLinear;
  let best = Math.max(Math.abs(f.slopeRight(lo)), Math.abs(f.slopeLeft(hi)));
  for (const k of f.kinks) {
    if (k > lo && k < hi) best = Math.max(best, Math.abs(f.slopeLeft(k)), Math.abs(f.slopeRight(k)));
  }
  return best;
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
