// Nominal forward pass: the value of every layer's output (and, for affine units, the pre-activation)
// at x0. Injectable: a faster provider (onnxruntime) can supply the same values.
//
// The pure pass also bounds its own float64 rounding (docs/derivations.md §14): alongside every value
// it carries e ≥ |computed − exact| per coordinate, where "exact" is the real-arithmetic network on
// the model's float32 weights at x0. An affine map adds γ_m (|A||x̂| + |b|) to |A| e (m terms per
// output), an activation multiplies e by its global slope and adds its own evaluation rounding, and
// the graph rules add or rearrange e. The largest e per layer (pre-activation and output) is reported,
// and its largest value over what the slope rules read (the pre-activations of activation units and
// the inputs of lone activations) as absoluteError τ, so the slope bounds hold for the exact values.
// The bound compounds through |A| layer after layer: tiny in early layers, large in deep networks.
import { activate, globalSlope, slopeBoundUncertain } from './activations';
import { throwIfCancelled, type CancelSignal } from './errors';
import { NETWORK_INPUT, type Activation, type LinearParams, type TensorRef } from './network';
import { batchedMatMul } from './operators/batchedMatMul';
import { softmaxForward, softmaxForwardError } from './operators/softmax';
import { AvgPoolOperator } from './operators/avgPool';
import { poolWindowSize } from './operators/pooling';
import { AxisMapOperator } from './operators/axisMap';
import { applyAffine, type LinearOperator } from './operators/linearOperator';
import { createAffineOperator } from './operators/registry';
import { layerNormOutput, layerNormPoint, type LayerNormSpec } from './operators/layerNorm';
import { gatherPermuted } from './operators/transpose';
import { concatenate, inputRange, type PreparedLayer, type PreparedNetwork } from './prepared';

const WHOLE_LINE: readonly [number, number] = [-Infinity, Infinity];

export interface NominalValues {
  /** Output of each layer, in layer order (float64, flattened C order). */
  outputs: Float64Array[];
  /** Affine output before the activation, for affine layers; null elsewhere. */
  preActivations: (Float64Array | null)[];
  /**
   * A bound on |provided − exact| for every pre-activation of an activation unit, every input of a
   * lone activation and every factor of a product (e.g. from a float32 runtime, or the pure pass's own float64 rounding). The slope
   * bounds then hold for every nominal value within it. 0 or absent: the values are exact.
   */
  absoluteError?: number;
  /**
   * Finer bounds per layer, where known (the pure pass): the error of layer k's pre-activation (affine
   * layers) and of its output. Each bound given must hold, so a value uses the smallest that covers it.
   */
  preActivationErrors?: number[];
  outputErrors?: number[];
}

/** Providers that loop over layers poll `signal` between them (the pure pass does). */
export type ForwardProvider = (prepared: PreparedNetwork, x0: Float64Array, signal?: CancelSignal) => NominalValues | Promise<NominalValues>;

export function tensorValue(values: NominalValues, x0: Float64Array, ref: TensorRef): Float64Array {
  return ref === NETWORK_INPUT ? x0 : values.outputs[ref];
}

/** Unit roundoff of float64 (round to nearest). */
const UNIT_ROUNDOFF = 2 ** -53;

/** γ_n = n u / (1 − n u): the relative error bound of an n-term float64 sum of products (Higham §3.1). */
export function gamma(n: number): number {
  const nu = n * UNIT_ROUNDOFF;
  return nu / (1 - nu);
}

/**
 * Relative allowance for the rounding of the error bounds themselves: each is a sum of at most a few
 * (m + 3) non-negative terms, computed low by at most γ_{m+3} relative, and these compound along the
 * network; 1e-6 covers any network whose layers have fewer than ~1e10 terms in total.
 */
export const BOUND_ROUNDING_ALLOWANCE = 1e-6;

/** The same layer with |W| and |b|: |A| v and |A||x| + |b| in one pass of the model's own kernels. */
function absoluteLinear(params: LinearParams): LinearParams {
  const abs = (v: Float32Array) => v.map(Math.abs);
  switch (params.kind) {
    case 'conv':
    case 'conv3d':
    case 'convTranspose':
    case 'convTranspose3d':
    case 'dense':
      return { ...params, weight: abs(params.weight), ...(params.bias ? { bias: abs(params.bias) } : {}) };
    case 'channelAffine':
      return { ...params, scale: abs(params.scale), shift: abs(params.shift), ...(params.offset ? { offset: abs(params.offset) } : {}) };
  }
}

