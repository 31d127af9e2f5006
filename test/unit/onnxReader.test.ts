// Reading ONNX models: every tensor encoding, Constant-node weights, graph inputs and shapes, opsets,
// attributes of every type. Models come from test/fixtures/onnxBuilder.ts; expected values are the
// values written into them (exactly representable in the stored type unless a tolerance says otherwise).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, SparseTensorProtoSchema, TensorProtoSchema } from '../../src/onnx/gen/onnx_pb';
import { formatValueInfo } from '../../src/onnx/model';
import { OnnxError } from '../../src/onnx/onnxError';
import { MIN_SEPARATE_PAYLOAD_BYTES } from '../../src/onnx/payloadLayout';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { DataType } from '../../src/onnx/tensor';
import {
  buildModel,
  buildModelProto,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  gemm,
  node,
  relu,
  tensor,
} from '../fixtures/onnxBuilder';
import type { DataTypeName, GraphSpec, ModelSpec, TensorEncoding, TensorSpec, TensorStorage } from '../fixtures/onnxBuilder';

const dir = mkdtempSync(join(tmpdir(), 'll-onnx-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A one-node model whose only purpose is to carry the given tensors. */
function carrier(tensors: TensorSpec[], extra: Partial<ModelSpec> = {}): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1] }],
    outputs: [{ name: 'y', shape: [1] }],
    initializers: tensors,
    nodes: [node('Identity', ['x'], ['y'])],
    ...extra,
  };
}

function read(spec: ModelSpec) {
  return readModelFromBytes(buildModel(spec), { path: 'test.onnx' });
}

// Values exactly representable in FLOAT16 and BFLOAT16 (multiples of 1/8 with few significant bits).
const EXACT = [0.5, -1.25, 2, 0, -0.125, 3.5, 96, -7];

