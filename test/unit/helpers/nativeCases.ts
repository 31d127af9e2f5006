// Seeded cases and error measures shared by nativeKernels.test.ts, nativeEngine.test.ts and the child
// processes they start (nativeChild.ts): conv geometries, dense shapes, plain-loop references of the
// spectral kernels, and the engine networks. The TypeScript operators are the reference throughout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AnalysisResult } from '../../../src/shared/results';
import type { NativeKernels } from '../../../src/engine/native/kernels';
import { choleskyResidual } from '../../../src/engine/spectral/choleskyCertificate';
import type { ConvParams, Network } from '../../../src/engine/network';
import { ConvOperator, convGeometry, type ConvGeometry } from '../../../src/engine/operators/conv';
import { DenseOperator } from '../../../src/engine/operators/dense';
import type { LinearOperator } from '../../../src/engine/operators/linearOperator';
import { NativeConvOperator } from '../../../src/engine/operators/nativeConv';
import { NativeDenseOperator } from '../../../src/engine/operators/nativeDense';
import { SeededRandom } from '../../../src/engine/random';
import { gamma } from '../../../src/engine/spectral/choleskyCertificate';
import { genericLayer, NETWORK_INPUT, randomArray } from './engineNetworks';
import { randomConvNetwork, randomDenseNetwork, randomGraphNetwork, randomTransposeNetwork } from './engineRandomNetworks';

/**
 * Native against reference products agree to this relative max-abs error. Both are float64 sums of the
 * same products of exactly widened float32 weights, each within γ_K·(|A||x|)_i of the exact value
 * (γ_363 ≈ 4e-14 for an 11×11×3 kernel); for the longest sums here (K = 9216, γ_K ≈ 1e-12) the
 * worst case is not reached by random data, whose rounding errors grow like √K·u (observed ≤ 1e-15).
 */
export const AGREEMENT = 1e-12;

/**
 * Calls with bad arguments and the Error each must throw (a message naming the argument), the same for
 * the native module and its WebAssembly build.
 */
