// Two-sided per-coordinate reach (docs/derivations.md §69): for every x in the ball, each exact value
// t*_j(x) of a tensor lies in [low_j, high_j]. §67's box is symmetric about the nominal value, which
// loses where a layer moves its input much further one way than the other (Log near its floor, a
// square near 0); an interval keeps each end, and the rules that decide on an interval (which entry of
// a max can win, whether a unit can reach a kink) read the end that matters.
//
// Each layer's interval comes from its inputs' intervals: the §14/§52 error rules applied at their
// midpoints with their half-widths as errors (sound for any perturbation, §67), or where an exact image
// is cheaper and tighter, that image: maxima of the ends for max pooling, ReduceMax and Maximum,
// interval multiplication for products, and the ends' images for nondecreasing activations. Every end is
// rounded outward.
import { activate, activationRange } from './activations';
import { windowMaxima, evaluationError, floatLayer, BOUND_ROUNDING_ALLOWANCE } from './forward';
import type { Activation } from './network';
import { inputRange, type PreparedLayer, type PreparedNetwork } from './prepared';

export interface Interval {
  low: Float64Array;
  high: Float64Array;
}

/** Outward rounding of an end computed with one rounding (or a few): 4 ulps relative, plus the smallest subnormal. */
const OUTWARD = 2 ** -50;

export function roundedDown(v: number): number {
  return Number.isFinite(v) ? v - Math.abs(v) * OUTWARD - Number.MIN_VALUE : Number.isNaN(v) ? -Infinity : v;
}

export function roundedUp(v: number): number {
  return Number.isFinite(v) ? v + Math.abs(v) * OUTWARD + Number.MIN_VALUE : Number.isNaN(v) ? Infinity : v;
}

/** [centre − width, centre + width] rounded outward, one pair per coordinate; the whole line where either is not finite. */
export function aroundCentre(centre: Float64Array, width: (j: number) => number): Interval {
  const low = new Float64Array(centre.length);
  const high = new Float64Array(centre.length);
  for (let j = 0; j < centre.length; j++) {
    const w = width(j);
    const known = Number.isFinite(centre[j]) && Number.isFinite(w);
    low[j] = known ? roundedDown(centre[j] - w) : -Infinity;
    high[j] = known ? roundedUp(centre[j] + w) : Infinity;
  }
  return { low, high };
}

/** Both intervals hold: their intersection, in place on `into`. */
export function intersectInto(into: Interval, other: Interval): Interval {
  for (let j = 0; j < into.low.length; j++) {
    if (other.low[j] > into.low[j]) into.low[j] = other.low[j];
    if (other.high[j] < into.high[j]) into.high[j] = other.high[j];
  }
  return into;
}

/**
 * Midpoints c and half-widths r with [low, high] ⊆ [c − r, c + r] (r rounded up; ∞ where an end is).
 * An unbounded coordinate is centred at its finite end, or 0.
 */
function centred(interval: Interval): { centre: Float64Array; radius: Float64Array } {
  const { low, high } = interval;
  const centre = new Float64Array(low.length);
  const radius = new Float64Array(low.length);
  for (let j = 0; j < low.length; j++) {
    if (Number.isFinite(low[j]) && Number.isFinite(high[j])) {
      centre[j] = low[j] / 2 + high[j] / 2;
      radius[j] = roundedUp(Math.max(high[j] - centre[j], centre[j] - low[j]));
    } else {
      centre[j] = Number.isFinite(low[j]) ? low[j] : Number.isFinite(high[j]) ? high[j] : 0;
      radius[j] = Infinity;
    }
  }
  return { centre, radius };
}

/** The interval of every value within `error` of `value` (the float pass's bound, with its own allowance; NaN: ∞). */
function withinError(value: Float64Array, error: Float64Array): Interval {
  return aroundCentre(value, (j) => (Number.isNaN(error[j]) ? Infinity : error[j] * (1 + BOUND_ROUNDING_ALLOWANCE)));
}

/** σ nondecreasing on the whole line, so [σ(low), σ(high)] holds every σ(y) with y in [low, high]. */
function nondecreasing(activation: Activation): boolean {
  switch (activation.kind) {
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'log':
    case 'sqrt':
      return true;
    case 'clip':
      return activation.max >= activation.min;
    case 'leakyRelu':
    case 'hardSigmoid':
      return activation.alpha >= 0;
    default:
      return false;
  }
}

/**
 * The image of [low, high] (cut to `inputRange`, where the exact inputs lie) under a nondecreasing σ:
 * its ends' values widened by σ's evaluation rounding and rounded outward, cut to σ's range; null for
 * an activation not known to be nondecreasing. Log and sqrt below 0 give −∞ or NaN: the range's end.
 */