describe('tensor encodings', () => {
  test('FLOAT raw_data at every byte alignment decodes exactly, without changing the file bytes', () => {
    const residues = new Set<number>();
    for (const name of ['w', 'wa', 'wab', 'wabc']) {
      const bytes = buildModel(carrier([tensor(name, [2, 4], EXACT)]));
      const model = readModelFromBytes(bytes, { path: 'test.onnx' });
      const weight = model.graph.initializers.get(name)!;
      const view = weight.rawBytes();
      // rawBytes() is a view into the file buffer: no copy made while reading.
      assert.equal(view.buffer, bytes.buffer);
      residues.add(view.byteOffset % 4);
      assert.equal(weight.storage, 'raw');
      assert.deepEqual(weight.dims, [2, 4]);
      assert.deepEqual(Array.from(weight.toFloat32()), EXACT);
      assert.deepEqual(Array.from(weight.toFloat64()), EXACT);
    }
    // The four name lengths shift raw_data through all four alignments.
    assert.equal(residues.size, 4);
  });

  test('toFloat32 returns a fresh array the caller may modify', () => {
    const model = read(carrier([tensor('w', [8], EXACT)]));
    const weight = model.graph.initializers.get('w')!;
    const first = weight.toFloat32();
    first.fill(42);
    assert.deepEqual(Array.from(weight.toFloat32()), EXACT);
  });

  const floatTypes: DataTypeName[] = ['FLOAT', 'FLOAT16', 'BFLOAT16', 'DOUBLE'];
  for (const dataType of floatTypes) {
    for (const encoding of ['raw', 'typed'] as TensorEncoding[]) {
      test(`${dataType} in ${encoding === 'raw' ? 'raw_data' : 'its typed field'} decodes to float32 and float64`, () => {
        const model = read(carrier([tensor('w', [2, 2, 2], EXACT, { dataType, encoding })]));
        const weight = model.graph.initializers.get('w')!;
        assert.equal(weight.dataTypeName, dataType);
        assert.equal(weight.storage, encoding);
        assert.equal(weight.size, 8);
        assert.deepEqual(Array.from(weight.toFloat32()), EXACT);
        assert.deepEqual(Array.from(weight.toFloat64()), EXACT);
      });
    }
  }

  test('FLOAT16: every non-NaN bit pattern decodes to the value that encodes back to it; NaN is refused', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7fff) <= 0x7c00);
    assert.equal(bits.length, 65536 - 2046);
    const model = read(carrier([tensor('h', [bits.length], [], { dataType: 'FLOAT16', rawData: new Uint8Array(bits.buffer) })]));
    const values = model.graph.initializers.get('h')!.toFloat32();
    bits.forEach((h, i) => assert.equal(float32ToFloat16Bits(values[i]), h, `0x${h.toString(16)} decoded to ${values[i]}`));
    // Spot values from the IEEE 754 binary16 definition.
    const valueOf = (h: number) => values[bits.indexOf(h)];
    assert.equal(valueOf(0x3c00), 1);
    assert.equal(valueOf(0x7bff), 65504);
    assert.equal(valueOf(0x0001), 2 ** -24);
    assert.equal(valueOf(0x7c00), Infinity);
    assert.equal(valueOf(0xfc00), -Infinity);
    for (const pattern of [0x7e01, 0x7c01, 0xfe00]) {
      for (const encoding of ['raw', 'typed'] as const) {
        const spec = encoding === 'raw' ? { rawData: new Uint8Array(new Uint16Array([0x3c00, pattern]).buffer) } : { encoding };
        const data = encoding === 'raw' ? [] : [1, NaN];
        assert.throws(
          () => read(carrier([tensor('h', [2], data, { dataType: 'FLOAT16', ...spec })])),
          (e) => e instanceof OnnxError && /^test\.onnx: initializer 'h': value 1 is NaN; no weight of a model may be NaN/.test(e.message),
        );
      }
    }
  });

  test('BFLOAT16: every non-NaN bit pattern decodes to the value that encodes back to it; NaN is refused', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7fff) <= 0x7f80);
    const model = read(carrier([tensor('b', [bits.length], [], { dataType: 'BFLOAT16', rawData: new Uint8Array(bits.buffer) })]));
    const values = model.graph.initializers.get('b')!.toFloat32();
    bits.forEach((h, i) => assert.equal(float32ToBfloat16Bits(values[i]), h));
    assert.equal(values[bits.indexOf(0x3f80)], 1);
    assert.equal(values[bits.indexOf(0xc020)], -2.5);
    assert.equal(values[bits.indexOf(0xff80)], -Infinity);
    assert.throws(
      () => read(carrier([tensor('b', [1], [], { dataType: 'BFLOAT16', rawData: new Uint8Array(new Uint16Array([0xffc1]).buffer) })])),
      /initializer 'b': value 0 is NaN; no weight of a model may be NaN/,
    );
  });

  test('DOUBLE rounds to the nearest float32 and keeps full precision in toFloat64', () => {
    for (const encoding of ['raw', 'typed'] as const) {
      const model = read(carrier([tensor('d', [2], [0.1, 1 / 3], { dataType: 'DOUBLE', encoding })]));
      const d = model.graph.initializers.get('d')!;
      assert.deepEqual(Array.from(d.toFloat32()), [Math.fround(0.1), Math.fround(1 / 3)]);
      assert.deepEqual(Array.from(d.toFloat64()), [0.1, 1 / 3]);
    }
  });

  test('INT64 in raw_data and int64_data: exact, sentinels become ±Infinity, others beyond 2^53 are an error', () => {
    const big = 2n ** 53n - 1n;
    const values = [0n, -1n, 7n, big, -big, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const encoding of ['raw', 'typed'] as const) {
      const model = read(carrier([tensor('s', [7], values, { dataType: 'INT64', encoding })]));
      const s = model.graph.initializers.get('s')!;
      assert.deepEqual(Array.from(s.toBigInt64()), values);
      assert.deepEqual(s.toIntegers(), [0, -1, 7, Number(big), -Number(big), Infinity, -Infinity]);
      const tooBig = read(carrier([tensor('t', [2], [1n, 2n ** 53n + 1n], { dataType: 'INT64', encoding })]));
      assert.throws(
        () => tooBig.graph.initializers.get('t')!.toIntegers(),
        (e: unknown) => e instanceof OnnxError && /test\.onnx: initializer 't': value 9007199254740993 at index 1/.test(e.message),
      );
    }
  });

  const intTypes: [DataTypeName, number[]][] = [
    ['INT32', [-2147483648, 2147483647, 0, -5]],
    ['INT16', [-32768, 32767, 1, -1]],
    ['INT8', [-128, 127, 3, -3]],
    ['UINT8', [0, 255, 128, 1]],
    ['BOOL', [1, 0, 0, 1]],
  ];
  for (const [dataType, values] of intTypes) {
    test(`${dataType} in raw_data and int32_data decodes exactly`, () => {
      for (const encoding of ['raw', 'typed'] as const) {
        const model = read(carrier([tensor('i', [4], values, { dataType, encoding })]));
        const t = model.graph.initializers.get('i')!;
        assert.deepEqual(t.toIntegers(), values);
        // float32 has 24 significant bits: INT32 extremes round (2147483647 -> 2^31).
        assert.deepEqual(Array.from(t.toFloat32()), values.map(Math.fround));
      }
    });
  }

  test('empty tensors (a zero dimension) need no data', () => {
    const model = read(carrier([tensor('e', [0, 3], [])]));
    const e = model.graph.initializers.get('e')!;
    assert.equal(e.size, 0);
    assert.equal(e.toFloat32().length, 0);
  });

  test('a scalar has dims [] and size 1', () => {
    const model = read(carrier([tensor('s', [], [2.5])]));
    const s = model.graph.initializers.get('s')!;
    assert.deepEqual(s.dims, []);
    assert.equal(s.size, 1);
    assert.deepEqual(Array.from(s.toFloat32()), [2.5]);
  });
});

