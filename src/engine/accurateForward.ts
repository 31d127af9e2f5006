// The engine's nominal pass: every value at x0 as a double-double pair (hi, lo) with a rigorous bound e on
// |hi + lo − exact| (docs/derivations.md §50, §52). Affine layers are evaluated to ~2^−100 relative by
// error-free splitting on the layer's own operators (accurateAffine.ts); max, min, ReLU, Clip, max
// pooling, Concat, Reshape and Transpose are exact on pairs; LeakyReLU, HardSigmoid, HardSwish, Add and
// Sub, products and average pooling use TwoSum and TwoProduct. The fresh rounding per layer is then
// ~2^−100 of the values instead of m·2^−53, so e still grows through |A| layer after layer (§14) but from
// a level 2^47 lower. The values handed to the bound engine are the hi parts, known to |lo| + e.
// Layers without a pair rule (sigmoid, tanh, the smooth maps, Div, Softmax, LayerNorm, the two-factor
// MatMul, maxima of computed tensors, the per-axis maps, affine layers whose weight slices would
// underflow) take §14's float64 rule on hi with |lo| counted as error: their u-level rounding enters
// there once and compounds from there on (§52c).
import { compareTo, normalise, twoProductError, twoSumError } from './doubleDouble';
import { accurateAffine } from './accurateAffine';
import { activate, globalSlope, slopeBoundUncertain, steepestSlope } from './activations';
import { throwIfCancelled } from './errors';
import {
  absoluteOperator, activationOf, averagingRoundingTerms, BOUND_ROUNDING_ALLOWANCE, evaluationError, floatLayer, gamma, innerLength,
  type ForwardProvider, type NominalValues,
} from './forward';
import { NETWORK_INPUT, type Activation, type TensorRef } from './network';
import { AvgPoolOperator, GlobalAvgPoolOperator } from './operators/avgPool';
import { applyAffine } from './operators/linearOperator';
import { forEachPoolTap } from './operators/pooling';
import { gatherPermuted } from './operators/transpose';
import { concatenate, inputRange, type PreparedLayer } from './prepared';

const WHOLE_LINE: readonly [number, number] = [-Infinity, Infinity];

/** Dekker's TwoProduct is exact unless the product's error underflows: at most a few units of 2^−1074 then. */
const UNDERFLOW_ALLOWANCE = 2 ** -1020;

/** A tensor at x0: hi + lo within error of the exact value, coordinatewise. */
interface PairValue {
  hi: Float64Array;
  lo: Float64Array;
  error: Float64Array;
}

function largest(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
  return m * (1 + BOUND_ROUNDING_ALLOWANCE);
}

/** |hi − exact| ≤ |lo| + e: the bound on the float64 value handed to the bound engine. */
function reportedError(v: PairValue): Float64Array {
  return v.error.map((e, i) => e + Math.abs(v.lo[i]));
}

/**
 * α (h + l) + β as a normalised pair T and a bound on |T − (α (h + l) + β)|: α h and its rounding
 * error (TwoProduct), + β and its error (TwoSum) exact; α l and two additions round (§52b).
 */
function affineScalarPair(alpha: number, beta: number, h: number, l: number): { hi: number; lo: number; fresh: number } {
  const p = alpha * h;
  const pe = twoProductError(alpha, h, p);
  const s = p + beta;
  const se = twoSumError(p, beta, s);
  const al = alpha * l;
  const low = pe + se + al;
  const hi = s + low;
  return { hi, lo: twoSumError(s, low, hi), fresh: gamma(3) * (Math.abs(pe) + Math.abs(se) + Math.abs(al)) + UNDERFLOW_ALLOWANCE };
}

/** clamp(T, 0, 1) of a normalised pair, exact (comparisons of pairs with doubles are exact). */
function unitClamp(t: { hi: number; lo: number }): [number, number] {
  if (compareTo(t.hi, t.lo, 0) <= 0) return [0, 0];
  if (compareTo(t.hi, t.lo, 1) >= 0) return [1, 0];
  return [t.hi, t.lo];
}

