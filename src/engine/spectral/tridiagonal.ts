// Largest eigenvalue of a symmetric tridiagonal matrix by Sturm-sequence bisection: robust, no
// iteration tuning, accurate to a few ulps of the spectral radius.

export function largestTridiagonalEigenvalue(alpha: ArrayLike<number>, beta: ArrayLike<number>, size: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < size; i++) {
    const radius = (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < size - 1 ? Math.abs(beta[i]) : 0);
    lo = Math.min(lo, alpha[i] - radius);
    hi = Math.max(hi, alpha[i] + radius);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  // Number of eigenvalues strictly below x (Sturm count via the LDLᵀ pivots).
  const countBelow = (x: number): number => {
    let count = 0;
    let pivot = 1;
    for (let i = 0; i < size; i++) {
      const b2 = i > 0 ? beta[i - 1] * beta[i - 1] : 0;
      pivot = alpha[i] - x - (i > 0 ? b2 / pivot : 0);
      if (pivot === 0) pivot = -Number.EPSILON * scale;
      if (pivot < 0) count++;
    }
    return count;
  };
  for (let iter = 0; iter < 200 && hi - lo > 4 * Number.EPSILON * scale; iter++) {
    const mid = (lo + hi) / 2;
    if (countBelow(mid) === size) hi = mid;
    else lo = mid;
  }
  return hi;
}