describe('Constant nodes', () => {
  const cases: [TensorStorage, TensorSpec, number[], number[]][] = [
    ['constant', tensor('c', [2, 2], [1, 2, 3, 4]), [2, 2], [1, 2, 3, 4]],
    ['value_float', tensor('c', [], [1.5]), [], [1.5]],
    ['value_floats', tensor('c', [3], [1.5, -2, 4]), [3], [1.5, -2, 4]],
    ['value_int', tensor('c', [], [7n], { dataType: 'INT64' }), [], [7]],
    ['value_ints', tensor('c', [2], [-1n, 9n], { dataType: 'INT64' }), [2], [-1, 9]],
  ];
  for (const [storage, spec, dims, values] of cases) {
    test(`a Constant with ${storage === 'constant' ? 'value' : storage} is exposed like an initializer`, () => {
      const model = read(carrier([{ ...spec, storage }]));
      const c = model.graph.initializers.get('c')!;
      assert.deepEqual(c.dims, dims);
      assert.deepEqual(Array.from(c.toFloat64()), values);
      assert.deepEqual(c.origin, { kind: 'constant', node: 'c_const', attribute: storage === 'constant' ? 'value' : storage });
      assert.deepEqual(
        model.graph.nodes.map((n) => n.opType),
        ['Identity'],
        'the Constant node is not left among the nodes',
      );
    });
  }

  for (const encoding of ['raw', 'typed'] as const) {
    test(`Constant value tensors in ${encoding} encoding keep their data type (FLOAT16)`, () => {
      const model = read(carrier([tensor('h', [4], EXACT.slice(0, 4), { dataType: 'FLOAT16', encoding, storage: 'constant' })]));
      const h = model.graph.initializers.get('h')!;
      assert.equal(h.dataType, DataType.FLOAT16);
      assert.deepEqual(Array.from(h.toFloat32()), EXACT.slice(0, 4));
    });
  }

  test('a Constant with value_string stays a node (it is not a numeric weight)', () => {
    const model = read({
      inputs: [],
      outputs: [{ name: 's' }],
      nodes: [node('Constant', [], ['s'], { value_string: 'hello' })],
    });
    assert.equal(model.graph.initializers.size, 0);
    assert.deepEqual(model.graph.nodes.map((n) => n.opType), ['Constant']);
    assert.equal(model.graph.nodes[0].string('value_string'), 'hello');
  });
});

