// Activations and Pad of constants fold into constants, with the values onnxruntime computes (float32
// steps for a float32 model): each folded tensor is read back as the weight of a MatMul and compared
// with the runtime's value of the same tensor: bit for bit where the runtime's kernel is correctly
// rounded, and for its float32 approximations of the logistic function, tanh and log within 4 ulps of
// max(1, |value|) (the runtime's logistic is off by up to ~1e-8 absolute, 89 ulps of a value near 5e-4).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward } from '../../src/engine/forward';
import { NETWORK_INPUT } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { ACTIVATION_OP_TYPES } from '../../src/engine/normalise/ops/activations';
import { ortForward, tensorsNeeded } from '../../src/engine/runtime/ortForward';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, mulberry32, node, randomTensor, tensor, type ModelSpec, type NodeSpec, type TensorSpec } from '../fixtures/onnxBuilder';
import { referenceForward } from './helpers/engineNetworks';

/** 4 × 5 values: negatives, zero, tiny and large magnitudes, values where the gates saturate. */
const VALUES = [-7.5, -3, -2.5, -1, -0.4, -1e-3, 0, 1e-3, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 3, 4.75, 9, 17.25, 33.3, 100];
const POSITIVE = VALUES.map((v) => Math.abs(v) + 0.01);
const NONZERO = VALUES.map((v) => (v === 0 ? -0.01 : v));
/** 4 ulps of 1: the approximations' tolerance, relative to max(1, |value|). */
const APPROXIMATE = 2 ** -22;


/** x [1, 4] times the folded constant k [4, 5]: the dense layer's weight is kᵀ. */
function model(nodes: NodeSpec[], initializers: TensorSpec[], opset = 17): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    opset,
    initializers,
    nodes: [...nodes, node('MatMul', ['x', 'k'], ['y'], undefined, 'fc')],
  };
}

/** The folded k as the engine holds it (k[i, j] from the dense weight [5, 4]) and the runtime's k. */
async function foldedAndRuntime(spec: ModelSpec): Promise<{ folded: number[]; runtime: number[] }> {
  const bytes = buildModel(spec);
  const result = normaliseGraph(readModelFromBytes(bytes, { path: 'folded.onnx' }));
  assert.deepEqual(result.unsupported, []);
  const layers = result.network!.layers;
  assert.equal(layers.length, 1, 'everything before the MatMul is folded');
  const op = layers[0].op;
  if (op.kind !== 'affine' || op.linear.kind !== 'dense') throw new Error('the MatMul is a dense layer');
  const weight = op.linear.weight;
  const folded = Array.from({ length: 20 }, (_, f) => weight[(f % 5) * 4 + Math.floor(f / 5)]);
  const ort = await ortForward(bytes, { name: 'x', shape: [1, 4], data: new Float32Array(4) }, ['k'], { intraOpNumThreads: 1 });
  assert.deepEqual(ort.dims.get('k'), [4, 5]);
  return { folded, runtime: Array.from(ort.values.get('k')!) };
}

const c = tensor('c', [4, 5], VALUES);
const cases: [string, NodeSpec[], TensorSpec[], number][] = [
  ['Relu', [node('Relu', ['c'], ['k'])], [c], 0],
  ['LeakyRelu (default α, the float32 0.01)', [node('LeakyRelu', ['c'], ['k'])], [c], 0],
  ['LeakyRelu', [node('LeakyRelu', ['c'], ['k'], { alpha: { f: 0.37 } })], [c], 0],
  ['Clip (inputs)', [node('Clip', ['c', 'lo', 'hi'], ['k'])], [c, tensor('lo', [], [-0.3]), tensor('hi', [], [2.2])], 0],
  ['Clip (max only)', [node('Clip', ['c', '', 'hi'], ['k'])], [c, tensor('hi', [], [2.2])], 0],
  ['HardSigmoid', [node('HardSigmoid', ['c'], ['k'], { alpha: { f: 0.3 }, beta: { f: 0.45 } })], [c], 0],
  ['HardSwish', [node('HardSwish', ['c'], ['k'])], [c], 0],
  ['Max of three, broadcast', [node('Max', ['c', 'row', 'one'], ['k'])], [c, tensor('row', [5], [0.2, -1, 3, 0, 0.5]), tensor('one', [1, 1], [-0.45])], 0],
  ['Min', [node('Min', ['row', 'c'], ['k'])], [c, tensor('row', [5], [0.2, -1, 3, 0, 0.5])], 0],
  ['Sqrt', [node('Sqrt', ['p'], ['k'])], [tensor('p', [4, 5], POSITIVE)], 0],
  ['Reciprocal', [node('Reciprocal', ['n'], ['k'])], [tensor('n', [4, 5], NONZERO)], 0],
  ['Sigmoid', [node('Sigmoid', ['c'], ['k'])], [c], APPROXIMATE],
  ['Tanh', [node('Tanh', ['c'], ['k'])], [c], APPROXIMATE],
  ['Log', [node('Log', ['p'], ['k'])], [tensor('p', [4, 5], POSITIVE)], APPROXIMATE],
  // Float32 steps: round(round(c · s) + t), then a gate of it; the MatMul reads the gate.
  ['a chain: Mul, Add, Sigmoid', [node('Mul', ['c', 's'], ['cs']), node('Add', ['cs', 't'], ['pre']), node('Sigmoid', ['pre'], ['k'])], [c, tensor('s', [], [0.1]), tensor('t', [5], [0.3, -0.7, 1.1, 0, 0.9])], APPROXIMATE],
  ['a chain: Mul, Add (float32 rounding at each step)', [node('Mul', ['c', 's'], ['cs']), node('Add', ['cs', 't'], ['k'])], [c, tensor('s', [], [0.1]), tensor('t', [5], [0.3, -0.7, 1.1, 0, 0.9])], 0],
  ['Pad (constant value, a negative pad crops)', [node('Pad', ['c3', 'pads', 'fill'], ['k'], { mode: 'constant' })], [tensor('c3', [3, 6], VALUES.slice(0, 18)), tensor('pads', [4], [1, 0, 0, -1], { dataType: 'INT64' }), tensor('fill', [], [0.75])], 0],
  ['Pad before opset 11 (attributes)', [node('Pad', ['c3'], ['k'], { mode: 'constant', pads: [0, 1, 1, -2], value: { f: -2.5 } })], [tensor('c3', [3, 6], VALUES.slice(0, 18))], 0],
];

