// The engine's nominal pass: every value at x0 as a double-double pair (hi, lo) with a rigorous bound e on
// |hi + lo − exact| (docs/derivations.md §50). Affine layers are evaluated to ~2^−100 relative by
// error-free splitting on the layer's own operators (accurateAffine.ts); max, min, ReLU, Clip, max
// pooling, Concat, Reshape and Transpose are exact on pairs; LeakyReLU, Add and products use TwoSum and
// TwoProduct. The fresh rounding per layer is then ~2^−100 of the values instead of m·2^−53, so e still
// grows through |A| layer after layer (§14) but from a level 2^47 lower. The values handed to the bound
// engine are the hi parts, known to |lo| + e (about half an ulp at any depth).
// Where no error-free form is used — sigmoid, tanh, HardSigmoid and HardSwish evaluated in float64,
// average pooling and the per-axis maps (weights such as 1/count are not float32 grids), and affine
// layers whose weight slices would underflow — the step rounds as in §14 and that rounding compounds.
import { compareTo, normalise, twoProductError, twoSumError } from './doubleDouble';
import { accurateAffine } from './accurateAffine';
import { activate, globalSlope } from './activations';
import { throwIfCancelled } from './errors';
import {
  absoluteOperator, activationOf, BOUND_ROUNDING_ALLOWANCE, evaluationError, gamma, innerLength,
  pureForward, type ForwardProvider, type NominalValues,
} from './forward';
import { NETWORK_INPUT, type Activation, type TensorRef } from './network';
import { AvgPoolOperator } from './operators/avgPool';
import { AxisMapOperator } from './operators/axisMap';
import { applyAffine } from './operators/linearOperator';
import { forEachPoolTap } from './operators/pooling';
import { gatherPermuted } from './operators/transpose';
import { concatenate, type PreparedNetwork } from './prepared';

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

function activatePair(activation: Activation, x: PairValue): PairValue {
  const n = x.hi.length;
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  const error = new Float64Array(n);
  const slope = globalSlope(activation);
  for (let i = 0; i < n; i++) {
    const h = x.hi[i];
    const l = x.lo[i];
    switch (activation.kind) {
      case 'relu':
        // A normalised pair has the sign of hi; max(0, ·) is then exact.
        if (h > 0) [hi[i], lo[i]] = [h, l];
        error[i] = x.error[i];
        break;
      case 'clip':
        if (compareTo(h, l, activation.min) < 0) hi[i] = activation.min;
        else if (compareTo(h, l, activation.max) > 0) hi[i] = activation.max;
        else [hi[i], lo[i]] = [h, l];
        error[i] = x.error[i];
        break;
      case 'leakyRelu': {
        error[i] = slope * x.error[i];
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
      default: {
        // Evaluated in float64 at hi: σ is Lipschitz, so |σ(hi) − σ(exact)| ≤ slope (|lo| + e), plus σ's own rounding.
        hi[i] = activate(activation, h);
        error[i] = slope * (x.error[i] + Math.abs(l)) + evaluationError(activation, h, hi[i]);
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

function addPairs(inputs: PairValue[], size: number): PairValue {
  const hi = Float64Array.from(inputs[0].hi);
  const lo = new Float64Array(size);
  const error = new Float64Array(size);
  // 2(K − 1) float additions into lo (each hi's TwoSum error and each lo): γ_{2K} of their sizes.
  const g = gamma(2 * inputs.length);
  for (let i = 0; i < size; i++) {
    let s = hi[i];
    let low = inputs[0].lo[i];
    let magnitude = Math.abs(low);
    let inherited = inputs[0].error[i];
    for (let k = 1; k < inputs.length; k++) {
      const t = s + inputs[k].hi[i];
      const e = twoSumError(s, inputs[k].hi[i], t);
      s = t;
      low += e + inputs[k].lo[i];
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

/** The smooth maps with a singularity (log, sqrt, 1/y, powers) bound their rounding from the reachable range (§24). */
const SMOOTH_ACTIVATIONS: ReadonlySet<string> = new Set(['log', 'sqrt', 'reciprocal', 'power']);

/**
 * Whether the pair arithmetic here covers every layer. Subtraction and division, the smooth maps,
 * softmax, products of two matrices, layer normalisation, maxima of computed tensors and affine maps
 * along one non-channel axis or over several rows have no pair rule yet: a network with one takes the
 * float64 pass of §14 (pureForward) whole, whose bounds cover them.
 */
export function pairArithmeticCovers(prepared: PreparedNetwork): boolean {
  return prepared.layers.every((p) => {
    const lop = p.layer.op;
    if (lop.kind === 'affine') {
      const linear = lop.linear;
      if (linear.kind === 'channelAffine' && (linear.axis ?? 0) !== 0) return false;
      if (linear.kind === 'dense' && (linear.rows ?? 1) > 1) return false;
      return !lop.activation || !SMOOTH_ACTIVATIONS.has(lop.activation.kind);
    }
    if (lop.kind === 'activation') return !SMOOTH_ACTIVATIONS.has(lop.activation.kind);
    const op = p.op;
    if (op.kind === 'add') return op.signs.every((sign) => sign === 1);
    if (op.kind === 'mul') return !op.divide;
    return ['maxPool', 'linearPool', 'reshape', 'concat', 'transpose'].includes(op.kind);
  });
}

export const accurateForward: ForwardProvider = (prepared, x0, signal) =>
  pairArithmeticCovers(prepared) ? pairForward(prepared, x0, signal) : pureForward(prepared, x0, signal);

const pairForward: ForwardProvider = (prepared, x0, signal) => {
  const values: NominalValues = { outputs: [], preActivations: [] };
  const pairs: PairValue[] = [];
  const input: PairValue = { hi: x0, lo: new Float64Array(x0.length), error: new Float64Array(x0.length) };
  const pairOf = (ref: TensorRef) => (ref === NETWORK_INPUT ? input : pairs[ref]);
  let tau = 0;
  const record = (v: PairValue) => {
    tau = Math.max(tau, largest(reportedError(v)));
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
          out = activatePair(lop.activation, pre);
        } else out = pre;
        break;
      }
      case 'activation': {
        const activation = activationOf(p);
        if (!activation) throw new Error('prepared activation without an activation op');
        if (p.layer.inputs[0] !== NETWORK_INPUT) record(inputs[0]);
        out = activatePair(activation, inputs[0]);
        break;
      }
      case 'maxPool':
        out = maxPoolPair((visit) => forEachPoolTap(op.pool.geometry, visit), p.outSize, inputs[0]);
        break;
      case 'linearPool': {
        // Non-negative weights: fl(A hi) and fl(A lo) round by γ_t A|·| each; their pair is then normalised exactly.
        const [x] = inputs;
        const terms =
          op.linear instanceof AvgPoolOperator
            ? op.linear.geometry.kernelH * op.linear.geometry.kernelW + 1
            : op.linear instanceof AxisMapOperator
              ? op.linear.roundingTerms
              : p.inSizes[0] / p.outSize + 1;
        const g = gamma(terms);
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
        out = addPairs(inputs, p.outSize);
        break;
      case 'mul':
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
        throw new Error(`layer '${p.layer.label}': no pair rule for a ${op.kind} layer (pairArithmeticCovers admits none)`);
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
