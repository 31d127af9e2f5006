// Loads the compiled float64 kernels, in this order: the native module (src/native, built by esbuild.mjs
// into dist/native/kernels.node), else its WebAssembly build (dist/native/kernels.wasm, for platforms
// without a native build), else none (the TypeScript operators run). Both are looked up beside the
// running bundle (dist/*.js) and in the dist/ of the folders above it. LIPSCHITZ_LENS_KERNELS=typescript
// forces the TypeScript operators (the reference path), =webassembly skips the native module.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { instantiateWasmKernels } from '../wasm/wasmKernels';

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
  setThreads(threads: number): void;
  describe(): { isa: string; threads: number };
}

export type OperatorBackend = 'native' | 'webassembly' | 'typescript';

/** How a forward kernel uses the weights (src/native/kernels.h). */
export const WEIGHT = { plain: 0, squared: 1, absolute: 2 } as const;
export type WeightMode = (typeof WEIGHT)[keyof typeof WEIGHT];

/** Why the native kernels are not running. */
export type KernelsProblem =
  | { kind: 'disabled'; setting: string }
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
      return `LIPSCHITZ_LENS_KERNELS=${problem.setting} asks for the ${problem.setting === 'webassembly' ? 'WebAssembly kernels' : 'TypeScript operators'}. ` +
        'The results are the same, only slower; unset it to use the native kernels.';
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

/** Why the WebAssembly kernels are not running either, in words for the user. */
function describeWasmProblem(problem: KernelsProblem): string {
  switch (problem.kind) {
    case 'disabled':
      return `LIPSCHITZ_LENS_KERNELS=${problem.setting} asks for the TypeScript operators.`;
    case 'missing':
      return 'The WebAssembly kernels are missing from this installation too: reinstall the extension (from a source checkout, `npm run build` builds them with clang).';
    case 'unloadable':
    case 'stale':
      return `The WebAssembly kernels at ${problem.path} do not load either (${problem.kind === 'stale' ? `they lack ${problem.missing.join(', ')}` : problem.error.split('\n')[0]}): reinstall the extension.`;
  }
}

interface Loaded {
  kernels: NativeKernels | null;
  problem: KernelsProblem | undefined;
}

let native: Loaded | undefined;
let wasm: Loaded | undefined;

/** Beside the bundle, then dist/native in this folder's ancestors (sources run by tsx, test bundles in out/). */
function candidates(file: string): string[] {
  const found = [join(__dirname, 'native', file)];
  for (let folder = __dirname, up = 0; up < 6; up++, folder = dirname(folder)) found.push(join(folder, 'dist', 'native', file));
  return found;
}

/** Every function the TypeScript side calls: a stale build that lacks one is refused at load, not mid-analysis. */
const REQUIRED: readonly (keyof NativeKernels)[] = [
  'convPlan', 'convForward', 'convAdjoint', 'convGram', 'denseForward', 'denseAdjoint', 'denseGram', 'denseGramOutput',
  'lanczosRecurrence', 'matVec', 'gramMatrix', 'choleskyResidual', 'setThreads', 'describe',
];

function setting(): string | undefined {
  const value = process.env.LIPSCHITZ_LENS_KERNELS;
  return value === 'typescript' || value === 'webassembly' ? value : undefined;
}

function loadNative(): Loaded {
  const asked = setting();
  if (asked) return { kernels: null, problem: { kind: 'disabled', setting: asked } };
  const path = candidates('kernels.node').find((p) => existsSync(p));
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

function loadWasm(): Loaded {
  if (setting() === 'typescript') return { kernels: null, problem: { kind: 'disabled', setting: 'typescript' } };
  const path = candidates('kernels.wasm').find((p) => existsSync(p));
  if (!path) return { kernels: null, problem: { kind: 'missing', platform: `${process.platform}-${process.arch}` } };
  try {
    return { kernels: instantiateWasmKernels(readFileSync(path)), problem: undefined };
  } catch (error) {
    return { kernels: null, problem: { kind: 'unloadable', path, error: (error as Error).message } };
  }
}

function nativeLoaded(): Loaded {
  native ??= loadNative();
  return native;
}

function wasmLoaded(): Loaded {
  wasm ??= loadWasm();
  return wasm;
}

/** The compiled kernels of the default backend: the native module, else the WebAssembly build; null when neither loads. */
export function nativeKernels(): NativeKernels | null {
  return nativeLoaded().kernels ?? wasmLoaded().kernels;
}

/** Why the native kernels are not running, for the user ('' when they are). */
export function nativeProblem(): string {
  const problem = nativeLoaded().problem;
  return problem ? describeKernelsProblem(problem) : '';
}

/**
 * Why the default backend is not the native one, for the user ('' when the native kernels load): the
 * native module's problem and, when the TypeScript operators run, the WebAssembly build's as well.
 */
export function fallbackReason(): string {
  const reason = nativeProblem();
  if (!reason) return '';
  const wasmProblem = wasmLoaded().problem;
  // A setting that switched both off is said once, by the native reason.
  return wasmProblem && wasmProblem.kind !== 'disabled' ? `${reason} ${describeWasmProblem(wasmProblem)}` : reason;
}

/** 'native' where the native kernels load, else 'webassembly' where their WebAssembly build does, else 'typescript'. */
export function defaultBackend(): OperatorBackend {
  if (nativeLoaded().kernels) return 'native';
  return wasmLoaded().kernels ? 'webassembly' : 'typescript';
}

/** The kernels of a compiled backend; throws, saying why, when they are not available. */
export function kernelsFor(backend: Exclude<OperatorBackend, 'typescript'>): NativeKernels {
  if (backend === 'webassembly') {
    const { kernels, problem } = wasmLoaded();
    if (!kernels) throw new Error(`WebAssembly kernels unavailable: ${problem ? describeWasmProblem(problem) : ''}`);
    return kernels;
  }
  const kernels = nativeLoaded().kernels;
  if (!kernels) throw new Error(`native kernels unavailable: ${nativeProblem()}`);
  return kernels;
}

/** The native kernels, for a caller that asked for the native backend explicitly. */
export function requireNativeKernels(): NativeKernels {
  return kernelsFor('native');
}