describe('constants through activations and Pad fold as onnxruntime computes them', () => {
  for (const [what, nodes, initializers, tolerance] of cases) {
    it(`${what}: ${tolerance === 0 ? 'bit-identical' : 'within 4 ulps of max(1, |value|)'}`, async () => {
      const opset = what.includes('before opset 11') ? 10 : 17;
      const { folded, runtime } = await foldedAndRuntime(model(nodes, initializers, opset));
      folded.forEach((v, i) => {
        assert.ok(Math.abs(v - runtime[i]) <= tolerance * Math.max(1, Math.abs(runtime[i])), `${what} [${i}]: folded ${v}, runtime ${runtime[i]}`);
      });
    });
  }

  it('every activation the engine has on computed tensors folds on constants', () => {
    const extra: Record<string, { inputs: string[]; initializers: TensorSpec[] }> = {
      Max: { inputs: ['p', 'p'], initializers: [] },
      Min: { inputs: ['p', 'p'], initializers: [] },
    };
    for (const opType of ACTIVATION_OP_TYPES) {
      const spec = model([node(opType, extra[opType]?.inputs ?? ['p'], ['k'], undefined, 'act')], [tensor('p', [4, 5], POSITIVE), ...(extra[opType]?.initializers ?? [])]);
      const result = normaliseGraph(readModelFromBytes(buildModel(spec)));
      assert.deepEqual(result.unsupported, [], opType);
      assert.equal(result.network!.layers.length, 1, opType);
    }
  });

  it('a constant under a computed Clip bound is not folded: refused as before, naming the constant', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 5] }],
      outputs: [{ name: 'y' }],
      opset: 17,
      initializers: [tensor('row', [5], [0.2, -1, 3, 0, 0.5])],
      nodes: [node('Clip', ['row', 'x'], ['y'], undefined, 'clip')],
    };
    const result = normaliseGraph(readModelFromBytes(buildModel(spec)));
    assert.deepEqual(result.unsupported.map((u) => [u.node, u.reason]), [['clip', "input 'row' is a constant, not computed from the network input"]]);
  });
});