/** Terms summed per output of the affine map (products plus the bias), as the operators compute it. */
export function innerLength(params: LinearParams): number {
  switch (params.kind) {
    case 'conv': {
      const [, perGroupIn, kh, kw] = params.weightShape;
      return perGroupIn * kh * kw + 1;
    }
    case 'conv3d': {
      const [, perGroupIn, kd, kh, kw] = params.weightShape;
      return perGroupIn * kd * kh * kw + 1;
    }
    case 'convTranspose':
    case 'convTranspose3d': {
      // Each output sums at most (C/g)·(kernel taps) products (a strided transpose fewer).
      const [inChannels, , ...kernel] = params.weightShape;
      return (inChannels / params.group) * kernel.reduce((a, b) => a * b, 1) + 1;
    }
    case 'dense':
      return params.inFeatures + 1;
    case 'channelAffine':
      return 2;
  }
}

/**
 * Rounding of evaluating σ at the computed value y (result `out`): max/min are exact; one product for
 * LeakyReLU; α y + β for HardSigmoid (γ_2 (|α y| + |β|)); sigmoid and tanh rely on the platform's
 * exp/tanh being within a few ulps (V8's fdlibm ports are within 1 ulp): 8u, their values are ≤ 1;
 * HardSwish y · HardSigmoid(y): γ_3 |y| (|α y| + |β| + 1).
 */
export function evaluationError(activation: Activation, y: number, out: number): number {
  switch (activation.kind) {
    case 'relu':
    case 'clip':
      return 0;
    case 'leakyRelu':
      return UNIT_ROUNDOFF * Math.abs(out);
    case 'hardSigmoid':
      return gamma(2) * (Math.abs(activation.alpha * y) + Math.abs(activation.beta));
    case 'sigmoid':
    case 'tanh':
      return 8 * UNIT_ROUNDOFF;
    case 'hardSwish':
      // The HardSigmoid factor to γ_2 (|α y| + |β|), then one product with y.
      return gamma(3) * Math.abs(y) * (Math.abs(activation.alpha * y) + Math.abs(activation.beta) + 1);
    // Math.sqrt and 1/y round correctly; V8's log and pow (fdlibm ports) are within 1 ulp: 2u, 4u.
    case 'sqrt':
    case 'reciprocal':
      return UNIT_ROUNDOFF * Math.abs(out);
    case 'log':
      return 2 * UNIT_ROUNDOFF * Math.abs(out);
    case 'power':
      return 4 * UNIT_ROUNDOFF * Math.abs(out);
  }
}

export function activationOf(p: PreparedLayer): Activation | undefined {
  const lop = p.layer.op;
  return lop.kind === 'affine' || lop.kind === 'activation' ? lop.activation : undefined;
}

/** x ↦ |A| x and |b| of an affine layer. */
export interface AbsoluteMap {
  apply(x: Float64Array): Float64Array;
  bias: Float64Array | null;
}

const absoluteOperators = new WeakMap<PreparedLayer, AbsoluteMap>();

/**
 * The layer's |A| and |b|: operators that apply |A| themselves (the native kernels) do so on their own
 * weights; the others get an operator built on a copy of |W|.
 */
export function absoluteOperator(p: PreparedLayer, backend: PreparedNetwork['backend']): AbsoluteMap {
  let op = absoluteOperators.get(p);
  if (!op) {
    const lop = p.layer.op;
    if (lop.kind !== 'affine' || p.op.kind !== 'affine') throw new Error(`layer '${p.layer.label}' is not affine`);
    const { linear, bias } = p.op.affine;
    if (linear.applyAbsolute) {
      op = { apply: (x) => linear.applyAbsolute!(x), bias: bias ? bias.map(Math.abs) : null };
    } else {
      const built = createAffineOperator(absoluteLinear(lop.linear), p.layer.inputShapes[0], p.layer.label, backend);
      op = { apply: (x) => built.linear.apply(x), bias: built.bias };
    }
    absoluteOperators.set(p, op);
  }
  return op;
}

/**
 * σ applied to y with the propagated error bound (§52): e_out = r · e_y + evaluation rounding, r the
 * largest chord slope of σ from y to a point within e_y of it (where the exact value lies; in the range
 * of the input's producer), capped by the global slope: 0 for a ReLU or a HardSwish off beyond e_y, so
 * such units stop the error instead of passing it on; ∞ where the window reaches a singularity.
 */
