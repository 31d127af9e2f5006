// The Lanczos recurrence with full reorthogonalisation, shared by the certified operator norms and
// the eigenvalue estimate of the dense exact path.
import { throwIfCancelled, type CancelSignal } from '../errors';
import { nativeKernels, type NativeKernels } from '../native/kernels';
import { SeededRandom } from '../random';
import { largestTridiagonalEigenvalue } from './tridiagonal';

export interface LanczosRun {
  /** Largest Ritz value. */
  theta: number;
  /** Steps taken (dimension of the Krylov space). */
  steps: number;
  /** Set when the Krylov space became invariant: the final residual norm. */
  invariantResidual: number | null;
  /** Diagonal of the tridiagonal matrix T (length steps). */
  alpha: number[];
  /** Residual norms: beta[j] = ‖w‖ after step j (length steps); T's off-diagonal is beta[0..steps−2]. */
  beta: number[];
}

/** Asked after every step with the recurrence so far; true stops the iteration early. */
export type LanczosStop = (alpha: readonly number[], beta: readonly number[], steps: number, theta: number) => boolean;

/**
 * S v, written into `out` (length n, free to overwrite) or returned as a new array. The vector v is
 * a stored Lanczos vector: read it, never change it.
 */
export type SymmetricProduct = (v: Float64Array, out: Float64Array) => Float64Array;

/**
 * Runs at most `maxSteps` Lanczos steps on the symmetric operator `applyS` of order n from a Gaussian
 * start drawn with `seed` (uniform on the sphere after normalisation, as the random-start bound needs).
 */
export function lanczos(
  applyS: SymmetricProduct,
  n: number,
  maxSteps: number,
  seed: number,
  signal?: CancelSignal,
  stop?: LanczosStop,
  /** Kernels for the reorthogonalisation; null runs it in TypeScript (default: the native ones where built). */
  kernels: NativeKernels | null = nativeKernels(),
): LanczosRun {
  const steps = Math.min(maxSteps, n);
  const random = new SeededRandom(seed);
  // The Lanczos vectors one after another in one buffer (its pages are only touched as it fills), so
  // the native kernels can reorthogonalise against all of them in one call.
  const store = new Float64Array(steps * n);
  const basis = (i: number) => store.subarray(i * n, (i + 1) * n);
  const coefficients = new Float64Array(steps);
  const alpha: number[] = [];
  const beta: number[] = [];
  let q: Float64Array = basis(0);
  for (let i = 0; i < n; i++) q[i] = random.gaussian();
  scale(q, 1 / norm(q));
  const workspace = new Float64Array(n);
  let taken = 0;
  let invariantResidual: number | null = null;
  for (let j = 0; j < steps; j++) {
    throwIfCancelled(signal);
    const w = applyS(q, workspace);
    // Full reorthogonalisation against every stored Lanczos vector; a second pass only when the first
    // cancelled most of w (Kahan–Parlett "twice is enough" criterion). The native step also writes
    // w / β into the next stored row.
    let a: number;
    let b: number;
    if (kernels) {
      [a, b] = kernels.lanczosStep(store, n, j, w, j > 0 ? beta[j - 1] : 0, coefficients, steps);
    } else {
      a = dot(q, w);
      axpy(-a, q, w);
      if (j > 0) axpy(-beta[j - 1], basis(j - 1), w);
      let before = norm(w);
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i <= j; i++) {
          const v = basis(i);
          axpy(-dot(v, w), v, w);
        }
        const after = norm(w);
        if (after > 0.7 * before) break;
        before = after;
      }
      b = norm(w);
    }
    alpha.push(a);
    taken = j + 1;
    const previous = beta.length > 0 ? beta[beta.length - 1] : 0;
    beta.push(b);
    if (j === steps - 1) break;
    if (b <= 1e-13 * Math.max(Math.abs(a), previous, Number.MIN_VALUE)) {
      invariantResidual = b;
      break;
    }
    if (stop && stop(alpha, beta, taken, Math.max(0, largestTridiagonalEigenvalue(alpha, beta, taken)))) break;
    q = basis(j + 1);
    if (!kernels) {
      q.set(w);
      scale(q, 1 / b);
    }
  }
  return { theta: Math.max(0, largestTridiagonalEigenvalue(alpha, beta, taken)), steps: taken, invariantResidual, alpha, beta };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function scale(a: Float64Array, s: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= s;
}

function axpy(s: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += s * x[i];
}
