// Per-axis linear maps (Slice, Split, Gather, ReduceMean/ReduceSum, Resize/Upsample; docs/derivations.md
// §18) and Max/Min against a constant (§17): the operator's contract (adjoint, row and column norms
// against the materialised matrix, values against a term-by-term evaluation), the closed-form norms
// against the exact certified norm and against hand-derived values, and the normaliser's layers against
// onnxruntime on small models (shapes exact, values within 1e-4 relative); 1-D convolutions (§19)
// against onnxruntime, and sampled points of their ball against the reported bounds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedLayerError } from '../../src/engine/errors';
import { pureForward } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Activation, type AxisMatrix, type ConvTransposeParams, type Network, type Shape } from '../../src/engine/network';
import { identityAxis, reduceAxis, resizeAxis } from '../../src/engine/normalise/axisMatrices';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { AxisMapOperator } from '../../src/engine/operators/axisMap';
import { convTransposeOutput, createConvTranspose } from '../../src/engine/operators/convTranspose';
import { createDense } from '../../src/engine/operators/dense';
import type { LinearOperator } from '../../src/engine/operators/linearOperator';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { layersAgainstRuntime } from './helpers/layersAgainstRuntime';
import { NetworkTape } from '../../src/engine/tightness/tape';
import { certifiedNorm, DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, conv, mulberry32, node, randomTensor, relu, tensor, type ModelSpec, type NodeSpec, type TensorSpec } from '../fixtures/onnxBuilder';
import { genericLayer, naiveAxisMap, randomArray, referenceForward } from './helpers/engineNetworks';
import { randomAxisMaps } from './helpers/engineRandomNetworks';

const random = new SeededRandom(180);

function gaussianVector(n: number): Float64Array {
  return Float64Array.from({ length: n }, () => random.gaussian());
}

function dot(a: Float64Array, b: Float64Array): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** conv + ReLU on a [C, H, W] input (so some of its outputs cannot move), then the map. */
function convThenMap(shape: Shape, axes: AxisMatrix[]): Network {
  const [c, h, w] = shape;
  const convLayer = genericLayer('conv', {
    kind: 'affine',
    linear: { kind: 'conv', weight: randomArray(random, c * c * 9, 0.3), weightShape: [c, c, 3, 3], bias: randomArray(random, c, 1), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
    activation: { kind: 'relu' },
  }, [NETWORK_INPUT], [shape], shape);
  const map = genericLayer('map', { kind: 'axisMap', axes }, [0], [shape], axes.map((m) => m.rows.length));
  return { inputName: 'x', inputShape: [c, h, w], layers: [convLayer, map], output: 1 };
}

function mapOnly(shape: Shape, axes: AxisMatrix[]): Network {
  return { inputName: 'x', inputShape: shape, layers: [genericLayer('map', { kind: 'axisMap', axes }, [NETWORK_INPUT], [shape], axes.map((m) => m.rows.length))], output: 0 };
}

function run(network: Network, epsilon: number) {
  const prepared = prepareNetwork(network);
  const x0 = gaussianVector(prepared.inputSize);
  const nominal = pureForward(prepared, x0);
  if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
  return { prepared, result: runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon) };
}

describe('per-axis linear maps: the operator', () => {
  it('adjoint, row norms, column norms and values agree with the materialised matrix and a term-by-term evaluation', () => {
    const kinds = new Set<string>();
    for (let trial = 0; trial < 60; trial++) {
      const shape = [1 + random.int(3), 2 + random.int(4), 2 + random.int(4)];
      const { kind, axes } = randomAxisMaps(random, shape);
      kinds.add(kind);
      const op = new AxisMapOperator(axes, shape, axes.map((m) => m.rows.length), kind);
      const x = gaussianVector(op.inSize);
      const y = gaussianVector(op.outSize);
      const ax = op.apply(x);
      const expected = naiveAxisMap(shape, axes, x);
      ax.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-12 * (1 + Math.abs(expected[i])), `${kind}: value ${i}`));
      const lhs = dot(ax, y);
      const rhs = dot(x, op.applyTranspose(y));
      assert.ok(Math.abs(lhs - rhs) <= 1e-11 * (Math.abs(lhs) + 1), `${kind}: ⟨Ax,y⟩ ${lhs} vs ⟨x,Aᵀy⟩ ${rhs}`);
      const columns = Array.from({ length: op.inSize }, (_, j) => op.apply(Float64Array.from({ length: op.inSize }, (_v, k) => (k === j ? 1 : 0))));
      const mask = Float64Array.from({ length: op.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
      const rowSq = op.rowNormsSquared(mask);
      for (let i = 0; i < op.outSize; i++) {
        const want = columns.reduce((s, column, j) => s + column[i] * column[i] * mask[j], 0);
        assert.ok(Math.abs(rowSq[i] - want) <= 1e-12 * (want + 1), `${kind}: row ${i}`);
      }
      const columnSq = op.columnNormsSquared();
      columns.forEach((column, j) => assert.ok(Math.abs(columnSq[j] - dot(column, column)) <= 1e-12 * (columnSq[j] + 1), `${kind}: column ${j}`));
      // The flags describe the matrix: at most one non-zero per column, or exactly one per row.
      const perColumn = columns.map((column) => column.filter((v) => v !== 0).length);
      const perRow = Array.from({ length: op.outSize }, (_, i) => columns.filter((column) => column[i] !== 0).length);
      assert.equal(op.columnsDisjoint, perColumn.every((n) => n <= 1), `${kind}: columnsDisjoint`);
      if (op.singleEntryRows) assert.ok(perRow.every((n) => n === 1), `${kind}: singleEntryRows`);
    }
    assert.equal(kinds.size, 6);
  });

  it('refuses negative weights and maps that do not fit the shapes', () => {
    assert.throws(() => new AxisMapOperator([{ inExtent: 2, rows: [[{ index: 0, weight: -1 }]] }], [2], [1], 'neg'), /weights ≥ 0/);
    assert.throws(() => new AxisMapOperator([identityAxis(3)], [2], [3], 'extent'), /reads 3 values, the input has 2/);
    assert.throws(() => new AxisMapOperator([{ inExtent: 2, rows: [[{ index: 2, weight: 1 }]] }], [2], [1], 'index'), /outside \[0, 2\)/);
  });
});

