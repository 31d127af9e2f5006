// 3-D convolution (docs/derivations.md §34): the operator against the dense matrix built term by term
// from ONNX's definition (strides, asymmetric pads, dilations, groups), its certified norm against the
// dense matrix's largest singular value, ConvTranspose over 3-D inputs as its adjoint (§21) against the
// definition, the normaliser's layers against onnxruntime, sampled points of the ball against every
// layer's bound and the network bound (composed), the CLI on a 3-D conv model, and the 3-D node that
// stays refused (Pad), by name.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { estimateCost } from '../../src/engine/costEstimate';
import { NETWORK_INPUT, type Conv3dParams, type ConvTranspose3dParams, type Network, type Shape } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { conv3dGeometry, convTranspose3dOutput, createConv3d, createConvTranspose3d } from '../../src/engine/operators/conv3d';
import { NativeConv3dOperator } from '../../src/engine/operators/nativeConv3d';
import { createAffineOperator } from '../../src/engine/operators/registry';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { assertMatchesRuntime, assertSampledSound } from './helpers/networkChecks';
import { certifiedNorm, DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, mulberry32, node, randomTensor, relu, tensor, type ModelSpec } from '../fixtures/onnxBuilder';
import { genericLayer, naiveConv3d, naiveConvTranspose3d, randomArray } from './helpers/engineNetworks';
import { cli } from './helpers/runCli';

const random = new SeededRandom(340);

const gaussianVector = (n: number) => Float64Array.from({ length: n }, () => random.gaussian());
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

/** A random geometry: kernel, strides, asymmetric pads, dilations and groups drawn per axis. */
function randomCase(): { params: Conv3dParams; shape: Shape } {
  const group = [1, 2][random.int(2)];
  const perGroupIn = 1 + random.int(2);
  const outChannels = group * (1 + random.int(2));
  const kernel = [1 + random.int(3), 1 + random.int(3), 1 + random.int(3)] as const;
  const strides = [1 + random.int(2), 1 + random.int(2), 1 + random.int(3)] as const;
  const dilations = [1 + random.int(2), 1, 1 + random.int(2)] as const;
  const pads = [random.int(2), random.int(3), random.int(2), random.int(3), random.int(2), random.int(2)] as const;
  // Each extent at least the dilated kernel, so the output is never empty.
  const shape = [group * perGroupIn, ...kernel.map((k, a) => (k - 1) * dilations[a] + 1 + random.int(3))];
  const weightShape = [outChannels, perGroupIn, ...kernel] as const;
  const params: Conv3dParams = {
    kind: 'conv3d',
    weight: randomArray(random, weightShape.reduce((a, b) => a * b, 1)),
    weightShape,
    strides,
    pads,
    dilations,
    group,
  };
  return { params, shape };
}

function outputShapeOf(params: Conv3dParams, shape: Shape): number[] {
  const g = conv3dGeometry(params, shape, 'conv');
  return [g.outChannels, ...g.outExtent];
}

/** Columns A e_j of the matrix the definition gives (naiveConv3d, no bias). */
function denseColumns(params: Conv3dParams, shape: Shape): Float64Array[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = outputShapeOf(params, shape);
  return Array.from({ length: n }, (_, j) => naiveConv3d(params, shape, out, Float64Array.from({ length: n }, (_v, k) => (k === j ? 1 : 0))));
}

/** Largest singular value of the dense matrix (ml-matrix's SVD), from its columns. */
function largestSingularValue(columns: Float64Array[]): number {
  const columnMatrix = new Matrix(columns.map((column) => Array.from(column)));
  return new SingularValueDecomposition(columnMatrix, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).norm2;
}