export function argumentErrorCases(k: NativeKernels): [string, () => unknown, RegExp][] {
  const f32 = (n: number) => new Float32Array(n);
  const f64 = (n: number) => new Float64Array(n);
  const plan = k.convPlan(f32(2 * 3 * 9), Int32Array.from([3, 5, 5, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1]));
  return [
    ['Float64Array dense weight', () => k.denseForward(f64(6) as unknown as Float32Array, 2, 3, f64(3), f64(2), 1, false), /dense weight must be a Float32Array/],
    ['short dense weight', () => k.denseForward(f32(5), 2, 3, f64(3), f64(2), 1, false), /dense weight has 5 values, expected 6/],
    ['short dense input', () => k.denseForward(f32(6), 2, 3, f64(2), f64(2), 1, false), /dense input has 2 values, expected 3/],
    ['dense output for the wrong batch', () => k.denseForward(f32(6), 2, 3, f64(6), f64(2), 2, false), /dense output has 2 values, expected 4/],
    ['plain array as dense weight', () => k.denseForward([1, 2, 3, 4, 5, 6] as unknown as Float32Array, 2, 3, f64(3), f64(2), 1, false), /dense weight is not a typed array/],
    ['string row count', () => k.denseForward(f32(6), 'two' as unknown as number, 3, f64(3), f64(2), 1, false), /dense rows is not a number/],
    ['zero columns', () => k.denseAdjoint(f32(0), 2, 0, f64(2), f64(0), 1), /dense columns must be a whole number from 1/],
    ['missing arguments', () => (k.denseGram as unknown as (...a: unknown[]) => void)(f32(6), 2, 3), /expected 7 arguments, got 3/],
    ['Float32Array gram scale', () => k.denseGram(f32(6), 2, 3, f32(2) as unknown as Float64Array, f64(3), f64(3), 1), /dense gram scale must be a Float64Array/],
    ['conv shape of 14 entries', () => k.convPlan(f32(54), new Int32Array(14)), /conv shape has 14 values, expected 15/],
    ['Float64Array conv shape', () => k.convPlan(f32(54), new Float64Array(15) as unknown as Int32Array), /conv shape must be an Int32Array/],
    ['short conv weight', () => k.convPlan(f32(53), Int32Array.from([3, 5, 5, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1])), /conv weight has 53 values, expected 54/],
    ['group not dividing the channels', () => k.convPlan(f32(54), Int32Array.from([3, 5, 5, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 2])), /conv group does not divide/],
    ['not a plan', () => k.convForward({}, f64(75), f64(50), 1, false), /conv plan is not a plan from convPlan\(\)/],
    ['short conv input', () => k.convForward(plan, f64(74), f64(50), 1, false), /conv input has 74 values, expected 75/],
    ['Float32Array conv adjoint output', () => k.convAdjoint(plan, f64(50), f32(75) as unknown as Float64Array, 1), /conv adjoint output must be a Float64Array/],
    ['recurrence vectors of different lengths', () => k.lanczosRecurrence(f64(4), f64(3), f64(3), 1), /previous vector has 4 values, expected 3/],
    ['recurrence product aliasing q', () => { const v = f64(3); k.lanczosRecurrence(f64(3), v, v, 1); }, /three different arrays/],
    ['recurrence with a NaN beta', () => k.lanczosRecurrence(f64(3), f64(3), f64(3), Number.NaN), /previous beta is not a finite number/],
    ['empty recurrence vectors', () => k.lanczosRecurrence(f64(0), f64(0), f64(0), 0), /at least one value/],
    ['matVec result too long', () => k.matVec(f64(6), 2, 3, f64(3), f64(3)), /result has 3 values, expected 2/],
    ['gram buffer too short', () => k.gramMatrix(f64(6), 2, 3, f64(3)), /gram has 3 values, expected 4/],
    ['non-square Cholesky input', () => k.choleskyResidual(f64(5), 2), /matrix has 5 values, expected 4/],
    ['zero threads', () => k.setThreads(0), /threads must be a whole number from 1/],
    // Sizes whose product wraps around 2^64 once passed the length checks and crashed the process.
    ['size beyond 2^31', () => k.denseForward(f32(0), 2 ** 62, 4, f64(16), f64(0), 4, false), /dense rows must be a whole number from 1 to 2\^31/],
    ['fractional size', () => k.denseForward(f32(6), 2.5, 3, f64(3), f64(2), 1, false), /dense rows must be a whole number/],
    ['huge conv', () => k.convPlan(f32(1), Int32Array.from([65536, 65536, 65536, 65536, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1])), /conv weight has 1 values/],
    ['unknown weight mode', () => k.denseForward(f32(6), 2, 3, f64(3), f64(2), 1, 3 as never), /weight mode must be 0 \(plain\), 1 \(squared\) or 2 \(absolute\)/],
  ];
}

// ---- error measures ----

