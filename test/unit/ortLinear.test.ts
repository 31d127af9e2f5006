// The onnxruntime operators agree with the pure-TypeScript reference operators (conv.ts, dense.ts) on
// small random layers: A, Aᵀ, the squared-kernel row norms and both Gram products, batched and not.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ConvParams, DenseParams } from '../../src/engine/network';
import { ConvOperator, convGeometry } from '../../src/engine/operators/conv';
import { DenseOperator } from '../../src/engine/operators/dense';
import type { LinearOperator } from '../../src/engine/operators/linearOperator';
import { SeededRandom } from '../../src/engine/random';
import { flippedConvPads, OrtLinearOperator, outputPadding } from '../../bench/ortLinear';

const random = new SeededRandom(5);

// onnxruntime computes in float32 from float32 inputs: each output sums at most fan-in (≤ 2·3·3·4 = 72
// here) products, so its error is below fan-in · 2⁻²⁴ ≈ 4.3e-6 times Σ|a_ij x_j|, and for Gaussian data
// that sum is within a factor ≈ √fan-in ≈ 8.5 of the norm compared against; one Gram product chains
// two such sums. 1e-4 on the relative 2-norm error leaves margin above that, and still fails on any
// wrong index, stride, pad or transpose (those give errors of order 1).
const TOLERANCE = 1e-4;

function gaussian(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => random.gaussian());
}

function mask(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (random.uniform() < 0.7 ? 1 : 0));
}

function relativeError(actual: Float32Array, expected: Float64Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

const times = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v * b[i]);

/** D Aᵀ R² A D x with the reference operator (float64). */
function referenceGram(op: LinearOperator, r: Float32Array, d: Float32Array, x: ArrayLike<number>): Float64Array {
  const ax = op.apply(times(x, d));
  return times(op.applyTranspose(times(times(ax, r), r)), d);
}

/** R A D² Aᵀ R y with the reference operator (float64). */
function referenceCoGram(op: LinearOperator, r: Float32Array, d: Float32Array, y: ArrayLike<number>): Float64Array {
  const aty = op.applyTranspose(times(y, r));
  return times(op.apply(times(times(aty, d), d)), r);
}

const opened: OrtLinearOperator[] = [];
after(async () => {
  for (const op of opened) await op.release();
});

async function checkAgreement(reference: LinearOperator, fast: OrtLinearOperator): Promise<void> {
  opened.push(fast);
  assert.equal(fast.inSize, reference.inSize);
  assert.equal(fast.outSize, reference.outSize);
  const batch = 3;
  const xs = gaussian(batch * reference.inSize);
  const ys = gaussian(batch * reference.outSize);
  const ax = await fast.apply(xs, batch);
  const aty = await fast.applyTranspose(ys, batch);
  const d = mask(reference.inSize);
  const r = Float32Array.from({ length: reference.outSize }, () => random.uniform());
  const rowNorms = await fast.rowNormsSquared(d);
  assert.ok(relativeError(rowNorms, reference.rowNormsSquared(Float64Array.from(d))) < TOLERANCE, 'row norms');
  const gram = await fast.gram(r, d).applyGram(xs, batch);
  const coGram = await fast.gram(r, d, 'output').applyGram(ys, batch);
  for (let b = 0; b < batch; b++) {
    const x = xs.subarray(b * reference.inSize, (b + 1) * reference.inSize);
    const y = ys.subarray(b * reference.outSize, (b + 1) * reference.outSize);
    const slice = (v: Float32Array, size: number) => v.subarray(b * size, (b + 1) * size);
    const pairs: [string, Float32Array, Float64Array][] = [
      ['A x', slice(ax, reference.outSize), reference.apply(Float64Array.from(x))],
      ['Aᵀ y', slice(aty, reference.inSize), reference.applyTranspose(Float64Array.from(y))],
      ['D Aᵀ R² A D x', slice(gram, reference.inSize), referenceGram(reference, r, d, x)],
      ['R A D² Aᵀ R y', slice(coGram, reference.outSize), referenceCoGram(reference, r, d, y)],
    ];
    for (const [what, actual, expected] of pairs) {
      const error = relativeError(actual, expected);
      assert.ok(error < TOLERANCE, `${what}, vector ${b}: relative error ${error.toExponential(2)}`);
    }
  }
}

function convParams(
  weightShape: [number, number, number, number],
  strides: [number, number],
  pads: [number, number, number, number],
  dilations: [number, number],
  group: number,
): ConvParams {
  const weight = gaussian(weightShape.reduce((a, b) => a * b, 1));
  return { kind: 'conv', weight, weightShape, strides, pads, dilations, group };
}