/**
 * σ on a pair x = h + l known to e of the exact x*. The inherited part is L_W e, L_W the largest |σ'| on
 * W = [h − e − |l|, h + e + |l|], which holds both h + l and x* (§52a): 0 for units off across W.
 * ReLU, Clip, LeakyReLU, HardSigmoid and HardSwish are evaluated on the pair (§50, §52b); the others in
 * float64 at h, as §14's rule on h known to e + |l| (chord slopes from h, the producer's range honoured).
 */
function activatePair(activation: Activation, x: PairValue, inputRange: readonly [number, number]): PairValue {
  const n = x.hi.length;
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  const error = new Float64Array(n);
  const slope = globalSlope(activation);
  for (let i = 0; i < n; i++) {
    const h = x.hi[i];
    const l = x.lo[i];
    const r = x.error[i] + Math.abs(l);
    const inherited = () => (x.error[i] === 0 ? 0 : Math.min(slope, steepestSlope(activation, h - r, h + r)) * x.error[i]);
    switch (activation.kind) {
      case 'relu':
        // A normalised pair has the sign of hi; max(0, ·) is then exact.
        if (h > 0) [hi[i], lo[i]] = [h, l];
        error[i] = inherited();
        break;
      case 'clip':
        if (compareTo(h, l, activation.min) < 0) hi[i] = activation.min;
        else if (compareTo(h, l, activation.max) > 0) hi[i] = activation.max;
        else [hi[i], lo[i]] = [h, l];
        error[i] = inherited();
        break;
      case 'leakyRelu': {
        error[i] = inherited();
        if (compareTo(h, l, 0) >= 0) {
          [hi[i], lo[i]] = [h, l];
          break;
        }
        // α (h + l) = p + pe + α l: p and pe exact, then two roundings (α l and the sum), γ_3 of their size.
        const p = activation.alpha * h;
        const pe = twoProductError(activation.alpha, h, p);
        const al = activation.alpha * l;
        const low = pe + al;
        const s = p + low;
        hi[i] = s;
        lo[i] = twoSumError(p, low, s);
        error[i] += gamma(3) * (Math.abs(pe) + Math.abs(al)) + UNDERFLOW_ALLOWANCE;
        break;
      }
      case 'hardSigmoid': {
        // clamp is 1-Lipschitz: the pair T's own error passes through unchanged.
        const t = affineScalarPair(activation.alpha, activation.beta, h, l);
        [hi[i], lo[i]] = unitClamp(t);
        error[i] = inherited() + t.fresh;
        break;
      }
      case 'hardSwish': {
        // (h + l) · C with C = clamp(T) exact and |C − clamp(α(h + l) + β)| ≤ T's error; the product as in multiplyPairs.
        const t = affineScalarPair(activation.alpha, activation.beta, h, l);
        const [ch, cl] = unitClamp(t);
        let fresh = (Math.abs(h) + Math.abs(l)) * t.fresh;
        if (ch === 1 && cl === 0) [hi[i], lo[i]] = [h, l];
        else if (ch !== 0 || cl !== 0) {
          const p = h * ch;
          const pe = twoProductError(h, ch, p);
          const t1 = h * cl;
          const t2 = l * ch;
          const t3 = l * cl;
          const low = pe + t1 + t2 + t3;
          const s = p + low;
          hi[i] = s;
          lo[i] = twoSumError(p, low, s);
          fresh += gamma(6) * (Math.abs(pe) + Math.abs(t1) + Math.abs(t2) + Math.abs(t3)) + UNDERFLOW_ALLOWANCE;
        }
        error[i] = inherited() + fresh;
        break;
      }
      default: {
        hi[i] = activate(activation, h);
        const local = r === 0 ? 0 : Math.min(slope, slopeBoundUncertain(activation, h, 0, r, inputRange));
        error[i] = local * r + evaluationError(activation, h, hi[i]);
      }
    }
  }
  return { hi, lo, error };
}

