// The native float64 kernels (src/native) against the TypeScript reference: the conv and dense
// operators on seeded geometries up to AlexNet/VGG sizes, every instruction-set build (one child
// process each), the spectral helpers against plain loops, and argument errors. Expected values come
// from the TypeScript operators (src/engine/operators) or plain JS loops; tolerances are explained at
// AGREEMENT (helpers/nativeCases.ts) and where they are used.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defaultBackend, nativeProblem, requireNativeKernels, type NativeKernels } from '../../src/engine/native/kernels';
import { ConvOperator } from '../../src/engine/operators/conv';
import { NativeConvOperator } from '../../src/engine/operators/nativeConv';
import { NativeDenseOperator } from '../../src/engine/operators/nativeDense';
import { SeededRandom } from '../../src/engine/random';
import { gamma } from '../../src/engine/spectral/choleskyCertificate';
import {
  AGREEMENT, argumentErrorCases, compareCholeskyResidual, compareConv, compareDense, compareGramMatrix, compareLanczosRecurrence, compareMatVec,
  convGeometryOf, DENSE_SHAPES, FIXED_CONV_CASES, LARGE_CONV_CASE, LARGE_DENSE_SHAPE, randomConvCases, relativeError,
  runChild, shiftedGram, type OperatorAgreement,
} from './helpers/nativeCases';

const ISAS = ['avx512', 'avx2', 'generic'];

/** The kernels, or a failure that says why they are missing (never a skip). */
function kernels(): NativeKernels {
  try {
    return requireNativeKernels();
  } catch (error) {
    throw new Error(`${(error as Error).message}. These tests need them: build with \`node esbuild.mjs\` (g++ and Node's headers) and leave LIPSCHITZ_LENS_KERNELS unset`);
  }
}

/** Asserts one case's agreement: every product within AGREEMENT and within its rigorous rounding bound. */
function assertAgreement(label: string, a: OperatorAgreement): void {
  assert.ok(a.apply <= AGREEMENT, `${label}: apply differs by ${a.apply} (relative max-abs)`);
  assert.ok(a.applyTranspose <= AGREEMENT, `${label}: applyTranspose differs by ${a.applyTranspose}`);
  assert.ok(a.rowNormsSquared <= AGREEMENT, `${label}: rowNormsSquared differs by ${a.rowNormsSquared}`);
  assert.ok(a.gram <= AGREEMENT, `${label}: gram differs by ${a.gram}`);
  assert.ok(a.bound <= 1, `${label}: an entry differs by ${a.bound}× its rounding bound 2γ_K·(|A||x|)_i`);
  assert.ok(a.adjoint <= 1, `${label}: ⟨Ax,y⟩ − ⟨x,Aᵀy⟩ is ${a.adjoint}× its rounding bound`);
}

