// ±Infinity in a model: read as it is (attention masks, unbounded clips), so the editor opens such models
// and lists their nodes; refused, naming the tensor, the node and the file, only where the analysis would
// compute with the value (weights, biases, scales, folded constants, activation parameters). A Clip bound
// of −∞ or +∞ on its own side means "no bound" and is analysed as such.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModel } from '../../src/onnx/reader';
import { describeModelFile } from '../../src/worker/describeModel';
import { conv, flatten, gemm, mulberry32, node, randomTensor, tensor, writeModel } from '../fixtures/onnxBuilder';
import type { ModelSpec, NodeSpec, TensorSpec } from '../fixtures/onnxBuilder';
import { thirdPartyModel } from '../fixtures/thirdParty';

const dir = mkdtempSync(join(tmpdir(), 'll-infinite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const analyse = (modelPath: string) => analyzeModelFile({ modelPath, input: { kind: 'synthetic' }, epsilons: [0.01], options: { fidelity: false } });

function refusal(...parts: RegExp[]) {
  return (error: unknown) => {
    assert.ok(error instanceof OnnxError, `expected an OnnxError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    for (const part of parts) assert.match(error.message, part);
    return true;
  };
}

/** x [1,4] → Gemm 'fc' (h) → the given nodes → y [1,4]. */
function afterDense(file: string, nodes: NodeSpec[], initializers: TensorSpec[] = []): Promise<string> {
  const rng = mulberry32(21);
  const path = join(dir, file);
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    initializers: [randomTensor('w', [4, 4], rng), ...initializers],
    nodes: [gemm({ name: 'fc', a: 'x', b: 'w', output: 'h', transB: true }), ...nodes],
  };
  return writeModel(path, spec).then(() => path);
}

describe('a −∞ constant in a masking branch the analysis does not support', () => {
  const mask = tensor('mask', [4], [1, 0, 1, 1], { dataType: 'BOOL' });
  const variants: [string, NodeSpec[], TensorSpec[]][] = [
    ['an initializer', [node('Where', ['mask', 'h', 'neg_inf'], ['y'], undefined, 'masked')], [mask, tensor('neg_inf', [], [-Infinity])]],
    [
      'ConstantOfShape',
      [
        node('ConstantOfShape', ['shape'], ['fill'], { value: { t: tensor('value', [1], [-Infinity]) } }, 'fill'),
        node('Where', ['mask', 'h', 'fill'], ['y'], undefined, 'masked'),
      ],
      [mask, tensor('shape', [2], [1n, 4n], { dataType: 'INT64' })],
    ],
  ];
  for (const [label, nodes, initializers] of variants) {
    test(`from ${label}: the model opens, the Where node is listed as unsupported, the analysis names it`, async () => {
      const path = await afterDense(`mask-${label}.onnx`, nodes, initializers);
      const overview = await describeModelFile(path);
      assert.deepEqual(overview.unsupported.map((n) => [n.label, n.opType]), [['masked', 'Where']]);
      assert.equal(overview.rowSource, 'prefix');
      assert.deepEqual(overview.rows.map((row) => row.label), ['fc']);
      await assert.rejects(analyse(path), refusal(/mask-.*\.onnx: 1 node is not supported: Where 'masked'/));
    });
  }
});

describe('±∞ where the analysis computes with it is refused naming tensor, node and file', () => {
  test('a conv weight of +∞: the model opens (its nodes listed, the reason noted), the analysis refuses', async () => {
    const rng = mulberry32(22);
    const weights = randomTensor('c.w', [2, 1, 3, 3], rng);
    (weights.data as Float32Array)[3] = Infinity;
    const path = join(dir, 'inf-conv.onnx');
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, 1, 4, 4] }],
      outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [weights, randomTensor('fc.w', [3, 8], rng)],
      nodes: [
        conv({ name: 'conv', input: 'x', weight: 'c.w', output: 'c' }),
        flatten('c', 'f', 1, 'flat'),
        gemm({ name: 'fc', a: 'f', b: 'fc.w', output: 'y', transB: true }),
      ],
    });
    const message = /inf-conv\.onnx: node 'conv' \(Conv\): tensor 'c\.w' value 3 is Infinity; the analysis computes with it and needs finite numbers/;
    const overview = await describeModelFile(path);
    assert.deepEqual(overview.rows.map((row) => row.label), ['conv', 'flat', 'fc']);
    assert.match(overview.notes.join('\n'), message);
    await assert.rejects(analyse(path), refusal(message));
  });

  test('a constant folded from a −∞ initializer (∞ · 0 = NaN) and added to the data', async () => {
    const path = await afterDense('folded.onnx', [node('Mul', ['neg_inf', 'zeros'], ['shift'], undefined, 'fold'), node('Add', ['h', 'shift'], ['y'], undefined, 'shifted')], [
      tensor('neg_inf', [], [-Infinity]),
      tensor('zeros', [4], [0, 0, 0, 0]),
    ]);
    await assert.rejects(analyse(path), refusal(/folded\.onnx: node 'shifted' \(Add\): constant 'shift' \(folded\) value 0 is NaN; the analysis computes with it/));
  });

  test('an infinite BatchNormalization variance', async () => {
    const path = await afterDense('bn.onnx', [node('BatchNormalization', ['h', 's', 'b', 'm', 'v'], ['y'], { epsilon: { f: 1e-5 } }, 'bn')], [
      tensor('s', [4], [1, 1, 1, 1]),
      tensor('b', [4], [0, 0, 0, 0]),
      tensor('m', [4], [0, 0, 0, 0]),
      tensor('v', [4], [1, 1, Infinity, 1]),
    ]);
    await assert.rejects(analyse(path), refusal(/bn\.onnx: node 'bn' \(BatchNormalization\): tensor 'v' value 2 is Infinity/));
  });

  test('an infinite LeakyRelu slope, named by its attribute', async () => {
    const path = await afterDense('leaky.onnx', [node('LeakyRelu', ['h'], ['y'], { alpha: { f: Infinity } }, 'leaky')]);
    await assert.rejects(analyse(path), refusal(/leaky\.onnx: node 'leaky' \(LeakyRelu\): attribute 'alpha' is Infinity; the analysis computes with it and needs a finite number/));
  });

  test('a Clip whose min is +∞ (every output infinite)', async () => {
    const path = await afterDense('clip-up.onnx', [node('Clip', ['h', 'lo', 'hi'], ['y'], undefined, 'clip')], [tensor('lo', [], [Infinity]), tensor('hi', [], [Infinity])]);
    await assert.rejects(analyse(path), refusal(/clip-up\.onnx: node 'clip' \(Clip\): min 'lo' is Infinity: every output would be \+Infinity/));
  });

  test('Min of the data and −∞ (every output −∞)', async () => {
    const path = await afterDense('min.onnx', [node('Min', ['h', 'floor'], ['y'], undefined, 'min')], [tensor('floor', [], [-Infinity])]);
    await assert.rejects(analyse(path), refusal(/min\.onnx: node 'min' \(Min\): constant 'floor' is -Infinity: every output would be -Infinity/));
  });
});

describe('an infinite Clip bound on its own side is no bound', () => {
  test('Clip(h, −∞, 0.5) is analysed exactly as Clip(h, none, 0.5), from an input and from an opset-6 attribute', async () => {
    const clipped = (file: string, min: TensorSpec[]) =>
      afterDense(file, [node('Clip', ['h', min.length > 0 ? 'lo' : '', 'hi'], ['y'], undefined, 'clip')], [...min, tensor('hi', [], [0.5])]);
    const unbounded = (await analyse(await clipped('clip-none.onnx', []))).runs[0];
    const infinite = (await analyse(await clipped('clip-inf.onnx', [tensor('lo', [], [-Infinity])]))).runs[0];
    const attributePath = join(dir, 'clip-attr.onnx');
    const rng = mulberry32(21);
    await writeModel(attributePath, {
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [randomTensor('w', [4, 4], rng)],
      nodes: [gemm({ name: 'fc', a: 'x', b: 'w', output: 'h', transB: true }), node('Clip', ['h'], ['y'], { min: { f: -Infinity }, max: { f: 0.5 } }, 'clip')],
      opset: 6,
    });
    const attribute = (await analyse(attributePath)).runs[0];
    assert.ok(Number.isFinite(unbounded.network.localBound) && unbounded.network.localBound > 0);
    assert.equal(infinite.network.localBound, unbounded.network.localBound);
    assert.equal(attribute.network.localBound, unbounded.network.localBound);
    assert.deepEqual(infinite.layers.map((layer) => layer.label), ['fc+clip']);
  });
});

test("openWakeWord's melspectrogram.onnx, whose Clip max is a +∞ initializer, opens (the reader used to refuse it)", async () => {
  const path = await thirdPartyModel('melSpectrogram');
  const model = await readModel(path);
  assert.deepEqual(Array.from(model.graph.initializers.get('onnx::Clip_40')!.toFloat64()), [Infinity]);
  // Its input is [batch_size, samples]: the overview lists the graph's nodes, Clip ones included.
  const overview = await describeModelFile(path);
  assert.ok(overview.rows.some((row) => row.label === 'Clip_16'));
  // With the input shape the analysis needs, every node has a rule; Clip_16 (min 1e-10, max the +∞
  // initializer) is a clip bounded below only, fused into the MatMul before it.
  const { unsupported, network } = normaliseGraph(model, { inputShape: [1280] });
  assert.deepEqual(unsupported, []);
  const clipped = network!.layers.find((l) => l.nodes.includes('Clip_16'))!;
  assert.ok(clipped.op.kind === 'affine' && clipped.op.activation?.kind === 'clip' && clipped.op.activation.max === Infinity, clipped.label);
});