describe('per-axis linear maps: norms', () => {
  it('closed forms equal the exact certified norm of A D (random maps, masks from a ReLU conv)', () => {
    let closedForms = 0;
    for (let trial = 0; trial < 60; trial++) {
      const shape = [2, 3 + random.int(3), 3 + random.int(3)];
      const { kind, axes } = randomAxisMaps(random, shape);
      const { prepared, result } = run(convThenMap(shape, axes), Math.pow(10, random.between(-2, 0.5)));
      const layer = result.layers[1];
      const p = prepared.layers[1];
      if (p.op.kind !== 'linearPool') throw new Error('an axis map prepares as a linear map');
      const exact = certifiedNorm(p.op.linear, null, result.masks[0], DEFAULT_SPECTRAL_OPTIONS);
      // (A D = 0 when no movable input is read: then certifiedNorm says so in closed form.)
      assert.match(exact.certificate.method, exact.value === 0 ? /closed-form/ : /^exact/);
      const estimate = exact.certificate.estimate!;
      if (layer.certificate.method === 'closed-form') {
        closedForms++;
        assert.ok(Math.abs(layer.localBound - estimate) <= 1e-9 * (estimate + 1e-300), `${kind}: closed form ${layer.localBound} vs exact ${estimate}`);
      } else {
        assert.equal(kind, 'linear', `${kind} should have a closed form`);
        assert.ok(layer.localBound >= estimate * (1 - 1e-12), `${kind}: certified ${layer.localBound} below the exact ${estimate}`);
      }
      // The whole operator's norm (the spectral column) is the mask-free value.
      const full = certifiedNorm(p.op.linear, null, null, DEFAULT_SPECTRAL_OPTIONS).certificate.estimate!;
      assert.ok(layer.spectralNorm >= full * (1 - 1e-12), `${kind}: ‖A‖ ${layer.spectralNorm} below ${full}`);
    }
    assert.ok(closedForms > 30, `${closedForms} closed forms`);
  });

  it('hand-derived values: nearest upsampling √(Π scales), a mean over n values 1/√n, a sum over n values √n, a slice 1', () => {
    const nearest = (inExtent: number, factor: number) =>
      resizeAxis({ inExtent, outExtent: inExtent * factor, scale: factor, mode: 'nearest', coordinate: 'half_pixel', nearest: 'round_prefer_floor' });
    const cases: [string, Shape, AxisMatrix[], number][] = [
      ['2× nearest upsampling', [1, 2, 2], [identityAxis(1), nearest(2, 2), nearest(2, 2)], 2],
      ['2×3 nearest upsampling', [1, 2, 3], [identityAxis(1), nearest(2, 2), nearest(3, 3)], Math.sqrt(6)],
      ['mean over 4×4', [2, 4, 4], [identityAxis(2), reduceAxis(4, true), reduceAxis(4, true)], 1 / 4],
      ['sum over 4', [2, 3, 4], [identityAxis(2), identityAxis(3), reduceAxis(4, false)], 2],
      ['slice', [2, 3, 4], [identityAxis(2), { inExtent: 3, rows: [[{ index: 2, weight: 1 }]] }, identityAxis(4)], 1],
    ];
    for (const [what, shape, axes, expected] of cases) {
      const { result } = run(mapOnly(shape, axes), 0.01);
      const layer = result.layers[0];
      assert.equal(layer.certificate.method, 'closed-form', what);
      assert.ok(Math.abs(layer.localBound - expected) <= 1e-15 * expected, `${what}: ${layer.localBound} vs ${expected}`);
      assert.ok(Math.abs(layer.spectralNorm - expected) <= 1e-15 * expected, `${what}: ‖A‖ ${layer.spectralNorm} vs ${expected}`);
      assert.ok(Math.abs(layer.epsilonOut - 0.01 * expected) <= 1e-15, what);
    }
  });

  it('a mean over a plane with only k of its n inputs movable has norm √k / n', () => {
    // Input mask from a ReLU conv whose bias switches channel 0 off everywhere: the mean of channel 0 cannot move.
    const shape = [2, 3, 3];
    const network = convThenMap(shape, [identityAxis(2), reduceAxis(3, true), reduceAxis(3, true)]);
    const convOp = network.layers[0].op;
    if (convOp.kind !== 'affine' || convOp.linear.kind !== 'conv') throw new Error('conv expected');
    convOp.linear.bias = Float32Array.from([-1e6, 1e6]);
    const { result } = run(network, 0.01);
    const mask = result.masks[0]!;
    assert.deepEqual([...mask.subarray(0, 9)], new Array(9).fill(0));
    assert.deepEqual([...mask.subarray(9)], new Array(9).fill(1));
    assert.ok(Math.abs(result.layers[1].localBound - 3 / 9) <= 1e-15);
    assert.deepEqual([...result.masks[1]!], [0, 1]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The normaliser against onnxruntime.

const RELATIVE_TOLERANCE = 1e-4;

/** x [1, 2, 5, 6] → conv 3×3 + ReLU ('r') → the nodes under test (reading 'r', writing 'm') → flatten → Gemm → y. */
function chain(nodes: NodeSpec[], initializers: TensorSpec[], opset: number, mapped: number): ModelSpec {
  const rng = mulberry32(opset * 31 + nodes.length);
  return {
    inputs: [{ name: 'x', shape: [1, 2, 5, 6] }],
    outputs: [{ name: 'y' }],
    opset,
    initializers: [randomTensor('w', [2, 2, 3, 3], rng), randomTensor('fc', [mapped, 3], rng), ...initializers],
    nodes: [
      conv({ name: 'conv', input: 'x', weight: 'w', output: 'c', pads: [1, 1, 1, 1] }),
      relu('c', 'r', 'relu'),
      ...nodes,
      node('Flatten', ['m'], ['f'], { axis: 1 }, 'flatten'),
      node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
    ],
  };
}

async function assertMatchesRuntime(what: string, spec: ModelSpec, expectedKinds: string[]): Promise<Network> {
  const bytes = buildModel(spec);
  const result = normaliseGraph(readModelFromBytes(bytes, { path: `${what}.onnx` }));
  assert.deepEqual(result.unsupported, [], `${what}: every node is supported`);
  const network = result.network!;
  const kinds = network.layers.map((l) => (l.op.kind === 'activation' ? `activation/${l.op.activation.kind}` : l.op.kind));
  for (const kind of expectedKinds) assert.ok(kinds.includes(kind), `${what}: layers ${kinds.join(', ')} lack ${kind}`);
  const rng = mulberry32(5);
  const x0 = Float32Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);
  for (const layer of await layersAgainstRuntime(bytes, network, x0)) {
    // A scalar (a ReduceMax over every axis, keepdims 0, and what follows it) is held as one value [1].
    const scalar = layer.dims?.length === 0 && layer.outputShape.length === 1 && layer.outputShape[0] === 1;
    if (!scalar) assert.deepEqual(layer.dims, [1, ...layer.outputShape], `${what} ${layer.label}: shape`);
    assert.ok(layer.difference <= RELATIVE_TOLERANCE * layer.scale, `${what} ${layer.label}: max |Δ| ${layer.difference} at scale ${layer.scale}`);
  }
  return network;
}

const int64 = (name: string, values: number[], dims = [values.length]): TensorSpec => tensor(name, dims, values, { dataType: 'INT64' });

describe('per-axis linear maps: the normaliser against onnxruntime', () => {
  it('Slice (negative axes and steps), Gather (1-D, 2-D and scalar indices), Split + Concat', async () => {
    await assertMatchesRuntime('slice', chain([node('Slice', ['r', 'st', 'en', 'ax', 'sp'], ['m'], undefined, 'slice')], [int64('st', [4, -1]), int64('en', [0, -100]), int64('ax', [-1, 2]), int64('sp', [-2, -2])], 13, 2 * 3 * 2), ['axisMap']);
    await assertMatchesRuntime('gather2d', chain([node('Gather', ['r', 'idx'], ['m'], { axis: 3 }, 'gather')], [int64('idx', [0, 5, -1, 2], [2, 2])], 13, 2 * 5 * 4), ['axisMap']);
    await assertMatchesRuntime('gatherScalar', chain([node('Gather', ['r', 'one'], ['m'], { axis: 1 }, 'gather')], [int64('one', [1], [])], 13, 5 * 6), ['axisMap']);
    await assertMatchesRuntime(
      'split',
      chain([node('Split', ['r', 'parts'], ['s0', 's1'], { axis: 2 }, 'split'), node('Concat', ['s1', 's0'], ['m'], { axis: 2 }, 'cat')], [int64('parts', [2, 3])], 13, 60),
      ['axisMap', 'concat'],
    );
    await assertMatchesRuntime('split18', chain([node('Split', ['r'], ['s0', 's1'], { axis: 3, num_outputs: 2 }, 'split'), node('Add', ['s0', 's1'], ['m'], undefined, 'sum')], [], 18, 30), ['axisMap', 'add']);
  });

  it('ReduceMean and ReduceSum (attribute and input axes, keepdims 0 and 1)', async () => {
    await assertMatchesRuntime('mean13', chain([node('ReduceMean', ['r'], ['m'], { axes: [2, 3], keepdims: 1 }, 'mean')], [], 13, 2), ['axisMap']);
    await assertMatchesRuntime('mean18', chain([node('ReduceMean', ['r', 'ax'], ['m'], { keepdims: 0 }, 'mean')], [int64('ax', [-1])], 18, 10), ['axisMap']);
    await assertMatchesRuntime('sum13', chain([node('ReduceSum', ['r', 'ax'], ['m'], { keepdims: 1 }, 'sum')], [int64('ax', [1, 3])], 13, 5), ['axisMap']);
  });

  it('Resize nearest (every coordinate and rounding mode, scales and sizes), Resize linear, Upsample', async () => {
    const coordinates = ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel', 'tf_half_pixel_for_nn'];
    const roundings = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
    for (const [k, coordinate] of coordinates.entries()) {
      const nearest = roundings[k % roundings.length];
      await assertMatchesRuntime(
        `nearest-${coordinate}-${nearest}`,
        chain([node('Resize', ['r', '', 'scales'], ['m'], { mode: 'nearest', coordinate_transformation_mode: coordinate, nearest_mode: nearest }, 'up')], [tensor('scales', [4], [1, 1, 2, 1.5])], 13, 2 * 10 * 9),
        ['axisMap'],
      );
    }
    await assertMatchesRuntime('nearest-sizes', chain([node('Resize', ['r', '', '', 'sizes'], ['m'], { mode: 'nearest', nearest_mode: 'floor' }, 'up')], [int64('sizes', [1, 2, 7, 3])], 13, 2 * 7 * 3), ['axisMap']);
    for (const coordinate of ['half_pixel', 'align_corners', 'asymmetric']) {
      await assertMatchesRuntime(`linear-${coordinate}`, chain([node('Resize', ['r', '', 'scales'], ['m'], { mode: 'linear', coordinate_transformation_mode: coordinate }, 'up')], [tensor('scales', [4], [1, 1, 2, 0.5])], 13, 2 * 10 * 3), ['axisMap']);
    }
    await assertMatchesRuntime('upsample', chain([node('Upsample', ['r', 'scales'], ['m'], { mode: 'nearest' }, 'up')], [tensor('scales', [4], [1, 1, 2, 3])], 9, 2 * 10 * 18), ['axisMap']);
  });

  it('Max and Min against a constant become one-sided clips, in either input order', async () => {
    await assertMatchesRuntime('max', chain([node('Max', ['c', 'low'], ['m'], undefined, 'max')], [tensor('low', [1, 1, 1, 1], [-0.4])], 13, 60), ['activation/clip']);
    await assertMatchesRuntime('minFirst', chain([node('Min', ['hi', 'r'], ['m'], undefined, 'min')], [tensor('hi', [], [0.3])], 13, 60), ['activation/clip']);
    const result = normaliseGraph(readModelFromBytes(buildModel(chain([node('Max', ['low', 'c'], ['m'], undefined, 'max')], [tensor('low', [1], [-0.4])], 13, 60))));
    const clip = result.network!.layers.find((l) => l.op.kind === 'activation')!.op;
    assert.deepEqual(clip, { kind: 'activation', activation: { kind: 'clip', min: Math.fround(-0.4), max: Infinity } });
  });

  it('refuses what has no rule, naming the node and the reason', () => {
    const refusals: [string, ModelSpec, RegExp][] = [
      ['per-element Max', chain([node('Max', ['c', 'low'], ['m'], undefined, 'max')], [tensor('low', [2, 1, 1], [0, 1])], 13, 60), /only a single value/],
      ['Min of two computed tensors', chain([node('Min', ['c', 'r'], ['m'], undefined, 'min')], [], 13, 60), /two computed tensors/],
      ['cubic Resize', chain([node('Resize', ['r', '', 'scales'], ['m'], { mode: 'cubic' }, 'up')], [tensor('scales', [4], [1, 1, 2, 2])], 13, 2 * 10 * 12), /mode 'cubic'/],
      ['batch Gather', chain([node('Gather', ['r', 'zero'], ['m'], { axis: 0 }, 'gather')], [int64('zero', [0])], 13, 60), /batch axis/],
      ['batch Resize', chain([node('Resize', ['r', '', 'scales'], ['m'], { mode: 'nearest' }, 'up')], [tensor('scales', [4], [2, 1, 1, 1])], 13, 120), /batch axis/],
    ];
    for (const [what, spec, reason] of refusals) {
      const result = normaliseGraph(readModelFromBytes(buildModel(spec)));
      assert.equal(result.network, undefined, what);
      assert.equal(result.unsupported.length, 1, what);
      assert.match(result.unsupported[0].reason, reason, what);
    }
  });
});


/** Sampled points of the ε-ball never move a layer's output by more than its bound times its input's move, nor the network's. */
function assertSampledSound(network: Network): void {
  const prepared = prepareNetwork(network);
  const x0 = gaussianVector(prepared.inputSize);
  const nominal = pureForward(prepared, x0);
  if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
  for (const epsilon of [1e-3, 0.1, 1]) {
    const result = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon);
    const base = referenceForward(network, x0);
    for (let s = 0; s < 200; s++) {
      const direction = gaussianVector(x0.length);
      const norm = Math.sqrt(dot(direction, direction));
      const radius = epsilon * random.uniform();
      const x = x0.map((v, i) => v + (radius * direction[i]) / norm);
      const values = referenceForward(network, x);
      network.layers.forEach((layer, k) => {
        if (layer.inputs.length !== 1) return;
        const before = layer.inputs[0] === NETWORK_INPUT ? x0 : base[layer.inputs[0]];
        const after = layer.inputs[0] === NETWORK_INPUT ? x : values[layer.inputs[0]];
        const moveIn = Math.hypot(...after.map((v, i) => v - before[i]));
        const moveOut = Math.hypot(...values[k].map((v, i) => v - base[k][i]));
        assert.ok(moveOut <= result.layers[k].localBound * moveIn * (1 + 1e-9) + 1e-12, `${layer.label} at ε=${epsilon}: ${moveOut} > ${result.layers[k].localBound} · ${moveIn}`);
        assert.ok(moveOut <= result.layers[k].epsilonOut * (1 + 1e-9) + 1e-12, `${layer.label} at ε=${epsilon}: moved ${moveOut} > radius ${result.layers[k].epsilonOut}`);
      });
      const moved = Math.hypot(...values[network.output].map((v, i) => v - base[network.output][i]));
      assert.ok(moved <= result.localBound * radius * (1 + 1e-9) + 1e-12, `network at ε=${epsilon}`);
    }
  }
}

describe('products of two computed tensors', () => {
  it('x ⊙ x at x0 = 3, ε = 0.5: ε_y = 3.5 · 0.5 + 3 · 0.5 = 3.25 = max |x² − 9| over the ball (exact)', () => {
    const network: Network = { inputName: 'x', inputShape: [1], layers: [genericLayer('square', { kind: 'mul' }, [NETWORK_INPUT, NETWORK_INPUT], [[1], [1]], [1])], output: 0 };
    const prepared = prepareNetwork(network);
    const x0 = Float64Array.of(3);
    const nominal = pureForward(prepared, x0);
    if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
    const result = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, 0.5);
    assert.ok(Math.abs(result.layers[0].epsilonOut - 3.25) <= 1e-11, `${result.layers[0].epsilonOut}`);
    assert.ok(Math.abs(result.localBound - 6.5) <= 1e-10, `${result.localBound}`);
    // Reached at x = 3.5: (12.25 − 9) / 0.5.
    assert.ok(Math.abs((3.5 * 3.5 - 9) / 0.5 - result.localBound) <= 1e-10);
  });

  it('the normaliser makes a squeeze-excitation Mul (either input order) and Pow(x, 2) product layers that match onnxruntime; sampled points respect the bounds', async () => {
    for (const order of [['r', 'gate'], ['gate', 'r']]) {
      const rng = mulberry32(23);
      const network = await assertMatchesRuntime(`se-${order[0]}`, chain([
        node('GlobalAveragePool', ['r'], ['pooled'], undefined, 'squeeze'),
        node('Conv', ['pooled', 'wg'], ['g'], undefined, 'excite'),
        node('HardSigmoid', ['g'], ['gate'], { alpha: { f: 0.2 }, beta: { f: 0.5 } }, 'gate'),
        node('Mul', order, ['m'], undefined, 'scale'),
      ], [randomTensor('wg', [2, 2, 1, 1], rng)], 13, 60), ['mul']);
      const product = network.layers.find((l) => l.op.kind === 'mul')!;
      assert.deepEqual(product.inputShapes, [[2, 5, 6], [2, 1, 1]]);
    }
    // Pow(x, 2) is x ⊙ x: a product layer reading one tensor twice.
    const squared = await assertMatchesRuntime('square', chain([node('Pow', ['c', 'two'], ['m'], undefined, 'square')], [tensor('two', [], [2])], 13, 60), ['mul']);
    const square = squared.layers.find((l) => l.op.kind === 'mul')!;
    assert.equal(square.inputs[0], square.inputs[1]);
    assertSampledSound(squared);
    // Any other constant exponent is a power activation with interval slopes (§24).
    const cube = normaliseGraph(readModelFromBytes(buildModel(chain([node('Pow', ['c', 'three'], ['m'], undefined, 'cube')], [tensor('three', [], [3])], 13, 60))));
    assert.deepEqual(cube.network!.layers.find((l) => l.nodes[0] === 'cube')!.op, { kind: 'activation', activation: { kind: 'power', exponent: 3 } });
    const computed = normaliseGraph(readModelFromBytes(buildModel(chain([node('Pow', ['c', 'r'], ['m'], undefined, 'raise')], [], 13, 60))));
    assert.match(computed.unsupported[0].reason, /computed exponent/);
    const both = normaliseGraph(readModelFromBytes(buildModel(chain([
      node('ReduceMean', ['r'], ['rows'], { axes: [2], keepdims: 1 }, 'rows'),
      node('ReduceMean', ['r'], ['cols'], { axes: [3], keepdims: 1 }, 'cols'),
      node('Mul', ['rows', 'cols'], ['m'], undefined, 'outer'),
    ], [], 13, 60))));
    assert.match(both.unsupported[0].reason, /one factor broadcasts to the other/);
  });
});

describe('1-D convolution', () => {
  it('is a 2-D convolution over a height-1 input: strides, asymmetric pads, dilations and groups match onnxruntime; sampled points respect the bounds', async () => {
    const rng = mulberry32(19);
    const network = await assertMatchesRuntime('conv1d', {
      inputs: [{ name: 'x', shape: [1, 2, 12] }],
      outputs: [{ name: 'y' }],
      opset: 13,
      initializers: [randomTensor('w1', [3, 2, 3], rng), randomTensor('b1', [3], rng), randomTensor('w2', [3, 1, 2], rng), tensor('floor', [], [-0.2]), randomTensor('fc', [18, 2], rng)],
      nodes: [
        node('Conv', ['x', 'w1', 'b1'], ['c1'], { strides: [2], pads: [1, 2] }, 'conv1'),
        relu('c1', 'r1', 'relu1'),
        node('Conv', ['r1', 'w2'], ['c2'], { group: 3, dilations: [2], pads: [0, 1] }, 'depthwise'),
        node('Max', ['c2', 'floor'], ['m'], undefined, 'floor'),
        node('Flatten', ['m'], ['f'], { axis: 1 }, 'flatten'),
        node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
      ],
    }, ['affine', 'activation/clip']);
    const conv1 = network.layers[0].op;
    assert.ok(conv1.kind === 'affine' && conv1.linear.kind === 'conv');
    assert.deepEqual([conv1.linear.weightShape, conv1.linear.strides, conv1.linear.pads], [[3, 2, 1, 3], [1, 2], [0, 1, 0, 2]]);
    assertSampledSound(network);
  });
});

describe('ConvTranspose', () => {
  const params = (): ConvTransposeParams => ({
    kind: 'convTranspose',
    weight: randomArray(random, 4 * 3 * 3 * 2),
    weightShape: [4, 3, 3, 2],
    strides: [2, 3],
    pads: [1, 0, 0, 1],
    dilations: [1, 2],
    group: 2,
    outputPadding: [1, 2],
  });

  it('is the adjoint of its convolution: ⟨Ax, y⟩ = ⟨x, Aᵀy⟩, row norms from the materialised matrix, the Gram products, both backends alike', () => {
    const p = params();
    const shape = [4, 3, 4];
    const reference = createConvTranspose(p, shape, 'ct').linear;
    // The prepared layer runs on the default backend (the native kernels when built), counted.
    const prepared = prepareNetwork({ inputName: 'x', inputShape: shape, layers: [genericLayer('ct', { kind: 'affine', linear: p }, [NETWORK_INPUT], [shape], [6, ...convTransposeOutput(p, shape)])], output: 0 });
    const preparedOp = prepared.layers[0].op;
    if (preparedOp.kind !== 'affine') throw new Error('a conv-transpose prepares as an affine layer');
    const operators: LinearOperator[] = [reference, preparedOp.affine.linear];
    assert.deepEqual(convTransposeOutput(p, shape), [2 * 2 + 1 + 2 + 1 - 1, 3 * 3 + 2 + 2 + 1 - 1]);
    const columns = Array.from({ length: reference.inSize }, (_, j) => reference.apply(Float64Array.from({ length: reference.inSize }, (_v, k) => (k === j ? 1 : 0))));
    for (const op of operators) {
      const x = gaussianVector(op.inSize);
      const y = gaussianVector(op.outSize);
      assert.ok(Math.abs(dot(op.apply(x), y) - dot(x, op.applyTranspose(y))) <= 1e-11 * (1 + Math.abs(dot(op.apply(x), y))));
      op.apply(x).forEach((v, i) => assert.ok(Math.abs(v - columns.reduce((s, column, j) => s + column[i] * x[j], 0)) <= 1e-12 * (1 + Math.abs(v))));
      const mask = Float64Array.from({ length: op.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
      const rowSq = op.rowNormsSquared(mask);
      for (let i = 0; i < op.outSize; i++) {
        const want = columns.reduce((s, column, j) => s + column[i] * column[i] * mask[j], 0);
        assert.ok(Math.abs(rowSq[i] - want) <= 1e-12 * (want + 1), `row ${i}: ${rowSq[i]} vs ${want}`);
      }
      const scale = Float64Array.from({ length: op.outSize }, () => random.uniform());
      if (op.gram) {
        const want = op.applyTranspose(op.apply(x).map((v, i) => v * scale[i]));
        op.gram(x, scale).forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-10 * (1 + Math.abs(want[i])), `gram ${i}`));
      }
    }
  });

  it('the normaliser: strides, asymmetric pads, output_padding, dilations, groups and a fused BatchNormalization match onnxruntime; sampled points respect the bounds', async () => {
    const rng = mulberry32(29);
    const network = await assertMatchesRuntime('convTranspose', chain([
      node('ConvTranspose', ['r', 'wt', 'bt'], ['t'], { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 0], dilations: [1, 2], group: 2 }, 'up'),
      node('BatchNormalization', ['t', 'scale', 'shift', 'mean', 'var'], ['m'], { epsilon: { f: 1e-5 } }, 'bn'),
    ], [randomTensor('wt', [2, 1, 3, 3], rng), randomTensor('bt', [2], rng), tensor('scale', [2], [1.5, -0.5]), tensor('shift', [2], [0.1, 0.2]), tensor('mean', [2], [0.3, -0.1]), tensor('var', [2], [2, 0.5])], 13, 2 * 11 * 14), ['affine']);
    const up = network.layers[1];
    assert.equal(up.label, 'up+bn');
    assert.deepEqual(up.outputShape, [2, 11, 14]);
    assertSampledSound(network);
    const refused = normaliseGraph(readModelFromBytes(buildModel(chain([node('ConvTranspose', ['r', 'wt'], ['m'], { strides: [2, 2], output_padding: [2, 0] }, 'up')], [randomTensor('wt', [2, 1, 3, 3], rng)], 13, 2 * 12 * 13))));
    assert.match(refused.unsupported[0].reason, /output_padding \[2,0\] is not below the strides/);
  });
});

describe('layer normalisation (docs/derivations.md §23)', () => {
  const single = (n: number, epsilon: number, scale?: number[]): Network => ({
    inputName: 'x',
    inputShape: [n],
    layers: [genericLayer('ln', { kind: 'layerNorm', axis: 0, epsilon, ...(scale ? { scale: Float32Array.from(scale) } : {}) }, [NETWORK_INPUT], [[n]], [n])],
    output: 0,
  });
  const bound = (network: Network, x0: Float64Array, epsilon: number) => {
    const prepared = prepareNetwork(network);
    const nominal = pureForward(prepared, x0);
    if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
    return runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon);
  };

  it('x0 = (1, 0, −1), e = 0.5, ε = 0.1: L = 1 / sqrt((√2 − 0.1)²/3 + 0.5); a scale of largest |γ| = 2 doubles it; the global column is max|γ|/√e', () => {
    const x0 = Float64Array.of(1, 0, -1);
    const expected = 1 / Math.sqrt((Math.SQRT2 - 0.1) ** 2 / 3 + 0.5);
    const plain = bound(single(3, 0.5), x0, 0.1);
    assert.ok(Math.abs(plain.layers[0].localBound - expected) <= 1e-9 * expected, `${plain.layers[0].localBound} vs ${expected}`);
    // Above the Jacobian's norm at x0 itself, 1/s(x0) = 1/sqrt(2/3 + 0.5), as a bound over the ball must be.
    assert.ok(plain.layers[0].localBound > 1 / Math.sqrt(2 / 3 + 0.5));
    assert.ok(Math.abs(plain.layers[0].spectralNorm - 1 / Math.sqrt(0.5)) <= 1e-9);
    const scaled = bound(single(3, 0.5, [0.5, -2, 1]), x0, 0.1);
    assert.ok(Math.abs(scaled.layers[0].localBound - 2 * expected) <= 2e-9 * expected);
    // Once ε reaches ‖z0‖ = √2 the variance can be 0: the bound is the global 1/√e.
    const far = bound(single(3, 0.5), x0, 2);
    assert.ok(Math.abs(far.layers[0].localBound - 1 / Math.sqrt(0.5)) <= 1e-9);
  });

  it('refuses, naming the nodes, when the variance can reach 0 and epsilon is 0', () => {
    assert.throws(() => bound(single(3, 0), Float64Array.of(1, 1, 1), 1e-3), (error: Error) => error instanceof UnsupportedLayerError && /\[ln\]/.test(error.message) && /variance of a normalised group can reach 0/.test(error.message));
    // With spread at x0 and ε below it, epsilon 0 is fine.
    const ok = bound(single(3, 0), Float64Array.of(1, 0, -1), 0.1);
    assert.ok(Math.abs(ok.layers[0].localBound - 1 / ((Math.SQRT2 - 0.1) / Math.sqrt(3))) <= 1e-9 * ok.layers[0].localBound);
  });

  it('the Jacobian products of the tape match finite differences and are each other\'s adjoints', () => {
    const network: Network = {
      inputName: 'x',
      inputShape: [2, 5],
      layers: [genericLayer('ln', { kind: 'layerNorm', axis: 1, epsilon: 1e-3, scale: randomArray(random, 5, 1.5), bias: randomArray(random, 5, 0.5) }, [NETWORK_INPUT], [[2, 5]], [2, 5])],
      output: 0,
    };
    const tape = new NetworkTape(prepareNetwork(network));
    const x = gaussianVector(10);
    const recorded = tape.forward(x);
    const v = gaussianVector(10);
    const u = gaussianVector(10);
    const jv = tape.tangent(recorded, v);
    assert.ok(Math.abs(dot(jv, u) - dot(v, tape.backward(recorded, u))) <= 1e-12 * (1 + Math.abs(dot(jv, u))));
    const h = 1e-6;
    const plus = referenceForward(network, x.map((t, i) => t + h * v[i]))[0];
    const minus = referenceForward(network, x.map((t, i) => t - h * v[i]))[0];
    jv.forEach((value, i) => assert.ok(Math.abs(value - (plus[i] - minus[i]) / (2 * h)) <= 1e-6 * (1 + Math.abs(value)), `J v [${i}]`));
  });

  it('the normaliser: the exported pattern (Pow or Mul, with or without the Add of ε) and LayerNormalization become one layer that matches onnxruntime; sampled points respect the bounds', async () => {
    const pattern = (square: NodeSpec, withEpsilon: boolean, axes: number[]): NodeSpec[] => [
      node('ReduceMean', ['r'], ['mean'], { axes, keepdims: 1 }, 'mean'),
      node('Sub', ['r', 'mean'], ['d'], undefined, 'centre'),
      square,
      node('ReduceMean', ['d2'], ['var'], { axes, keepdims: 1 }, 'variance'),
      ...(withEpsilon ? [node('Add', ['var', 'eps'], ['ve'], undefined, 'plusEps'), node('Sqrt', ['ve'], ['s'], undefined, 'sqrt')] : [node('Sqrt', ['var'], ['s'], undefined, 'sqrt')]),
      node('Div', ['d', 's'], ['m'], undefined, 'divide'),
    ];
    const pow = node('Pow', ['d', 'two'], ['d2'], undefined, 'square');
    const mul = node('Mul', ['d', 'd'], ['d2'], undefined, 'square');
    for (const [what, nodes, epsilon] of [
      ['lnPow', pattern(pow, true, [-1]), 1e-5],
      ['lnMul', pattern(mul, true, [2, 3]), 1e-5],
      ['lnNoEps', pattern(pow, false, [1, 2, 3]), 0],
    ] as const) {
      const network = await assertMatchesRuntime(what, chain([...nodes], [tensor('two', [], [2]), tensor('eps', [], [1e-5])], 13, 60), ['layerNorm']);
      const layer = network.layers.find((l) => l.op.kind === 'layerNorm')!;
      assert.equal(layer.nodes.length, 7 - (epsilon === 0 ? 1 : 0), `${what}: one layer for the whole pattern`);
      assert.ok(layer.op.kind === 'layerNorm' && Math.abs(layer.op.epsilon - epsilon) <= 1e-12, what);
      assertSampledSound(network);
    }
    const rng = mulberry32(17);
    for (const [what, axis, scaleDims] of [['layerNormLast', -1, [6]], ['layerNormAll', 1, [2, 5, 6]]] as const) {
      const n = scaleDims.reduce((a, b) => a * b, 1);
      const network = await assertMatchesRuntime(what, chain([node('LayerNormalization', ['r', 'gamma', 'beta'], ['m'], { axis, epsilon: { f: 1e-3 } }, 'ln')], [randomTensor('gamma', [...scaleDims], rng), randomTensor('beta', [...scaleDims], rng)], 17, 60), ['layerNorm']);
      const layer = network.layers.find((l) => l.op.kind === 'layerNorm')!;
      assert.ok(layer.op.kind === 'layerNorm' && layer.op.scale?.length === n, what);
      assertSampledSound(network);
    }
    // A centred tensor read outside the pattern: not one layer; node by node its Sub broadcasts the
    // mean, which the signed Add (§28) does not take, so it is listed with that reason.
    const leaky = normaliseGraph(readModelFromBytes(buildModel(chain([
      ...pattern(pow, true, [-1]).slice(0, -1),
      node('Div', ['d', 's'], ['q'], undefined, 'divide'),
      node('Add', ['q', 'd'], ['m'], undefined, 'leak'),
    ], [tensor('two', [], [2]), tensor('eps', [], [1e-5])], 13, 60))));
    assert.deepEqual(leaky.unsupported.map((u) => [u.opType, u.node]), [['Sub', 'centre']]);
    assert.match(leaky.unsupported[0].reason, /only same-shape operands/);
  });
});

