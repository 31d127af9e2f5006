// What the reader refuses when a model is read, before any later stage sees it: a file that changes
// while it is read, NaN weights and float attributes (±Infinity is read), window attributes and dimensions out
// of range, and an external data location that names a folder. Every refusal is one line naming the
// file and the tensor, node or field.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, buildModelFiles, conv, gemm, maxPool, mulberry32, node, randomTensor, relu, tensor, writeModel } from '../fixtures/onnxBuilder';
import type { ModelSpec, NodeSpec, TensorSpec } from '../fixtures/onnxBuilder';

const dir = mkdtempSync(join(tmpdir(), 'll-read-validation-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const LONG_AGO = new Date('2020-01-01T00:00:00Z');

/** A dense model y = W x whose weights are `weights` (2×4). */
function dense(weights: readonly number[], extra: Partial<ModelSpec> = {}): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    initializers: [tensor('w', [2, 4], weights)],
    nodes: [gemm({ name: 'fc', a: 'x', b: 'w', output: 'y', transB: true })],
    ...extra,
  };
}

function refusal(...parts: RegExp[]) {
  return (error: unknown) => {
    assert.ok(error instanceof OnnxError, `expected an OnnxError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    for (const part of parts) assert.match(error.message, part);
    return true;
  };
}

type PositionalRead = (this: FileHandle, buffer: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>;

/** The prototype of the FileHandles readModel reads through, so a test can step in between two reads. */
async function fileHandlePrototype(): Promise<FileHandle> {
  const probe = await open(__filename, 'r');
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandle;
}

describe('a model file that changes while it is read', () => {
  const oldWeights = [1, 2, 3, 4, 5, 6, 7, 8];
  const newWeights = [-8, -7, -6, -5, -4, -3, -2, -1];

  test('is refused when rewritten in place between two chunks of the read, and reads once the writer is done', async (t) => {
    const path = join(dir, 'rewritten.onnx');
    const before = buildModel(dense(oldWeights));
    const rewrite = buildModel(dense(newWeights));
    assert.equal(rewrite.length, before.length, 'the same size, as in the reported attack');
    writeFileSync(path, before);
    utimesSync(path, LONG_AGO, LONG_AGO);
    const prototype = await fileHandlePrototype();
    const read = prototype.read as PositionalRead;
    let reads = 0;
    // Reads come back 16 bytes at a time; the writer strikes after the first.
    t.mock.method(prototype, 'read', function (this: FileHandle, buffer: Uint8Array, offset: number, length: number, position: number) {
      return read.call(this, buffer, offset, Math.min(length, 16), position).then((result) => {
        if (reads++ === 0) writeFileSync(path, rewrite);
        return result;
      });
    });
    await assert.rejects(readModel(path), refusal(/^.*rewritten\.onnx: changed while it was being read/));
    assert.ok(reads > 1);
    t.mock.restoreAll();
    const model = await readModel(path);
    assert.deepEqual(Array.from(model.graph.initializers.get('w')!.toFloat32()), newWeights);
  });

  test('is refused even when the file times did not tick (two writes within one clock tick): the second pass differs', async (t) => {
    const path = join(dir, 'same-tick.onnx');
    writeFileSync(path, buildModel(dense(oldWeights)));
    const prototype = await fileHandlePrototype();
    const read = prototype.read as PositionalRead;
    const stat = prototype.stat;
    let first: unknown;
    let reads = 0;
    // The stamp never changes, as on a coarse file clock; only the bytes do.
    t.mock.method(prototype, 'stat', async function (this: FileHandle, options: { bigint: true }) {
      first ??= await stat.call(this, options);
      return first;
    });
    t.mock.method(prototype, 'read', function (this: FileHandle, buffer: Uint8Array, offset: number, length: number, position: number) {
      return read.call(this, buffer, offset, length, position).then((result) => {
        if (reads++ === 0) writeFileSync(path, buildModel(dense(newWeights)));
        return result;
      });
    });
    await assert.rejects(readModel(path), refusal(/same-tick\.onnx: changed while it was being read/));
  });

  test('an external data file changed after the model was opened is refused when its tensor is read', async () => {
    const folder = join(dir, `external${counter++}`);
    mkdirSync(folder);
    const path = join(folder, 'model.onnx');
    await writeModel(path, dense(oldWeights, { initializers: [tensor('w', [2, 4], oldWeights, { encoding: 'external' })] }));
    utimesSync(join(folder, 'weights.bin'), LONG_AGO, LONG_AGO);
    const model = await readModel(path);
    writeFileSync(join(folder, 'weights.bin'), new Uint8Array(new Float32Array(newWeights).buffer));
    assert.throws(
      () => model.graph.initializers.get('w')!.toFloat32(),
      refusal(/model\.onnx: initializer 'w': external data file 'weights\.bin' changed after the model was opened/),
    );
    assert.deepEqual(Array.from((await readModel(path)).graph.initializers.get('w')!.toFloat32()), newWeights);
  });
});

describe('NaN refused when read, ±Infinity read as it is', () => {
  const path = join(dir, 'weights.onnx');
  const read = (spec: ModelSpec) => readModelFromBytes(buildModel(spec), { path });
  // A DOUBLE NaN whose only non-zero mantissa bit is in the low word: the bit test must look at both words.
  const lowWordNaN = new DataView(new ArrayBuffer(8));
  lowWordNaN.setUint32(0, 1, true);
  lowWordNaN.setUint32(4, 0x7ff00000, true);
  const cases: [string, TensorSpec, RegExp][] = [
    ['raw FLOAT', tensor('w', [2, 4], [1, 2, 3, NaN, 5, 6, 7, 8]), /weights\.onnx: initializer 'w': value 3 is NaN; no weight of a model may be NaN/],
    ['float_data', tensor('w', [2, 4], [1, 2, 3, 4, 5, NaN, 7, 8], { encoding: 'typed' }), /weights\.onnx: initializer 'w': value 5 is NaN/],
    ['DOUBLE', tensor('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, NaN], { dataType: 'DOUBLE' }), /weights\.onnx: initializer 'w': value 7 is NaN/],
    ['DOUBLE, mantissa in the low word', tensor('w', [1], [], { dataType: 'DOUBLE', rawData: new Uint8Array(lowWordNaN.buffer) }), /weights\.onnx: initializer 'w': value 0 is NaN/],
    ['Constant node', tensor('w', [2, 4], [NaN, 2, 3, 4, 5, 6, 7, 8], { storage: 'constant' }), /weights\.onnx: tensor 'w' of Constant node 'w_const'.*: value 0 is NaN/],
    ['value_floats', tensor('w', [8], [1, 2, 3, 4, 5, 6, NaN, 8], { storage: 'value_floats' }), /weights\.onnx: node 'w_const' \(Constant\): attribute 'value_floats' value 6 is NaN; no float attribute may be NaN/],
  ];
  for (const [label, weights, message] of cases) {
    test(`${label}: NaN refused when read, naming the tensor and the file`, () => {
      assert.throws(() => read(dense([], { initializers: [weights] })), refusal(message));
    });
  }

  test('±Infinity in every encoding is read and decodes exactly (masks and unbounded clips hold it)', () => {
    const values = [1, -Infinity, 3, Infinity];
    const specs: TensorSpec[] = [
      tensor('raw', [4], values),
      tensor('typed', [4], values, { encoding: 'typed' }),
      tensor('double', [4], values, { dataType: 'DOUBLE' }),
      tensor('half', [4], values, { dataType: 'FLOAT16' }),
      tensor('constant', [4], values, { storage: 'constant' }),
      tensor('floats', [4], values, { storage: 'value_floats' }),
    ];
    const model = read(dense([1, 2, 3, 4, 5, 6, 7, 8], { initializers: [tensor('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), ...specs] }));
    for (const spec of specs) assert.deepEqual(Array.from(model.graph.initializers.get(spec.name)!.toFloat64()), values, spec.name);
  });

  test('a NaN float attribute is refused naming node, attribute and file; an infinite one is read', () => {
    const withAlpha = (f: number) => dense([1, 2, 3, 4, 5, 6, 7, 8], { nodes: [node('LeakyRelu', ['x'], ['y'], { alpha: { f } }, 'leaky')] });
    assert.throws(() => read(withAlpha(NaN)), refusal(/weights\.onnx: node 'leaky' \(LeakyRelu\): attribute 'alpha' is NaN; no float attribute may be NaN/));
    const attribute = read(withAlpha(-Infinity)).graph.nodes[0].attributes.get('alpha');
    assert.deepEqual(attribute, { type: 'float', value: -Infinity });
  });

  test('NaN in external data is refused when the tensor is read, naming tensor and file; ±Infinity is read', async () => {
    const folder = join(dir, `external${counter++}`);
    mkdirSync(folder);
    const modelPath = join(folder, 'model.onnx');
    const external = (name: string, values: number[]) => tensor(name, [2, 4], values, { encoding: 'external', external: { location: `${name}.bin` } });
    await writeModel(modelPath, dense([], { initializers: [external('w', [1, 2, 3, 4, 5, 6, NaN, 8]), external('v', [1, 2, 3, 4, 5, 6, Infinity, -Infinity])] }));
    const model = await readModel(modelPath);
    assert.throws(() => model.graph.initializers.get('w')!.toFloat32(), refusal(/model\.onnx: initializer 'w': value 6 is NaN; no weight of a model may be NaN/));
    assert.deepEqual(Array.from(model.graph.initializers.get('v')!.toFloat32()), [1, 2, 3, 4, 5, 6, Infinity, -Infinity]);
  });
});

describe('integer attributes and dimensions out of range', () => {
  const path = join(dir, 'ranges.onnx');
  const rng = mulberry32(3);
  const convModel = (node: NodeSpec, inputShape: readonly number[] = [1, 1, 6, 6]): ModelSpec => ({
    inputs: [{ name: 'x', shape: inputShape }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w', [2, 1, 3, 3], rng)],
    nodes: [node],
  });
  const cases: [string, ModelSpec, RegExp][] = [
    ['huge Conv pads', convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', pads: [2 ** 40, 0, 0, 0] })), /ranges\.onnx: node 'c' \(Conv\): value 0 of attribute 'pads' is 1099511627776; it must lie in \[0, 2\^31 - 1\]/],
    ['zero kernel', convModel(maxPool({ name: 'p', input: 'x', output: 'y', kernelShape: [0, 2] })), /node 'p' \(MaxPool\): value 0 of attribute 'kernel_shape' is 0; it must lie in \[1, 2\^31 - 1\]/],
    ['negative stride', convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', strides: [1, -2] })), /node 'c' \(Conv\): value 1 of attribute 'strides' is -2/],
    ['dilation 2^31', convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', dilations: [2 ** 31, 1] })), /node 'c' \(Conv\): value 0 of attribute 'dilations' is 2147483648/],
    ['group 0', convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', group: 0 })), /node 'c' \(Conv\): attribute 'group' is 0; it must lie in \[1, 2\^31 - 1\]/],
    ['huge Pad', { ...convModel(node('Pad', ['x'], ['y'], { pads: [0, 0, 2 ** 40, 0, 0, 0, 0, 0] }, 'pad')), opset: 10 }, /node 'pad' \(Pad\): value 2 of attribute 'pads' is 1099511627776/],
    ['input dimension 2^40', convModel(relu('x', 'y', 'r'), [1, 1, 2 ** 40, 6]), /ranges\.onnx: value 'x': dimension 2 is 1099511627776; a dimension must lie in \[0, 2\^31 - 1\]/],
    ['negative input dimension', convModel(relu('x', 'y', 'r'), [1, -5, 6, 6]), /value 'x': dimension 1 is -5/],
    ['tensor dimension 2^31', { ...convModel(relu('x', 'y', 'r')), initializers: [tensor('e', [2 ** 31, 0], [])] }, /initializer 'e': dims\[0\] is 2147483648; a dimension must lie in \[0, 2\^31 - 1\]/],
  ];
  for (const [label, spec, message] of cases) {
    test(`${label}: refused when read, naming node or value, field and file`, () => {
      assert.throws(() => readModelFromBytes(buildModel(spec), { path }), refusal(message));
    });
  }

  test('the Conv with pads 2^40 that used to hang the shape computation is refused by the whole pipeline', async () => {
    const file = join(dir, 'hang.onnx');
    await writeModel(file, convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', pads: [2 ** 40, 0, 0, 0] })));
    await assert.rejects(analyzeModelFile({ modelPath: file, input: { kind: 'synthetic' }, epsilons: [0.01] }), refusal(/hang\.onnx: node 'c' \(Conv\): value 0 of attribute 'pads'/));
  });

  test('-1 still means an unknown dimension, and in-range values read', () => {
    const model = readModelFromBytes(buildModel(convModel(conv({ name: 'c', input: 'x', weight: 'w', output: 'y', pads: [1, 1, 1, 1] }), [-1, 1, 6, 6])), { path });
    assert.deepEqual(model.graph.inputs[0].shape, [null, 1, 6, 6]);
  });
});

describe('external data locations that name a folder', () => {
  const refused = (location: string, reason: RegExp) => {
    const folder = join(dir, `locations${counter++}`);
    mkdirSync(join(folder, 'sub'), { recursive: true });
    const { model } = buildModelFiles(dense([], { initializers: [tensor('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8], { encoding: 'external', external: { location, omitFile: true } })] }));
    assert.throws(() => readModelFromBytes(model, { path: join(folder, 'model.onnx') }), refusal(new RegExp(`model\\.onnx: initializer 'w': external data location '${location.replace('.', '\\.')}' ${reason.source}`)));
  };

  test("'.' and './' name the model's folder itself (not a symbolic link)", () => {
    refused('.', /names the model's folder itself, not a data file/);
    refused('./', /names the model's folder itself, not a data file/);
  });

  test('a subfolder is named as a folder', () => {
    refused('sub', /names a folder, not a data file/);
  });
});

test('a 20 000-layer chain is normalised and analysed, lower bound included, without overflowing the stack', async () => {
  const rng = mulberry32(5);
  const nodes: NodeSpec[] = [];
  let previous = 'x';
  for (let i = 0; i < 20_000; i++) {
    nodes.push(node('Identity', [previous], [`h${i}`], undefined, `id${i}`));
    previous = `h${i}`;
  }
  nodes.push(gemm({ name: 'fc', a: previous, b: 'w', output: 'y', transB: true }));
  const file = join(dir, 'chain.onnx');
  await writeModel(file, { inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 2] }], initializers: [randomTensor('w', [2, 4], rng)], nodes });
  // The onnxruntime fidelity check is left out: loading 20 000 nodes into onnxruntime tripled this test's
  // time (18 s against 6 s, measured), and onnxruntime's own walks are not what this test is about.
  const report = await analyzeModelFile({ modelPath: file, input: { kind: 'synthetic' }, epsilons: [0.01], options: { fidelity: false } });
  const run = report.runs[0];
  assert.equal(run.layers.length, 20_001);
  assert.ok(Number.isFinite(run.network.localBound) && run.network.localBound > 0);
  assert.ok(run.lowerBound !== undefined && run.lowerBound.value <= run.network.localBound * (1 + 1e-9));
});

test('control characters in names are escaped in errors, and the unsupported-node error is one line', async () => {
  const rng = mulberry32(9);
  const hostile = 'c\x1b[2J\x07\nevil\u202e';
  const spec: ModelSpec = {
    inputs: [{ name: 'x', shape: [1, 1, 6, 6] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w', [2, 1, 3, 3], rng)],
    nodes: [conv({ name: hostile, input: 'x', weight: 'w', output: 'y', strides: [0, 1] })],
  };
  assert.throws(() => readModelFromBytes(buildModel(spec), { path: join(dir, 'names.onnx') }), (error: unknown) => {
    assert.ok(error instanceof OnnxError);
    assert.match(error.message, /node 'c\\x1b\[2J\\x07\\x0aevil\\u202e' \(Conv\): value 0 of attribute 'strides' is 0/);
    assert.doesNotMatch(error.message, /[\x00-\x1f\x7f-\x9f\u202e]/);
    return true;
  });
  const file = join(dir, 'unsupported.onnx');
  await writeModel(file, {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [node('Softplus', ['x'], ['s'], undefined, 'sp\x1b'), node('Erf', ['s'], ['y'], undefined, 'erf')],
  });
  await assert.rejects(analyzeModelFile({ modelPath: file, input: { kind: 'synthetic' }, epsilons: [0.01] }), refusal(/2 nodes are not supported: Softplus 'sp\\x1b', Erf 'erf' \(Softplus 'sp\\x1b': no analysis rule for Softplus; Erf 'erf': /));
});