export function activationImage(activation: Activation, interval: Interval, inputRange: readonly [number, number]): Interval | null {
  if (!nondecreasing(activation)) return null;
  const [rangeLow, rangeHigh] = activationRange(activation);
  const n = interval.low.length;
  const low = new Float64Array(n);
  const high = new Float64Array(n);
  const at = (y: number, side: -1 | 1): number => {
    if (!Number.isFinite(y)) return side < 0 ? rangeLow : rangeHigh;
    const v = activate(activation, y);
    if (!Number.isFinite(v)) return side < 0 ? rangeLow : rangeHigh;
    const e = evaluationError(activation, y, v);
    return side < 0 ? Math.max(rangeLow, roundedDown(v - e)) : Math.min(rangeHigh, roundedUp(v + e));
  };
  for (let j = 0; j < n; j++) {
    low[j] = at(Math.max(interval.low[j], inputRange[0]), -1);
    high[j] = at(Math.min(interval.high[j], inputRange[1]), 1);
  }
  return { low, high };
}

/** [a]·[b] for each pair: the smallest and largest of the four end products (∞ · 0 counts as unbounded). */
function product(aLow: number, aHigh: number, bLow: number, bHigh: number): [number, number] {
  const ends = [aLow * bLow, aLow * bHigh, aHigh * bLow, aHigh * bHigh];
  if (ends.some(Number.isNaN)) return [-Infinity, Infinity];
  return [roundedDown(Math.min(...ends)), roundedUp(Math.max(...ends))];
}

/** [a]²: [0, max end²] when it holds 0, else the ends' squares in order. */
function square(low: number, high: number): [number, number] {
  if (low >= 0) return [roundedDown(low * low), roundedUp(high * high)];
  if (high <= 0) return [roundedDown(high * high), roundedUp(low * low)];
  return [0, roundedUp(Math.max(low * low, high * high))];
}

/**
 * The interval of layer p's output (and of an affine layer's pre-activation) from its inputs'
 * intervals. An affine layer's activation is left to the caller, which first cuts the pre-activation
 * to the ball's reach per unit; `out` is then the float rule's interval around σ.
 */
export function layerInterval(prepared: PreparedNetwork, p: PreparedLayer, inputs: Interval[]): { pre: Interval | null; out: Interval } {
  const op = p.op;
  switch (op.kind) {
    case 'maxPool':
      // max is monotone in every entry: the window's maxima of the lower and of the upper ends.
      return { pre: null, out: { low: op.pool.forward(inputs[0].low), high: op.pool.forward(inputs[0].high) } };
    case 'reduceMax':
      return { pre: null, out: { low: windowMaxima(inputs[0].low, op.window, op.width), high: windowMaxima(inputs[0].high, op.window, op.width) } };
    case 'maximum': {
      const [a, b] = inputs;
      const low = new Float64Array(p.outSize);
      const high = new Float64Array(p.outSize);
      for (let i = 0; i < low.length; i++) {
        low[i] = Math.max(a.low[i], b.low[op.source[i]]);
        high[i] = Math.max(a.high[i], b.high[op.source[i]]);
      }
      return { pre: null, out: { low, high } };
    }
    case 'mul':
      if (!op.divide) {
        const [a, b] = inputs;
        // x · x of one tensor entry by entry: a square, never below 0.
        const squares = p.layer.inputs[0] === p.layer.inputs[1] && op.source.every((j, i) => j === i);
        const low = new Float64Array(p.outSize);
        const high = new Float64Array(p.outSize);
        for (let i = 0; i < low.length; i++) {
          const j = op.source[i];
          [low[i], high[i]] = squares ? square(a.low[i], a.high[i]) : product(a.low[i], a.high[i], b.low[j], b.high[j]);
        }
        return { pre: null, out: { low, high } };
      }
      break;
    case 'activation': {
      const lop = p.layer.op;
      const image = lop.kind === 'activation' ? activationImage(lop.activation, inputs[0], inputRange(prepared, p.layer.inputs[0])) : null;
      if (image) return { pre: null, out: image };
      break;
    }
    default:
      break;
  }
  const mids = inputs.map(centred);
  const step = floatLayer(prepared, p, mids.map((m) => m.centre), mids.map((m) => m.radius));
  const out = withinError(step.out, step.error);
  const bounded = rangeForAnyInput(p);
  return { pre: step.pre && step.preError ? withinError(step.pre, step.preError) : null, out: bounded ? intersectInto(out, bounded) : out };
}

/**
 * Where a layer's exact output lies whatever its input (docs/derivations.md §70): Softmax's in [0, 1];
 * layer normalisation's q_i within ±√(n − 1), so y_i within β_i ± |γ_i| √(n − 1). Null for other layers.
 */
function rangeForAnyInput(p: PreparedLayer): Interval | null {
  const op = p.op;
  if (op.kind === 'softmax') return { low: new Float64Array(p.outSize), high: new Float64Array(p.outSize).fill(1) };
  if (op.kind !== 'layerNorm') return null;
  const { groupSize: n, scale, bias } = op.spec;
  const root = roundedUp(Math.sqrt(n - 1));
  const low = new Float64Array(p.outSize);
  const high = new Float64Array(p.outSize);
  for (let k = 0; k < low.length; k++) {
    const i = k % n;
    const width = roundedUp(root * (scale ? Math.abs(scale[i]) : 1));
    const centre = bias ? bias[i] : 0;
    low[k] = roundedDown(centre - width);
    high[k] = roundedUp(centre + width);
  }
  return { low, high };
}