/** The instruction sets the CPU offers, from /proc/cpuinfo (null where that file does not exist). */
function cpuFlags(): Set<string> | null {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return flags ? new Set(flags[1].trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

/** The build kernels.cc must choose for LIPSCHITZ_LENS_ISA = requested, or null when the CPU cannot be read. */
function expectedIsa(requested: 'avx2' | 'generic' | undefined): string | null {
  if (process.arch !== 'x64') return 'generic';
  const flags = cpuFlags();
  if (!flags) return null;
  if (requested === undefined && flags.has('avx512f') && flags.has('avx512dq')) return 'avx512';
  if (requested !== 'generic' && flags.has('avx2') && flags.has('fma')) return 'avx2';
  return 'generic';
}

describe('native kernels', () => {
  it('load, and report an instruction set and at least one thread', () => {
    assert.equal(nativeProblem(), '', `the native kernels did not load: ${nativeProblem()}`);
    const { isa, threads } = kernels().describe();
    assert.ok(ISAS.includes(isa), `describe().isa is '${isa}'`);
    assert.ok(Number.isInteger(threads) && threads >= 1, `describe().threads is ${threads}`);
    assert.equal(defaultBackend(), 'native');
  });

  it('conv: NativeConvOperator equals ConvOperator on 25 geometries and at AlexNet size', (t) => {
    kernels();
    const random = new SeededRandom(20251201);
    const cases = [...FIXED_CONV_CASES, ...randomConvCases(random, 8)];
    assert.equal(cases.length, 25);
    let worst = 0;
    for (const c of [...cases, LARGE_CONV_CASE]) {
      const agreement = compareConv(c, random);
      assertAgreement(`conv ${c.label}`, agreement);
      worst = Math.max(worst, agreement.apply, agreement.applyTranspose, agreement.rowNormsSquared);
    }
    t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
  });

  it('dense: NativeDenseOperator equals DenseOperator (apply, adjoint, row norms, fused Gram) incl. 4096×9216', (t) => {
    kernels();
    const random = new SeededRandom(777001);
    let worst = 0;
    for (const [rows, cols] of [...DENSE_SHAPES, LARGE_DENSE_SHAPE]) {
      const agreement = compareDense(rows, cols, random);
      assertAgreement(`dense ${rows}×${cols}`, agreement);
      worst = Math.max(worst, agreement.apply, agreement.applyTranspose, agreement.rowNormsSquared, agreement.gram);
    }
    t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
  });

  it('results repeat bit for bit, and agree for 1 and 3 threads as well', () => {
    const k = kernels();
    const random = new SeededRandom(3003);
    // The pool partitions work statically by thread index, so a repeat is bitwise identical.
    const weight = Float32Array.from({ length: 64 * 3 * 121 }, () => random.gaussian());
    const geometry = convGeometryOf(LARGE_CONV_CASE, weight);
    const op = new NativeConvOperator(weight, geometry);
    const x = Float64Array.from({ length: op.inSize }, () => random.gaussian());
    const y = Float64Array.from({ length: op.outSize }, () => random.gaussian());
    assert.deepEqual(op.apply(x), op.apply(x), 'conv apply repeated');
    assert.deepEqual(op.applyTranspose(y), op.applyTranspose(y), 'conv applyTranspose repeated');
    const dense = new NativeDenseOperator(Float32Array.from({ length: 700 * 1601 }, () => random.gaussian()), 700, 1601, 'dense');
    const dx = Float64Array.from({ length: 1601 }, () => random.gaussian());
    const dy = Float64Array.from({ length: 700 }, () => random.gaussian());
    assert.deepEqual(dense.apply(dx), dense.apply(dx), 'dense apply repeated');
    assert.deepEqual(dense.applyTranspose(dy), dense.applyTranspose(dy), 'dense applyTranspose repeated');

    const reference = new ConvOperator(weight, geometry);
    const expected = { apply: reference.apply(x), applyTranspose: reference.applyTranspose(y) };
    const original = k.describe().threads;
    const threaded = [FIXED_CONV_CASES.find((c) => c.label.includes('8 → 70')), FIXED_CONV_CASES.find((c) => c.label.includes('depthwise 32'))];
    try {
      for (const threads of [1, 3]) {
        k.setThreads(threads);
        assert.equal(k.describe().threads, threads);
        // Other thread counts only regroup the same float64 sums (tolerance as for the default count).
        assert.ok(relativeError(op.apply(x), expected.apply) <= AGREEMENT, `conv apply, ${threads} threads`);
        assert.ok(relativeError(op.applyTranspose(y), expected.applyTranspose) <= AGREEMENT, `conv applyTranspose, ${threads} threads`);
        for (const c of threaded) {
          assert.ok(c);
          assertAgreement(`${c.label}, ${threads} threads`, compareConv(c, random));
        }
        assertAgreement(`dense 700×1601, ${threads} threads`, compareDense(700, 1601, random));
        const step = compareLanczosRecurrence(k, random, 100_003);
        assert.ok(Math.max(step.alpha, step.beta, step.residual, step.next) <= 1e-12, `lanczosRecurrence, ${threads} threads: ${JSON.stringify(step)}`);
      }
    } finally {
      k.setThreads(original);
    }
    assert.equal(k.describe().threads, original);
  });

  it('every instruction-set build (LIPSCHITZ_LENS_ISA = default, avx2, generic) agrees with the reference', async () => {
    const inProcess = kernels().describe().isa;
    const requests: ('avx2' | 'generic' | undefined)[] = [undefined, 'avx2', 'generic'];
    const children = await Promise.all(requests.map((isa) =>
      runChild<{ isa: string; threads: number; conv: OperatorAgreement; dense: OperatorAgreement; spectral: Record<string, number | boolean> }>(
        'agreement', { LIPSCHITZ_LENS_ISA: isa, LIPSCHITZ_LENS_KERNELS: undefined },
      )));
    const allowed: Record<string, string[]> = { default: ISAS, avx2: ['avx2', 'generic'], generic: ['generic'] };
    children.forEach((child, k) => {
      const requested = requests[k];
      const name = requested ?? 'default';
      // A narrower request may only get a narrower build; the CPU's flags say exactly which.
      assert.ok(allowed[name].includes(child.isa), `LIPSCHITZ_LENS_ISA=${name}: build '${child.isa}'`);
      const expected = expectedIsa(requested);
      if (expected) assert.equal(child.isa, expected, `LIPSCHITZ_LENS_ISA=${name} on a CPU with ${expected}`);
      assert.ok(child.threads >= 1);
      assertAgreement(`${child.isa} build, conv`, child.conv);
      assertAgreement(`${child.isa} build, dense`, child.dense);
      const s = child.spectral;
      // Limits as in the spectral-helper test below.
      assert.ok((s.recurrence as number) <= 1e-12, `${child.isa}: lanczosRecurrence vs JS ${s.recurrence}`);
      assert.ok((s.recurrenceOrthogonality as number) <= 1e-12, `${child.isa}: lanczosRecurrence leaves qᵀw/‖w₀‖ = ${s.recurrenceOrthogonality}`);
      assert.ok((s.recurrenceUnitNext as number) <= 2 * gamma(100_003), `${child.isa}: next vector's norm off by ${s.recurrenceUnitNext}`);
      assert.ok((s.choleskyResidual as number) <= 1, `${child.isa}: Cholesky residual ${s.choleskyResidual}× its allowance`);
      for (const key of ['matVec', 'gramMatrix', 'cholesky']) assert.ok((s[key] as number) <= AGREEMENT, `${child.isa}: ${key} off by ${s[key]}`);
      for (const key of ['matVecBound', 'gramMatrixBound']) assert.ok((s[key] as number) <= 1, `${child.isa}: ${key} ${s[key]}`);
      assert.equal(s.gramMatrixSymmetric, true);
    });
    if (process.env.LIPSCHITZ_LENS_ISA === undefined) assert.equal(children[0].isa, inProcess, 'the default build is the one this process loaded');
  });

  it('spectral helpers: lanczosRecurrence vs the JS steps, matVec and gramMatrix vs loops, choleskyResidual vs the JS sums', () => {
    const k = kernels();
    const random = new SeededRandom(4141);
    for (const n of [2, 7, 257, 4099, 100_003]) {
      const r = compareLanczosRecurrence(k, random, n);
      const label = `lanczosRecurrence n=${n}`;
      // The same operations; only the two sums are regrouped by thread: agreement to a few u·‖w₀‖.
      assert.ok(Math.max(r.alpha, r.beta, r.residual, r.next) <= 1e-12, `${label}: differs from JS by ${JSON.stringify(r)}`);
      // One Gram–Schmidt pass against a unit q leaves qᵀw of order n·u·‖w₀‖ at worst.
      assert.ok(r.orthogonality <= Math.max(1e-12, 4 * gamma(n)), `${label}: qᵀw/‖w₀‖ = ${r.orthogonality}`);
      assert.ok(r.unitNext <= 2 * gamma(n) + 4 * Number.EPSILON, `${label}: ‖next‖ − 1 = ${r.unitNext}`);
    }
    // β = 0 (w a multiple of q): the previous vector is left as it was, nothing is divided by zero.
    const q = Float64Array.from([0.6, 0.8]);
    const previous = Float64Array.from([0.8, -0.6]);
    const [alpha, beta] = k.lanczosRecurrence(previous, q, Float64Array.from([1.5, 2]), 0);
    assert.ok(Math.abs(alpha - 2.5) <= 4 * Number.EPSILON && beta <= 4 * Number.EPSILON, `w = 2.5 q: α ${alpha}, β ${beta}`);
    if (beta === 0) assert.deepEqual(previous, Float64Array.from([0.8, -0.6]));

    for (const [rows, cols] of [[1, 1], [37, 53], [300, 701], [5, 4099]]) {
      const m = compareMatVec(k, random, rows, cols);
      assert.ok(m.relative <= AGREEMENT && m.bound <= 1, `matVec ${rows}×${cols}: ${JSON.stringify(m)}`);
    }
    for (const [rows, inner] of [[1, 3], [29, 101], [150, 601]]) {
      const g = compareGramMatrix(k, random, rows, inner);
      assert.ok(g.relative <= AGREEMENT && g.bound <= 1, `gramMatrix ${rows}×${inner}: ${JSON.stringify(g)}`);
      assert.ok(g.symmetric, `gramMatrix ${rows}×${inner} is not exactly symmetric`);
    }
    for (const order of [1, 40, 120]) {
      // The same Cholesky recurrences in the same order; only the final sums are regrouped by thread.
      const definite = compareCholeskyResidual(k, shiftedGram(random, order, order + 20, true), order);
      assert.ok(definite.native !== null, `choleskyResidual of a positive definite ${order}×${order} matrix returned null`);
      assert.ok(definite.relative <= AGREEMENT && definite.residual <= 1, `choleskyResidual ${order}×${order}: ${JSON.stringify(definite)}`);
      const indefinite = compareCholeskyResidual(k, shiftedGram(random, order, order + 20, false), order);
      assert.equal(indefinite.reference, null, 'the JS reference refuses τ below max G_ii');
      assert.equal(indefinite.native, null, `choleskyResidual of an indefinite ${order}×${order} matrix: ${JSON.stringify(indefinite.native)}`);
    }
  });

  it('bad arguments throw Errors that name the argument, and the process carries on', () => {
    const k = kernels();
    const cases = argumentErrorCases(k);
    const f32 = (n: number) => new Float32Array(n);
    const f64 = (n: number) => new Float64Array(n);
    const plan = k.convPlan(f32(2 * 3 * 9), Int32Array.from([3, 5, 5, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1]));
    for (const [what, call, message] of cases) {
      assert.throws(call, (error: unknown) => error instanceof Error && message.test(error.message), `${what}: expected an Error matching ${message}`);
    }
    // The operators check lengths before any native call.
    const op = new NativeConvOperator(f32(54), convGeometryOf({
      label: 'small', inChannels: 3, outChannels: 2, group: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], height: 5, width: 5,
    }, f32(54)));
    assert.throws(() => op.apply(f64(74)), /conv apply: vector of length 74, expected 75/);
    assert.throws(() => new NativeDenseOperator(f32(5), 2, 3, 'fc'), /fc: dense weight has 5 values, expected 2×3/);
    // Still working after every refusal.
    const y = f64(50);
    k.convForward(plan, f64(75).fill(1), y, 1, false);
    assert.ok(y.every(Number.isFinite));
  });
});