/** max_i |a_i − b_i| / max_i |b_i| (0 when both are all zero). */
export function relativeError(actual: Float64Array, expected: Float64Array): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length}, expected ${expected.length}`);
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (Number.isNaN(difference)) return Infinity;
  return difference === 0 ? 0 : difference / scale;
}

/**
 * max_i |a_i − b_i| / (2γ_terms · magnitude_i), where magnitude_i is Σ|products| of entry i: both values
 * are float64 sums of at most `terms` products (in any order, with or without FMA), each within
 * γ_terms · magnitude_i of the exact sum, so a correct kernel gives at most 1.
 */
export function boundRatio(actual: Float64Array, expected: Float64Array, magnitude: Float64Array, terms: number): number {
  const g = 2 * gamma(terms);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    if (difference === 0) continue;
    worst = Math.max(worst, Number.isNaN(difference) ? Infinity : difference / (g * magnitude[i]));
  }
  return worst;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function gaussianVector(random: SeededRandom, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = random.gaussian();
  return v;
}

function maskVector(random: SeededRandom, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = random.uniform() < 0.6 ? 1 : 0;
  return v;
}

/** Uniform in [−1, 1): cheaper than Gaussians for the 38-million-weight dense case. */
function uniformWeights(random: SeededRandom, n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 2 * random.uniform() - 1;
  return w;
}

const absolute = (v: Float64Array) => v.map(Math.abs);

// ---- operators: native against reference ----

/** How far one native operator is from its TypeScript reference on one seeded case. */
export interface OperatorAgreement {
  /** relativeError of A x, Aᵀ y and (A∘A) d (d a 0/1 mask), native against reference. */
  apply: number;
  applyTranspose: number;
  rowNormsSquared: number;
  /**
   * Dense only: relativeError of gram(x, s) against applyTranspose(s ⊙ apply(x)) of the reference, and
   * of gramOutput(y, d) against apply(d ⊙ applyTranspose(y)) (the larger of the two).
   */
  gram: number;
  /** The largest boundRatio of the products above (≤ 1 when every entry is within its rounding bound). */
  bound: number;
  /**
   * |⟨Ax, y⟩ − ⟨x, Aᵀy⟩| of the native operator over its rounding bound (γ_{K+m} + γ_{K'+n})·⟨|A||x|, |y|⟩:
   * equal in exact arithmetic, each side a float64 sum of the same products.
   */
  adjoint: number;
}

export const NO_DISAGREEMENT: OperatorAgreement = { apply: 0, applyTranspose: 0, rowNormsSquared: 0, gram: 0, bound: 0, adjoint: 0 };

export function worstOf(a: OperatorAgreement, b: OperatorAgreement): OperatorAgreement {
  return {
    apply: Math.max(a.apply, b.apply),
    applyTranspose: Math.max(a.applyTranspose, b.applyTranspose),
    rowNormsSquared: Math.max(a.rowNormsSquared, b.rowNormsSquared),
    gram: Math.max(a.gram, b.gram),
    bound: Math.max(a.bound, b.bound),
    adjoint: Math.max(a.adjoint, b.adjoint),
  };
}

interface Reference {
  native: LinearOperator;
  reference: LinearOperator;
  /** The same operator with |weights|, for the rounding bounds. */
  magnitude: LinearOperator;
  /** Products per output of A and per output of Aᵀ. */
  forwardTerms: number;
  adjointTerms: number;
}

function compare(ops: Reference, random: SeededRandom): OperatorAgreement {
  const { native, reference, magnitude } = ops;
  const x = gaussianVector(random, native.inSize);
  const y = gaussianVector(random, native.outSize);
  const mask = maskVector(random, native.inSize);
  const ax = native.apply(x);
  const aty = native.applyTranspose(y);
  const rows = native.rowNormsSquared(mask);
  const refAx = reference.apply(x);
  const refAty = reference.applyTranspose(y);
  const refRows = reference.rowNormsSquared(mask);
  const magAx = magnitude.apply(absolute(x));
  const magAty = magnitude.applyTranspose(absolute(y));
  let bound = Math.max(
    boundRatio(ax, refAx, magAx, ops.forwardTerms),
    boundRatio(aty, refAty, magAty, ops.adjointTerms),
    // Squares of float32 weights and a 0/1 mask: exact products, so the reference is its own magnitude.
    boundRatio(rows, refRows, refRows, ops.forwardTerms),
  );
  let absoluteError = 0;
  if (native.applyAbsolute) {
    // |A| x against the reference operator built on a copy of |W| (the forward pass's rounding bound).
    const ours = native.applyAbsolute(x);
    const refAbs = magnitude.apply(x);
    absoluteError = relativeError(ours, refAbs);
    bound = Math.max(bound, boundRatio(ours, refAbs, magnitude.apply(absolute(x)), ops.forwardTerms));
  }
  let gramError = 0;
  if (native.gram) {
    const scale = Float64Array.from({ length: native.outSize }, () => (random.uniform() < 0.2 ? 0 : random.uniform()));
    const refGram = reference.applyTranspose(reference.apply(x).map((v, i) => v * scale[i]));
    const ours = native.gram(x, scale);
    gramError = relativeError(ours, refGram);
    const magGram = magnitude.applyTranspose(magAx.map((v, i) => v * scale[i]));
    // Inner sum, one scaling, outer sum: γ_n + u + γ_m ≤ γ_{n+m+1} on either side.
    bound = Math.max(bound, boundRatio(ours, refGram, magGram, ops.forwardTerms + ops.adjointTerms + 1));
  }
  if (native.gramOutput) {
    const scale = Float64Array.from({ length: native.inSize }, () => (random.uniform() < 0.2 ? 0 : random.uniform()));
    const refGram = reference.apply(reference.applyTranspose(y).map((v, j) => v * scale[j]));
    const ours = native.gramOutput(y, scale);
    gramError = Math.max(gramError, relativeError(ours, refGram));
    const magGram = magnitude.apply(magAty.map((v, j) => v * scale[j]));
    bound = Math.max(bound, boundRatio(ours, refGram, magGram, ops.forwardTerms + ops.adjointTerms + 1));
  }
  const lhs = dot(ax, y);
  const rhs = dot(x, aty);
  const scale = dot(magAx, absolute(y));
  const adjointBound = (gamma(ops.forwardTerms + native.outSize) + gamma(ops.adjointTerms + native.inSize)) * scale;
  return {
    apply: Math.max(relativeError(ax, refAx), absoluteError),
    applyTranspose: relativeError(aty, refAty),
    rowNormsSquared: relativeError(rows, refRows),
    gram: gramError,
    bound,
    adjoint: lhs === rhs ? 0 : Math.abs(lhs - rhs) / adjointBound,
  };
}

export interface ConvCase {
  label: string;
  inChannels: number;
  outChannels: number;
  group: number;
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right], as ONNX. */
  pads: [number, number, number, number];
  dilations: [number, number];
  height: number;
  width: number;
}

function conv(label: string, inChannels: number, outChannels: number, group: number, kernel: [number, number], strides: [number, number],
  pads: [number, number, number, number], dilations: [number, number], height: number, width: number): ConvCase {
  return { label, inChannels, outChannels, group, kernel, strides, pads, dilations, height, width };
}

/** Hand-picked geometries: every feature the kernels special-case, at least once. */
export const FIXED_CONV_CASES: ConvCase[] = [
  conv('1×1, no pad', 3, 5, 1, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 7, 9),
  conv('1×1, stride 2, asymmetric pad', 5, 3, 1, [1, 1], [2, 2], [1, 0, 0, 2], [1, 1], 10, 6),
  conv('11×11 stride 4 pad 2, small map', 3, 10, 1, [11, 11], [4, 4], [2, 2, 2, 2], [1, 1], 35, 43),
  conv('depthwise 3×3', 13, 13, 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 12, 17),
  conv('depthwise, stride 2, dilation 2', 9, 9, 9, [3, 3], [2, 2], [2, 1, 2, 3], [2, 2], 15, 14),
  conv('depthwise multiplier 2', 4, 8, 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 9, 11),
  conv('2 groups, mixed strides and dilations', 6, 10, 2, [3, 2], [2, 1], [0, 2, 1, 0], [2, 1], 11, 9),
  conv('pads beyond kernel − 1 on one side', 2, 3, 1, [2, 2], [1, 1], [4, 0, 1, 5], [1, 1], 5, 6),
  conv('kernel wider than the input', 3, 4, 1, [7, 7], [1, 2], [5, 6, 3, 2], [1, 1], 3, 4),
  conv('17 → 23 channels', 17, 23, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 9, 10),
  conv('31 → 33 channels, stride 3', 31, 33, 1, [3, 3], [3, 3], [1, 0, 0, 1], [1, 1], 13, 14),
  conv('1×5 kernel, stride 3 along the width', 5, 7, 1, [1, 5], [1, 3], [0, 2, 0, 2], [1, 1], 4, 29),
  conv('stride 4 over a 2×3 kernel (skipped inputs)', 2, 3, 1, [2, 3], [4, 4], [0, 0, 0, 0], [1, 1], 17, 19),
  conv('8 → 70 channels over several position blocks (threaded)', 8, 70, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 16, 16),
  conv('depthwise 32 on 40×40 (threaded)', 32, 32, 32, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 40, 40),
  conv('one output position', 4, 6, 1, [5, 5], [1, 1], [0, 0, 0, 0], [1, 1], 5, 5),
  conv('one output row', 3, 5, 1, [4, 3], [2, 1], [0, 1, 0, 1], [1, 2], 4, 21),
];

/** AlexNet's first layer: 3×224×224 → 64, 11×11, stride 4, pad 2 (the threaded, blocked path at size). */
export const LARGE_CONV_CASE = conv('3×224×224 → 64, 11×11 stride 4 pad 2', 3, 64, 1, [11, 11], [4, 4], [2, 2, 2, 2], [1, 1], 224, 224);

/** Seeded geometries: strides 1–4, dilations 1–2, groups 1, 2 or depthwise, pads up to kernel + 1. */
export function randomConvCases(random: SeededRandom, count: number): ConvCase[] {
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const kind = random.int(3);
    const group = kind === 0 ? 1 : kind === 1 ? 2 : 1 + random.int(12);
    const inChannels = kind === 2 ? group : group * (1 + random.int(kind === 0 ? 19 : 9));
    const outChannels = kind === 2 ? group * (1 + random.int(2)) : group * (1 + random.int(kind === 0 ? 21 : 9));
    const kernel: [number, number] = [1 + random.int(5), 1 + random.int(5)];
    const strides: [number, number] = [1 + random.int(4), 1 + random.int(4)];
    const dilations: [number, number] = [1 + random.int(2), 1 + random.int(2)];
    const pads: [number, number, number, number] = [
      random.int(kernel[0] + 2), random.int(kernel[1] + 2), random.int(kernel[0] + 2), random.int(kernel[1] + 2),
    ];
    const height = 1 + random.int(24);
    const width = 1 + random.int(24);
    const outH = Math.floor((height + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) / strides[0]) + 1;
    const outW = Math.floor((width + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) / strides[1]) + 1;
    if (outH < 1 || outW < 1) continue;
    const label = `random #${cases.length}: ${inChannels}→${outChannels} g${group} k${kernel} s${strides} p${pads} d${dilations} ${height}×${width}`;
    cases.push({ label, inChannels, outChannels, group, kernel, strides, pads, dilations, height, width });
  }
  return cases;
}