describe('graph structure', () => {
  test('graph inputs exclude initializers, keep dim_value / dim_param / unknown dims', () => {
    const model = read(
      carrier([tensor('w', [2], [1, 2])], {
        inputs: [{ name: 'x', shape: ['batch', 3, null, 8] }],
        initializersAsInputs: true,
      }),
    );
    assert.deepEqual(
      model.graph.inputs.map((i) => i.name),
      ['x'],
    );
    assert.deepEqual(model.graph.inputs[0].shape, ['batch', 3, null, 8]);
    assert.equal(model.graph.inputs[0].elemType, DataType.FLOAT);
    assert.equal(formatValueInfo(model.graph.inputs[0]), "FLOAT['batch',3,?,8]");
    assert.deepEqual(model.graph.valueInfo.get('w')?.shape, [2], 'the initializer-as-input keeps its declaration');
  });

  test('an output without a shape has shape undefined', () => {
    const model = read(carrier([]));
    assert.equal(model.graph.outputs[0].shape?.length, 1);
    const noShape = read(carrier([], { outputs: [{ name: 'y' }] }));
    assert.equal(noShape.graph.outputs[0].shape, undefined);
  });

  test('opset of the default domain, with ai.onnx as an alias and other domains apart', () => {
    const model = read(
      carrier([], {
        opset: [
          { domain: 'ai.onnx', version: 17 },
          { domain: 'com.microsoft', version: 1 },
        ],
      }),
    );
    assert.equal(model.opset, 17);
    assert.deepEqual(model.opsetImports, [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    assert.equal(model.graph.nodes[0].opset, 17);
    assert.equal(read(carrier([], { opset: 11 })).opset, 11);
  });

  test('model metadata: IR version, producer, byte length', () => {
    const bytes = buildModel(carrier([], { irVersion: 7, producerName: 'unit-test' }));
    const model = readModelFromBytes(bytes, { path: 'm.onnx' });
    assert.equal(model.irVersion, 7);
    assert.equal(model.producerName, 'unit-test');
    assert.equal(model.byteLength, bytes.length);
    assert.equal(model.path, 'm.onnx');
  });

  test('sparse initializers are listed by name (not decoded)', () => {
    const proto = buildModelProto(carrier([]));
    proto.graph!.sparseInitializer.push(
      create(SparseTensorProtoSchema, { values: create(TensorProtoSchema, { name: 'sp', dims: [1n], dataType: 1, floatData: [1] }), dims: [4n] }),
    );
    const model = readModelFromBytes(toBinary(ModelProtoSchema, proto), { path: 'sparse.onnx' });
    assert.deepEqual([...model.graph.sparseInitializers], ['sp']);
    assert.equal(model.graph.initializers.has('sp'), false);
  });

  test('producer and consumers of tensors; omitted optional inputs stay empty strings', () => {
    const model = read({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [tensor('lo', [], [0])],
      nodes: [node('Clip', ['x', 'lo', ''], ['c'], undefined, 'clip'), relu('c', 'r', 'relu'), node('Add', ['c', 'r'], ['y'], undefined, 'add')],
    });
    const g = model.graph;
    assert.equal(g.producer('c')?.name, 'clip');
    assert.equal(g.producer('x'), undefined);
    assert.deepEqual(g.consumers('c').map((n) => n.name), ['relu', 'add']);
    assert.deepEqual(g.nodes[0].inputs, ['x', 'lo', '']);
  });

  test('attributes of every type: INT(S), FLOAT(S), STRING(S), TENSOR, GRAPH', () => {
    const body: GraphSpec = { inputs: [], outputs: [{ name: 'o' }], nodes: [node('Constant', [], ['o'], { value_float: { f: 1 } })] };
    const model = read({
      inputs: [{ name: 'x', shape: [1] }],
      outputs: [{ name: 'y' }],
      nodes: [
        node(
          'Custom',
          ['x'],
          ['y'],
          { i: 3, is: [1, -2], f: { f: 0.5 }, fs: { floats: [0.25, 4] }, s: 'text', ss: ['a', 'b'], t: { t: tensor('tt', [2], [1, 2]) } },
          'custom',
        ),
      ],
    });
    const n = model.graph.nodes[0];
    assert.equal(n.int('i'), 3);
    assert.deepEqual(n.ints('is'), [1, -2]);
    assert.equal(n.float('f'), 0.5);
    assert.deepEqual(n.floats('fs'), [0.25, 4]);
    assert.equal(n.string('s'), 'text');
    assert.deepEqual(n.strings('ss'), ['a', 'b']);
    assert.deepEqual(Array.from(n.tensor('t').toFloat32()), [1, 2]);
    assert.deepEqual(n.tensor('t').origin, { kind: 'attribute', node: 'custom', attribute: 't' });
    // A GRAPH attribute (If branches, Loop bodies) is read into a Graph of its own.
    const withIf = read({
      inputs: [{ name: 'c', shape: [], elemType: 'BOOL' }],
      outputs: [{ name: 'o' }],
      nodes: [node('If', ['c'], ['o'], { then_branch: { g: body }, else_branch: { g: body } }, 'if')],
    });
    const thenBranch = withIf.graph.nodes[0].graph('then_branch');
    assert.deepEqual(Array.from(thenBranch.initializers.get('o')!.toFloat32()), [1]);
    assert.equal(thenBranch.nodes.length, 0);
  });
});

describe('files', () => {
  test('readModel reads a file and never modifies it', async () => {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, buildModel(carrier([tensor('w', [8], EXACT)])));
    const before = statSync(path);
    const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
    const model = await readModel(path);
    model.graph.initializers.get('w')!.toFloat32().fill(0);
    assert.equal(model.path, path);
    assert.deepEqual(Array.from(model.graph.initializers.get('w')!.toFloat32()), EXACT);
    assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), hash);
    assert.equal(statSync(path).mtimeMs, before.mtimeMs);
  });
});

