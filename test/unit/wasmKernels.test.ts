// The WebAssembly build of the kernels (src/native/kernelsWasm.cc → dist/native/kernels.wasm) against
// the TypeScript reference, to the same tolerances as the native module (nativeKernels.test.ts): the
// conv and dense operators on the same seeded geometries up to AlexNet/VGG sizes, the spectral helpers
// against plain loops, and the same argument errors. `npm test` builds the module (and installs clang
// for it); a missing build fails these tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelsFor, type NativeKernels } from '../../src/engine/native/kernels';
import { NativeConvOperator } from '../../src/engine/operators/nativeConv';
import { NativeDenseOperator } from '../../src/engine/operators/nativeDense';
import { SeededRandom } from '../../src/engine/random';
import { gamma } from '../../src/engine/spectral/choleskyCertificate';
import { WASM_ISA } from '../../src/engine/wasm/wasmKernels';
import {
  AGREEMENT, argumentErrorCases, compareCholeskyResidual, compareConv, compareDense, compareGramMatrix, compareLanczosRecurrence, compareMatVec,
  convGeometryOf, DENSE_SHAPES, FIXED_CONV_CASES, LARGE_CONV_CASE, LARGE_DENSE_SHAPE, randomConvCases, shiftedGram, type OperatorAgreement,
} from './helpers/nativeCases';

/** The WebAssembly kernels, or a failure that says why they are missing (never a skip). */
function kernels(): NativeKernels {
  try {
    return kernelsFor('webassembly');
  } catch (error) {
    throw new Error(`${(error as Error).message}. These tests need dist/native/kernels.wasm: \`npm test\` installs clang and builds it (or run \`node esbuild.mjs\` with clang, lld, wasi-libc and libc++ for wasm32)`);
  }
}

function assertAgreement(label: string, a: OperatorAgreement): void {
  assert.ok(a.apply <= AGREEMENT, `${label}: apply differs by ${a.apply} (relative max-abs)`);
  assert.ok(a.applyTranspose <= AGREEMENT, `${label}: applyTranspose differs by ${a.applyTranspose}`);
  assert.ok(a.rowNormsSquared <= AGREEMENT, `${label}: rowNormsSquared differs by ${a.rowNormsSquared}`);
  assert.ok(a.gram <= AGREEMENT, `${label}: gram differs by ${a.gram}`);
  assert.ok(a.bound <= 1, `${label}: an entry differs by ${a.bound}× its rounding bound 2γ_K·(|A||x|)_i`);
  assert.ok(a.adjoint <= 1, `${label}: ⟨Ax,y⟩ − ⟨x,Aᵀy⟩ is ${a.adjoint}× its rounding bound`);
}