export function convParams(c: ConvCase, weight: Float32Array): ConvParams {
  return {
    kind: 'conv', weight, weightShape: [c.outChannels, c.inChannels / c.group, c.kernel[0], c.kernel[1]],
    strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group,
  };
}

export function convGeometryOf(c: ConvCase, weight: Float32Array): ConvGeometry {
  return convGeometry(convParams(c, weight), [c.inChannels, c.height, c.width], c.label);
}

/** The compiled operator on `kernels` (default: the native module) against the TypeScript reference. */
export function compareConv(c: ConvCase, random: SeededRandom, kernels?: NativeKernels): OperatorAgreement {
  const fanIn = (c.inChannels / c.group) * c.kernel[0] * c.kernel[1];
  const weight = Float32Array.from({ length: c.outChannels * fanIn }, () => random.gaussian() / Math.sqrt(fanIn));
  const geometry = convGeometryOf(c, weight);
  return compare({
    native: new NativeConvOperator(weight, geometry, kernels),
    reference: new ConvOperator(weight, geometry),
    magnitude: new ConvOperator(weight.map(Math.abs), geometry),
    forwardTerms: fanIn,
    adjointTerms: (c.outChannels / c.group) * c.kernel[0] * c.kernel[1],
  }, random);
}

export function compareDense(rows: number, cols: number, random: SeededRandom, kernels?: NativeKernels): OperatorAgreement {
  const weight = uniformWeights(random, rows * cols);
  const native = new NativeDenseOperator(weight, rows, cols, `dense ${rows}×${cols}`, kernels);
  if (!native.gram || !native.gramOutput) throw new Error('NativeDenseOperator has lost gram or gramOutput');
  return compare({
    native,
    reference: new DenseOperator(weight, rows, cols, `dense ${rows}×${cols}`),
    magnitude: new DenseOperator(weight.map(Math.abs), rows, cols, `|dense| ${rows}×${cols}`),
    forwardTerms: cols,
    adjointTerms: rows,
  }, random);
}

