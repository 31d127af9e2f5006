// The Lanczos three-term recurrence, shared by the certified operator norms and the eigenvalue estimate
// of the dense exact path. No reorthogonalisation: the a-posteriori certificate (aposterioriBound.ts,
// docs/derivations.md §10b) rests on the recurrence alone, not on the vectors staying orthogonal, so
// only three vectors are kept and a step costs one product plus three passes over the vector.
import { throwIfCancelled, type CancelSignal } from '../errors';
import { nativeKernels, type NativeKernels } from '../native/kernels';
import { SeededRandom } from '../random';
import { largestTridiagonalEigenvalue } from './tridiagonal';

export interface LanczosRun {
  /** Largest Ritz value. */
  theta: number;
  /** Steps taken (order of the tridiagonal matrix T). */
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
 * a Lanczos vector: read it, never change it.
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
  /** Kernels for the vector updates; null runs them in TypeScript (default: the native ones where built). */
  kernels: NativeKernels | null = nativeKernels(),
): LanczosRun {
  const steps = Math.min(maxSteps, n);
  const random = new SeededRandom(seed);
  let q = new Float64Array(n);
  for (let i = 0; i < n; i++) q[i] = random.gaussian();
  scale(q, 1 / norm(q));
  // Before a step: the previous Lanczos vector (zero at first); after it, the next one.
  let other = new Float64Array(n);
  const workspace = new Float64Array(n);
  const alpha: number[] = [];
  const beta: number[] = [];
  let invariantResidual: number | null = null;
  for (let j = 0; j < steps; j++) {
    throwIfCancelled(signal);
    const w = applyS(q, workspace);
    const previousBeta = j > 0 ? beta[j - 1] : 0;
    const [a, b] = kernels ? kernels.lanczosRecurrence(other, q, w, previousBeta) : recurrence(other, q, w, previousBeta);
    alpha.push(a);
    beta.push(b);
    if (j === steps - 1) break;
    if (b <= 1e-13 * Math.max(Math.abs(a), previousBeta, Number.MIN_VALUE)) {
      invariantResidual = b;
      break;
    }
    if (stop && stop(alpha, beta, j + 1, Math.max(0, largestTridiagonalEigenvalue(alpha, beta, j + 1)))) break;
    [q, other] = [other, q];
  }
  return { theta: Math.max(0, largestTridiagonalEigenvalue(alpha, beta, alpha.length)), steps: alpha.length, invariantResidual, alpha, beta };
}

/** The native lanczosRecurrence in TypeScript, operation for operation (Paige's ordering of the update). */
function recurrence(previous: Float64Array, q: Float64Array, w: Float64Array, previousBeta: number): [number, number] {
  let a = 0;
  for (let i = 0; i < w.length; i++) {
    w[i] -= previousBeta * previous[i];
    a += q[i] * w[i];
  }
  let squares = 0;
  for (let i = 0; i < w.length; i++) {
    w[i] -= a * q[i];
    squares += w[i] * w[i];
  }
  const b = Math.sqrt(squares);
  if (b > 0) {
    const inverse = 1 / b;
    for (let i = 0; i < w.length; i++) previous[i] = w[i] * inverse;
  }
  return [a, b];
}

function norm(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function scale(a: Float64Array, s: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= s;
}
