// Worst-case failure probability of Lanczos from a random start, derived here (method.md §5 route (a)).
//
// Setting: S symmetric PSD of order n ≥ 3 with eigenvalues λ1 ≥ … ≥ λn ≥ 0, start b uniform on the
// unit sphere, m Lanczos steps, θ the largest Ritz value. Claim, for every δ ∈ (0,1) and c ∈ (0,1):
//
//   P(θ < (1−δ) λ1) ≤ sqrt(2(n−1)/π) · sqrt((1−δ) / ((1−c) δ)) / T_{m−1}((1+cδ)/(1−cδ))
//
// Proof. θ ≥ the Rayleigh quotient of any u = q(S) b with deg q ≤ m−1 (u lies in the Krylov space).
// Take q(λ) = T_{m−1}(2λ/(η λ1) − 1) with η = 1 − cδ: |q| ≤ 1 on [0, ηλ1] and q(λ1) = τ :=
// T_{m−1}((1+cδ)/(1−cδ)). With b_j the eigen-coordinates of b, split indices into H (λ_j > ηλ1) and the
// rest. Dropping the (non-negative) low terms of the numerator and bounding the low terms of the
// denominator by Σ b_j² ≤ 1 gives, with X = Σ_H q_j² b_j² ≥ τ² b_1²,
//   θ ≥ ηλ1 X / (X + 1) ≥ ηλ1 τ² b_1² / (τ² b_1² + 1).
// So θ < (1−δ)λ1 forces b_1² < (1−δ) / ((η − (1−δ)) τ²) = (1−δ) / ((1−c) δ τ²) =: s. For b uniform on the
// sphere b_1² ~ Beta(1/2, (n−1)/2), whose CDF for n ≥ 3 is ≤ 2 sqrt(s) / B(1/2, (n−1)/2)
// ≤ sqrt(2(n−1)/π) sqrt(s) (Wendel: Γ(x+1/2)/Γ(x) ≤ sqrt(x)). With a repeated λ1 any unit top
// eigenvector serves as the first coordinate, so the bound still holds. ∎
//
// This has the shape of Kuczyński & Woźniakowski (SIAM J. Matrix Anal. Appl. 13(4), 1992), whose
// abstract states a failure probability "at most as sqrt(n) e^{−(2k−1)sqrt(ε)}"; the explicit constant
// 1.648 quoted for their theorem could not be checked against the paper's text here, so the engine
// uses the bound above, proved in full, at the price of roughly 20 % more steps for the same δ.
// Any c gives a valid bound; we minimise over a fixed grid of c.

const C_GRID: number[] = Array.from({ length: 241 }, (_, i) => 1 - Math.pow(10, -0.025 * (i + 1)));

/** log T_d(x) for x ≥ 1, exactly: T_d(x) = cosh(d · acosh x). */
function logChebyshev(d: number, x: number): number {
  if (d === 0) return 0;
  const t = d * Math.acosh(x);
  return t + Math.log((1 + Math.exp(-2 * t)) / 2);
}

/** Natural log of the failure-probability bound for given n, m, δ, minimised over the c grid. */
export function logFailureBound(n: number, steps: number, delta: number): number {
  if (n < 3) throw new Error(`random-start bound needs dimension ≥ 3, got ${n}`);
  const logPrefactor = 0.5 * Math.log((2 * (n - 1)) / Math.PI) + 0.5 * Math.log((1 - delta) / delta);
  let best = Infinity;
  for (const c of C_GRID) {
    const x = (1 + c * delta) / (1 - c * delta);
    const value = logPrefactor - 0.5 * Math.log(1 - c) - logChebyshev(steps - 1, x);
    if (value < best) best = value;
  }
  return best;
}

/**
 * The smallest δ (to within a relative 1e-9, rounded up) for which m steps fail with probability at
 * most p; 1 when no δ < 1 works (too few steps for the requested p).
 */
export function certifiedDelta(n: number, steps: number, failureProbability: number): number {
  const target = Math.log(failureProbability);
  if (logFailureBound(n, steps, 1 - 1e-12) > target) return 1;
  let lo = 0;
  let hi = 1 - 1e-12;
  for (let i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (logFailureBound(n, steps, mid) <= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