/** Column counts 1, 3, 7, 17, 1601 (none a multiple of the 2-, 4- or 8-lane vectors but 1) and varied row counts. */
export const DENSE_SHAPES: [number, number][] = [
  [1, 1], [5, 1], [9, 3], [7, 7], [33, 17], [10, 1601], [129, 1601], [700, 1601], [1601, 7], [3, 4099],
];

/** A VGG-sized fully connected layer: 4096 × 9216 (38 million float32 weights). */
export const LARGE_DENSE_SHAPE: [number, number] = [4096, 9216];

// ---- spectral helpers: native against plain loops ----

export interface RecurrenceAgreement {
  /** |α_native − α_js| / ‖w₀‖ and |β_native − β_js| / ‖w₀‖. */
  alpha: number;
  beta: number;
  /** ‖w_native − w_js‖ / ‖w₀‖ (the updated product) and ‖next_native − next_js‖ (unit vectors). */
  residual: number;
  next: number;
  /** |qᵀw| / ‖w₀‖ after the step: w lost its component along q up to rounding. */
  orthogonality: number;
  /** |‖next‖ − 1|. */
  unitNext: number;
}

/**
 * lanczosRecurrence(previous, q, w, β) on a unit q and a random w₀ (a large component along q, as a
 * Lanczos product has) against the same steps in plain JS.
 */