describe('Add and Sub of a constant of the data\'s shape (docs/derivations.md §33)', () => {
  /** Tokens [1, 4, 6]: a positional table tanh(0.3 c) added, a row-wise MatMul, a causal-style additive mask, C − x, then logits. */
  function positional(): ModelSpec {
    const rng = mulberry32(33);
    const causal = Array.from({ length: 20 }, (_, i) => (i % 5 <= Math.floor(i / 5) ? 0 : 1));
    return {
      inputs: [{ name: 'x', shape: [1, 4, 6] }],
      outputs: [{ name: 'y' }],
      opset: 17,
      initializers: [
        randomTensor('c', [4, 6], rng), tensor('s', [], [0.3]), randomTensor('w', [6, 5], rng), tensor('upper', [4, 5], causal),
        tensor('penalty', [], [-4]), randomTensor('m2', [1, 4, 5], rng), randomTensor('fc', [20, 3], rng),
      ],
      nodes: [
        node('Mul', ['c', 's'], ['cs'], undefined, 'scaleTable'),
        node('Tanh', ['cs'], ['pe'], undefined, 'table'),
        node('Add', ['x', 'pe'], ['h'], undefined, 'addPositions'),
        node('MatMul', ['h', 'w'], ['h2'], undefined, 'project'),
        node('Mul', ['upper', 'penalty'], ['mask'], undefined, 'maskValues'),
        node('Add', ['mask', 'h2'], ['masked'], undefined, 'addMask'),
        node('Relu', ['masked'], ['r'], undefined, 'relu'),
        node('Sub', ['m2', 'r'], ['d'], undefined, 'fromConstant'),
        node('Flatten', ['d'], ['f'], { axis: 1 }, 'flatten'),
        node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
      ],
    };
  }

  it('x + C, C + x and C − x match onnxruntime layer by layer; each is a layer of norm 1; sampled points never beat the bounds', async () => {
    const bytes = buildModel(positional());
    const result = normaliseGraph(readModelFromBytes(bytes, { path: 'positional.onnx' }));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const offsets = network.layers.filter((l) => l.op.kind === 'affine' && l.op.linear.kind === 'channelAffine' && l.op.linear.offset);
    assert.deepEqual(offsets.map((l) => l.label), ['addPositions', 'addMask', 'fromConstant']);
    const rng = mulberry32(5);
    const x0 = Float32Array.from({ length: 24 }, () => rng() * 2 - 1);
    const ort = await ortForward(bytes, { name: 'x', shape: [1, 4, 6], data: x0 }, tensorsNeeded(network), { intraOpNumThreads: 1 });
    const pure = pureForward(prepareNetwork(network), Float64Array.from(x0));
    if (pure instanceof Promise) throw new Error('pure forward must be synchronous');
    network.layers.forEach((layer, i) => {
      assert.deepEqual(ort.dims.get(layer.onnxOutput), [1, ...layer.outputShape], `${layer.label}: shape`);
      const reference = ort.values.get(layer.onnxOutput)!;
      reference.forEach((v, k) => assert.ok(Math.abs(v - pure.outputs[i][k]) <= 1e-5 * Math.max(1, Math.abs(v)), `${layer.label}[${k}]: ${pure.outputs[i][k]} vs ${v}`));
    });

    const random = new SeededRandom(33);
    const start = Float64Array.from(x0);
    const epsilons = [1e-3, 0.1, 1];
    const analysis = await analyzeNetwork(network, start, { epsilons, backend: 'typescript' });
    const base = referenceForward(network, start);
    for (const [r, epsilon] of epsilons.entries()) {
      const run = analysis.runs[r];
      for (const layer of offsets) {
        const index = network.layers.indexOf(layer);
        assert.ok(run.layers[index].localBound <= 1 + 1e-9, `${layer.label}: ${run.layers[index].localBound}`);
        assert.ok(run.layers[index].spectralNorm >= 1 && run.layers[index].spectralNorm <= 1 + 1e-9, `${layer.label}: ‖A‖ ${run.layers[index].spectralNorm}`);
      }
      for (let sample = 0; sample < 100; sample++) {
        const direction = Float64Array.from({ length: 24 }, () => random.gaussian());
        const length = Math.hypot(...direction);
        const radius = epsilon * random.uniform();
        const x = start.map((v, i) => v + (radius * direction[i]) / length);
        const values = referenceForward(network, x);
        network.layers.forEach((layer, k) => {
          const before = layer.inputs[0] === NETWORK_INPUT ? start : base[layer.inputs[0]];
          const after = layer.inputs[0] === NETWORK_INPUT ? x : values[layer.inputs[0]];
          const moveIn = Math.hypot(...after.map((v, i) => v - before[i]));
          const moveOut = Math.hypot(...values[k].map((v, i) => v - base[k][i]));
          assert.ok(moveOut <= run.layers[k].localBound * moveIn * (1 + 1e-9) + 1e-12, `${layer.label} at ε=${epsilon}`);
        });
        const moved = Math.hypot(...values[network.output].map((v, i) => v - base[network.output][i]));
        assert.ok(moved <= run.network.localBound * radius * (1 + 1e-9) + 1e-12, `network at ε=${epsilon}: ${moved} > ${run.network.localBound} · ${radius}`);
      }
    }
  });

  it('a constant that would broadcast the data to a larger shape, and an infinite one, are refused naming the node', () => {
    const base = (constant: TensorSpec): ModelSpec => ({
      inputs: [{ name: 'x', shape: [1, 4, 6] }],
      outputs: [{ name: 'y' }],
      opset: 17,
      initializers: [constant],
      nodes: [node('Add', ['x', 'k'], ['y'], undefined, 'addTable')],
    });
    const wider = normaliseGraph(readModelFromBytes(buildModel(base(tensor('k', [2, 4, 6], new Array(48).fill(0.5))))));
    assert.deepEqual(wider.unsupported.map((u) => u.node), ['addTable']);
    assert.match(wider.unsupported[0].reason, /does not keep the data's shape \[1,4,6\]/);
    assert.throws(
      () => normaliseGraph(readModelFromBytes(buildModel(base(tensor('k', [4, 6], [...new Array(23).fill(0), -Infinity]))))),
      /node 'addTable' \(Add\): .*'k'.* -Infinity/,
    );
  });
});