describe('WebAssembly kernels', () => {
  it('load, and report SIMD128 on one thread whatever thread count is asked for', () => {
    const k = kernels();
    assert.deepEqual(k.describe(), { isa: WASM_ISA, threads: 1 });
    k.setThreads(4);
    assert.deepEqual(k.describe(), { isa: 'WebAssembly SIMD128', threads: 1 });
  });

  it('conv: on 25 geometries and at AlexNet size, equal to ConvOperator', (t) => {
    const k = kernels();
    const random = new SeededRandom(20251201);
    const cases = [...FIXED_CONV_CASES, ...randomConvCases(random, 8)];
    assert.equal(cases.length, 25);
    let worst = 0;
    for (const c of [...cases, LARGE_CONV_CASE]) {
      const agreement = compareConv(c, random, k);
      assertAgreement(`conv ${c.label}`, agreement);
      worst = Math.max(worst, agreement.apply, agreement.applyTranspose, agreement.rowNormsSquared);
    }
    t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    // Not the reference itself: float64 sums in another order differ somewhere.
    assert.ok(worst > 0, 'bit-identical to the TypeScript operators on every geometry');
  });

  it('dense: apply, adjoint, row norms and the fused Gram products incl. 4096×9216, equal to DenseOperator', (t) => {
    const k = kernels();
    const random = new SeededRandom(777001);
    let worst = 0;
    for (const [rows, cols] of [...DENSE_SHAPES, LARGE_DENSE_SHAPE]) {
      const agreement = compareDense(rows, cols, random, k);
      assertAgreement(`dense ${rows}×${cols}`, agreement);
      worst = Math.max(worst, agreement.apply, agreement.applyTranspose, agreement.rowNormsSquared, agreement.gram);
    }
    t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    assert.ok(worst > 0, 'bit-identical to the TypeScript operators on every shape');
  });

  it('results repeat bit for bit, and a weight matrix reused across calls gives what a fresh one gives', () => {
    const k = kernels();
    const random = new SeededRandom(3003);
    const weight = Float32Array.from({ length: 64 * 3 * 121 }, () => random.gaussian());
    const op = new NativeConvOperator(weight, convGeometryOf(LARGE_CONV_CASE, weight), k);
    const x = Float64Array.from({ length: op.inSize }, () => random.gaussian());
    const y = Float64Array.from({ length: op.outSize }, () => random.gaussian());
    assert.deepEqual(op.apply(x), op.apply(x), 'conv apply repeated');
    assert.deepEqual(op.applyTranspose(y), op.applyTranspose(y), 'conv applyTranspose repeated');
    const denseWeight = Float32Array.from({ length: 700 * 1601 }, () => random.gaussian());
    const dense = new NativeDenseOperator(denseWeight, 700, 1601, 'dense', k);
    const dx = Float64Array.from({ length: 1601 }, () => random.gaussian());
    const dy = Float64Array.from({ length: 700 }, () => random.gaussian());
    const first = dense.apply(dx);
    assert.deepEqual(dense.apply(dx), first, 'dense apply repeated (weights cached in the module)');
    assert.deepEqual(dense.applyTranspose(dy), dense.applyTranspose(dy), 'dense applyTranspose repeated');
    // A copy of the weights is another array: copied in afresh, same result.
    assert.deepEqual(new NativeDenseOperator(denseWeight.slice(), 700, 1601, 'copy', k).apply(dx), first, 'dense apply on a copy of the weights');
  });

  it('spectral helpers: lanczosRecurrence vs the JS steps, matVec and gramMatrix vs loops, choleskyResidual vs the JS sums', () => {
    const k = kernels();
    const random = new SeededRandom(4141);
    for (const n of [2, 7, 257, 4099, 100_003]) {
      const r = compareLanczosRecurrence(k, random, n);
      const label = `lanczosRecurrence n=${n}`;
      assert.ok(Math.max(r.alpha, r.beta, r.residual, r.next) <= 1e-12, `${label}: differs from JS by ${JSON.stringify(r)}`);
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
      const definite = compareCholeskyResidual(k, shiftedGram(random, order, order + 20, true), order);
      assert.ok(definite.native !== null, `choleskyResidual of a positive definite ${order}×${order} matrix returned null`);
      assert.ok(definite.relative <= AGREEMENT && definite.residual <= 1, `choleskyResidual ${order}×${order}: ${JSON.stringify(definite)}`);
      const indefinite = compareCholeskyResidual(k, shiftedGram(random, order, order + 20, false), order);
      assert.equal(indefinite.reference, null, 'the JS reference refuses τ below max G_ii');
      assert.equal(indefinite.native, null, `choleskyResidual of an indefinite ${order}×${order} matrix: ${JSON.stringify(indefinite.native)}`);
    }
  });

  it('bad arguments throw the native module\'s Errors, and the module carries on', () => {
    const k = kernels();
    for (const [what, call, message] of argumentErrorCases(k)) {
      assert.throws(call, (error: unknown) => error instanceof Error && message.test(error.message), `${what}: expected an Error matching ${message}`);
    }
    // A shape whose sizes overflow the module's 32-bit sizes is refused by the module itself.
    assert.throws(() => k.convPlan(new Float32Array(1), Int32Array.from([1, 65536, 65536, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1])), /conv shape: a size overflows/);
    const plan = k.convPlan(new Float32Array(54).fill(1), Int32Array.from([3, 5, 5, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1]));
    const y = new Float64Array(50);
    k.convForward(plan, new Float64Array(75).fill(1), y, 1, false);
    // Interior outputs see all 27 taps of ones.
    assert.equal(y[2 * 5 + 2], 27);
    assert.ok(y.every(Number.isFinite));
  });
});