export function compareLanczosRecurrence(kernels: NativeKernels, random: SeededRandom, n: number): RecurrenceAgreement {
  const unit = (v: Float64Array) => {
    const length = norm(v);
    return v.map((x) => x / length);
  };
  const q = unit(gaussianVector(random, n));
  const previous = unit(gaussianVector(random, n));
  const previousBeta = 0.5 + random.uniform();
  const w0 = gaussianVector(random, n).map((x, i) => x + 3 * q[i]);
  const w = Float64Array.from(w0);
  const next = Float64Array.from(previous);
  const [alpha, beta] = kernels.lanczosRecurrence(next, q, w, previousBeta);
  const expected = Float64Array.from(w0);
  for (let i = 0; i < n; i++) expected[i] -= previousBeta * previous[i];
  const expectedAlpha = dot(q, expected);
  for (let i = 0; i < n; i++) expected[i] -= expectedAlpha * q[i];
  const expectedBeta = norm(expected);
  const expectedNext = expected.map((x) => x / expectedBeta);
  const scale = norm(w0);
  return {
    alpha: Math.abs(alpha - expectedAlpha) / scale,
    beta: Math.abs(beta - expectedBeta) / scale,
    residual: norm(w.map((x, i) => x - expected[i])) / scale,
    next: norm(next.map((x, i) => x - expectedNext[i])),
    orthogonality: Math.abs(dot(q, w)) / scale,
    unitNext: Math.abs(norm(next) - 1),
  };
}

/** matVec against the plain row loop: relativeError and boundRatio (γ_cols · |A||x|). */
export function compareMatVec(kernels: NativeKernels, random: SeededRandom, rows: number, cols: number): { relative: number; bound: number } {
  const a = gaussianVector(random, rows * cols);
  const x = gaussianVector(random, cols);
  const y = new Float64Array(rows);
  kernels.matVec(a, rows, cols, x, y);
  const expected = new Float64Array(rows);
  const magnitude = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      expected[i] += a[i * cols + j] * x[j];
      magnitude[i] += Math.abs(a[i * cols + j] * x[j]);
    }
  }
  return { relative: relativeError(y, expected), bound: boundRatio(y, expected, magnitude, cols) };
}

