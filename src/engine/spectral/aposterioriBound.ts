// An a-posteriori upper bound on λ_max from a Lanczos run, in the spirit of van Dorsselaer, Hochstenbach
// & van der Vorst (SIAM J. Matrix Anal. Appl. 2000). Derivation (docs/derivations.md §10b):
//
// Lanczos from a unit start v1 builds T_k; with p_k(t) = det(tI − T_k) (monic, roots = Ritz values
// θ_1 ≤ … ≤ θ_k ≤ λ_max), p_k(S) v1 = β_1⋯β_k v_{k+1}, so ‖p_k(S) v1‖ = β_1⋯β_k. Writing γ1 for the
// component of v1 along a unit top eigenvector u1: |γ1|·|p_k(λ_max)| = |u1ᵀ p_k(S) v1| ≤ β_1⋯β_k.
// |p_k| increases on [θ_k, ∞); so if τ ≥ θ_k has |p_k(τ)| ≥ β_1⋯β_k / δ0 and λ_max > τ, then |γ1| < δ0.
// For v1 uniform on the sphere, P(|γ1| < δ0) ≤ δ0·sqrt(2(n−1)/π) (Beta(1/2,(n−1)/2) density bound, as in
// randomStartBound.ts). The event is the same for every k, so the bound holds for all k at once and a
// stopping rule that looks at it costs no extra failure probability.

/** log δ0 for failure probability p at dimension n: δ0 = p / sqrt(2(n−1)/π). */
export function logStartThreshold(n: number, failureProbability: number): number {
  return Math.log(failureProbability) - 0.5 * Math.log((2 * Math.max(n - 1, 1)) / Math.PI);
}

/** log |det(τI − T_k)|, or −Infinity when τ is not above every Ritz value (a pivot ≤ 0). */
function logCharacteristic(alpha: readonly number[], beta: readonly number[], k: number, tau: number): number {
  let sum = 0;
  let pivot = 0;
  for (let i = 0; i < k; i++) {
    pivot = tau - alpha[i] - (i > 0 ? (beta[i - 1] * beta[i - 1]) / pivot : 0);
    if (!(pivot > 0)) return -Infinity;
    sum += Math.log(pivot);
  }
  return sum;
}

/**
 * The smallest τ ≥ θ (to a relative 1e-12) with log|p_k(τ)| ≥ Σ log β_j − log δ0: λ_max ≤ τ except
 * when |γ1| < δ0. `beta` holds the k residual norms β_1…β_k (T's off-diagonal is the first k − 1).
 */
export function aposterioriUpper(alpha: readonly number[], beta: readonly number[], k: number, theta: number, logDelta0: number): number {
  let logResidual = 0;
  for (let i = 0; i < k; i++) logResidual += Math.log(beta[i]);
  const target = logResidual - logDelta0;
  if (target === -Infinity) return theta;
  const scale = Math.max(Math.abs(theta), ...alpha.slice(0, k).map(Math.abs), Number.MIN_VALUE);
  let lo = theta;
  let step = 1e-12 * scale;
  let hi = theta + step;
  while (logCharacteristic(alpha, beta, k, hi) < target) {
    lo = hi;
    step *= 2;
    hi = theta + step;
    if (!Number.isFinite(hi)) return Infinity;
  }
  for (let i = 0; i < 100 && hi - lo > 1e-12 * scale; i++) {
    const middle = (lo + hi) / 2;
    if (logCharacteristic(alpha, beta, k, middle) >= target) hi = middle;
    else lo = middle;
  }
  return hi;
}

/**
 * Whether τ (at or above every Ritz value) already satisfies the certificate's condition: the same test
 * aposterioriUpper bisects on, evaluated once, so the stopping rule costs one pass over T per step.
 */
export function certifiesAt(alpha: readonly number[], beta: readonly number[], k: number, tau: number, logDelta0: number): boolean {
  let logResidual = 0;
  for (let i = 0; i < k; i++) logResidual += Math.log(beta[i]);
  return logCharacteristic(alpha, beta, k, tau) >= logResidual - logDelta0;
}