function maxPoolPair(forEachTap: (visit: (o: number, i: number) => void) => void, size: number, x: PairValue): PairValue {
  const hi = new Float64Array(size).fill(-Infinity);
  const lo = new Float64Array(size);
  const error = new Float64Array(size);
  // Normalised pairs order like (hi, lo) lexicographically, so the winner is the exact maximum of the pairs;
  // |max pair − max exact| ≤ the largest error in the window.
  forEachTap((o, i) => {
    if (x.hi[i] > hi[o] || (x.hi[i] === hi[o] && x.lo[i] > lo[o])) {
      hi[o] = x.hi[i];
      lo[o] = x.lo[i];
    }
    if (x.error[i] > error[o]) error[o] = x.error[i];
  });
  return { hi, lo, error };
}

function addPairs(inputs: PairValue[], signs: readonly number[], size: number): PairValue {
  // A sign −1 negates hi and lo, exactly.
  const term = (k: number, part: 'hi' | 'lo', i: number) => signs[k] * inputs[k][part][i];
  const hi = new Float64Array(size);
  const lo = new Float64Array(size);
  const error = new Float64Array(size);
  // 2(K − 1) float additions into lo (each hi's TwoSum error and each lo): γ_{2K} of their sizes.
  const g = gamma(2 * inputs.length);
  for (let i = 0; i < size; i++) {
    let s = term(0, 'hi', i);
    let low = term(0, 'lo', i);
    let magnitude = Math.abs(low);
    let inherited = inputs[0].error[i];
    for (let k = 1; k < inputs.length; k++) {
      const b = term(k, 'hi', i);
      const t = s + b;
      const e = twoSumError(s, b, t);
      s = t;
      low += e + term(k, 'lo', i);
      magnitude += Math.abs(e) + Math.abs(inputs[k].lo[i]);
      inherited += inputs[k].error[i];
    }
    hi[i] = s;
    lo[i] = low;
    error[i] = inherited + g * magnitude;
  }
  normalise(hi, lo);
  return { hi, lo, error };
}

/**
 * Averages of windows of a pair tensor (§52d): each window summed with TwoSum (the hi parts exactly,
 * the TwoSum errors and the lo parts in float64: 2t additions per window of t taps, γ_2t of their
 * sizes), then the pair divided by the window's count n: q1 = fl(S_h / n), the remainder
 * S − q1 n = (S_h − p) − pe + S_l with p + pe = q1 n (TwoProduct) and S_h − p by TwoSum, q2 = its
 * float64 quotient. Inherited: Σ e / n.
 */
function averagePairs(forEachTap: (visit: (o: number, i: number) => void) => void, counts: ArrayLike<number>, x: PairValue): PairValue {
  const size = counts.length;
  const sumHi = new Float64Array(size);
  const sumLo = new Float64Array(size);
  const magnitude = new Float64Array(size);
  const inherited = new Float64Array(size);
  const taps = new Float64Array(size);
  forEachTap((o, i) => {
    const t = sumHi[o] + x.hi[i];
    const e = twoSumError(sumHi[o], x.hi[i], t);
    sumHi[o] = t;
    sumLo[o] += e + x.lo[i];
    magnitude[o] += Math.abs(e) + Math.abs(x.lo[i]);
    inherited[o] += x.error[i];
    taps[o]++;
  });
  const hi = new Float64Array(size);
  const lo = new Float64Array(size);
  const error = new Float64Array(size);
  for (let o = 0; o < size; o++) {
    const n = counts[o];
    // The sum S = sh + sl exactly up to γ_2t of the float additions into lo.
    const sh = sumHi[o] + sumLo[o];
    const sl = twoSumError(sumHi[o], sumLo[o], sh);
    const sumError = inherited[o] + gamma(2 * taps[o]) * magnitude[o];
    const q1 = sh / n;
    const p = q1 * n;
    const pe = twoProductError(q1, n, p);
    const d = sh - p;
    const de = twoSumError(sh, -p, d);
    // S − q1 n = d + de − pe + sl: three float additions (γ_3 of the terms), then one division.
    const remainder = d + de - pe + sl;
    const q2 = remainder / n;
    const s = q1 + q2;
    hi[o] = s;
    lo[o] = twoSumError(q1, q2, s);
    const fresh = (gamma(3) * (Math.abs(d) + Math.abs(de) + Math.abs(pe) + Math.abs(sl))) / n + gamma(1) * Math.abs(q2) + UNDERFLOW_ALLOWANCE;
    error[o] = sumError / n + fresh;
  }
  return { hi, lo, error };
}