describe('onnxruntime linear operators', () => {
  const convCases: [string, ConvParams, [number, number, number]][] = [
    ['plain 3×3', convParams([5, 3, 3, 3], [1, 1], [0, 0, 0, 0], [1, 1], 1), [3, 9, 8]],
    ['stride 2, asymmetric pads (sizes that floor)', convParams([4, 2, 3, 3], [2, 2], [1, 0, 2, 1], [1, 1], 1), [2, 10, 9]],
    ['dilation 2, stride 3 × 1', convParams([3, 4, 3, 2], [3, 1], [2, 1, 0, 1], [2, 2], 1), [4, 11, 7]],
    ['grouped (2 groups) with stride 2', convParams([6, 2, 3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 2), [4, 8, 8]],
    ['depthwise 3×3', convParams([4, 1, 3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 4), [4, 6, 5]],
    ['stride 1, grouped, dilated, asymmetric pads (adjoint as a flipped conv)', convParams([6, 2, 3, 2], [1, 1], [2, 0, 1, 1], [2, 1], 2), [4, 9, 7]],
    ['stride 1 padded beyond the kernel span (adjoint as ConvTranspose)', convParams([3, 2, 3, 3], [1, 1], [3, 1, 0, 1], [1, 1], 1), [2, 6, 6]],
  ];
  for (const [label, params, inputShape] of convCases) {
    it(`conv ${label} agrees with ConvOperator`, async () => {
      const reference = new ConvOperator(params.weight, convGeometry(params, inputShape, label));
      await checkAgreement(reference, await OrtLinearOperator.create(params, inputShape, label));
    });
  }

  it('dense agrees with DenseOperator', async () => {
    const params: DenseParams = { kind: 'dense', weight: gaussian(7 * 19), outFeatures: 7, inFeatures: 19 };
    await checkAgreement(new DenseOperator(params.weight, 7, 19, 'dense'), await OrtLinearOperator.create(params, [19], 'dense'));
  });

  it('applies one set of scales per vector when the gram is given a batch of them', async () => {
    const params: DenseParams = { kind: 'dense', weight: gaussian(6 * 4), outFeatures: 6, inFeatures: 4 };
    const reference = new DenseOperator(params.weight, 6, 4, 'dense');
    const fast = await OrtLinearOperator.create(params, [4], 'dense', { prepackWeights: false });
    opened.push(fast);
    const r = Float32Array.from({ length: 2 * 6 }, () => random.uniform());
    const d = mask(2 * 4);
    const x = gaussian(2 * 4);
    const gram = await fast.gram(r, d).applyGram(x, 2);
    for (let b = 0; b < 2; b++) {
      const expected = referenceGram(reference, r.subarray(b * 6, (b + 1) * 6), d.subarray(b * 4, (b + 1) * 4), x.subarray(b * 4, (b + 1) * 4));
      assert.ok(relativeError(gram.subarray(b * 4, (b + 1) * 4), expected) < TOLERANCE, `vector ${b}`);
    }
    await assert.rejects(fast.gram(r, d).applyGram(gaussian(3 * 4), 3), /2 sets of row scales, applied to a batch of 3/);
  });

  it('chooses output_padding that restores the input size', () => {
    // Input height 10, kernel 3, stride 2, pads 1 + 2: output floor((10 + 3 − 3) / 2) + 1 = 6, and a
    // transposed conv without output padding gives 2·5 + 3 − 3 = 10: no padding needed. Width 9, pads 0 + 1:
    // output floor((9 + 1 − 3) / 2) + 1 = 4, transposed gives 2·3 + 3 − 1 = 8, so one column of output padding.
    const params = convParams([1, 1, 3, 3], [2, 2], [1, 0, 2, 1], [1, 1], 1);
    const g = convGeometry(params, [1, 10, 9], 'pad');
    assert.deepEqual(outputPadding(g, 2, 1), [0, 1]);
  });

  it('writes the adjoint of a stride-1 conv as a conv with complementary pads, and of a strided one not', () => {
    // Kernel 3 × 2 with dilations [2, 1] spans 4 rows and 1 column: pads [2, 0, 1, 1] leave [2, 1, 3, 0].
    const stride1 = convParams([6, 2, 3, 2], [1, 1], [2, 0, 1, 1], [2, 1], 2);
    assert.deepEqual(flippedConvPads(convGeometry(stride1, [4, 9, 7], 'a'), 1, 1), [2, 1, 3, 0]);
    // A pad of 3 above a kernel spanning 2 rows would need a pad of −1.
    const overPadded = convParams([3, 2, 3, 3], [1, 1], [3, 1, 0, 1], [1, 1], 1);
    assert.equal(flippedConvPads(convGeometry(overPadded, [2, 6, 6], 'b'), 0, 1), null);
    const strided = convParams([4, 2, 3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 1);
    assert.equal(flippedConvPads(convGeometry(strided, [2, 8, 8], 'c'), 1, 1), null);
  });

  it('rejects vectors of the wrong length, naming the layer', async () => {
    const params: DenseParams = { kind: 'dense', weight: gaussian(6), outFeatures: 2, inFeatures: 3 };
    const fast = await OrtLinearOperator.create(params, [3], 'fc7', { memoryArena: false });
    opened.push(fast);
    await assert.rejects(fast.apply(gaussian(4)), /fc7: apply got 4 values, expected 1 × 3/);
  });
});
