// Softmax along one axis of a C-order tensor (docs/derivations.md §30): the tensor splits into disjoint
// groups of n values (index (o · n + i) · inner + r for group (o, r)); each group maps to its own
// probabilities. Values, the tangent J v = p ⊙ (v − pᵀv) (J is symmetric, so it is also the adjoint),
// the reachable-probability bound on ‖J‖ over the ball, and the forward rounding bound.
import type { Shape } from '../network';
import { certifiedLargestEigenvalue } from '../spectral/choleskyCertificate';

const UNIT_ROUNDOFF = 2 ** -53;
/** Relative allowance for the float64 rounding of exp, log1p and the log-sum-exp of a group (§30). */
const BOUND_ROUNDING_MARGIN = 1e-12;

export interface SoftmaxGroups {
  /** Product of the extents before the axis. */
  outer: number;
  /** Extent of the axis: the size of one group. */
  n: number;
  /** Product of the extents after the axis. */
  inner: number;
}

/** Groups along `axis`, or over all axes from `axis` on when flattenTail (ONNX before opset 13). */
export function softmaxGroups(shape: Shape, axis: number, flattenTail: boolean, name: string): SoftmaxGroups {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new Error(`${name}: softmax axis ${axis} outside the batchless rank ${shape.length}`);
  }
  const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (flattenTail) return { outer: product(shape.slice(0, axis)), n: product(shape.slice(axis)), inner: 1 };
  return { outer: product(shape.slice(0, axis)), n: shape[axis], inner: product(shape.slice(axis + 1)) };
}

/** Calls visit with the index of each group's first value and the stride between its values. */
function forEachGroup({ outer, n, inner }: SoftmaxGroups, visit: (start: number, stride: number) => void): void {
  for (let o = 0; o < outer; o++) for (let r = 0; r < inner; r++) visit(o * n * inner + r, inner);
}

export function softmaxForward(groups: SoftmaxGroups, z: Float64Array): Float64Array {
  const out = new Float64Array(z.length);
  forEachGroup(groups, (start, stride) => {
    const end = start + groups.n * stride;
    let max = -Infinity;
    for (let i = start; i < end; i += stride) max = Math.max(max, z[i]);
    let sum = 0;
    for (let i = start; i < end; i += stride) {
      out[i] = Math.exp(z[i] - max);
      sum += out[i];
    }
    for (let i = start; i < end; i += stride) out[i] /= sum;
  });
  return out;
}

/** J v at the probabilities p: per group p ⊙ (v − pᵀv). J is symmetric, so this is also Jᵀ v. */
export function softmaxTangent(groups: SoftmaxGroups, p: Float64Array, v: Float64Array): Float64Array {
  const out = new Float64Array(v.length);
  forEachGroup(groups, (start, stride) => {
    const end = start + groups.n * stride;
    let mean = 0;
    for (let i = start; i < end; i += stride) mean += p[i] * v[i];
    for (let i = start; i < end; i += stride) out[i] = p[i] * (v[i] - mean);
  });
  return out;
}

