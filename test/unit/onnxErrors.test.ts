// Bad files: each error is an OnnxError whose message names the file and the node, tensor or field at fault.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema } from '../../src/onnx/gen/onnx_pb';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, buildModelProto, node, relu, tensor } from '../fixtures/onnxBuilder';
import type { ModelSpec, TensorSpec } from '../fixtures/onnxBuilder';

const dir = mkdtempSync(join(tmpdir(), 'll-onnx-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function carrier(tensors: TensorSpec[], extra: Partial<ModelSpec> = {}): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 4] }],
    initializers: tensors,
    nodes: [relu('x', 'y', 'relu')],
    ...extra,
  };
}

/** Asserts an OnnxError whose message matches every pattern; returns true for assert.throws/rejects. */
function onnxError(...patterns: RegExp[]) {
  return (e: unknown) => {
    assert.ok(e instanceof OnnxError, `expected OnnxError, got ${e instanceof Error ? e.stack : String(e)}`);
    for (const pattern of patterns) assert.match(e.message, pattern);
    return true;
  };
}

function readBytes(bytes: Uint8Array, path = 'bad.onnx') {
  return () => readModelFromBytes(bytes, { path });
}

describe('files that are not ONNX models', () => {
  test('zero bytes', async () => {
    const path = fileWith('empty.onnx', '');
    await assert.rejects(readModel(path), onnxError(/empty\.onnx: is empty \(0 bytes\)/));
    assert.throws(readBytes(new Uint8Array(0)), onnxError(/^bad\.onnx: is empty/));
  });

  test('a missing file and a folder', async () => {
    await assert.rejects(readModel(join(dir, 'nope.onnx')), onnxError(/nope\.onnx: cannot be read: ENOENT/));
    await assert.rejects(readModel(dir), onnxError(/is not a file/));
  });

  test('a text file', async () => {
    const path = fileWith('readme.onnx', 'This is a README, not a model.\n'.repeat(4));
    await assert.rejects(readModel(path), onnxError(/readme\.onnx: is not an ONNX model: it looks like a text file/));
  });

  test('a PNG file: not a protobuf, with the byte offset of the first bad tag', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    assert.throws(readBytes(png, 'image.onnx'), onnxError(/^image\.onnx: is not a valid ONNX model \(not a ModelProto protobuf\)/, /at byte \d+/));
  });

  test('another protobuf message: field types that do not match ModelProto', () => {
    const other = toBinary(TensorProtoSchema, create(TensorProtoSchema, { name: 'not a model', dims: [3n] }));
    assert.throws(readBytes(other), onnxError(/^bad\.onnx: is not/));
  });

  test('a protobuf with no graph', () => {
    const noGraph = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n }));
    assert.throws(readBytes(noGraph), onnxError(/^bad\.onnx: has no graph \(ModelProto\.graph is missing\)/));
  });

  test('a truncated model names the innermost cut field and its byte offset', () => {
    const bytes = buildModel(carrier([tensor('weights', [64], new Array(64).fill(1))]));
    const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
    assert.throws(readBytes(cut, 'cut.onnx'), onnxError(/^cut\.onnx: is truncated: ModelProto\.graph\.initializer\[0\]\.raw_data declares 256 bytes but the file has only \d+ left \(at byte \d+\)$/));
  });

  test('a file over 2 GiB (sparse here) is refused before reading, pointing to external data', async () => {
    const path = fileWith('huge.onnx', buildModel(carrier([])));
    truncateSync(path, 2 ** 31 + 10);
    await assert.rejects(readModel(path), onnxError(/huge\.onnx: is 2\.00 GiB; a protobuf file cannot exceed 2 GiB/, /external data/));
  });
});