describe('large weights are read where they can be viewed in place', () => {
  // 2^18 + 1 FLOAT values: over MIN_SEPARATE_PAYLOAD_BYTES, and the names shift raw_data through every alignment.
  const count = (MIN_SEPARATE_PAYLOAD_BYTES >> 2) + 1;
  const values = Array.from({ length: count }, (_v, i) => Math.fround(Math.sin(i) * 3));

  test('every large FLOAT initializer is a float view of the right values, whatever its offset in the file', async () => {
    const path = join(dir, 'large.onnx');
    const names = ['w', 'wa', 'wab', 'wabc'];
    const bytes = buildModel(carrier(names.map((name) => tensor(name, [count], values))));
    writeFileSync(path, bytes);
    const residues = names.map((name) => readModelFromBytes(bytes, { path }).graph.initializers.get(name)!.rawBytes().byteOffset % 4);
    const misaligned = residues.filter((r) => r !== 0).length;
    assert.ok(new Set(residues).size >= 3, `offsets mod 4: ${residues}`);
    const allocated: number[] = [];
    const model = await readModel(path, { allocate: (n) => (allocated.push(n), new ArrayBuffer(n)) });
    for (const name of names) {
      const view = model.graph.initializers.get(name)!.float32View();
      assert.equal(view.length, count);
      assert.deepEqual(Array.from(view), values, name);
      // A view, not a copy: it shares its buffer with the tensor's bytes.
      assert.equal(view.buffer, model.graph.initializers.get(name)!.rawBytes().buffer);
    }
    // The file once, plus a buffer of its own for each misaligned weight.
    assert.deepEqual(allocated.slice(1), new Array(misaligned).fill(count * 4));
    assert.equal(allocated[0], bytes.length);
  });

  test('a NaN in a separately read weight is refused, naming the tensor', async () => {
    const path = join(dir, 'large-nan.onnx');
    const withNaN = values.map((v, i) => (i === count - 1 ? NaN : v));
    writeFileSync(path, buildModel(carrier([tensor('wa', [count], withNaN)])));
    await assert.rejects(readModel(path), (e) => e instanceof OnnxError && new RegExp(`initializer 'wa': value ${count - 1} is NaN`).test(e.message));
  });

  test('a separately read payload that no tensor claims is put back into the file bytes', () => {
    const bytes = buildModel(carrier([tensor('wa', [count], values)]));
    const raw = readModelFromBytes(bytes, { path: 'x.onnx' }).graph.initializers.get('wa')!.rawBytes();
    // A range inside the raw_data but not at its start: the tensor cannot take it, so it must be restored.
    const start = raw.byteOffset + 8;
    const payload = bytes.slice(start, start + 4096);
    const holed = bytes.slice();
    holed.fill(0, start, start + 4096);
    const model = readModelFromBytes(holed, { path: 'x.onnx', separatePayloads: new Map([[start, payload]]) });
    assert.deepEqual(Array.from(model.graph.initializers.get('wa')!.toFloat32()), values);
  });
});

