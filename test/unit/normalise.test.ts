// ONNX graph → analysis Network: the layer list (kinds, node names, shapes, parameters) for one
// generated model per rule, unsupported nodes listed by name with the supported prefix, and the hard
// errors. Expected shapes follow the ONNX output-size formula out = floor((in + pads − dil·(k−1) − 1)/s) + 1
// (ceil for ceil_mode), worked out by hand per layer in the comments; forwardOrt.test.ts checks the
// same shapes against onnxruntime.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatUnsupported, normaliseGraph, requireNetwork } from '../../src/engine/normalise/normalise';
import { transposeMatrix } from '../../src/engine/normalise/values';
import type { Layer, Network } from '../../src/engine/network';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, conv, mulberry32, node, randomTensor, relu, tensor } from '../fixtures/onnxBuilder';
import type { ModelSpec } from '../fixtures/onnxBuilder';
import {
  batchNormFixture,
  channelPadFixture,
  convFixture,
  denseFixture,
  graphFixture,
  padFixture,
  poolFixture,
  reshapeFixture,
  hardSwishFixture,
  layoutTransposeFixture,
  transposeFixture,
} from '../fixtures/normaliseModels';

function normalise(spec: ModelSpec) {
  return normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'fixture.onnx' }));
}

function networkOf(spec: ModelSpec): Network {
  const result = normalise(spec);
  assert.deepEqual(result.unsupported, [], 'every node is supported');
  assert.ok(result.network);
  return result.network;
}

/** "label kind[/linear][+activation] [out shape] <- inputs" */
function summary(layer: Layer): string {
  const op = layer.op;
  let kind: string = op.kind;
  if (op.kind === 'affine') kind = `affine/${op.linear.kind}${op.activation ? `+${op.activation.kind}` : ''}`;
  if (op.kind === 'activation') kind = `activation/${op.activation.kind}`;
  return `${layer.label} ${kind} [${layer.outputShape.join(',')}] <- ${layer.inputs.join(',')}`;
}

function affine(layer: Layer) {
  assert.equal(layer.op.kind, 'affine');
  return layer.op as Extract<Layer['op'], { kind: 'affine' }>;
}

