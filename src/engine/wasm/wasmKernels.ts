// The WebAssembly build of the kernels (src/native/kernelsWasm.cc, built by esbuild.mjs into
// dist/native/kernels.wasm) behind the same interface as the native module: it checks every argument as
// kernels.cc does (the same messages), copies the arrays into the module's memory, runs the kernels on
// one thread with SIMD128 and copies the results back. No imports: the module needs nothing from outside.

import type { NativeKernels, WeightMode } from '../native/kernels';

interface KernelExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  allocate(bytes: number): number;
  release(pointer: number): void;
  convPlan(weight: number, shape: number): number;
  convPlanRelease(plan: number): void;
  convForward(plan: number, x: number, y: number, batch: number, mode: number): void;
  convAdjoint(plan: number, y: number, x: number, batch: number): void;
  convGram(plan: number, v: number, scale: number, out: number, outputSide: number): void;
  denseForward(w: number, rows: number, cols: number, x: number, y: number, batch: number, mode: number): void;
  denseAdjoint(w: number, rows: number, cols: number, y: number, x: number, batch: number): void;
  denseGram(w: number, rows: number, cols: number, scale: number, x: number, out: number, batch: number): void;
  denseGramOutput(w: number, rows: number, cols: number, scale: number, y: number, out: number): void;
  lanczosRecurrence(previous: number, q: number, w: number, n: number, previousBeta: number, alphaBeta: number): void;
  matVec(a: number, rows: number, cols: number, x: number, y: number): void;
  gramMatrix(b: number, k: number, inner: number, g: number): void;
  choleskyResidual(m: number, k: number, sums: number): number;
}

/** The label the engine log and the benchmark show for these kernels. */
export const WASM_ISA = 'WebAssembly SIMD128';

const MAX_SIZE = 2 ** 31;

type Typed = Float32Array | Float64Array | Int32Array;
type TypedConstructor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;

function checkCount(given: number, count: number): void {
  if (given < count) throw new Error(`expected ${count} arguments, got ${given}`);
}

/** A typed array of the expected kind (and length, when given), with kernels.cc's messages. */
function typedArray<T extends Typed>(value: unknown, kind: TypedConstructor, length: number | undefined, what: string): T {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) throw new Error(`${what} is not a typed array`);
  if (!(value instanceof kind)) throw new Error(`${what} must be a${kind === Int32Array ? 'n' : ''} ${kind.name}`);
  if (length !== undefined && value.length !== length) throw new Error(`${what} has ${value.length} values, expected ${length}`);
  return value as T;
}

/** Sizes, counts and batches: whole numbers from `min` to 2^31. */
function integer(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number') throw new Error(`${what} is not a number`);
  if (!Number.isInteger(value) || value < min || value > MAX_SIZE) throw new Error(`${what} must be a whole number from ${min} to 2^31, got ${value}`);
  return value;
}

/** 0 plain, 1 squared, 2 absolute (true and false stand for squared and plain). */
function weightMode(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  const mode = integer(value, 'weight mode', 0);
  if (mode > 2) throw new Error('weight mode must be 0 (plain), 1 (squared) or 2 (absolute)');
  return mode;
}

interface Plan {
  pointer: number;
  inSize: number;
  outSize: number;
}

