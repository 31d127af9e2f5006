// Loads the native float64 kernels (src/native, built by esbuild.mjs into dist/native/kernels.node),
// looked up beside the running bundle (dist/*.js) and in the dist/ of the folders above it. LIPSCHITZ_LENS_KERNELS=typescript forces the TypeScript operators (the reference path).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface NativeKernels {
  convPlan(weight: Float32Array, shape: Int32Array): object;
  /** y = A x with the weights as they are, squared (true or WEIGHT.squared) or absolute. */
  convForward(plan: object, x: Float64Array, y: Float64Array, batch: number, mode: boolean | WeightMode): void;
  convAdjoint(plan: object, y: Float64Array, x: Float64Array, batch: number): void;
  /** out = Aᵀ diag(scale) A v (input side), or A diag(scale) Aᵀ v (output side). */
  convGram(plan: object, v: Float64Array, scale: Float64Array, out: Float64Array, outputSide: boolean): void;
  denseForward(weight: Float32Array, rows: number, cols: number, x: Float64Array, y: Float64Array, batch: number, mode: boolean | WeightMode): void;
  denseAdjoint(weight: Float32Array, rows: number, cols: number, y: Float64Array, x: Float64Array, batch: number): void;
  denseGram(weight: Float32Array, rows: number, cols: number, scale: Float64Array, x: Float64Array, out: Float64Array, batch: number): void;
  /** out = W diag(scale) Wᵀ y. */
  denseGramOutput(weight: Float32Array, rows: number, cols: number, scale: Float64Array, y: Float64Array, out: Float64Array): void;
  /**
   * One step of the plain Lanczos recurrence on w = S q: w −= β_prev · previous, α = qᵀw, w −= α q,
   * β = ‖w‖, and previous = w / β when β > 0. Returns [α, β].
   */
  lanczosRecurrence(previous: Float64Array, q: Float64Array, w: Float64Array, previousBeta: number): [number, number];
  /** y = A x for a row-major float64 matrix. */
  matVec(matrix: Float64Array, rows: number, cols: number, x: Float64Array, y: Float64Array): void;
  /** G = B Bᵀ for a row-major k × inner block. */
  gramMatrix(block: Float64Array, k: number, inner: number, gram: Float64Array): void;
  /** The sums of choleskyCertificate.ts for M = L Lᵀ + E, or null when a pivot is not positive. */
  choleskyResidual(matrix: Float64Array, k: number): [number, number, number] | null;
  /** Asks Linux to back the buffer's whole 2 MiB pages with huge pages before first use; false where refused. */
  adviseHugePages(buffer: ArrayBuffer): boolean;
  setThreads(threads: number): void;
  describe(): { isa: string; threads: number };
}

export type OperatorBackend = 'native' | 'typescript';

/** How a forward kernel uses the weights (src/native/kernels.h). */
export const WEIGHT = { plain: 0, squared: 1, absolute: 2 } as const;
export type WeightMode = (typeof WEIGHT)[keyof typeof WEIGHT];

/** Why the native kernels are not running. */
export type KernelsProblem =
  | { kind: 'disabled' }
  | { kind: 'missing'; platform: string }
  | { kind: 'unloadable'; path: string; error: string }
  | { kind: 'stale'; path: string; missing: string[] };

/**
 * The problem in words for someone who installed the extension: what happened, that the numbers do not
 * change, and what to do about the speed.
 */
export function describeKernelsProblem(problem: KernelsProblem): string {
  switch (problem.kind) {
    case 'disabled':
      return 'LIPSCHITZ_LENS_KERNELS=typescript asks for the TypeScript operators; unset it to use the native kernels.';
    case 'missing':
      return `this installation has no native kernels for ${problem.platform}. The results are the same, only slower. ` +
        'The linux-x64 package of Lipschitz Lens carries them; from a source checkout, `npm run build` compiles them (it needs a C++ compiler).';
    case 'unloadable':
      return `the native kernels do not load on this system (${problem.error.split('\n')[0]}). The results are the same, only slower. ` +
        'They need x86-64 Linux with glibc 2.28 or newer; if this system has that, please report this message.';
    case 'stale':
      return `the native kernels at ${problem.path} are from an older version and lack ${problem.missing.join(', ')}. ` +
        'Reinstall the extension (from a source checkout: `npm run build`).';
  }
}

let loaded: { kernels: NativeKernels | null; problem: KernelsProblem | undefined } | undefined;

/** Beside the bundle, then dist/native in this folder's ancestors (sources run by tsx, test bundles in out/). */
function candidates(): string[] {
  const found = [join(__dirname, 'native', 'kernels.node')];
  for (let folder = __dirname, up = 0; up < 6; up++, folder = dirname(folder)) found.push(join(folder, 'dist', 'native', 'kernels.node'));
  return found;
}

/** Every function the TypeScript side calls: a stale build that lacks one is refused at load, not mid-analysis. */
const REQUIRED: readonly (keyof NativeKernels)[] = [
  'convPlan', 'convForward', 'convAdjoint', 'convGram', 'denseForward', 'denseAdjoint', 'denseGram', 'denseGramOutput',
  'lanczosRecurrence', 'matVec', 'gramMatrix', 'choleskyResidual', 'adviseHugePages', 'setThreads', 'describe',
];

function load(): { kernels: NativeKernels | null; problem: KernelsProblem | undefined } {
  if (process.env.LIPSCHITZ_LENS_KERNELS === 'typescript') return { kernels: null, problem: { kind: 'disabled' } };
  const path = candidates().find((p) => existsSync(p));
  if (!path) return { kernels: null, problem: { kind: 'missing', platform: `${process.platform}-${process.arch}` } };
  let kernels: Partial<NativeKernels>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    kernels = require(path) as Partial<NativeKernels>;
  } catch (error) {
    return { kernels: null, problem: { kind: 'unloadable', path, error: (error as Error).message } };
  }
  const missing = REQUIRED.filter((name) => typeof kernels[name] !== 'function');
  if (missing.length > 0) return { kernels: null, problem: { kind: 'stale', path, missing } };
  return { kernels: kernels as NativeKernels, problem: undefined };
}

/** The native kernels, or null when they are not available (see nativeProblem()). */
export function nativeKernels(): NativeKernels | null {
  loaded ??= load();
  return loaded.kernels;
}

/** Why the native kernels are not available, for the user ('' when they are). */
export function nativeProblem(): string {
  loaded ??= load();
  return loaded.problem ? describeKernelsProblem(loaded.problem) : '';
}

/** 'native' where the kernels load, else 'typescript'. */
export function defaultBackend(): OperatorBackend {
  return nativeKernels() ? 'native' : 'typescript';
}

/** The kernels, for a caller that asked for the native backend explicitly. */
export function requireNativeKernels(): NativeKernels {
  const kernels = nativeKernels();
  if (!kernels) throw new Error(`native kernels unavailable: ${nativeProblem()}`);
  return kernels;
}

/**
 * A fresh zeroed buffer for a model file or a large weight, advised onto huge pages where the kernels
 * load: faulting in hundreds of MB page by page costs seconds on the VMs measured (README, Performance).
 */
export function allocateLarge(byteLength: number): ArrayBuffer {
  const buffer = new ArrayBuffer(byteLength);
  if (byteLength >= HUGE_PAGE_BYTES) nativeKernels()?.adviseHugePages(buffer);
  return buffer;
}

const HUGE_PAGE_BYTES = 2 ** 21;