describe('normaliseGraph: layer lists', () => {
  test('Conv: asymmetric pads, strides, dilations, groups, auto_pad', () => {
    const network = networkOf(convFixture().spec);
    // conv1: H = floor((9 + 1 + 2 − 2·2 − 1)/2) + 1 = 4, W = floor((8 + 0 + 1 − 2 − 1)/1) + 1 = 7.
    // conv2 (SAME_UPPER, stride 2): H = ceil(4/2) = 2, W = ceil(7/2) = 4.
    assert.deepEqual(network.layers.map(summary), ['conv1 affine/conv [6,4,7] <- -1', 'conv2 affine/conv [3,2,4] <- 0']);
    assert.deepEqual(network.inputShape, [4, 9, 8]);
    const c1 = affine(network.layers[0]).linear;
    assert.equal(c1.kind, 'conv');
    if (c1.kind !== 'conv') return;
    assert.deepEqual([c1.pads, c1.strides, c1.dilations, c1.group, c1.weightShape], [[1, 0, 2, 1], [2, 1], [2, 1], 2, [6, 2, 3, 3]]);
    assert.equal(c1.bias?.length, 6);
    const c2 = affine(network.layers[1]).linear;
    // SAME_UPPER: total pad H = (2−1)·2 + 3 − 4 = 1 → [0 top, 1 bottom]; W = (4−1)·2 + 2 − 7 = 1 → [0 left, 1 right].
    assert.deepEqual(c2.kind === 'conv' && c2.pads, [0, 0, 1, 1]);
    assert.equal(network.output, 1);
  });

  test('Gemm (α, β, transB), Relu fused, Gemm without C, MatMul + Add bias + Relu', () => {
    const fixture = denseFixture();
    const network = networkOf(fixture.spec);
    assert.deepEqual(network.layers.map(summary), [
      'g1+relu1 affine/dense+relu [5] <- -1',
      'g2 affine/dense [7] <- 0',
      'mm+bias+relu2 affine/dense+relu [3] <- 1',
    ]);
    const [g1, g2, mm] = network.layers;
    assert.deepEqual([g1.nodes, g1.opTypes, g1.onnxOutput, g1.onnxPreActivation], [['g1', 'relu1'], ['Gemm', 'Relu'], 'r1', 'g1_out']);
    const init = (name: string) => Float32Array.from(fixture.spec.initializers!.find((t) => t.name === name)!.data as Float32Array);
    const d1 = affine(g1).linear;
    assert.ok(d1.kind === 'dense');
    // W = α·B with transB (B is [5, 6]); b = β·C.
    assert.equal(d1.weight[1 * 6 + 2], Math.fround(0.5 * init('g1.B')[1 * 6 + 2]));
    assert.equal(d1.bias![3], Math.fround(2 * init('g1.C')[3]));
    const d2 = affine(g2).linear;
    assert.ok(d2.kind === 'dense' && d2.bias === undefined);
    // transB = 0: B is [5, 7] = [in, out], so W[o, i] = α·B[i, o].
    assert.equal(d2.weight[4 * 5 + 3], Math.fround(1.5 * init('g2.B')[3 * 7 + 4]));
    const d3 = affine(mm).linear;
    assert.ok(d3.kind === 'dense');
    assert.equal(d3.weight[2 * 7 + 5], init('m.W')[5 * 3 + 2]);
    assert.deepEqual(Array.from(d3.bias!), Array.from(init('m.b')));
    assert.deepEqual([mm.opTypes, mm.onnxOutput, mm.onnxPreActivation], [['MatMul', 'Add', 'Relu'], 'm_out', 'm_pre']);
  });

  test('BatchNormalization: folded into Conv, standalone after a pool or a shared Conv output; lone Relu after Add', () => {
    const fixture = batchNormFixture();
    const network = networkOf(fixture.spec);
    assert.deepEqual(network.layers.map(summary), [
      'conv1+bn1+relu1 affine/conv+relu [4,8,8] <- -1',
      'pool1 maxPool [4,4,4] <- 0',
      'bn2 affine/channelAffine [4,4,4] <- 1',
      'conv3 affine/conv [4,4,4] <- 2',
      'bn3 affine/channelAffine [4,4,4] <- 3',
      'residual add [4,4,4] <- 4,3',
      'relu3 activation/relu [4,4,4] <- 5',
    ]);
    assert.equal(network.layers[0].onnxPreActivation, 'n1');
    const values = (name: string) => Array.from(fixture.spec.initializers!.find((t) => t.name === name)!.data as Float32Array);
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'mean', 'var'].map((k) => values(`bn1.${k}`));
    const w = values('w1');
    const b = values('b1');
    const folded = affine(network.layers[0]).linear;
    assert.ok(folded.kind === 'conv');
    // Inference-mode BN: s = γ/√(var + ε) with ε = 1e-3 (the fixture's), W' = s·W, b' = s·(b − μ) + β; float32 rounding only.
    for (const c of [0, 3]) {
      const s = gamma[c] / Math.sqrt(variance[c] + 1e-3);
      assert.ok(Math.abs(folded.weight[c * 27 + 5] - s * w[c * 27 + 5]) <= 1e-6 * Math.abs(s * w[c * 27 + 5]) + 1e-7);
      assert.ok(Math.abs(folded.bias![c] - (s * (b[c] - mean[c]) + beta[c])) <= 1e-6);
    }
    const standalone = affine(network.layers[2]).linear;
    assert.ok(standalone.kind === 'channelAffine');
    const [g2, b2, m2, v2] = ['gamma', 'beta', 'mean', 'var'].map((k) => values(`bn2.${k}`));
    const s2 = g2[1] / Math.sqrt(v2[1] + 1e-3);
    assert.ok(Math.abs(standalone.scale[1] - s2) <= 1e-6 * s2);
    assert.ok(Math.abs(standalone.shift[1] - (b2[1] - m2[1] * s2)) <= 1e-6);
  });

  test('pools: ceil_mode as extra end padding, count_include_pad, global average, Flatten', () => {
    const network = networkOf(poolFixture().spec);
    // maxCeil on 8×8, k3 s2, ceil: ceil((8 − 3)/2) + 1 = 4 windows, the last needs 1 extra end pad.
    // avgInclude on 4×4: H = (4 + 1 + 1 − 3)/1 + 1 = 4, W = floor((4 + 0 + 1 − 2)/2) + 1 = 2.
    // avgExclude on 4×2, k2, pads top/left 1: H = (4 + 1 − 2) + 1 = 4, W = (2 + 1 − 2) + 1 = 2.
    // avgCeil on 4×2, k2, s [3,1], ceil: H = ceil((4 − 2)/3) + 1 = 2 (1 extra end pad), W = 1.
    assert.deepEqual(network.layers.map(summary), [
      'maxCeil maxPool [2,4,4] <- -1',
      'avgInclude avgPool [2,4,2] <- 0',
      'avgExclude avgPool [2,4,2] <- 1',
      'avgCeil avgPool [2,2,1] <- 2',
      'gap globalAvgPool [2,1,1] <- 3',
      'flat reshape [2] <- 4',
    ]);
    const op = (i: number) => network.layers[i].op as unknown as { pads: number[]; countIncludePad?: boolean };
    assert.deepEqual(op(0).pads, [0, 0, 1, 1]);
    assert.deepEqual([op(1).pads, op(1).countIncludePad], [[1, 0, 1, 1], true]);
    assert.deepEqual([op(2).pads, op(2).countIncludePad], [[1, 1, 0, 0], false]);
    assert.deepEqual([op(3).pads, op(3).countIncludePad], [[0, 0, 1, 0], false]);
  });

  test('Shape → Gather → Unsqueeze → Concat → Reshape folds to a constant shape; Dropout and Identity', () => {
    const network = networkOf(reshapeFixture().spec);
    assert.deepEqual(network.layers.map(summary), ['view reshape [12] <- -1', 'dropout reshape [12] <- 0', 'identity reshape [12] <- 1']);
    assert.deepEqual(network.layers.map((l) => l.opTypes), [['Reshape'], ['Dropout'], ['Identity']]);
  });

  test('zero Pad merged into Conv, into MaxPool after Relu, into AveragePool; a layer of its own before a signed MaxPool', () => {
    const network = networkOf(padFixture().spec);
    // padA [t1,l2,b0,r1] + 3×3 conv on 6×6: 6 + 1 − 2 = 5 rows, 6 + 3 − 2 = 7 columns.
    assert.deepEqual(network.layers.map(summary), [
      'padA+conv1+relu1 affine/conv+relu [3,5,7] <- -1',
      'padB+pool1 maxPool [3,3,4] <- 0',
      'padC+pool2 avgPool [3,3,4] <- 1',
      'shift affine/channelAffine [3,3,4] <- 2',
      'padD affine/conv [3,5,6] <- 3',
      'pool3 maxPool [3,4,5] <- 4',
    ]);
    const [convLayer, maxLayer, avgLayer, , padLayer] = network.layers;
    const c = affine(convLayer).linear;
    assert.deepEqual(c.kind === 'conv' && c.pads, [1, 2, 0, 1]);
    assert.deepEqual(maxLayer.op.kind === 'maxPool' && maxLayer.op.pads, [1, 1, 1, 1]);
    assert.deepEqual(avgLayer.op.kind === 'avgPool' && [avgLayer.op.pads, avgLayer.op.countIncludePad], [[0, 1, 1, 0], true]);
    const p = affine(padLayer).linear;
    assert.ok(p.kind === 'conv');
    assert.deepEqual([p.weightShape, p.group, p.pads, Array.from(p.weight)], [[3, 1, 1, 1], 3, [1, 1, 1, 1], [1, 1, 1]]);
  });

  test('residual Add, Concat along channels, LeakyRelu / Clip / HardSigmoid / Sigmoid / Tanh, Softmax at the end', () => {
    const result = normalise(graphFixture().spec);
    const network = result.network!;
    assert.deepEqual(network.layers.map(summary), [
      'convA+leaky affine/conv+leakyRelu [3,5,5] <- -1',
      'convB+relu6 affine/conv+clip [3,5,5] <- -1',
      'residual add [3,5,5] <- 0,1',
      'tanh activation/tanh [3,5,5] <- 2',
      'convC+hardSigmoid affine/conv+hardSigmoid [2,5,5] <- -1',
      'sigmoid activation/sigmoid [2,5,5] <- 4',
      'concat concat [5,5,5] <- 3,5',
      'flatten reshape [125] <- 6',
      'fc affine/dense [10] <- 7',
    ]);
    assert.deepEqual(affine(network.layers[0]).activation, { kind: 'leakyRelu', alpha: Math.fround(0.1) });
    assert.deepEqual(affine(network.layers[1]).activation, { kind: 'clip', min: 0, max: Math.fround(0.6) });
    assert.deepEqual(affine(network.layers[4]).activation, { kind: 'hardSigmoid', alpha: Math.fround(0.3), beta: Math.fround(0.4) });
    assert.deepEqual(network.layers[6].op, { kind: 'concat', axis: 0 });
    assert.equal(network.layers[network.output].onnxOutput, 'logits');
    assert.deepEqual(result.notes, ["Bounds are on the logits 'logits', taken before Softmax 'softmax'."]);
  });

  test('Concat of a computed tensor with constant channels becomes an embedding 1×1 conv with bias', () => {
    const network = networkOf(channelPadFixture().spec);
    assert.deepEqual(network.layers.map(summary), [
      'conv1+relu1 affine/conv+relu [2,4,4] <- -1',
      'pool maxPool [2,2,2] <- 0',
      'channelPad affine/conv [5,2,2] <- 1',
      'conv2 affine/conv [5,2,2] <- 1',
      'residual add [5,2,2] <- 2,3',
      'relu2 activation/relu [5,2,2] <- 4',
    ]);
    const embed = affine(network.layers[2]).linear;
    assert.ok(embed.kind === 'conv');
    // Output channels 0–1 copy input channels 0–1; 2–3 are the folded zeros; 4 is the constant 0.5.
    assert.deepEqual(Array.from(embed.weight), [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(embed.bias!), [0, 0, 0, 0, 0.5]);
  });

  test('Transpose: folded on a constant weight, a reshape when only unit axes move, a transpose layer otherwise', () => {
    const fixture = transposeFixture();
    const network = networkOf(fixture.spec);
    assert.deepEqual(network.layers.map(summary), [
      'gap globalAvgPool [2,1,1] <- -1',
      'toNhwc reshape [1,1,2] <- 0',
      'flatten reshape [2] <- 1',
      'fc+fcBias affine/dense [4] <- 2',
    ]);
    const dense = affine(network.layers[3]).linear;
    const wt = fixture.spec.initializers!.find((t) => t.name === 'Wt')!.data as Float32Array;
    // W = Wtᵀ is [2, 4] = [in, out], so the dense weight [out, in] is Wt itself.
    assert.ok(dense.kind === 'dense');
    assert.deepEqual(Array.from(dense.weight), Array.from(wt));
    const permuted = networkOf({
      ...fixture.spec,
      outputs: [{ name: 'xt' }],
      nodes: [node('Transpose', ['x'], ['xt'], { perm: [0, 2, 3, 1] }, 'toNhwc')],
    });
    // ONNX perm [0,2,3,1] on [N,2,3,3] without the batch axis: [1,2,0], output [3,3,2].
    assert.deepEqual(permuted.layers.map(summary), ['toNhwc transpose [3,3,2] <- -1']);
    assert.deepEqual(permuted.layers[0].op, { kind: 'transpose', perm: [1, 2, 0] });
    const batchMoved = normalise({
      ...fixture.spec,
      outputs: [{ name: 'xt' }],
      nodes: [node('Transpose', ['x'], ['xt'], { perm: [3, 1, 2, 0] }, 'swapBatch')],
    });
    assert.match(batchMoved.unsupported[0].reason, /permutes the data \[1,2,3,3\] by \[3,1,2,0\], moving the batch axis/);
  });

  test('Layout transposes around a conv body: NHWC → NCHW, conv, NCHW → NHWC, lone relu, flatten, MatMul', () => {
    const network = networkOf(layoutTransposeFixture().spec);
    assert.deepEqual(network.layers.map(summary), [
      'toNchw transpose [3,4,5] <- -1',
      'conv1 affine/conv [2,4,5] <- 0',
      'toNhwc transpose [4,5,2] <- 1',
      'relu1 activation/relu [4,5,2] <- 2',
      'flatten reshape [40] <- 3',
      'fc affine/dense [3] <- 4',
    ]);
    assert.deepEqual(network.inputShape, [4, 5, 3]);
  });

  test('Hard-swish: the ONNX op and t · HardSigmoid(t) fuse after a conv; the paddle2onnx pattern after an Add is a lone activation', () => {
    const network = networkOf(hardSwishFixture().spec);
    assert.deepEqual(network.layers.map(summary), [
      'conv1+hswish1 affine/conv+hardSwish [2,4,4] <- -1',
      'conv2+gate2+mul2 affine/conv+hardSwish [2,4,4] <- 0',
      'residual add [2,4,4] <- 1,0',
      'plus3+relu6+mul3+div6 activation/hardSwish [2,4,4] <- 2',
    ]);
    const activations = network.layers.map((l) => (l.op.kind === 'affine' || l.op.kind === 'activation' ? l.op.activation : undefined));
    // ONNX HardSwish: α = 1/6, β = 1/2; HardSigmoid's own α, β; Clip(t + 3, 0, 6)/6 = clamp(t/6 + 1/2, 0, 1).
    assert.deepEqual(activations, [
      { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 },
      { kind: 'hardSwish', alpha: 0.25, beta: 0.375 },
      undefined,
      { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 },
    ]);
  });

  test('nodes listed out of topological order are put in order', () => {
    const spec = denseFixture().spec;
    const network = networkOf({ ...spec, nodes: [...spec.nodes].reverse() });
    assert.deepEqual(network.layers.map((l) => l.label), ['g1+relu1', 'g2', 'mm+bias+relu2']);
  });

  test('the bundled MNIST example: conv+relu, maxPool, conv+relu, maxPool, reshape, dense', async () => {
    const result = normaliseGraph(await readModel('examples/mnist/mnist-cnn.onnx'));
    assert.deepEqual(result.network!.layers.map(summary), [
      'conv1+relu1 affine/conv+relu [8,28,28] <- -1',
      'pool1 maxPool [8,14,14] <- 0',
      'conv2+relu2 affine/conv+relu [16,14,14] <- 1',
      'pool2 maxPool [16,4,4] <- 2',
      'flatten reshape [256] <- 3',
      'fc affine/dense [10] <- 4',
    ]);
    assert.equal(result.network!.inputName, 'image');
  });
});