function activateWithError(activation: Activation, y: Float64Array, errorIn: Float64Array, inputRange: readonly [number, number]): { out: Float64Array; error: Float64Array } {
  const slope = globalSlope(activation);
  const out = new Float64Array(y.length);
  const error = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    out[i] = activate(activation, y[i]);
    const local = errorIn[i] === 0 ? 0 : Math.min(slope, slopeBoundUncertain(activation, y[i], 0, errorIn[i], inputRange));
    error[i] = local * errorIn[i] + evaluationError(activation, y[i], out[i]);
  }
  return { out, error };
}

/** The largest value of each window (ReduceMax). */
export function windowMaxima(x: Float64Array, window: Int32Array, width: number): Float64Array {
  const out = new Float64Array(window.length / width).fill(-Infinity);
  for (let k = 0; k < window.length; k++) {
    const o = (k / width) | 0;
    if (x[window[k]] > out[o]) out[o] = x[window[k]];
  }
  return out;
}

/**
 * Layer normalisation with its error bound (docs/derivations.md §23): per group, with M the largest
 * |x̂|, δz = 2γ_{n+2} M (the computed centred values), E = ‖e_in‖ over the group and
 * s_low = sqrt(max(0, ‖ẑ‖(1 − 2γ_{n+2}) − √n δz − E)²/n + e) the smallest scale on the way,
 * e_out,i = |γ_i| ((E + √n δz)/s_low + 2γ_{n+6}|q̂_i|) + γ_2 (|γ_i q̂_i| + |β_i|), or where smaller the
 * coordinatewise form of §52f with (e_i + ē + δz)/s_low + |ẑ_i|(rms(e) + δz)/s_low² in place of
 * (E + √n δz)/s_low; ∞ when s_low = 0.
 */
function layerNormWithError(spec: LayerNormSpec, x: Float64Array, errorIn: Float64Array): { out: Float64Array; error: Float64Array } {
  const n = spec.groupSize;
  const { normalised } = layerNormPoint(spec, x);
  const out = layerNormOutput(spec, normalised);
  const error = new Float64Array(x.length);
  const centring = 2 * gamma(n + 2);
  for (let base = 0; base < x.length; base += n) {
    let largest = 0;
    let errorSq = 0;
    let mean = 0;
    for (let i = 0; i < n; i++) {
      largest = Math.max(largest, Math.abs(x[base + i]));
      errorSq += errorIn[base + i] * errorIn[base + i];
      mean += x[base + i];
    }
    mean /= n;
    let normSq = 0;
    for (let i = 0; i < n; i++) normSq += (x[base + i] - mean) ** 2;
    const deltaZ = centring * largest;
    const moved = Math.sqrt(errorSq) + Math.sqrt(n) * deltaZ;
    const reach = Math.max(0, Math.sqrt(normSq) * (1 - centring) - moved);
    const sLow = Math.sqrt((reach * reach) / n + spec.epsilon);
    // Coordinatewise (§52f): the centred input moves by e_i + ē, the scale by at most rms(e).
    const meanError = errorIn.subarray(base, base + n).reduce((a, v) => a + v, 0) / n;
    const scaleMoves = Math.sqrt(errorSq / n);
    for (let i = 0; i < n; i++) {
      const k = base + i;
      const g = spec.scale ? Math.abs(spec.scale[i]) : 1;
      const q = Math.abs(normalised[k]);
      const rounding = g * 2 * gamma(n + 6) * q + gamma(2) * (g * q + (spec.bias ? Math.abs(spec.bias[i]) : 0));
      const whole = g * (moved / sLow) + rounding;
      // |ẑ_i| ≤ |(P x̂)_i| + δz ≤ |fl(x_i − mean)| + 2δz: δz bounds any float64 centring, this one and layerNormPoint's.
      const centred = Math.abs(x[k] - mean) + 2 * deltaZ;
      const perCoordinate = g * ((errorIn[k] + meanError + deltaZ) / sLow + (centred / sLow) * ((scaleMoves + deltaZ) / sLow)) + rounding;
      error[k] = sLow > 0 ? Math.min(whole, perCoordinate) * (1 + BOUND_ROUNDING_ALLOWANCE) : Infinity;
    }
  }
  return { out, error };
}

/** One layer of the float64 pass: its output (and pre-activation) with their error bounds. */
export interface FloatStep {
  out: Float64Array;
  error: Float64Array;
  pre: Float64Array | null;
  preError: Float64Array | null;
  /** The error bounds a slope rule reads (pre-activations of activation units, computed inputs of the other nonlinear layers): they feed τ. */
  slopeReads: Float64Array[];
}

/**
 * Terms summed per output by a linear pooling map, for its γ: averaging weights are non-negative
 * (|A| = A), a sum of the taps times a rounded 1/count; a per-axis map rounds once per applied factor
 * (γ_a γ_b compose within γ_{a+b}, §18).
 */