/** out[i] = a[i] · b[source[i]]: (a_h + a_l)(b_h + b_l) = p + pe + a_h b_l + a_l b_h + a_l b_l. */
function multiplyPairs(a: PairValue, b: PairValue, source: Int32Array): PairValue {
  const n = source.length;
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  const error = new Float64Array(n);
  const g = gamma(6);
  for (let i = 0; i < n; i++) {
    const j = source[i];
    const [ah, al, ea] = [a.hi[i], a.lo[i], a.error[i]];
    const [bh, bl, eb] = [b.hi[j], b.lo[j], b.error[j]];
    const p = ah * bh;
    const pe = twoProductError(ah, bh, p);
    const t1 = ah * bl;
    const t2 = al * bh;
    const t3 = al * bl;
    hi[i] = p;
    lo[i] = pe + t1 + t2 + t3;
    // Three rounded products and three additions; then the factors' errors (§20).
    const fresh = g * (Math.abs(pe) + Math.abs(t1) + Math.abs(t2) + Math.abs(t3)) + UNDERFLOW_ALLOWANCE;
    error[i] = (Math.abs(ah) + Math.abs(al)) * eb + (Math.abs(bh) + Math.abs(bl)) * ea + ea * eb + fresh;
  }
  normalise(hi, lo);
  return { hi, lo, error };
}

/**
 * The engine's nominal pass: every layer on pairs where a pair rule exists, else in float64 (§14's rule
 * on hi, |lo| counted as error; §52c), so no layer kind sends the whole network to the float64 pass.
 */
export const accurateForward: ForwardProvider = (prepared, x0, signal) => pairForward(prepared, x0, signal);