describe('builder models run in onnxruntime with the values the reader reports', () => {
  // y = relu(W x + b): the expected output is computed here in float64 from the written values.
  const W = [0.5, -1.25, 2, 0, -0.125, 3.5, 1, -0.5, 0.25, 0.75, -2, 1.5];
  const b = [0.5, -0.25, 1];
  const x = [1, -2, 0.5, 3];
  const expected = [0, 1, 2].map((r) => Math.max(0, W.slice(4 * r, 4 * r + 4).reduce((s, w, c) => s + w * x[c], b[r])));
  const combos: [DataTypeName, TensorEncoding, TensorStorage][] = [];
  for (const dataType of ['FLOAT', 'FLOAT16', 'DOUBLE'] as DataTypeName[]) {
    for (const encoding of ['raw', 'typed'] as TensorEncoding[]) {
      for (const storage of ['initializer', 'constant'] as TensorStorage[]) combos.push([dataType, encoding, storage]);
    }
  }
  for (const [dataType, encoding, storage] of combos) {
    test(`${dataType} weights, ${encoding}, ${storage}`, async () => {
      // Non-FLOAT weights reach Gemm through a Cast, as exporters of half-precision models do.
      const cast = dataType !== 'FLOAT';
      const spec: ModelSpec = {
        inputs: [{ name: 'x', shape: [1, 4] }],
        outputs: [{ name: 'y', shape: [1, 3] }],
        initializers: [tensor('W', [3, 4], W, { dataType }), tensor('b', [3], b, { dataType })],
        nodes: [
          ...(cast ? [node('Cast', ['W'], ['W32'], { to: DataType.FLOAT }), node('Cast', ['b'], ['b32'], { to: DataType.FLOAT })] : []),
          gemm({ a: 'x', b: cast ? 'W32' : 'W', c: cast ? 'b32' : 'b', output: 'g', transB: true }),
          relu('g', 'y'),
        ],
        defaults: { encoding, storage },
      };
      const bytes = buildModel(spec);
      const model = readModelFromBytes(bytes, { path: 'gemm.onnx' });
      assert.deepEqual(Array.from(model.graph.initializers.get('W')!.toFloat32()), W);
      assert.deepEqual(Array.from(model.graph.initializers.get('b')!.toFloat32()), b);
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 4]) });
      const y = Array.from(out.y.data as Float32Array);
      // W, b and x are exact in every type used; products and sums of these short dyadic values are exact in float32.
      assert.deepEqual(y, expected);
    });
  }
});