describe('inconsistent tensors and graphs', () => {
  test('raw_data byte length that does not match the dims', () => {
    const bytes = buildModel(carrier([tensor('fc.weight', [2, 3], [], { rawData: new Uint8Array(20) })]));
    assert.throws(
      readBytes(bytes),
      onnxError(/^bad\.onnx: initializer 'fc\.weight': raw_data has 20 bytes but FLOAT dims \[2,3\] need 24 \(at byte \d+\)$/),
    );
  });

  test('a typed field with the wrong number of values', () => {
    const bytes = buildModel(carrier([tensor('b', [4], [1, 2, 3], { encoding: 'typed' })]));
    assert.throws(readBytes(bytes), onnxError(/initializer 'b': float_data has 3 values but FLOAT dims \[4\] need 4/));
  });

  test('values in the typed field of another data type', () => {
    const proto = buildModelProto(carrier([tensor('t', [2], [1, 2], { encoding: 'typed' })]));
    const t = proto.graph!.initializer[0];
    t.int64Data = [1n, 2n];
    t.floatData = [];
    assert.throws(readBytes(toBinary(ModelProtoSchema, proto)), onnxError(/initializer 't': stores FLOAT values in int64_data; the ONNX spec puts them in float_data/));
  });

  test('no data at all', () => {
    const proto = buildModelProto(carrier([tensor('t', [2], [1, 2], { encoding: 'typed' })]));
    proto.graph!.initializer[0].floatData = [];
    assert.throws(readBytes(toBinary(ModelProtoSchema, proto)), onnxError(/initializer 't': has no data: FLOAT dims \[2\] need 2 values/));
  });

  test('negative dims, missing data type, unnamed and duplicate initializers', () => {
    const negative = buildModelProto(carrier([tensor('n', [2], [1, 2])]));
    negative.graph!.initializer[0].dims = [-2n];
    assert.throws(readBytes(toBinary(ModelProtoSchema, negative)), onnxError(/initializer 'n': dims\[0\] is -2/));
    const untyped = buildModelProto(carrier([tensor('u', [2], [1, 2])]));
    untyped.graph!.initializer[0].dataType = 0;
    assert.throws(readBytes(toBinary(ModelProtoSchema, untyped)), onnxError(/initializer 'u': has no data_type/));
    assert.throws(readBytes(buildModel(carrier([tensor('', [1], [1])]))), onnxError(/initializer #0: has no name/));
    assert.throws(readBytes(buildModel(carrier([tensor('d', [1], [1]), tensor('d', [1], [2])]))), onnxError(/initializer 'd': appears twice/));
  });

  test('an initializer declared as a graph input with another shape', () => {
    const proto = buildModelProto(carrier([tensor('w', [2, 3], new Array(6).fill(0))], { initializersAsInputs: true }));
    const declared = proto.graph!.input[1].type!.value;
    assert.equal(declared.case, 'tensorType');
    declared.value.shape!.dim[1].value = { case: 'dimValue', value: 4n };
    assert.throws(
      readBytes(toBinary(ModelProtoSchema, proto)),
      onnxError(/initializer 'w': inconsistent shapes: graph input declares \[2,4\] but the initializer has dims \[2,3\]/),
    );
  });

  test('two nodes writing the same tensor; a node without op_type; duplicate attributes', () => {
    const twice = buildModel(carrier([], { nodes: [relu('x', 'y', 'first'), relu('x', 'y', 'second')] }));
    assert.throws(readBytes(twice), onnxError(/node 'second' \(Relu\): output 'y' is already produced by node 'first' \(Relu\)/));
    const noOp = buildModelProto(carrier([]));
    noOp.graph!.node[0].opType = '';
    assert.throws(readBytes(toBinary(ModelProtoSchema, noOp)), onnxError(/node 'relu' \(\): has no op_type/));
    const dup = buildModelProto(carrier([], { nodes: [node('LeakyRelu', ['x'], ['y'], { alpha: { f: 0.1 } }, 'lrelu')] }));
    dup.graph!.node[0].attribute.push(dup.graph!.node[0].attribute[0]);
    assert.throws(readBytes(toBinary(ModelProtoSchema, dup)), onnxError(/node 'lrelu' \(LeakyRelu\): attribute 'alpha' appears twice/));
  });

  test('decoding a tensor whose data type is not numeric names the tensor and the type', () => {
    const strings = buildModelProto(carrier([]));
    strings.graph!.initializer.push(create(TensorProtoSchema, { name: 'labels', dims: [1n], dataType: 8, stringData: [new Uint8Array([65])] }));
    const model = readModelFromBytes(toBinary(ModelProtoSchema, strings), { path: 'bad.onnx' });
    assert.throws(() => model.graph.initializers.get('labels')!.toFloat32(), onnxError(/initializer 'labels': has data type STRING/));
    const fp8 = buildModelProto(carrier([tensor('q', [2], [], { rawData: new Uint8Array(2) })]));
    fp8.graph!.initializer[0].dataType = 17;
    const q = readModelFromBytes(toBinary(ModelProtoSchema, fp8), { path: 'bad.onnx' }).graph.initializers.get('q')!;
    assert.throws(() => q.toFloat32(), onnxError(/initializer 'q': has data type FLOAT8E4M3FN, which cannot be read as real numbers/));
    const floats = readModelFromBytes(buildModel(carrier([tensor('f', [1], [1])])), { path: 'bad.onnx' });
    assert.throws(() => floats.graph.initializers.get('f')!.toIntegers(), onnxError(/initializer 'f': has data type FLOAT, expected an integer type/));
  });
});