/** gramMatrix against the plain triple loop: relativeError, boundRatio (γ_inner · Σ|b_it b_jt|) and whether G is exactly symmetric. */
export function compareGramMatrix(kernels: NativeKernels, random: SeededRandom, k: number, inner: number): { relative: number; bound: number; symmetric: boolean } {
  const b = gaussianVector(random, k * inner);
  const g = new Float64Array(k * k);
  kernels.gramMatrix(b, k, inner, g);
  const expected = new Float64Array(k * k);
  const magnitude = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      for (let t = 0; t < inner; t++) {
        expected[i * k + j] += b[i * inner + t] * b[j * inner + t];
        magnitude[i * k + j] += Math.abs(b[i * inner + t] * b[j * inner + t]);
      }
    }
  }
  let symmetric = true;
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) symmetric &&= g[i * k + j] === g[j * k + i];
  return { relative: relativeError(g, expected), bound: boundRatio(g, expected, magnitude, inner), symmetric };
}

/** τI − G for a random Gram matrix G = B Bᵀ: positive definite for τ above λ_max(G), indefinite below max_i G_ii. */
export function shiftedGram(random: SeededRandom, k: number, inner: number, definite: boolean): Float64Array {
  const b = gaussianVector(random, k * inner);
  const g = new Float64Array(k * k);
  let trace = 0;
  let largestDiagonal = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s += b[i * inner + t] * b[j * inner + t];
      g[i * k + j] = s;
    }
    trace += g[i * k + i];
    largestDiagonal = Math.max(largestDiagonal, g[i * k + i]);
  }
  // λ_max ≤ trace (G ⪰ 0) and λ_max ≥ max_i G_ii.
  const tau = definite ? 1.01 * trace : 0.5 * largestDiagonal;
  const m = g.map((v) => -v);
  for (let i = 0; i < k; i++) m[i * k + i] += tau;
  return m;
}

/** Largest relative difference of the three sums (null when exactly one side is null). */
/**
 * choleskyResidual against the JS sums. Σ‖l_i‖² and Σ m_ij² agree to rounding (`relative`); Σ e_ij² is
 * rounding noise itself (E = M − L Lᵀ), so each side's ‖E‖_F is compared with the size the certificate
 * allows for it, γ_{k+1}(Σ‖l_i‖² + ‖M‖_F) (`residual` ≤ 1 on both sides).
 */
export function compareCholeskyResidual(
  kernels: NativeKernels, m: Float64Array, k: number,
): { relative: number; residual: number; native: unknown; reference: unknown } {
  const native = kernels.choleskyResidual(m, k);
  const reference = choleskyResidual(m, k);
  if (native === null || reference === null) return { relative: native === reference ? 0 : Infinity, residual: 0, native, reference };
  const relative = Math.max(...[1, 2].map((i) => (native[i] === reference[i] ? 0 : Math.abs(native[i] - reference[i]) / Math.abs(reference[i]))));
  const allowed = gamma(k + 1) * (reference[1] + Math.sqrt(reference[2]));
  const residual = Math.max(Math.sqrt(native[0]), Math.sqrt(reference[0])) / allowed;
  return { relative, residual, native, reference };
}

// ---- the engine, native against TypeScript ----

/** Seed of the engine cases, shared by nativeEngine.test.ts and its pure-TypeScript child. */
export const ENGINE_SEED = 8128;

export interface EngineCase {
  label: string;
  network: Network;
  x0: Float64Array;
  epsilons: number[];
}

/**
 * A conv → max pool → dense → dense network large enough for the threaded kernels and, on the conv
 * layer (1728 inputs), the Lanczos path by default: 3×24×24 → 16 (3×3, pad 1, ReLU) → 2×2 pool → 128
 * (ReLU, exact path over 128 rows of 2304) → 10.
 */