test('transposeMatrix: every entry moves to its mirrored place, across partial tiles', () => {
  for (const [rows, cols] of [[1, 1], [3, 200], [70, 130], [64, 64]]) {
    const source = Float32Array.from({ length: rows * cols }, (_v, i) => i);
    const out = transposeMatrix(source, rows, cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.equal(out[c * rows + r], source[r * cols + c], `[${r}, ${c}] of ${rows}×${cols}`);
  }
});

describe('normaliseGraph: unsupported nodes', () => {
  const rng = mulberry32(7);
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
    outputs: [{ name: 'y' }],
    opset: 13,
    initializers: [
      randomTensor('w1', [2, 2, 3, 3], rng),
      randomTensor('w2', [2, 2, 1, 1], rng),
      tensor('scales', [4], [1, 1, 2, 2]),
      tensor('roi', [0], []),
    ],
    nodes: [
      conv({ name: 'conv1', input: 'x', weight: 'w1', output: 'c1', pads: [1, 1, 1, 1] }),
      relu('c1', 'r1', 'relu1'),
      node('Resize', ['r1', 'roi', 'scales'], ['u'], { mode: 'cubic' }, 'up1'),
      conv({ name: 'conv2', input: 'u', weight: 'w2', output: 'c2' }),
      node('Softplus', ['c2'], ['y'], undefined, 'sp'),
    ],
  };

  test('are listed by name and op type, with the supported prefix', () => {
    const result = normalise(spec);
    assert.equal(result.network, undefined);
    // conv2 reads the output of an unsupported node: it is not itself unsupported, only unreachable.
    assert.deepEqual(result.unsupported.map((u) => [u.opType, u.node]), [['Resize', 'up1'], ['Softplus', 'sp']]);
    assert.match(result.unsupported[0].reason, /mode 'cubic' has no analysis rule/);
    assert.equal(formatUnsupported(result.unsupported), "2 nodes are not supported: Resize 'up1', Softplus 'sp'");
    assert.deepEqual(result.supportedPrefix!.layers.map(summary), ['conv1+relu1 affine/conv+relu [2,4,4] <- -1']);
    assert.equal(result.supportedPrefix!.output, 0);
    assert.throws(() => requireNetwork(result, 'fixture.onnx'), (e: Error) => e instanceof OnnxError && /Resize 'up1'.*Softplus 'sp'/.test(e.message));
  });

  test('nodes after an unsupported element-wise node are still checked', () => {
    // Blocks min(x, relu6(x + 3)) (a Min of two computed tensors has no rule): each Min is listed.
    const blocks = ['a', 'b', 'c'];
    const rng2 = mulberry32(8);
    const result = normalise({
      inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
      outputs: [{ name: 'y' }],
      opset: 13,
      initializers: [tensor('three', [], [3]), tensor('zero', [], [0]), tensor('six', [], [6]), ...blocks.map((b) => randomTensor(`w${b}`, [2, 2, 1, 1], rng2))],
      nodes: blocks.flatMap((b, i) => {
        const input = i === 0 ? 'x' : `h${blocks[i - 1]}`;
        const out = i === blocks.length - 1 ? 'y' : `h${b}`;
        return [
          conv({ name: `conv_${b}`, input, weight: `w${b}`, output: `c${b}` }),
          node('Add', [`c${b}`, 'three'], [`s${b}`], undefined, `add_${b}`),
          node('Clip', [`s${b}`, 'zero', 'six'], [`k${b}`], undefined, `clip_${b}`),
          node('Min', [`c${b}`, `k${b}`], [out], undefined, `div_${b}`),
        ];
      }),
    });
    assert.deepEqual(result.unsupported.map((u) => u.node), ['div_a', 'div_b', 'div_c']);
    assert.match(result.unsupported[2].reason, /Min of two computed tensors/);
    // The prefix stops before the first Min: conv_a, then add_a+clip_a as a clipped channel shift.
    assert.deepEqual(result.supportedPrefix!.layers.map(summary), ['conv_a affine/conv [2,4,4] <- -1', 'add_a+clip_a affine/channelAffine+clip [2,4,4] <- 0']);
  });

  test('every refused node is listed, also behind a refused MatMul, Softmax or reduction; nodes whose inputs have no known shape are named as unchecked', () => {
    const result = normalise({
      inputs: [{ name: 'x', shape: [1, 4, 6] }],
      outputs: [{ name: 'y' }],
      opset: [{ domain: '', version: 13 }, { domain: 'com.example', version: 1 }],
      nodes: [
        node('Transpose', ['x'], ['t'], { perm: [0, 2, 1] }, 'swap'),
        node('MatMul', ['x', 't'], ['mm'], undefined, 'scores'),
        node('Softmax', ['mm'], ['sm'], { axis: -1 }, 'attention'),
        node('ReduceL2', ['sm'], ['top'], { axes: [2], keepdims: 1 }, 'top'),
        node('Min', ['sm', 'top'], ['ratio'], undefined, 'ratio'),
        { ...relu('ratio', 'opaque', 'opaque'), opType: 'Mystery', domain: 'com.example' },
        node('Mul', ['opaque', 'opaque'], ['sq'], undefined, 'square'),
        relu('sq', 'y', 'out'),
      ],
    });
    assert.equal(result.network, undefined);
    // Before shapes were inferred for refused MatMuls, the Div behind them went unlisted.
    // Q Qᵀ and its Softmax are attention layers (docs/derivations.md §30, §31), no longer refused.
    assert.deepEqual(result.unsupported.map((u) => [u.opType, u.node]), [
      ['ReduceL2', 'top'],
      ['Min', 'ratio'],
      ['Mystery', 'opaque'],
    ]);
    assert.match(result.unsupported[1].reason, /Min of two computed tensors/);
    assert.deepEqual(result.unchecked, ["Mul 'square'", "Relu 'out'"]);
    assert.ok(result.notes.includes("2 nodes after unsupported ones could not be checked (their input shapes are unknown): Mul 'square', Relu 'out'."), result.notes.join('\n'));
    assert.throws(() => requireNetwork(result, 'fixture.onnx'), (e: Error) => /3 nodes are not supported: ReduceL2 'top'[^]*2 nodes after unsupported ones could not be checked/.test(e.message));
  });

  test('a graph with several outputs: all are bounded, flattened and concatenated, unless some are chosen', () => {
    const rng3 = mulberry32(10);
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
      outputs: [{ name: 'scores' }, { name: 'boxes' }],
      initializers: [randomTensor('w', [3, 2, 1, 1], rng3)],
      nodes: [relu('x', 'scores', 'r'), conv({ name: 'c', input: 'x', weight: 'w', output: 'boxes' })],
    };
    const all = normalise(spec);
    assert.ok(all.notes.includes("Bounds are for the outputs 'scores', 'boxes', flattened and concatenated into one vector."), all.notes.join('\n'));
    // 2·4·4 = 32 scores and 3·4·4 = 48 boxes stack into 80 values.
    assert.deepEqual(all.network!.layers.map(summary), [
      'r activation/relu [2,4,4] <- -1',
      'c affine/conv [3,4,4] <- -1',
      "flatten 'scores' reshape [32] <- 0",
      "flatten 'boxes' reshape [48] <- 1",
      'concatenate outputs concat [80] <- 2,3',
    ]);
    assert.equal(all.network!.output, 4);
    assert.deepEqual(all.network!.outputNames, ['scores', 'boxes']);
    assert.deepEqual(all.network!.layers.slice(2).map((l) => [l.onnxOutput, l.nodes.length]), [['', 0], ['', 0], ['', 0]]);
    const second = normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'fixture.onnx' }), { outputs: ['boxes'] });
    assert.ok(second.notes.includes("The graph has 2 outputs; bounds are for 'boxes' only."), second.notes.join('\n'));
    assert.deepEqual(second.network!.layers.map(summary), ['c affine/conv [3,4,4] <- -1']);
    assert.throws(
      () => normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'fixture.onnx' }), { outputs: ['logits'] }),
      /fixture\.onnx.*has no graph output 'logits' \(outputs: 'scores', 'boxes'\)/,
    );
  });

  test('an output that does not depend on the analysed input is left out, with a note', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 4] }, { name: 'state', shape: [1, 4] }],
      outputs: [{ name: 'y' }, { name: 'nextState' }],
      nodes: [relu('x', 'y', 'r'), node('Add', ['state', 'state'], ['nextState'], undefined, 'double')],
    };
    const result = normalise(spec);
    assert.deepEqual(result.network!.layers.map(summary), ['r activation/relu [4] <- -1']);
    assert.deepEqual(result.network!.outputNames, ['y']);
    assert.ok(result.notes.includes("The output 'nextState' does not depend on the input 'x' and is left out of the bounds."), result.notes.join('\n'));
    assert.throws(
      () => normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'fixture.onnx' }), { outputs: ['nextState'] }),
      /output 'nextState' is a constant: it does not depend on the input 'x'/,
    );
  });

  test('a 4-D convolution, a custom-domain node and a non-zero Pad are unsupported with a reason', () => {
    const fourD = normalise({
      inputs: [{ name: 'x', shape: [1, 2, 4, 4, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [3, 2, 3, 3, 3, 3], rng)],
      nodes: [conv({ name: 'conv4d', input: 'x', weight: 'w', output: 'y' })],
    });
    assert.deepEqual(fourD.unsupported.map((u) => u.node), ['conv4d']);
    assert.match(fourD.unsupported[0].reason, /4-D convolution.*only 1-D, 2-D and 3-D/);
    const custom = normalise({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [{ ...relu('x', 'y', 'fusedGelu'), opType: 'FastGelu', domain: 'com.microsoft' }],
      opset: [{ domain: '', version: 13 }, { domain: 'com.microsoft', version: 1 }],
    });
    assert.match(custom.unsupported[0].reason, /custom-domain operator \(com\.microsoft\)/);
    const reflect = normalise({
      inputs: [{ name: 'x', shape: [1, 1, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [tensor('pads', [8], [0, 0, 1, 1, 0, 0, 1, 1], { dataType: 'INT64' })],
      nodes: [node('Pad', ['x', 'pads'], ['y'], { mode: 'reflect' }, 'mirror')],
    });
    assert.match(reflect.unsupported[0].reason, /mode 'reflect'/);
  });
});

describe('normaliseGraph: errors name the node and field', () => {
  const rng = mulberry32(9);
  const base = (nodes: ModelSpec['nodes'], extra: Partial<ModelSpec> = {}): ModelSpec => ({
    inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w', [3, 2, 3, 3], rng), randomTensor('w3', [3, 3, 3, 3], rng)],
    nodes,
    ...extra,
  });
  const fails = (spec: ModelSpec, pattern: RegExp) =>
    assert.throws(() => normalise(spec), (e: Error) => e instanceof OnnxError && pattern.test(e.message), `expected ${pattern}`);

  test('a weight computed from the input', () => {
    fails(
      base([relu('x', 'rx', 'r'), conv({ name: 'convW', input: 'x', weight: 'rx', output: 'y' })]),
      /fixture\.onnx: node 'convW' \(Conv\): W 'rx' is computed from the network input; it must be a constant/,
    );
  });

  test('Conv weight channels that do not match the input', () => {
    fails(base([conv({ name: 'convC', input: 'x', weight: 'w3', output: 'y' })]), /node 'convC' \(Conv\): inconsistent shapes: weight \[3,3,3,3\] with group 1 expects 3 input channels, the input \[1,2,4,4\] has 2/);
  });

  test('a missing input', () => {
    fails(base([conv({ name: 'convM', input: 'x', weight: 'nowhere', output: 'y' })]), /node 'convM' \(Conv\): input 1 \(W\) 'nowhere' is neither a graph input/);
  });

  test('several graph inputs: the one analysed must exist, the ones held fixed need a known shape or a value', () => {
    const spec = base([node('Add', ['x', 'x2'], ['y'], undefined, 'sum')], { inputs: [{ name: 'x', shape: [1, 2] }, { name: 'x2', shape: ['N', 'T'] }] });
    fails(spec, /graph input 'x2'.*has open dimensions .*give its value to hold it fixed/);
    const read = () => readModelFromBytes(buildModel(spec), { path: 'fixture.onnx' });
    assert.throws(() => normaliseGraph(read(), { input: 'h' }), /has no graph input 'h' \(inputs: 'x', 'x2'\)/);
    const wrongShape = new Map([['x2', { values: new Float64Array(3), shape: [3], origin: 'x2.npy' }]]);
    assert.throws(() => normaliseGraph(read(), { fixedInputs: new Map([['x3', wrongShape.get('x2')!]]) }), /has no other graph input 'x3' to hold fixed/);
    const given = new Map([['x2', { values: Float64Array.from([3, -1]), shape: [1, 2], origin: 'x2.npy' }]]);
    const result = normaliseGraph(read(), { fixedInputs: given });
    assert.ok(result.notes.includes("Bounds are with respect to the input 'x'; the other inputs are held fixed: 'x2' from x2.npy."), result.notes.join('\n'));
    assert.deepEqual(result.network!.fixedInputs!.map((f) => [f.name, [...f.tensor.dims], f.source, [...f.tensor.toFloat64()]]), [['x2', [1, 2], 'x2.npy', [3, -1]]]);
    // A state input whose middle axis is named like the analysed input's batch axis takes 1 there.
    const state: ModelSpec = {
      inputs: [{ name: 'x', shape: ['N', 2] }, { name: 'x2', shape: [1, 'N', 2] }],
      outputs: [{ name: 'y' }, { name: 'next' }],
      nodes: [relu('x', 'y', 'r'), node('Add', ['x2', 'x2'], ['next'], undefined, 'carry')],
    };
    assert.deepEqual(normaliseGraph(readModelFromBytes(buildModel(state))).network!.fixedInputs!.map((f) => [...f.tensor.dims]), [[1, 1, 2]]);
    const integer = base([node('Add', ['x', 'x2'], ['y'], undefined, 'sum')], { inputs: [{ name: 'x', shape: [1, 2] }, { name: 'x2', shape: [1, 2], elemType: 'INT64' }] });
    assert.throws(
      () => normaliseGraph(readModelFromBytes(buildModel(integer), { path: 'fixture.onnx' }), { fixedInputs: new Map([['x2', { values: Float64Array.from([0.5, 1]), shape: [2], origin: 'x2.json' }]]) }),
      /graph input 'x2'.*is INT64, but value 0\.5 at index 0 is not an integer/,
    );
    fails(base([relu('x', 'y', 'r')], { inputs: [{ name: 'x', shape: [1, 4], elemType: 'INT64' }] }), /graph input 'x': has INT64; the analysis needs a FLOAT/);
    fails(base([relu('x', 'y', 'r')], { inputs: [{ name: 'x', shape: [4, 3] }] }), /graph input 'x': has batch size 4/);
  });

  test('symbolic spatial dimensions need an explicit input shape', () => {
    const spec = base([relu('x', 'y', 'r')], { inputs: [{ name: 'x', shape: ['N', 3, 'H', 'W'] }] });
    fails(spec, /symbolic or unknown dimensions after the batch axis/);
    const result = normaliseGraph(readModelFromBytes(buildModel(spec)), { inputShape: [3, 5, 5] });
    assert.deepEqual(result.network!.layers.map(summary), ['r activation/relu [3,5,5] <- -1']);
  });
});
