// A deterministic upper bound on the largest eigenvalue of a dense symmetric matrix: factor
// M = τI − G by Cholesky and bound the factorisation's residual rigorously. If M = LLᵀ + E then
// M ⪰ −‖E‖·I, so λ_max(G) ≤ τ + ‖E‖. No eigensolver constant is trusted; only the standard model of
// floating-point arithmetic (|fl(a ∘ b) − a ∘ b| ≤ u|a ∘ b|, no underflow) and the usual dot-product
// bound |fl(Σ a_p b_p) − Σ a_p b_p| ≤ γ_m Σ |a_p b_p| with γ_m = m u / (1 − m u).

import { nativeKernels, type NativeKernels } from '../native/kernels';

const UNIT_ROUNDOFF = Number.EPSILON / 2;

export function gamma(m: number): number {
  return (m * UNIT_ROUNDOFF) / (1 - m * UNIT_ROUNDOFF);
}

/**
 * λ_max(G) ≤ τ + η with η from the residual of a successful Cholesky factorisation of τI − G, or
 * undefined when the factorisation breaks down (τ is then too small, or too close to λ_max).
 * `gram` is row-major k×k and symmetric.
 */
export function certifyBelow(gram: Float64Array, k: number, tau: number, kernels: NativeKernels | null = nativeKernels()): number | undefined {
  const m = new Float64Array(k * k);
  let diagonalRounding = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) m[i * k + j] = -gram[i * k + j];
    m[i * k + i] = tau - gram[i * k + i];
    // fl(τ − g_ii) is off by at most u|m_ii|: a diagonal perturbation of M.
    diagonalRounding = Math.max(diagonalRounding, UNIT_ROUNDOFF * Math.abs(m[i * k + i]));
  }
  const sums = kernels ? kernels.choleskyResidual(m, k) : choleskyResidual(m, k);
  if (!sums) return undefined;
  const [residualSquares, rowNormSum, mSquares] = sums;
  // ‖E_exact‖₂ ≤ ‖E_computed‖_F + γ_{k+1}(Σ_i ‖l_i‖² + ‖M‖_F); the sums themselves are inflated by
  // (1 + γ_{2k²}) to cover their own rounding.
  const slack = 1 + gamma(2 * k * k + 4);
  const residual = (Math.sqrt(residualSquares) + gamma(k + 1) * (rowNormSum + Math.sqrt(mSquares))) * slack;
  return tau + (residual + diagonalRounding) * slack;
}

/**
 * Certified λ_max(G) from an estimate that may be slightly low: tries τ = estimate + ρ·scale with ρ
 * growing tenfold until the factorisation succeeds, then narrows τ by bisection between the last
 * failure and the success, so a low estimate costs time, not tightness.
 */
export function certifiedLargestEigenvalue(
  gram: Float64Array,
  k: number,
  estimate: number,
  kernels: NativeKernels | null = nativeKernels(),
): { upper: number; attempts: number } {
  let scale = Math.max(Math.abs(estimate), Number.MIN_VALUE);
  for (let i = 0; i < k; i++) scale = Math.max(scale, gram[i * k + i]);
  const base = Math.max(estimate, 0);
  let attempts = 0;
  let failedTau: number | undefined;
  for (let relative = 1e-12; relative <= 1e6; relative *= 10) {
    const tau = base + relative * scale;
    attempts++;
    let upper = certifyBelow(gram, k, tau, kernels);
    if (upper === undefined) {
      failedTau = tau;
      continue;
    }
    let successTau = tau;
    for (let step = 0; failedTau !== undefined && step < BISECTION_STEPS && successTau - failedTau > BISECTION_GAP * scale; step++) {
      const middle = (failedTau + successTau) / 2;
      attempts++;
      const candidate = certifyBelow(gram, k, middle, kernels);
      if (candidate === undefined) {
        failedTau = middle;
      } else {
        successTau = middle;
        upper = Math.min(upper, candidate);
      }
    }
    return { upper, attempts };
  }
  throw new Error(`could not certify the largest eigenvalue of a ${k}×${k} Gram matrix (non-finite entries?)`);
}

const BISECTION_STEPS = 8;
/**
 * Bisection stops once the failed and the successful τ are this close (relative to the scale): below
 * it a step tightens the bound by less than the residual term already adds, and costs a factorisation
 * (on CIFAR's fc7 the converged Lanczos estimate certifies at a 1e-11 shift, and eight more steps were
 * two thirds of the exact path's time).
 */
const BISECTION_GAP = 1e-10;

/**
 * Cholesky of M (row-major k×k, lower triangle used) and the sums the bound needs, or null when a
 * pivot is not positive: [Σ e_ij², Σ_i ‖l_i‖², Σ m_ij²] over the whole of E = M − LLᵀ and M (the
 * lower triangle, off-diagonal entries counted twice). The native kernels compute the same sums.
 */
export function choleskyResidual(m: Float64Array, k: number): [number, number, number] | null {
  // Cholesky, lower triangle in place (row-major): L is stored in m's lower triangle.
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let pivot = m[j * k + j];
    for (let p = 0; p < j; p++) pivot -= l[j * k + p] * l[j * k + p];
    if (!(pivot > 0)) return null;
    const ljj = Math.sqrt(pivot);
    l[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let s = m[i * k + j];
      for (let p = 0; p < j; p++) s -= l[i * k + p] * l[j * k + p];
      l[i * k + j] = s / ljj;
    }
  }
  // Residual E = M − LLᵀ, computed; each computed entry is within γ_{k+1}(‖l_i‖‖l_j‖ + |m_ij|) of the
  // exact residual of the computed L (dot product of ≤ k terms, then one subtraction).
  const rowNorm = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let p = 0; p <= i; p++) s += l[i * k + p] * l[i * k + p];
    rowNorm[i] = Math.sqrt(s);
  }
  let residualSquares = 0;
  let rowNormSum = 0;
  let mSquares = 0;
  for (let i = 0; i < k; i++) {
    rowNormSum += rowNorm[i] * rowNorm[i];
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p <= j; p++) s += l[i * k + p] * l[j * k + p];
      const e = m[i * k + j] - s;
      const weight = i === j ? 1 : 2;
      residualSquares += weight * e * e;
      mSquares += weight * m[i * k + j] * m[i * k + j];
    }
  }
  return [residualSquares, rowNormSum, mSquares];
}