export function averagingRoundingTerms(linear: LinearOperator, p: PreparedLayer): number {
  if (linear instanceof AvgPoolOperator) return poolWindowSize(linear.geometry) + 1;
  if (linear instanceof AxisMapOperator) return linear.roundingTerms;
  return p.inSizes[0] / p.outSize + 1;
}

/**
 * Layer p in float64 on the given input values, each known to within its error bound (§14): the
 * pure pass runs every layer through this, the double-double pass (accurateForward.ts) the layers it
 * has no pair rule for, on the hi parts with |lo| counted as error.
 */
export function floatLayer(prepared: PreparedNetwork, p: PreparedLayer, inputs: Float64Array[], inErrors: Float64Array[]): FloatStep {
  // The errors of computed inputs (not x0 itself) feed τ, which the slope rules honour.
  const computedInputErrors = () => inErrors.filter((_e, k) => p.layer.inputs[k] !== NETWORK_INPUT);
  const slopeReads: Float64Array[] = [];
  let out: Float64Array;
  let error: Float64Array;
  let pre: Float64Array | null = null;
  let preError: Float64Array | null = null;
  const op = p.op;
  switch (op.kind) {
    case 'affine': {
      const lop = p.layer.op;
      if (lop.kind !== 'affine') throw new Error('prepared affine without an affine op');
      pre = applyAffine(op.affine, inputs[0]);
      // |A| e_in + γ_m (|A||x̂| + |b|) = |A| (e_in + γ_m |x̂|) + γ_m |b|
      const g = gamma(innerLength(lop.linear));
      const abs = absoluteOperator(p, prepared.backend);
      preError = abs.apply(inputs[0].map((v, i) => inErrors[0][i] + g * Math.abs(v)));
      if (abs.bias) for (let i = 0; i < preError.length; i++) preError[i] += g * abs.bias[i];
      const activation = lop.activation;
      if (activation) {
        slopeReads.push(preError);
        ({ out, error } = activateWithError(activation, pre, preError, WHOLE_LINE));
      } else {
        out = pre;
        error = preError;
      }
      break;
    }
    case 'activation': {
      const activation = activationOf(p);
      if (!activation) throw new Error('prepared activation without an activation op');
      slopeReads.push(...computedInputErrors());
      ({ out, error } = activateWithError(activation, inputs[0], inErrors[0], inputRange(prepared, p.layer.inputs[0])));
      break;
    }
    case 'maxPool':
      out = op.pool.forward(inputs[0]);
      // |max x̂ − max x*| ≤ max over the window of |x̂_j − x*_j|.
      error = op.pool.forward(inErrors[0]);
      break;
    case 'linearPool': {
      out = op.linear.apply(inputs[0]);
      const g = gamma(averagingRoundingTerms(op.linear, p));
      error = op.linear.apply(inputs[0].map((v, i) => inErrors[0][i] + g * Math.abs(v)));
      break;
    }
    case 'reshape':
      out = inputs[0];
      error = inErrors[0];
      break;
    case 'add': {
      out = new Float64Array(p.outSize);
      inputs.forEach((input, k) => {
        const sign = op.signs[k];
        for (let i = 0; i < out.length; i++) out[i] += sign * input[i];
      });
      // Summing K values from zero rounds K − 1 times: γ_{K−1} Σ |â_k| on top of Σ e_k.
      const g = gamma(inputs.length - 1);
      error = new Float64Array(p.outSize);
      inputs.forEach((input, k) => {
        for (let i = 0; i < error.length; i++) error[i] += inErrors[k][i] + g * Math.abs(input[i]);
      });
      break;
    }
    case 'softmax':
      // ½ ‖e_g‖ from the input plus the evaluation's own rounding (§30).
      slopeReads.push(...computedInputErrors());
      out = softmaxForward(op.groups, inputs[0]);
      error = softmaxForwardError(op.groups, inputs[0], out, inErrors[0]);
      break;
    case 'matMul': {
      // |Â B̂ − A* B*| ≤ |Â| E_B + E_A |B̂| + E_A E_B, plus γ_k |Â||B̂| for the k-term sums (§31).
      const [a, b] = inputs;
      const [ea, eb] = inErrors;
      slopeReads.push(...computedInputErrors());
      out = batchedMatMul(op.geometry, a, b);
      error = new Float64Array(p.outSize);
      const g = gamma(op.geometry.k);
      const terms = [batchedMatMul(op.geometry, a, eb, true), batchedMatMul(op.geometry, ea, b, true), batchedMatMul(op.geometry, ea, eb, true)];
      const rounding = batchedMatMul(op.geometry, a, b, true);
      for (let i = 0; i < error.length; i++) error[i] = (terms[0][i] + terms[1][i] + terms[2][i] + g * rounding[i]) * (1 + gamma(op.geometry.k + 3));
      break;
    }
    case 'mul': {
      // |â b̂ − a* b*| ≤ |â| e_b + |b̂| e_a + e_a e_b, plus the product's own rounding (§20).
      const [a, b] = inputs;
      const [ea, eb] = inErrors;
      slopeReads.push(...computedInputErrors());
      out = new Float64Array(p.outSize);
      error = new Float64Array(p.outSize);
      const g = gamma(2);
      for (let i = 0; i < out.length; i++) {
        const j = op.source[i];
        if (op.divide) {
          // a/b − a*/b* = (â − a*)/b̂ + a*(1/b̂ − 1/b*), |1/b̂ − 1/b*| ≤ e_b/(|b̂| − e_b)|b̂| (§28); one rounding.
          out[i] = a[i] / b[j];
          const floor = Math.abs(b[j]) - eb[j];
          error[i] = floor > 0 ? ea[i] / Math.abs(b[j]) + ((Math.abs(a[i]) + ea[i]) * eb[j]) / (floor * Math.abs(b[j])) + g * Math.abs(out[i]) : Infinity;
        } else {
          out[i] = a[i] * b[j];
          error[i] = Math.abs(a[i]) * eb[j] + Math.abs(b[j]) * ea[i] + ea[i] * eb[j] + g * Math.abs(out[i]);
        }
      }
      break;
    }
    case 'maximum': {
      // max is exact in floating point, and |max(â, b̂) − max(a*, b*)| ≤ max(e_a, e_b).
      const [a, b] = inputs;
      const [ea, eb] = inErrors;
      slopeReads.push(...computedInputErrors());
      out = new Float64Array(p.outSize);
      error = new Float64Array(p.outSize);
      for (let i = 0; i < out.length; i++) {
        const j = op.source[i];
        out[i] = Math.max(a[i], b[j]);
        error[i] = Math.max(ea[i], eb[j]);
      }
      break;
    }
    case 'reduceMax': {
      // As for max pooling: |max x̂ − max x*| ≤ the largest |x̂_j − x*_j| of the window.
      out = windowMaxima(inputs[0], op.window, op.width);
      error = windowMaxima(inErrors[0], op.window, op.width);
      break;
    }
    case 'layerNorm': {
      slopeReads.push(...computedInputErrors());
      ({ out, error } = layerNormWithError(op.spec, inputs[0], inErrors[0]));
      break;
    }
    case 'concat':
      out = concatenate(inputs, op.outer, op.blocks, new Float64Array(p.outSize));
      error = concatenate(inErrors, op.outer, op.blocks, new Float64Array(p.outSize));
      break;
    case 'transpose':
      out = gatherPermuted(inputs[0], op.source, new Float64Array(p.outSize));
      error = gatherPermuted(inErrors[0], op.source, new Float64Array(p.outSize));
      break;
  }
  return { out, error, pre, preError, slopeReads };
}