function mediumNetwork(random: SeededRandom): Network {
  const fanIn = 3 * 9;
  const layers = [
    genericLayer('conv0', {
      kind: 'affine',
      linear: {
        kind: 'conv', weight: randomArray(random, 16 * fanIn, 1 / Math.sqrt(fanIn)), weightShape: [16, 3, 3, 3], bias: randomArray(random, 16, 0.1),
        strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1,
      },
      activation: { kind: 'relu' },
    }, [NETWORK_INPUT], [[3, 24, 24]], [16, 24, 24]),
    genericLayer('pool1', { kind: 'maxPool', kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, [0], [[16, 24, 24]], [16, 12, 12]),
    genericLayer('flatten2', { kind: 'reshape' }, [1], [[16, 12, 12]], [2304]),
    genericLayer('fc3', {
      kind: 'affine',
      linear: { kind: 'dense', weight: randomArray(random, 128 * 2304, 1 / Math.sqrt(2304)), outFeatures: 128, inFeatures: 2304, bias: randomArray(random, 128, 0.1) },
      activation: { kind: 'relu' },
    }, [2], [[2304]], [128]),
    genericLayer('fc4', {
      kind: 'affine',
      linear: { kind: 'dense', weight: randomArray(random, 10 * 128, 1 / Math.sqrt(128)), outFeatures: 10, inFeatures: 128 },
    }, [3], [[128]], [10]),
  ];
  return { inputName: 'x', inputShape: [3, 24, 24], layers, output: 4 };
}

/**
 * 20 seeded networks from the random builders (dense; conv with max/average pools; residual add, concat
 * and global pool; layout transposes around a residual body), then the medium network, each with two
 * radii ε in [0.01, 3].
 */
export function engineCases(seed: number): EngineCase[] {
  const random = new SeededRandom(seed);
  const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork, randomTransposeNetwork];
  const cases: EngineCase[] = [];
  const add = (label: string, network: Network) => {
    const x0 = gaussianVector(random, network.inputShape.reduce((a, b) => a * b, 1));
    cases.push({ label, network, x0, epsilons: [0, 1].map(() => Math.pow(10, random.between(-2, 0.5))) });
  };
  for (let k = 0; k < 20; k++) {
    const build = builders[k % builders.length];
    add(`${build.name} #${k}`, build(random).network);
  }
  add('medium conv/dense network', mediumNetwork(random));
  return cases;
}

/** Lanczos on every layer too (the exact path is the default for these small layers). */
export const LANCZOS_OPTIONS = { exactCutoff: 0, lanczosSteps: 60 };

export interface RunSummary {
  epsilon: number;
  localBound: number;
  layerProduct: number;
  method: string;
  /** Certified norms the composed bound computed (0 without it). */
  composedNorms: number;
  /** ‖J(M)‖, the composed bound's first certified norm (null without it). */
  midpointNorm: number | null;
  spectralBound: number;
  /** Lanczos steps behind each bound (null for exact and closed-form certificates). */
  layers: {
    label: string;
    localBound: number;
    spectralNorm: number;
    localSteps: number | null;
    spectralSteps: number | null;
    /** The certificates' estimates (a Lanczos run's largest Ritz value, square-rooted), null for closed forms. */
    localEstimate: number | null;
    spectralEstimate: number | null;
  }[];
}

export function summarize(result: AnalysisResult): RunSummary[] {
  return result.runs.map((run) => ({
    epsilon: run.epsilon,
    localBound: run.network.localBound,
    layerProduct: run.network.layerProduct,
    method: run.network.method,
    composedNorms: run.network.composed?.norms ?? 0,
    midpointNorm: run.network.composed?.midpointNorm ?? null,
    spectralBound: run.network.spectralBound,
    layers: run.layers.map((layer) => ({
      label: layer.label,
      localBound: layer.localBound,
      spectralNorm: layer.spectralNorm,
      localSteps: layer.certificate.iterations ?? null,
      spectralSteps: layer.spectralCertificate.iterations ?? null,
      localEstimate: layer.certificate.estimate ?? null,
      spectralEstimate: layer.spectralCertificate.estimate ?? null,
    })),
  }));
}

// ---- child processes ----

const run = promisify(execFile);
const CHILD = join(__dirname, 'nativeChild.ts');

/**
 * Runs nativeChild.ts in a fresh Node with the given environment overrides (undefined removes a
 * variable) and returns its parsed JSON output; a failing child rejects with its stderr.
 */
export async function runChild<T>(mode: 'agreement' | 'reference', overrides: Record<string, string | undefined>): Promise<T> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, mode], { env, maxBuffer: 64 << 20 });
    return JSON.parse(stdout) as T;
  } catch (error) {
    const e = error as { message: string; stderr?: string };
    throw new Error(`child '${mode}' with ${JSON.stringify(overrides)} failed: ${e.stderr || e.message}`);
  }
}