/** The kernels of one module instance. */
class WasmKernels implements NativeKernels {
  private readonly exports: KernelExports;
  /** Dense weights copied into the module once, kept while their Float32Array lives (model weights do not change). */
  private readonly weights = new WeakMap<Float32Array, number>();
  private readonly releaseWeights: FinalizationRegistry<number>;
  private readonly plans = new WeakMap<object, Plan>();
  private readonly releasePlans: FinalizationRegistry<number>;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    this.exports._initialize();
    this.releaseWeights = new FinalizationRegistry((pointer) => this.exports.release(pointer));
    this.releasePlans = new FinalizationRegistry((pointer) => this.exports.convPlanRelease(pointer));
  }

  convPlan(weight: Float32Array, shape: Int32Array): object {
    checkCount(arguments.length, 2);
    const s = typedArray<Int32Array>(shape, Int32Array, 15, 'conv shape');
    s.forEach((entry, i) => {
      if (entry < (i === 10 || i === 11 ? 0 : 1)) throw new Error(`conv shape entry ${i} is ${entry}`);
    });
    const [inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, kernelH, kernelW] = s;
    const group = s[14];
    if (inChannels % group || outChannels % group) throw new Error('conv group does not divide the channels');
    const w = typedArray<Float32Array>(weight, Float32Array, outChannels * (inChannels / group) * kernelH * kernelW, 'conv weight');
    const plan: Plan = { pointer: 0, inSize: inChannels * inHeight * inWidth, outSize: outChannels * outHeight * outWidth };
    this.call(() => {
      const [wp, sp] = [this.copyIn(w), this.copyIn(s)];
      try {
        plan.pointer = this.exports.convPlan(wp, sp);
      } finally {
        this.free(wp, sp);
      }
    });
    if (plan.pointer === 0) throw new Error('conv shape: a size overflows');
    const handle = {};
    this.plans.set(handle, plan);
    this.releasePlans.register(handle, plan.pointer);
    return handle;
  }

  convForward(plan: object, x: Float64Array, y: Float64Array, batch: number, mode: boolean | WeightMode): void {
    checkCount(arguments.length, 5);
    const p = this.planOf(plan);
    const b = integer(batch, 'batch', 1);
    typedArray(x, Float64Array, b * p.inSize, 'conv input');
    typedArray(y, Float64Array, b * p.outSize, 'conv output');
    const m = weightMode(mode);
    this.run([x], [y], ([xp], [yp]) => this.exports.convForward(p.pointer, xp, yp, b, m));
  }

  convAdjoint(plan: object, y: Float64Array, x: Float64Array, batch: number): void {
    checkCount(arguments.length, 4);
    const p = this.planOf(plan);
    const b = integer(batch, 'batch', 1);
    typedArray(y, Float64Array, b * p.outSize, 'conv adjoint input');
    typedArray(x, Float64Array, b * p.inSize, 'conv adjoint output');
    this.run([y], [x], ([yp], [xp]) => this.exports.convAdjoint(p.pointer, yp, xp, b));
  }

  convGram(plan: object, v: Float64Array, scale: Float64Array, out: Float64Array, outputSide: boolean): void {
    checkCount(arguments.length, 5);
    const p = this.planOf(plan);
    const side = outputSide === true;
    const [size, middle] = side ? [p.outSize, p.inSize] : [p.inSize, p.outSize];
    typedArray(v, Float64Array, size, 'conv gram input');
    typedArray(scale, Float64Array, middle, 'conv gram scale');
    typedArray(out, Float64Array, size, 'conv gram output');
    this.run([v, scale], [out], ([vp, sp], [op]) => this.exports.convGram(p.pointer, vp, sp, op, side ? 1 : 0));
  }

  denseForward(weight: Float32Array, rows: number, cols: number, x: Float64Array, y: Float64Array, batch: number, mode: boolean | WeightMode): void {
    checkCount(arguments.length, 7);
    const d = this.dense(weight, rows, cols);
    const b = integer(batch, 'batch', 1);
    typedArray(x, Float64Array, b * d.cols, 'dense input');
    typedArray(y, Float64Array, b * d.rows, 'dense output');
    const m = weightMode(mode);
    this.run([x], [y], ([xp], [yp]) => this.exports.denseForward(this.weightPointer(d.w), d.rows, d.cols, xp, yp, b, m));
  }

  denseAdjoint(weight: Float32Array, rows: number, cols: number, y: Float64Array, x: Float64Array, batch: number): void {
    checkCount(arguments.length, 6);
    const d = this.dense(weight, rows, cols);
    const b = integer(batch, 'batch', 1);
    typedArray(y, Float64Array, b * d.rows, 'dense adjoint input');
    typedArray(x, Float64Array, b * d.cols, 'dense adjoint output');
    this.run([y], [x], ([yp], [xp]) => this.exports.denseAdjoint(this.weightPointer(d.w), d.rows, d.cols, yp, xp, b));
  }

  denseGram(weight: Float32Array, rows: number, cols: number, scale: Float64Array, x: Float64Array, out: Float64Array, batch: number): void {
    checkCount(arguments.length, 7);
    const d = this.dense(weight, rows, cols);
    const b = integer(batch, 'batch', 1);
    typedArray(scale, Float64Array, d.rows, 'dense gram scale');
    typedArray(x, Float64Array, b * d.cols, 'dense gram input');
    typedArray(out, Float64Array, b * d.cols, 'dense gram output');
    this.run([scale, x], [out], ([sp, xp], [op]) => this.exports.denseGram(this.weightPointer(d.w), d.rows, d.cols, sp, xp, op, b));
  }

  denseGramOutput(weight: Float32Array, rows: number, cols: number, scale: Float64Array, y: Float64Array, out: Float64Array): void {
    checkCount(arguments.length, 6);
    const d = this.dense(weight, rows, cols);
    typedArray(scale, Float64Array, d.cols, 'dense gram scale');
    typedArray(y, Float64Array, d.rows, 'dense gram input');
    typedArray(out, Float64Array, d.rows, 'dense gram output');
    this.run([scale, y], [out], ([sp, yp], [op]) => this.exports.denseGramOutput(this.weightPointer(d.w), d.rows, d.cols, sp, yp, op));
  }

  lanczosRecurrence(previous: Float64Array, q: Float64Array, w: Float64Array, previousBeta: number): [number, number] {
    checkCount(arguments.length, 4);
    const current = typedArray<Float64Array>(q, Float64Array, undefined, 'current vector');
    const n = current.length;
    if (n < 1) throw new Error('vectors must hold at least one value');
    typedArray(previous, Float64Array, n, 'previous vector');
    typedArray(w, Float64Array, n, 'product');
    if (typeof previousBeta !== 'number' || !Number.isFinite(previousBeta)) throw new Error('previous beta is not a finite number');
    if (previous === w || q === w || previous === q) throw new Error('previous, current and product must be three different arrays');
    const alphaBeta = new Float64Array(2);
    // previous and w are both read and written.
    this.run([previous, q, w], [alphaBeta], ([pp, qp, wp], [ab]) => this.exports.lanczosRecurrence(pp, qp, wp, n, previousBeta, ab), [0, 2]);
    return [alphaBeta[0], alphaBeta[1]];
  }

  matVec(matrix: Float64Array, rows: number, cols: number, x: Float64Array, y: Float64Array): void {
    checkCount(arguments.length, 5);
    const r = integer(rows, 'rows', 1);
    const c = integer(cols, 'columns', 1);
    typedArray(matrix, Float64Array, r * c, 'matrix');
    typedArray(x, Float64Array, c, 'vector');
    typedArray(y, Float64Array, r, 'result');
    this.run([matrix, x], [y], ([ap, xp], [yp]) => this.exports.matVec(ap, r, c, xp, yp));
  }

  gramMatrix(block: Float64Array, k: number, inner: number, gram: Float64Array): void {
    checkCount(arguments.length, 4);
    const rows = integer(k, 'rows', 1);
    const n = integer(inner, 'inner dimension', 1);
    typedArray(block, Float64Array, rows * n, 'block');
    typedArray(gram, Float64Array, rows * rows, 'gram');
    this.run([block], [gram], ([bp], [gp]) => this.exports.gramMatrix(bp, rows, n, gp));
  }

  choleskyResidual(matrix: Float64Array, k: number): [number, number, number] | null {
    checkCount(arguments.length, 2);
    const order = integer(k, 'order', 1);
    typedArray(matrix, Float64Array, order * order, 'matrix');
    const sums = new Float64Array(3);
    let definite = 0;
    this.run([matrix], [sums], ([mp], [sp]) => {
      definite = this.exports.choleskyResidual(mp, order, sp);
    });
    return definite ? [sums[0], sums[1], sums[2]] : null;
  }

  /** One thread, always: the WebAssembly build runs on the calling thread (the count is still checked). */
  setThreads(threads: number): void {
    checkCount(arguments.length, 1);
    integer(threads, 'threads', 1);
  }

  describe(): { isa: string; threads: number } {
    return { isa: WASM_ISA, threads: 1 };
  }

  private dense(weight: unknown, rows: unknown, cols: unknown): { w: Float32Array; rows: number; cols: number } {
    const r = integer(rows, 'dense rows', 1);
    const c = integer(cols, 'dense columns', 1);
    return { w: typedArray<Float32Array>(weight, Float32Array, r * c, 'dense weight'), rows: r, cols: c };
  }

  private planOf(plan: unknown): Plan {
    const found = typeof plan === 'object' && plan !== null ? this.plans.get(plan) : undefined;
    if (!found) throw new Error('conv plan is not a plan from convPlan()');
    return found;
  }

  /** The module's copy of a dense weight matrix, made on first use. */
  private weightPointer(weight: Float32Array): number {
    let pointer = this.weights.get(weight);
    if (pointer === undefined) {
      pointer = this.copyIn(weight);
      this.weights.set(weight, pointer);
      this.releaseWeights.register(weight, pointer);
    }
    return pointer;
  }

  private allocate(bytes: number): number {
    // malloc(0) may return null; every buffer gets at least one byte.
    const pointer = this.exports.allocate(Math.max(bytes, 8));
    if (pointer === 0) throw new Error(`WebAssembly kernels: out of memory (${bytes} bytes requested; the module's memory is limited to 4 GiB)`);
    return pointer;
  }

  private copyIn(array: Typed): number {
    const pointer = this.allocate(array.byteLength);
    // A fresh view: growing the memory detaches the old buffer.
    new Uint8Array(this.exports.memory.buffer, pointer, array.byteLength).set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return pointer;
  }

  private free(...pointers: number[]): void {
    for (const pointer of pointers) this.exports.release(pointer);
  }

  /**
   * Copies `inputs` in, gives `body` their pointers and room for `outputs`, then copies the outputs out
   * (and the inputs listed in `readBack`, which the call updates in place), freeing everything after.
   */
  private run(inputs: Float64Array[], outputs: Float64Array[], body: (inputs: number[], outputs: number[]) => void, readBack: number[] = []): void {
    this.call(() => {
      const pointers: number[] = [];
      try {
        for (const input of inputs) pointers.push(this.copyIn(input));
        for (const output of outputs) pointers.push(this.allocate(output.byteLength));
        const outputPointers = pointers.slice(inputs.length);
        body(pointers.slice(0, inputs.length), outputPointers);
        const memory = this.exports.memory.buffer;
        outputs.forEach((output, i) => output.set(new Float64Array(memory, outputPointers[i], output.length)));
        for (const i of readBack) inputs[i].set(new Float64Array(memory, pointers[i], inputs[i].length));
      } finally {
        this.free(...pointers);
      }
    });
  }

  /** A trap inside the module (an allocation that failed in C++) as an Error that says what happened. */
  private call(body: () => void): void {
    try {
      body();
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) throw new Error(`WebAssembly kernels: ${error.message} (out of memory?)`);
      throw error;
    }
  }
}

/** Compiles and instantiates kernels.wasm (its bytes); throws when the module is not a valid build. */
export function instantiateWasmKernels(bytes: Uint8Array<ArrayBuffer>): NativeKernels {
  const module = new WebAssembly.Module(bytes);
  const names = new Set(WebAssembly.Module.exports(module).map((entry) => entry.name));
  const missing = ['memory', '_initialize', 'allocate', 'release', 'convPlan', 'convPlanRelease', 'convForward', 'convAdjoint', 'convGram',
    'denseForward', 'denseAdjoint', 'denseGram', 'denseGramOutput', 'lanczosRecurrence', 'matVec', 'gramMatrix', 'choleskyResidual'].filter((name) => !names.has(name));
  if (missing.length > 0) throw new Error(`kernels.wasm lacks ${missing.join(', ')}`);
  return new WasmKernels(module);
}