describe('smooth maps, ReduceMax, maximum, quotient, difference, row-wise MatMul (docs/derivations.md §24–§28)', () => {
  const runAt = (network: Network, x0: Float64Array, epsilon: number) => {
    const prepared = prepareNetwork(network);
    const nominal = pureForward(prepared, x0);
    if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
    return runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon);
  };
  const lone = (activation: Activation, before?: Activation): Network => {
    const layers = [
      ...(before ? [genericLayer('before', { kind: 'activation', activation: before }, [NETWORK_INPUT], [[1]], [1])] : []),
      genericLayer('smooth', { kind: 'activation', activation }, [before ? 0 : NETWORK_INPUT], [[1]], [1]),
    ];
    return { inputName: 'x', inputShape: [1], layers, output: layers.length - 1 };
  };

  it('ln at y0 = 2, ε = 1: the largest slope over [1, 3] is 1; behind Clip(min 1e-10) at y0 = 1e-10 it is 1e10 at any ε', () => {
    const log = runAt(lone({ kind: 'log' }), Float64Array.of(2), 1);
    assert.ok(Math.abs(log.layers[0].localBound - 1) <= 1e-11, `${log.layers[0].localBound}`);
    for (const epsilon of [1e-12, 1]) {
      const floored = runAt(lone({ kind: 'log' }, { kind: 'clip', min: 1e-10, max: Infinity }), Float64Array.of(1e-10), epsilon);
      assert.ok(Math.abs(floored.layers[1].localBound / 1e10 - 1) <= 1e-11, `${floored.layers[1].localBound}`);
    }
    // √ at 4, ε = 3: 1/(2√1) = 0.5; 1/y at 2, ε = 1: 1/1² = 1; y³ at −1, ε = 2 (0 inside): 3·3² = 27.
    assert.ok(Math.abs(runAt(lone({ kind: 'sqrt' }), Float64Array.of(4), 3).layers[0].localBound - 0.5) <= 1e-11);
    assert.ok(Math.abs(runAt(lone({ kind: 'reciprocal' }), Float64Array.of(2), 1).layers[0].localBound - 1) <= 1e-11);
    assert.ok(Math.abs(runAt(lone({ kind: 'power', exponent: 3 }), Float64Array.of(-1), 2).layers[0].localBound - 27) <= 1e-9);
  });

  it('refuses, naming the node and the interval, when the reachable interval meets the singularity', () => {
    const refused = (network: Network, x0: number, epsilon: number, pattern: RegExp) =>
      assert.throws(() => runAt(network, Float64Array.of(x0), epsilon), (error: Error) => error instanceof UnsupportedLayerError && /\[smooth\]/.test(error.message) && pattern.test(error.message));
    refused(lone({ kind: 'log' }), 0.5, 0.6, /log has no finite slope at or below 0/);
    refused(lone({ kind: 'sqrt' }), 0.5, 0.5, /sqrt has no finite slope/);
    refused(lone({ kind: 'reciprocal' }), -0.1, 0.2, /1\/y has no finite slope at 0/);
    refused(lone({ kind: 'power', exponent: 0.5 }), 1, 2, /power has no finite slope/);
    // The same log behind a ReLU can still reach 0; behind Clip(min 0.1) it cannot.
    assert.ok(Number.isFinite(runAt(lone({ kind: 'log' }, { kind: 'clip', min: 0.1, max: Infinity }), Float64Array.of(0.5), 0.6).localBound));
  });

  it('x / (2 + x) at x0 = 0, ε = 0.5: ε_y = (1/1.5) · 0.5 = 1/3, attained at x = −0.5; a divisor reaching 0 is refused', () => {
    const shifted = genericLayer('shift', { kind: 'affine', linear: { kind: 'channelAffine', scale: Float32Array.of(1), shift: Float32Array.of(2) } }, [NETWORK_INPUT], [[1]], [1]);
    const network: Network = { inputName: 'x', inputShape: [1], layers: [shifted, genericLayer('div', { kind: 'mul', divide: true }, [NETWORK_INPUT, 0], [[1], [1]], [1])], output: 1 };
    const result = runAt(network, Float64Array.of(0), 0.5);
    assert.ok(Math.abs(result.layers[1].epsilonOut - 1 / 3) <= 1e-11, `${result.layers[1].epsilonOut}`);
    assert.ok(Math.abs(-0.5 / 1.5) <= result.layers[1].epsilonOut);
    assert.throws(() => runAt(network, Float64Array.of(0), 2.5), (error: Error) => error instanceof UnsupportedLayerError && /\[div\]/.test(error.message) && /which holds 0/.test(error.message));
  });

  it('max(x, max x) at x0 = (0, 5), ε = 1: only b and x_2 may win, ε_y = sqrt(1 + 2 · 1) = √3 (true move √2 |Δ max|); ReduceMax has bound 1 and masks windows that cannot move', () => {
    const top = genericLayer('top', { kind: 'reduceMax', axes: [0] }, [NETWORK_INPUT], [[2]], [1]);
    const network: Network = { inputName: 'x', inputShape: [2], layers: [top, genericLayer('floor', { kind: 'maximum' }, [NETWORK_INPUT, 0], [[2], [1]], [2])], output: 1 };
    const result = runAt(network, Float64Array.of(0, 5), 1);
    assert.equal(result.layers[0].localBound, 1);
    assert.ok(Math.abs(result.layers[1].epsilonOut - Math.sqrt(3)) <= 1e-11, `${result.layers[1].epsilonOut}`);
    // Windows of a masked input: a ReLU that is off in the whole ball feeds one of two windows.
    const relu = genericLayer('relu', { kind: 'affine', linear: { kind: 'channelAffine', scale: Float32Array.of(1, 1), shift: Float32Array.of(-10, 0) }, activation: { kind: 'relu' } }, [NETWORK_INPUT], [[2, 2]], [2, 2]);
    const rows: Network = { inputName: 'x', inputShape: [2, 2], layers: [relu, genericLayer('rowMax', { kind: 'reduceMax', axes: [1] }, [0], [[2, 2]], [2])], output: 1 };
    const masked = runAt(rows, Float64Array.of(0, 0, 1, 2), 0.5);
    assert.deepEqual([...masked.masks[1]!], [0, 1]);
    assert.equal(masked.layers[1].localBound, 1);
  });

  it('row-wise dense: adjoint, row norms and values per row; its certified norm is ‖W‖', () => {
    const weight = randomArray(random, 4 * 6, 0.5);
    const rows = createDense({ kind: 'dense', weight, outFeatures: 4, inFeatures: 6, rows: 3 }, 'rows');
    const single = createDense({ kind: 'dense', weight, outFeatures: 4, inFeatures: 6 }, 'one');
    const x = gaussianVector(18);
    const y = gaussianVector(12);
    assert.ok(Math.abs(dot(rows.linear.apply(x), y) - dot(x, rows.linear.applyTranspose(y))) <= 1e-12 * (1 + Math.abs(dot(x, rows.linear.applyTranspose(y)))));
    for (let r = 0; r < 3; r++) {
      const own = single.linear.apply(x.slice(r * 6, r * 6 + 6));
      own.forEach((v, i) => assert.ok(Math.abs(rows.linear.apply(x)[r * 4 + i] - v) <= 1e-14 * (1 + Math.abs(v))));
    }
    const rowSq = rows.linear.rowNormsSquared(new Float64Array(18).fill(1));
    const oneSq = single.linear.rowNormsSquared(new Float64Array(6).fill(1));
    rowSq.forEach((v, k) => assert.ok(Math.abs(v - oneSq[k % 4]) <= 1e-14 * v));
    const whole = certifiedNorm(rows.linear, null, null, DEFAULT_SPECTRAL_OPTIONS).value;
    const own = certifiedNorm(single.linear, null, null, DEFAULT_SPECTRAL_OPTIONS).value;
    assert.ok(Math.abs(whole - own) <= 1e-8 * own, `${whole} vs ${own}`);
  });

  it('the normaliser: Log, Sqrt, Reciprocal, Pow 1.5 behind a Clip, Sub and Div of computed tensors, ReduceMax, Max and Clip with a computed min, MatMul over rows match onnxruntime; sampled points respect the bounds', async () => {
    const floor = node('Clip', ['r', 'half'], ['p'], undefined, 'floor');
    const cases: [string, NodeSpec[], string[], number][] = [
      ['log', [floor, node('Log', ['p'], ['m'], undefined, 'log')], ['activation/log'], 60],
      ['sqrt', [floor, node('Sqrt', ['p'], ['m'], undefined, 'sqrt')], ['activation/sqrt'], 60],
      ['reciprocal', [floor, node('Reciprocal', ['p'], ['m'], undefined, 'inverse')], ['activation/reciprocal'], 60],
      ['power', [floor, node('Pow', ['p', 'oneHalf'], ['m'], undefined, 'power')], ['activation/power'], 60],
      ['sub', [floor, node('Sub', ['c', 'p'], ['m'], undefined, 'difference')], ['add'], 60],
      ['div', [floor, node('Div', ['c', 'p'], ['m'], undefined, 'quotient')], ['mul'], 60],
      ['reduceMax', [node('ReduceMax', ['c'], ['top'], { axes: [2, 3], keepdims: 1 }, 'top'), node('Max', ['c', 'top'], ['m'], undefined, 'lift')], ['reduceMax', 'maximum'], 60],
      ['clipComputed', [node('ReduceMax', ['c'], ['top'], { keepdims: 0 }, 'top'), node('Sub', ['top', 'three'], ['low'], undefined, 'low'), node('Clip', ['c', 'low'], ['m'], undefined, 'clip')], ['reduceMax', 'maximum'], 60],
      ['matMulRows', [node('MatMul', ['c', 'wr'], ['m'], undefined, 'rows')], ['affine'], 2 * 5 * 4],
    ];
    const rng = mulberry32(41);
    for (const [what, nodes, kinds, mapped] of cases) {
      const network = await assertMatchesRuntime(what, chain(nodes, [tensor('half', [], [0.5]), tensor('oneHalf', [], [1.5]), tensor('three', [], [3]), randomTensor('wr', [6, 4], rng)], 13, mapped), kinds);
      if (what === 'matMulRows') {
        const rows = network.layers.find((l) => l.nodes[0] === 'rows')!;
        assert.ok(rows.op.kind === 'affine' && rows.op.linear.kind === 'dense' && rows.op.linear.rows === 10, what);
        assert.deepEqual(rows.outputShape, [2, 5, 4]);
      }
      assertSampledSound(network);
    }
  });
});