export const pureForward: ForwardProvider = (prepared, x0, signal) => {
  const values: NominalValues = { outputs: [], preActivations: [] };
  const errors: Float64Array[] = [];
  const inputError = new Float64Array(x0.length);
  const errorOf = (ref: TensorRef) => (ref === NETWORK_INPUT ? inputError : errors[ref]);
  let tau = 0;
  const largest = (e: Float64Array) => e.reduce((m, v) => (v > m ? v : m), 0) * (1 + BOUND_ROUNDING_ALLOWANCE);
  const preActivationErrors: number[] = [];
  const outputErrors: number[] = [];
  for (const p of prepared.layers) {
    throwIfCancelled(signal);
    const inputs = p.layer.inputs.map((ref) => tensorValue(values, x0, ref));
    const { out, error, pre, preError, slopeReads } = floatLayer(prepared, p, inputs, p.layer.inputs.map(errorOf));
    for (const e of slopeReads) tau = Math.max(tau, largest(e));
    values.outputs.push(out);
    values.preActivations.push(pre);
    errors.push(error);
    preActivationErrors.push(preError ? largest(preError) : 0);
    outputErrors.push(largest(error));
  }
  values.absoluteError = tau;
  values.preActivationErrors = preActivationErrors;
  values.outputErrors = outputErrors;
  return values;
};