/** log Σ exp(values) − without overflow (−∞ for no values). */
function logSumExp(values: number[]): number {
  if (values.length === 0) return -Infinity;
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

export interface SoftmaxBound {
  /** The largest per-group bound over the groups holding a movable input. */
  local: number;
  /** Per output coordinate: can it move (its group holds a movable input and has a non-zero bound)? */
  mask: Uint8Array;
}

/**
 * max over groups with a movable input of L_g = min(max_i u_i, max_i 2 m_i (1 − m_i), ½), where every
 * probability reachable in the ball lies in [l_i, u_i] = [1/(1 + S_i e^δ), 1/(1 + S_i e^−δ)],
 * S_i = Σ_{j≠i} exp(z0_j − z0_i), δ = √2 ε_z + 2τ, and m_i is the point of [l_i, u_i] closest to ½ (§30).
 */
export function softmaxBound(groups: SoftmaxGroups, z0: Float64Array, tau: number, radius: number, inputMask: Uint8Array | null): SoftmaxBound {
  const margin = intervalMargin(groups.n);
  const mask = new Uint8Array(z0.length);
  let local = 0;
  forEachReachableGroup(groups, z0, tau, radius, inputMask, (start, stride, t, total, lowers, uppers) => {
    const end = start + groups.n * stride;
    let largestUpper = 0;
    let largestGershgorin = 0;
    let largestShift = 0;
    let shiftSq = 0;
    for (let i = start, k = 0; i < end; i += stride, k++) {
      const [lower, upper] = [lowers[k], uppers[k]];
      const nearestHalf = Math.min(upper, Math.max(lower, 0.5));
      largestUpper = Math.max(largestUpper, upper);
      largestGershgorin = Math.max(largestGershgorin, 2 * nearestHalf * (1 - nearestHalf) * (1 + margin));
      // How far a reachable p_i can be from the computed p̂_i = t_i / T.
      const shift = Math.max(upper - t[k] / total, t[k] / total - lower);
      largestShift = Math.max(largestShift, shift);
      shiftSq += shift * shift;
    }
    let bound = Math.min(largestUpper, largestGershgorin, 0.5);
    if (groups.n <= REFINED_GROUP_LIMIT) {
      const p = Float64Array.from(t.subarray(0, groups.n), (v) => v / total);
      bound = Math.min(bound, weylBound(p, largestShift, Math.sqrt(shiftSq)));
    }
    if (bound > 0) for (let i = start; i < end; i += stride) mask[i] = 1;
    local = Math.max(local, bound);
  });
  return { local, mask };
}

/** T − t_i in the intervals rounds with relative error ≤ (n + 3)u of S_i, which moves u_i and l_i by as much. */
function intervalMargin(n: number): number {
  return BOUND_ROUNDING_MARGIN + 4 * (n + 4) * UNIT_ROUNDOFF;
}

/**
 * Per group holding a movable input (n ≥ 2, radius > 0): every probability reachable in the ball lies in
 * [l_i, u_i] = [1/(1 + S_i e^δ), 1/(1 + S_i e^−δ)], S_i = Σ_{j≠i} exp(z0_j − z0_i), δ = √2 ε_z + 2τ (§30);
 * `visit` gets the group's start and stride, t_j = exp(z0_j − max), their total and the intervals.
 */
function forEachReachableGroup(
  groups: SoftmaxGroups,
  z0: Float64Array,
  tau: number,
  radius: number,
  inputMask: Uint8Array | null,
  visit: (start: number, stride: number, t: Float64Array, total: number, lower: Float64Array, upper: Float64Array) => void,
): void {
  const margin = intervalMargin(groups.n);
  const delta = (Math.SQRT2 * radius + 2 * tau) * (1 + margin) + 1e-300;
  const t = new Float64Array(groups.n);
  const lower = new Float64Array(groups.n);
  const upper = new Float64Array(groups.n);
  forEachGroup(groups, (start, stride) => {
    const end = start + groups.n * stride;
    let movable = !inputMask;
    for (let i = start; i < end && !movable; i += stride) movable = inputMask![i] === 1;
    if (!movable || radius === 0 || groups.n < 2) return;
    let max = -Infinity;
    for (let i = start; i < end; i += stride) max = Math.max(max, z0[i]);
    let total = 0;
    for (let i = start, k = 0; i < end; i += stride, k++) {
      t[k] = Math.exp(z0[i] - max);
      total += t[k];
    }
    for (let i = start, k = 0; i < end; i += stride, k++) {
      // log S_i = log Σ_{j≠i} t_j − (z0_i − max). The one term that may exceed half the total (the
      // maximum, where T − t_i would cancel or the others underflow) is summed directly.
      let logS: number;
      if (t[k] <= total / 2) logS = Math.log(total - t[k]) - (z0[i] - max);
      else {
        const others: number[] = [];
        for (let j = start; j < end; j += stride) if (j !== i) others.push(z0[j] - z0[i]);
        logS = logSumExp(others);
      }
      upper[k] = Math.min(1, (1 / (1 + Math.exp(logS - delta))) * (1 + margin));
      lower[k] = Math.max(0, (1 / (1 + Math.exp(logS + delta))) * (1 - margin));
    }
    visit(start, stride, t, total, lower, upper);
  });
}

/**
 * The softmax as a slope layer with a slope matrix per group (docs/derivations.md §55.2): the exact change
 * is S Δz with S the mean of J(p) = diag(p) − ppᵀ along the segment, p in the box Π[l_i, u_i]; the midpoint
 * J(m) at the box's centre m (returned per coordinate; applied with softmaxTangent) and per output the
 * group's radius max_i w_i + ‖w‖ (1 + ‖m‖), w the half-widths.
 */
export function softmaxSlopes(groups: SoftmaxGroups, z0: Float64Array, tau: number, radius: number, inputMask: Uint8Array | null): { mid: Float64Array; outputRadius: Float64Array } {
  // A group that cannot move (or has one entry, a constant) keeps slope 0: its change is 0 on the ball.
  const mid = new Float64Array(z0.length);
  const outputRadius = new Float64Array(z0.length);
  forEachReachableGroup(groups, z0, tau, radius, inputMask, (start, stride, _t, _total, lower, upper) => {
    const end = start + groups.n * stride;
    let widest = 0;
    let widthSq = 0;
    let midSq = 0;
    for (let i = start, k = 0; i < end; i += stride, k++) {
      const width = (upper[k] - lower[k]) / 2 + 4 * UNIT_ROUNDOFF * upper[k];
      mid[i] = (upper[k] + lower[k]) / 2;
      widest = Math.max(widest, width);
      widthSq += width * width;
      midSq += mid[i] * mid[i];
    }
    const rho = (widest + Math.sqrt(widthSq) * (1 + Math.sqrt(midSq))) * (1 + BOUND_ROUNDING_MARGIN);
    for (let i = start; i < end; i += stride) outputRadius[i] = rho;
  });
  return { mid, outputRadius };
}

/** Groups up to this size also get the Weyl bound around the nominal Jacobian (an n × n eigenvalue certificate). */
const REFINED_GROUP_LIMIT = 128;

/**
 * λ_max(J(p)) ≤ λ_max(J(p̂)) + ‖J(p) − J(p̂)‖ (Weyl), with ‖J(p) − J(p̂)‖ ≤ max_i |Δp_i| + ‖Δp‖ (2‖p̂‖ + ‖Δp‖)
 * and λ_max(J(p̂)) certified by a Cholesky factorisation (§30). 8u covers the rounding of J(p̂)'s entries.
 */
function weylBound(p: Float64Array, largestShift: number, shiftNorm: number): number {
  const n = p.length;
  const jacobian = new Float64Array(n * n);
  let normSq = 0;
  for (let i = 0; i < n; i++) {
    normSq += p[i] * p[i];
    for (let j = 0; j < n; j++) jacobian[i * n + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
  const { upper } = certifiedLargestEigenvalue(jacobian, n, largestEigenvalueEstimate(jacobian, n));
  const perturbation = largestShift + shiftNorm * (2 * Math.sqrt(normSq) + shiftNorm);
  return (upper + perturbation) * (1 + BOUND_ROUNDING_MARGIN) + 8 * UNIT_ROUNDOFF;
}

/** A few power-iteration steps on the symmetric ⪰ 0 matrix: an estimate from below for the certificate to start at. */
function largestEigenvalueEstimate(matrix: Float64Array, n: number): number {
  let v = Float64Array.from({ length: n }, (_, i) => 1 + i / n);
  let estimate = 0;
  for (let step = 0; step < 30; step++) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i] += matrix[i * n + j] * v[j];
    const norm = Math.hypot(...w);
    if (norm === 0) return 0;
    estimate = norm / Math.hypot(...v);
    v = w.map((x) => x / norm);
  }
  return estimate;
}

/** Global Lipschitz constant of softmax over groups of n: ½ (n ≥ 2), 0 for a group of one (constant 1). */
export function softmaxGlobalBound(groups: SoftmaxGroups): number {
  return groups.n < 2 ? 0 : 0.5;
}

/**
 * Forward error of the computed probabilities p̂ = softmax(ẑ) against softmax(z*) with |ẑ − z*| ≤ e:
 * the smaller of ½ ‖e_g‖ (‖J‖ ≤ ½) and p̂_i/(1 − ρ) · expm1(e_i + max e) (§52e) from the input, plus the
 * evaluation's relative error ρ = (2(M + 2) + n) u times p̂_i, at most 1 (both lie in [0, 1]; §30).
 */
export function softmaxForwardError(groups: SoftmaxGroups, z: Float64Array, p: Float64Array, e: Float64Array): Float64Array {
  const out = new Float64Array(z.length);
  forEachGroup(groups, (start, stride) => {
    const end = start + groups.n * stride;
    let max = -Infinity;
    let min = Infinity;
    let errorSq = 0;
    for (let i = start; i < end; i += stride) {
      max = Math.max(max, z[i]);
      min = Math.min(min, z[i]);
      errorSq += e[i] * e[i];
    }
    const inherited = 0.5 * Math.sqrt(errorSq);
    const relative = (2 * (max - min + 2) + groups.n) * UNIT_ROUNDOFF * (1 + 1e-6);
    // Relative form (§52e): softmax(ẑ + δ)_i / softmax(ẑ)_i lies within exp(±(e_i + M)), M the largest e,
    // and softmax(ẑ)_i ≤ p̂_i / (1 − ρ), ρ the evaluation's relative error.
    let largest = 0;
    for (let i = start; i < end; i += stride) largest = Math.max(largest, e[i]);
    // Both the computed and the exact probability lie in [0, 1].
    for (let i = start; i < end; i += stride) {
      const ratio = (p[i] / (1 - relative)) * Math.expm1(e[i] + largest) * (1 + 1e-6);
      out[i] = Math.min(1, (Math.min(inherited, ratio) + relative * p[i]) * (1 + 1e-6));
    }
  });
  return out;
}