describe('3-D convolution: the operator', () => {
  it('apply, adjoint, |A|, row and column norms agree with the dense matrix of the definition (strides, asymmetric pads, dilations, groups)', () => {
    for (let trial = 0; trial < 25; trial++) {
      const { params, shape } = randomCase();
      const out = outputShapeOf(params, shape);
      const columns = denseColumns(params, shape);
      const bias = randomArray(random, params.weightShape[0]);
      const { linear: op, bias: fullBias } = createConv3d({ ...params, bias }, shape, 'conv');
      // The registry builds the same operator for every backend, as the prepared (counted) layer.
      const prepared = prepareNetwork({ inputName: 'x', inputShape: shape, layers: [genericLayer('conv', { kind: 'affine', linear: params }, [NETWORK_INPUT], [shape], out)], output: 0 });
      const preparedOp = prepared.layers[0].op;
      if (preparedOp.kind !== 'affine') throw new Error('a 3-D conv prepares as an affine layer');
      assert.equal(op.outSize, out.reduce((a, b) => a * b, 1));
      const x = gaussianVector(op.inSize);
      const y = gaussianVector(op.outSize);
      const what = `case ${trial} ${JSON.stringify({ shape, w: params.weightShape, s: params.strides, p: params.pads, d: params.dilations, g: params.group })}`;
      for (const linear of [op, preparedOp.affine.linear]) {
        const ax = linear.apply(x);
        ax.forEach((v, i) => close(v, columns.reduce((s, column, j) => s + column[i] * x[j], 0), 1e-12, `${what}: Ax[${i}]`));
        linear.applyTranspose(y).forEach((v, j) => close(v, dot(columns[j], y), 1e-12, `${what}: Aᵀy[${j}]`));
      }
      const withBias = naiveConv3d({ ...params, bias }, shape, out, x);
      op.apply(x).forEach((v, i) => close(v + fullBias![i], withBias[i], 1e-12, `${what}: bias ${i}`));
      op.applyAbsolute!(x).forEach((v, i) => close(v, columns.reduce((s, column, j) => s + Math.abs(column[i]) * x[j], 0), 1e-12, `${what}: |A|x[${i}]`));
      const mask = Float64Array.from({ length: op.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
      op.rowNormsSquared(mask).forEach((v, i) => close(v, columns.reduce((s, column, j) => s + column[i] ** 2 * mask[j], 0), 1e-12, `${what}: row ${i}`));
      const e = Float64Array.from({ length: op.outSize }, () => random.uniform());
      const conv = op as ReturnType<typeof createConv3d>['linear'] & { columnNormsSquared(e: Float64Array): Float64Array };
      conv.columnNormsSquared(e).forEach((v, j) => close(v, columns[j].reduce((s, a, i) => s + a * a * e[i], 0), 1e-12, `${what}: column ${j}`));
    }
  });

  it('on the compiled 2-D kernels (native and WebAssembly), one batched call per depth tap: the same values as the TypeScript loops, for the convolution and its transpose', () => {
    let compared = 0;
    for (const backend of ['native', 'webassembly'] as const) {
      for (let trial = 0; trial < 10; trial++) {
        const { params, shape } = randomCase();
        const out = outputShapeOf(params, shape);
        const reference = createConv3d(params, shape, 'conv').linear;
        const compiled = createAffineOperator(params, shape, 'conv', backend).linear;
        assert.ok(compiled instanceof NativeConv3dOperator, backend);
        const transposedParams: ConvTranspose3dParams = { ...params, kind: 'convTranspose3d', outputPadding: [0, 0, 0] };
        if (convTranspose3dOutput(transposedParams, out).some((n) => n < 1)) continue;
        const transposed = [createAffineOperator(transposedParams, out, 'ct', 'typescript').linear, createAffineOperator(transposedParams, out, 'ct', backend).linear];
        const x = gaussianVector(reference.inSize);
        const y = gaussianVector(reference.outSize);
        // The transpose's output (output_padding 0) may be shorter than the convolution's input where strides skip.
        const xt = gaussianVector(transposed[0].outSize);
        const mask = Float64Array.from({ length: reference.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
        const pairs: [string, Float64Array, Float64Array][] = [
          ['A x', reference.apply(x), compiled.apply(x)],
          ['Aᵀ y', reference.applyTranspose(y), compiled.applyTranspose(y)],
          ['|A| x', reference.applyAbsolute!(x), compiled.applyAbsolute!(x)],
          ['row norms', reference.rowNormsSquared(mask), compiled.rowNormsSquared(mask)],
          ['transposed: Aᵀ y', transposed[0].apply(y), transposed[1].apply(y)],
          ['transposed: A x', transposed[0].applyTranspose(xt), transposed[1].applyTranspose(xt)],
        ];
        for (const [what, want, got] of pairs) {
          assert.equal(got.length, want.length);
          const scale = Math.max(1, ...want.map(Math.abs));
          want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-12 * scale, `${backend} case ${trial} ${what}[${i}]: ${got[i]} vs ${v}`));
        }
        compared++;
      }
    }
    assert.ok(compared >= 12, `${compared} of 20 cases compared`);
  });

  it('hand case: a 2×2×2 box of ones over a 2×2×2 input of ones, pads 1 on every side, gives 1, 2, 4 or 8 by how many taps fall inside', () => {
    const params: Conv3dParams = { kind: 'conv3d', weight: new Float32Array(8).fill(1), weightShape: [1, 1, 2, 2, 2], strides: [1, 1, 1], pads: [1, 1, 1, 1, 1, 1], dilations: [1, 1, 1], group: 1 };
    const { linear } = createConv3d(params, [1, 2, 2, 2], 'box');
    const y = linear.apply(new Float64Array(8).fill(1));
    // Output 3×3×3: each axis contributes 1 tap at its ends and 2 in the middle.
    const perAxis = [1, 2, 1];
    const expected = perAxis.flatMap((a) => perAxis.flatMap((b) => perAxis.map((c) => a * b * c)));
    assert.deepEqual(Array.from(y), expected);
    const norm = certifiedNorm(linear, null, null, DEFAULT_SPECTRAL_OPTIONS);
    const exact = largestSingularValue(denseColumns(params, [1, 2, 2, 2]));
    close(norm.certificate.estimate!, exact, 1e-9, 'box norm');
    // A = A₁ ⊗ A₁ ⊗ A₁ with A₁ = [[1, 0], [1, 1], [0, 1]] per axis, A₁ᵀA₁ = [[2, 1], [1, 2]] with top eigenvalue 3: ‖A‖² = 3³.
    close(exact, Math.sqrt(27), 1e-9, 'box: ‖A‖ = 3^(3/2)');
  });

  it('the certified norm (exact and Lanczos) is the dense matrix’s largest singular value, on the whole operator and on a mask', () => {
    for (let trial = 0; trial < 6; trial++) {
      const { params, shape } = randomCase();
      const { linear } = createConv3d(params, shape, 'conv');
      const columns = denseColumns(params, shape);
      const mask = Uint8Array.from({ length: linear.inSize }, () => (random.uniform() < 0.7 ? 1 : 0));
      const exact = largestSingularValue(columns.map((column, j) => (mask[j] ? column : new Float64Array(column.length))));
      const certified = certifiedNorm(linear, null, mask, DEFAULT_SPECTRAL_OPTIONS);
      if (exact === 0) {
        // Only inputs no output reads are movable (strides skip them): A D = 0, up to the certificate's rounding margin.
        assert.ok(certified.value < 1e-150, `${certified.value}`);
        continue;
      }
      assert.match(certified.certificate.method, /^exact/);
      close(certified.certificate.estimate!, exact, 1e-9, `exact path ${trial}`);
      assert.ok(certified.value >= exact * (1 - 1e-12), `certified ${certified.value} below ${exact}`);
      const lanczos = certifiedNorm(linear, null, mask, { ...DEFAULT_SPECTRAL_OPTIONS, exactCutoff: 0 });
      assert.match(lanczos.certificate.method, /lanczos/);
      assert.ok(lanczos.value >= exact * (1 - 1e-12), `Lanczos ${lanczos.value} below ${exact}`);
      // Its Ritz value never exceeds the true norm (the certificate above it may be loose on a tiny active block).
      assert.ok(lanczos.certificate.estimate! <= exact * (1 + 1e-9), `Ritz value ${lanczos.certificate.estimate} above ${exact}`);
    }
  });
});

describe('3-D convolutions in the cost estimate', () => {
  it('count their products per application: (C/g)·kD·kH·kW per output, (M/g)·kD·kH·kW per input of a transposed one', () => {
    const conv: Conv3dParams = { kind: 'conv3d', weight: new Float32Array(4 * 1 * 2 * 3 * 2), weightShape: [4, 1, 2, 3, 2], strides: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0], dilations: [1, 1, 1], group: 2 };
    const transposed: ConvTranspose3dParams = { ...conv, kind: 'convTranspose3d', outputPadding: [0, 0, 0] };
    const single = (linear: Conv3dParams | ConvTranspose3dParams, inputShape: Shape, outputShape: Shape): Network => ({
      inputName: 'x', inputShape, layers: [genericLayer('c', { kind: 'affine', linear }, [NETWORK_INPUT], [inputShape], outputShape)], output: 0,
    });
    const perPass = (network: Network) => estimateCost(network, { epsilonCount: 1, radius: false, lowerBound: false }).multiplyAdds / (2 * 2 * 200);
    // [2, 3, 4, 3] → [4, 2, 2, 2]: 32 outputs × 1 · 2 · 3 · 2 products.
    assert.equal(perPass(single(conv, [2, 3, 4, 3], [4, 2, 2, 2])), 32 * 12);
    // Its transpose, [4, 2, 2, 2] → [2, 3, 4, 3]: 32 inputs × 1 · 2 · 3 · 2.
    assert.equal(perPass(single(transposed, [4, 2, 2, 2], [2, 3, 4, 3])), 32 * 12);
  });
});

describe('ConvTranspose over 3-D inputs: the operator', () => {
  it('is the adjoint of the 3-D convolution with its weight: apply against the definition, the adjoint and row norms against the dense matrix', () => {
    let checked = 0;
    for (let trial = 0; trial < 12; trial++) {
      // A conv case read backwards: its output shape is the transposed conv's input, output_padding below the strides.
      const { params: conv, shape } = randomCase();
      const outputPadding = conv.strides.map((s) => random.int(s)) as [number, number, number];
      const convOut = outputShapeOf(conv, shape);
      const extra = outputPadding.map((o, a) => {
        // The conv-transpose output extent for this input, with output_padding o.
        const n = convOut[1 + a];
        return conv.strides[a] * (n - 1) + o + (conv.weightShape[2 + a] - 1) * conv.dilations[a] + 1 - conv.pads[a] - conv.pads[a + 3];
      });
      const params: ConvTranspose3dParams = {
        kind: 'convTranspose3d',
        weight: conv.weight,
        // [C_in of the transpose = conv's outputs, per-group outputs = conv's per-group inputs, kernel]
        weightShape: conv.weightShape,
        bias: randomArray(random, conv.weightShape[1] * conv.group),
        strides: conv.strides,
        pads: conv.pads,
        dilations: conv.dilations,
        group: conv.group,
        outputPadding,
      };
      assert.deepEqual(convTranspose3dOutput(params, convOut), extra);
      if (extra.some((n) => n < 1)) continue;
      const outShape = [conv.weightShape[1] * conv.group, ...extra];
      let built: ReturnType<typeof createConvTranspose3d>;
      try {
        built = createConvTranspose3d(params, convOut, 'ct');
      } catch (error) {
        // Only where the conv over the transposed output does not give back the input's extents.
        assert.match((error as Error).message, /not the input/);
        continue;
      }
      const { linear, bias } = built;
      const x = gaussianVector(linear.inSize);
      const expected = naiveConvTranspose3d(params, convOut, outShape, x);
      linear.apply(x).forEach((v, i) => close(v + bias![i], expected[i], 1e-12, `trial ${trial}: Aᵀx[${i}]`));
      const columns = Array.from({ length: linear.inSize }, (_, j) => linear.apply(Float64Array.from({ length: linear.inSize }, (_v, k) => (k === j ? 1 : 0))));
      const y = gaussianVector(linear.outSize);
      linear.applyTranspose(y).forEach((v, j) => close(v, dot(columns[j], y), 1e-12, `trial ${trial}: adjoint ${j}`));
      const mask = Float64Array.from({ length: linear.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
      linear.rowNormsSquared(mask).forEach((v, i) => close(v, columns.reduce((s, column, j) => s + column[i] ** 2 * mask[j], 0), 1e-12, `trial ${trial}: row ${i}`));
      checked++;
    }
    assert.ok(checked >= 8, `${checked} of 12 cases checked`);
  });
});

/** A small model: Conv3d + BatchNormalization + Relu, a grouped SAME_UPPER Conv3d + Relu, Flatten, MatMul. */
function model(): ModelSpec {
  const rng = mulberry32(34);
  return {
    inputs: [{ name: 'x', shape: [1, 2, 4, 5, 6] }],
    outputs: [{ name: 'y' }],
    opset: 13,
    initializers: [
      randomTensor('w1', [4, 2, 3, 3, 2], rng),
      randomTensor('b1', [4], rng),
      tensor('scale', [4], [1.5, -0.5, 0.8, 1.1]),
      tensor('shift', [4], [0.1, 0.2, -0.3, 0]),
      tensor('mean', [4], [0.3, -0.1, 0, 0.2]),
      tensor('var', [4], [2, 0.5, 1, 1.5]),
      randomTensor('w2', [4, 2, 2, 1, 2], rng),
      // conv1: [4, 3, 2, 6]; conv2 (SAME_UPPER, strides 2, 1, 2): [4, 2, 2, 3].
      randomTensor('fc', [48, 3], rng),
    ],
    nodes: [
      node('Conv', ['x', 'w1', 'b1'], ['c1'], { strides: [1, 2, 1], pads: [1, 0, 1, 0, 1, 1], dilations: [1, 1, 2] }, 'conv1'),
      node('BatchNormalization', ['c1', 'scale', 'shift', 'mean', 'var'], ['n1'], { epsilon: { f: 1e-5 } }, 'bn1'),
      relu('n1', 'r1', 'relu1'),
      node('Conv', ['r1', 'w2'], ['c2'], { strides: [2, 1, 2], auto_pad: 'SAME_UPPER', group: 2 }, 'conv2'),
      relu('c2', 'r2', 'relu2'),
      node('Flatten', ['r2'], ['f'], { axis: 1 }, 'flatten'),
      node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
    ],
  };
}

/** ConvTranspose over [1, 2, 3, 4, 3] (strides, asymmetric pads, output_padding, dilations, groups) + BatchNormalization + Relu, Flatten, MatMul. */
function transposedModel(): ModelSpec {
  const rng = mulberry32(21);
  return {
    inputs: [{ name: 'x', shape: [1, 2, 3, 4, 3] }],
    outputs: [{ name: 'y' }],
    opset: 13,
    initializers: [
      randomTensor('wt', [2, 2, 2, 3, 2], rng),
      randomTensor('bt', [4], rng),
      tensor('scale', [4], [1.5, -0.5, 0.8, 1.1]),
      tensor('shift', [4], [0.1, 0.2, -0.3, 0]),
      tensor('mean', [4], [0.3, -0.1, 0, 0.2]),
      tensor('var', [4], [2, 0.5, 1, 1.5]),
      // Output extents: 2·2 + 1 + 1 + 1 − 1 = 6, 3 + 0 + 4 + 1 − 1 = 7, 2·2 + 1 + 1 + 1 − 1 = 6.
      randomTensor('fc', [4 * 6 * 7 * 6, 3], rng, 0.1),
    ],
    nodes: [
      node('ConvTranspose', ['x', 'wt', 'bt'], ['t'], { strides: [2, 1, 2], pads: [1, 0, 0, 0, 1, 1], output_padding: [1, 0, 1], dilations: [1, 2, 1], group: 2 }, 'up'),
      node('BatchNormalization', ['t', 'scale', 'shift', 'mean', 'var'], ['n'], { epsilon: { f: 1e-5 } }, 'bn'),
      relu('n', 'r', 'relu'),
      node('Flatten', ['r'], ['f'], { axis: 1 }, 'flatten'),
      node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
    ],
  };
}

describe('3-D convolution: the normaliser and the bounds', () => {
  it('matches onnxruntime layer by layer (pads, strides, dilations, auto_pad, groups, a fused BatchNormalization)', async () => {
    const bytes = buildModel(model());
    const result = normaliseGraph(readModelFromBytes(bytes, { path: 'conv3d.onnx' }));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    assert.deepEqual(network.layers.map((l) => l.label), ['conv1+bn1+relu1', 'conv2+relu2', 'flatten', 'fc']);
    const conv2 = network.layers[1].op;
    assert.ok(conv2.kind === 'affine' && conv2.linear.kind === 'conv3d');
    // SAME_UPPER over extents 3, 2, 6 with strides 2, 1, 2 and kernel 2, 1, 2: total pads 1, 0, 0, the odd one at the end.
    assert.deepEqual([conv2.linear.pads, network.layers[1].outputShape], [[0, 0, 0, 1, 0, 0], [4, 2, 2, 3]]);
    await assertMatchesRuntime(bytes, network);
  });

  it('sampled points of the ball never beat a layer’s bound, its output radius, or the network bound (composed where it is tighter)', async () => {
    await assertSampledSound(normaliseGraph(readModelFromBytes(buildModel(model()))).network!, random);
  });

  it('ConvTranspose over 3-D inputs: the normaliser matches onnxruntime, sampled points respect the bounds', async () => {
    const bytes = buildModel(transposedModel());
    const result = normaliseGraph(readModelFromBytes(bytes, { path: 'convTranspose3d.onnx' }));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    assert.deepEqual(network.layers.map((l) => l.label), ['up+bn+relu', 'flatten', 'fc']);
    const up = network.layers[0].op;
    assert.ok(up.kind === 'affine' && up.linear.kind === 'convTranspose3d');
    assert.deepEqual(network.layers[0].outputShape, [4, 6, 7, 6]);
    await assertMatchesRuntime(bytes, network);
    await assertSampledSound(network, random);
    const refused = normaliseGraph(readModelFromBytes(buildModel({ ...transposedModel(), nodes: [node('ConvTranspose', ['x', 'wt'], ['y'], { strides: [2, 1, 2], output_padding: [2, 0, 0] }, 'up')] })));
    assert.match(refused.unsupported[0].reason, /output_padding \[2,0,0\] is not below the strides \[2,1,2\]/);
  });

  it('the CLI analyses a 3-D conv model end to end (fidelity checked on onnxruntime)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'conv3d-'));
    try {
      const file = join(folder, 'conv3d.onnx');
      writeFileSync(file, buildModel(model()));
      const { code, stdout, stderr } = await cli(['analyze', file, '--synthetic', '--eps', '0.01', '--json', '--quiet', '--no-lower-bound']);
      assert.equal(code, 0, stderr);
      const report = JSON.parse(stdout);
      assert.deepEqual(report.runs[0].layers.map((l: { nodes: string[] }) => l.nodes.join('+')), ['conv1+bn1+relu1', 'conv2+relu2', 'flatten', 'fc']);
      assert.equal(report.runs[0].layers[0].kind, 'conv3d+relu');
      assert.ok(report.runs[0].network.localBound > 0 && report.runs[0].network.localBound <= report.runs[0].network.spectralBound);
      assert.ok(report.fidelity.tensors >= 4 && report.fidelity.maxRelativeDifference < 1e-3, JSON.stringify(report.fidelity));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('Pad of a rank-5 tensor stays refused, naming the node (3-D pooling is analysed: poolingRanks.test.ts)', () => {
    const refused = (nodes: ModelSpec['nodes'], initializers: ModelSpec['initializers'] = []) =>
      normaliseGraph(readModelFromBytes(buildModel({ inputs: [{ name: 'x', shape: [1, 2, 4, 4, 4] }], outputs: [{ name: 'y' }], opset: 13, initializers, nodes }))).unsupported;
    const cases: [string, ReturnType<typeof refused>, RegExp][] = [
      ['Pad', refused([node('Pad', ['x', 'pads'], ['y'], undefined, 'pad3d')], [tensor('pads', [10], [0, 0, 1, 1, 1, 0, 0, 1, 1, 1], { dataType: 'INT64' })]), /rank-5/],
    ];
    for (const [opType, unsupported, reason] of cases) {
      assert.equal(unsupported.length, 1, opType);
      assert.equal(unsupported[0].opType, opType);
      assert.match(unsupported[0].node, /3d$/);
      assert.match(unsupported[0].reason, reason, opType);
    }
  });
});