const pairForward: ForwardProvider = (prepared, x0, signal) => {
  const values: NominalValues = { outputs: [], preActivations: [] };
  const pairs: PairValue[] = [];
  const input: PairValue = { hi: x0, lo: new Float64Array(x0.length), error: new Float64Array(x0.length) };
  const pairOf = (ref: TensorRef) => (ref === NETWORK_INPUT ? input : pairs[ref]);
  let tau = 0;
  const record = (v: PairValue) => {
    tau = Math.max(tau, largest(reportedError(v)));
  };
  // A layer without a pair rule: §14's float64 rule on the hi parts, each known to e + |lo| (§52c).
  const floatFallback = (p: PreparedLayer, inputs: PairValue[]): PairValue => {
    const step = floatLayer(prepared, p, inputs.map((v) => v.hi), inputs.map(reportedError));
    for (const e of step.slopeReads) tau = Math.max(tau, largest(e));
    return { hi: step.out, lo: new Float64Array(step.out.length), error: step.error };
  };
  const preActivationErrors: number[] = [];
  const outputErrors: number[] = [];
  for (const p of prepared.layers) {
    throwIfCancelled(signal);
    const inputs = p.layer.inputs.map(pairOf);
    let out: PairValue;
    let pre: PairValue | null = null;
    const op = p.op;
    switch (op.kind) {
      case 'affine': {
        const lop = p.layer.op;
        if (lop.kind !== 'affine') throw new Error('prepared affine without an affine op');
        const [x] = inputs;
        const abs = absoluteOperator(p, prepared.backend);
        const accurate = accurateAffine(lop.linear, p.layer.inputShapes[0], p.layer.label, prepared.backend, op.affine, x.hi, x.lo);
        if (accurate) {
          // Inherited |A| e plus this layer's own rounding.
          const error = abs.apply(x.error);
          for (let i = 0; i < error.length; i++) error[i] += accurate.fresh[i];
          pre = { hi: accurate.hi, lo: accurate.lo, error };
        } else {
          // Float64 as in §14, the input's lo counted as error: |A| (e + |lo| + γ_m |hi|) + γ_m |b|.
          const g = gamma(innerLength(lop.linear));
          const error = abs.apply(x.hi.map((v, i) => x.error[i] + Math.abs(x.lo[i]) + g * Math.abs(v)));
          if (abs.bias) for (let i = 0; i < error.length; i++) error[i] += g * abs.bias[i];
          pre = { hi: applyAffine(op.affine, x.hi), lo: new Float64Array(error.length), error };
        }
        if (lop.activation) {
          record(pre);
          out = activatePair(lop.activation, pre, WHOLE_LINE);
        } else out = pre;
        break;
      }
      case 'activation': {
        const activation = activationOf(p);
        if (!activation) throw new Error('prepared activation without an activation op');
        if (p.layer.inputs[0] !== NETWORK_INPUT) record(inputs[0]);
        out = activatePair(activation, inputs[0], inputRange(prepared, p.layer.inputs[0]));
        break;
      }
      case 'maxPool':
        out = maxPoolPair((visit) => forEachPoolTap(op.pool.geometry, visit), p.outSize, inputs[0]);
        break;
      case 'linearPool': {
        if (op.linear instanceof AvgPoolOperator) {
          const geometry = op.linear.geometry;
          out = averagePairs((visit) => forEachPoolTap(geometry, visit), op.linear.counts, inputs[0]);
          break;
        }
        if (op.linear instanceof GlobalAvgPoolOperator) {
          const plane = op.linear.planeSize;
          const forEachTap = (visit: (o: number, i: number) => void) => {
            for (let i = 0; i < p.inSizes[0]; i++) visit((i / plane) | 0, i);
          };
          out = averagePairs(forEachTap, new Float64Array(p.outSize).fill(plane), inputs[0]);
          break;
        }
        // Non-negative weights: fl(A hi) and fl(A lo) round by γ_t A|·| each; their pair is then normalised exactly.
        const [x] = inputs;
        const g = gamma(averagingRoundingTerms(op.linear, p));
        const hi = op.linear.apply(x.hi);
        const lo = op.linear.apply(x.lo);
        normalise(hi, lo);
        out = { hi, lo, error: op.linear.apply(x.error.map((e, i) => e + g * (Math.abs(x.hi[i]) + Math.abs(x.lo[i])))) };
        break;
      }
      case 'reshape':
        out = inputs[0];
        break;
      case 'add':
        out = addPairs(inputs, op.signs, p.outSize);
        break;
      case 'mul':
        if (op.divide) {
          out = floatFallback(p, inputs);
          break;
        }
        p.layer.inputs.forEach((ref, k) => {
          if (ref !== NETWORK_INPUT) record(inputs[k]);
        });
        out = multiplyPairs(inputs[0], inputs[1], op.source);
        break;
      case 'concat': {
        const join = (part: (v: PairValue) => Float64Array) => concatenate(inputs.map(part), op.outer, op.blocks, new Float64Array(p.outSize));
        out = { hi: join((v) => v.hi), lo: join((v) => v.lo), error: join((v) => v.error) };
        break;
      }
      case 'transpose': {
        const permute = (v: Float64Array) => gatherPermuted(v, op.source, new Float64Array(p.outSize));
        out = { hi: permute(inputs[0].hi), lo: permute(inputs[0].lo), error: permute(inputs[0].error) };
        break;
      }
      default:
        out = floatFallback(p, inputs);
    }
    pairs.push(out);
    values.outputs.push(out.hi);
    values.preActivations.push(pre ? pre.hi : null);
    preActivationErrors.push(pre ? largest(reportedError(pre)) : 0);
    outputErrors.push(largest(reportedError(out)));
  }
  values.absoluteError = tau;
  values.preActivationErrors = preActivationErrors;
  values.outputErrors = outputErrors;
  return values;
};
