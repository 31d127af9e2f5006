// Attribute access with the ONNX operator specification's defaults, and auto_pad resolution for Conv
// and pooling. Defaults are quoted from docs/Operators.md of ONNX; window geometries are derived by hand
// in the comments and, for a grid of cases, checked against the output shapes onnxruntime computes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { resolveWindow, windowGeometry } from '../../src/onnx/autoPad';
import type { AutoPad } from '../../src/onnx/autoPad';
import type { Node } from '../../src/onnx/model';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, conv, maxPool, node, averagePool, tensor } from '../fixtures/onnxBuilder';
import type { AttrValue, NodeSpec } from '../fixtures/onnxBuilder';

function nodeOf(spec: NodeSpec, opset = 13): Node {
  const bytes = buildModel({
    inputs: spec.inputs.map((name) => ({ name })),
    outputs: spec.outputs.map((name) => ({ name })),
    nodes: [spec],
    opset: [
      { domain: '', version: opset },
      { domain: 'custom', version: 1 },
    ],
  });
  return readModelFromBytes(bytes, { path: 'attrs.onnx' }).graph.nodes[0];
}

function bare(opType: string, attrs: Record<string, AttrValue> = {}, opset = 13): Node {
  return nodeOf(node(opType, ['x'], ['y'], attrs, 'n'), opset);
}

function isOnnxError(...parts: RegExp[]) {
  return (e: unknown) => {
    assert.ok(e instanceof OnnxError, `expected OnnxError, got ${String(e)}`);
    for (const part of parts) assert.match(e.message, part);
    return true;
  };
}

describe('attribute defaults (ONNX Operators.md)', () => {
  test('Conv: group 1, auto_pad NOTSET', () => {
    const n = bare('Conv');
    assert.equal(n.int('group'), 1);
    assert.equal(n.string('auto_pad'), 'NOTSET');
  });

  test('Gemm: alpha 1, beta 1, transA 0, transB 0', () => {
    const n = bare('Gemm');
    assert.deepEqual([n.float('alpha'), n.float('beta'), n.int('transA'), n.int('transB')], [1, 1, 0, 0]);
  });

  test('BatchNormalization epsilon 1e-5 (read back as float32 when written), momentum 0.9', () => {
    assert.equal(bare('BatchNormalization').float('epsilon'), 1e-5);
    assert.equal(bare('BatchNormalization').float('momentum'), 0.9);
    assert.equal(bare('BatchNormalization', { epsilon: { f: 1e-3 } }).float('epsilon'), Math.fround(1e-3));
  });

  test('pools: ceil_mode 0, count_include_pad 0, storage_order 0', () => {
    assert.equal(bare('MaxPool').int('ceil_mode'), 0);
    assert.equal(bare('MaxPool').int('storage_order'), 0);
    assert.equal(bare('AveragePool').int('count_include_pad'), 0);
  });

  test('activations: LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1, Selu constants', () => {
    assert.equal(bare('LeakyRelu').float('alpha'), 0.01);
    assert.deepEqual([bare('HardSigmoid').float('alpha'), bare('HardSigmoid').float('beta')], [0.2, 0.5]);
    assert.equal(bare('Elu').float('alpha'), 1);
    assert.equal(bare('Selu').float('gamma'), 1.05070102214508056640625);
  });

  test('opset-dependent defaults: Softmax axis 1 before opset 13, -1 from 13; Clip min/max attributes before 11', () => {
    assert.equal(bare('Softmax', {}, 11).int('axis'), 1);
    assert.equal(bare('Softmax', {}, 13).int('axis'), -1);
    assert.equal(bare('Clip', {}, 6).float('max'), 3.4028234663852886e38);
    assert.throws(() => bare('Clip', {}, 13).float('max'), isOnnxError(/no attribute 'max'/));
  });

  test('Flatten axis 1, Gather axis 0, Reshape allowzero 0, Pad mode constant', () => {
    assert.equal(bare('Flatten').int('axis'), 1);
    assert.equal(bare('Gather').int('axis'), 0);
    assert.equal(bare('Reshape').int('allowzero'), 0);
    assert.equal(bare('Pad').string('mode'), 'constant');
  });

  test('a written value wins over the default; an explicit fallback wins over the table', () => {
    assert.equal(bare('Conv', { group: 4 }).int('group'), 4);
    assert.equal(bare('Conv').int('group', 7), 7);
    assert.deepEqual(bare('Conv').ints('strides', [1, 1]), [1, 1]);
  });

  test('a missing attribute without a default names the file, node and attribute', () => {
    assert.throws(
      () => bare('Conv').ints('kernel_shape'),
      isOnnxError(/^attrs\.onnx: node 'n' \(Conv\): has no attribute 'kernel_shape' and the operator defines no default/),
    );
    assert.throws(() => bare('Concat', {}, 13).int('axis'), isOnnxError(/node 'n' \(Concat\)/));
  });

  test('custom-domain operators get no defaults from the ai.onnx table', () => {
    const n = nodeOf({ opType: 'Conv', domain: 'custom', inputs: ['x'], outputs: ['y'], name: 'c' });
    assert.equal(n.domain, 'custom');
    assert.throws(() => n.int('group'), isOnnxError(/node 'c' \(Conv\): has no attribute 'group'/));
  });

  test('operator and attribute names that collide with Object properties are plain misses', () => {
    assert.throws(() => bare('constructor').int('length'), isOnnxError(/no attribute 'length'/));
    assert.throws(() => bare('Conv').int('__proto__'), isOnnxError(/no attribute '__proto__'/));
  });

  test('a type mismatch names the attribute and both types', () => {
    assert.throws(() => bare('Conv', { group: [1, 2] }).int('group'), isOnnxError(/attribute 'group' is INTS, expected INT/));
    assert.throws(() => bare('Gemm', { alpha: 2 }).float('alpha'), isOnnxError(/node 'n' \(Gemm\): attribute 'alpha' is INT, expected FLOAT/));
  });

  test('INT64 attribute sentinels become ±Infinity; other values beyond 2^53 are refused when the model is read', () => {
    const n = bare('Slice', { ends: [2n ** 63n - 1n, -(2n ** 63n), 3n] });
    assert.deepEqual(n.ints('ends'), [Infinity, -Infinity, 3]);
    assert.throws(() => bare('Slice', { starts: [0n, 2n ** 60n] }), isOnnxError(/node 'n' \(Slice\): attribute 'starts' value 1 is 1152921504606846976, outside/));
    assert.throws(() => bare('Gather', { axis: 2n ** 55n }), isOnnxError(/node 'n' \(Gather\): attribute 'axis' is 36028797018963968, outside/));
  });

  test('tensor attributes and unnamed nodes are described by index', () => {
    const n = nodeOf({ opType: 'ConstantOfShape', inputs: ['x'], outputs: ['y'], attrs: { value: { t: tensor('v', [1], [0]) } } });
    assert.equal(n.description, 'node #0 (ConstantOfShape)');
    assert.deepEqual(Array.from(n.tensor('value').toFloat32()), [0]);
    assert.throws(() => n.float('value'), isOnnxError(/node #0 \(ConstantOfShape\): attribute 'value' is TENSOR, expected FLOAT/));
  });
});

describe('auto_pad and window geometry', () => {
  const base = { strides: [1], dilations: [1], pads: [0, 0], ceilMode: false };

  test('SAME_UPPER puts the odd padding at the end, SAME_LOWER at the beginning', () => {
    // input 5, kernel 2, stride 1: output ceil(5/1) = 5, total pad (5-1)*1 + 2 - 5 = 1.
    assert.deepEqual(resolveWindow({ ...base, input: [5], kernel: [2], autoPad: 'SAME_UPPER' }), {
      ...base, kernel: [2], pads: [0, 1], output: [5],
    });
    assert.deepEqual(resolveWindow({ ...base, input: [5], kernel: [2], autoPad: 'SAME_LOWER' }), {
      ...base, kernel: [2], pads: [1, 0], output: [5],
    });
  });

  test('SAME with stride 2 and dilation 2', () => {
    // input 7, kernel 3 dilated by 2 (extent 5), stride 2: output ceil(7/2) = 4, total (4-1)*2 + 5 - 7 = 4.
    const geometry = resolveWindow({ ...base, input: [7], kernel: [3], strides: [2], dilations: [2], autoPad: 'SAME_UPPER' });
    assert.deepEqual(geometry, { kernel: [3], strides: [2], dilations: [2], pads: [2, 2], ceilMode: false, output: [4] });
  });

  test('VALID ignores written pads; NOTSET uses them, asymmetric allowed', () => {
    // VALID: floor((6 - 3) / 2) + 1 = 2. NOTSET with pads 1 / 2: floor((6 + 3 - 3) / 2) + 1 = 4.
    const valid = resolveWindow({ ...base, input: [6], kernel: [3], strides: [2], pads: [1, 2], autoPad: 'VALID' });
    assert.deepEqual(typeof valid === 'string' ? valid : [valid.pads, valid.output], [[0, 0], [2]]);
    const explicit = resolveWindow({ ...base, input: [6], kernel: [3], strides: [2], pads: [1, 2], autoPad: 'NOTSET' });
    assert.deepEqual(typeof explicit === 'string' ? explicit : [explicit.pads, explicit.output], [[1, 2], [4]]);
  });

  test('ceil_mode rounds up but drops a window that would start in the end padding', () => {
    // input 6, kernel 2, stride 2, no pads: floor 3, ceil 3. input 5: floor 2, ceil 3 (last window starts at 4 < 5).
    const at = (input: number, pads: number[]) => {
      const g = resolveWindow({ ...base, input: [input], kernel: [2], strides: [2], pads, ceilMode: true, autoPad: 'NOTSET' });
      return typeof g === 'string' ? g : g.output[0];
    };
    assert.equal(at(6, [0, 0]), 3);
    assert.equal(at(5, [0, 0]), 3);
    // input 4, pads 0 / 1, kernel 2, stride 2: ceil((4 + 1 - 2) / 2) + 1 = 3, but window 3 would start at 4 = input + begin pad: dropped.
    assert.equal(at(4, [0, 1]), 2);
  });

  test('impossible geometries are reported as strings, and as OnnxErrors naming the node', () => {
    assert.match(String(resolveWindow({ ...base, input: [2], kernel: [5], autoPad: 'NOTSET' })), /does not fit input extent 2/);
    assert.match(String(resolveWindow({ ...base, input: [4], kernel: [2], strides: [0], autoPad: 'NOTSET' })), /strides \[0\] must be positive/);
    const n = nodeOf(conv({ name: 'c1', input: 'x', weight: 'w', output: 'y', kernelShape: [5, 5] }));
    assert.throws(() => windowGeometry(n, [1, 3, 4, 4]), isOnnxError(/node 'c1' \(Conv\): inconsistent shapes: window of extent 5/));
    const bad = nodeOf(conv({ name: 'c2', input: 'x', weight: 'w', output: 'y', kernelShape: [3, 3] }));
    assert.throws(() => windowGeometry(bad, [1, 3]), isOnnxError(/node 'c2' \(Conv\): input shape \[1,3\] has no spatial axes/));
    const weird = bare('MaxPool', { auto_pad: 'SAME', kernel_shape: [2, 2] });
    assert.throws(() => windowGeometry(weird, [1, 1, 4, 4]), isOnnxError(/attribute 'auto_pad' is 'SAME'/));
  });

  test('Conv takes the kernel from the weight when kernel_shape is absent', () => {
    const n = nodeOf(conv({ input: 'x', weight: 'w', output: 'y', strides: [2, 1], pads: [1, 0, 0, 1] }));
    // H: floor((9 + 1 - 3) / 2) + 1 = 4; W: floor((8 + 1 - 3) / 1) + 1 = 7.
    const geometry = windowGeometry(n, [1, 2, 9, 8], [3, 3]);
    assert.deepEqual(geometry.output, [4, 7]);
    assert.deepEqual(geometry.pads, [1, 0, 0, 1]);
  });

  // A grid of window configurations, each also run through onnxruntime to compare output shapes.
  const autoPads: AutoPad[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];
  test('output shapes agree with onnxruntime for Conv, MaxPool (incl. ceil_mode) and AveragePool', async () => {
    let checked = 0;
    for (const input of [5, 6, 7]) {
      for (const k of [2, 3]) {
        for (const s of [1, 2]) {
          for (const autoPad of autoPads) {
            // onnxruntime rejects dilations with SAME_* auto_pad, so dilation is exercised with NOTSET / VALID.
            const d = k === 3 && s === 1 && (autoPad === 'NOTSET' || autoPad === 'VALID') ? 2 : 1;
            const pads = autoPad === 'NOTSET' ? [1, 0, 0, 1] : undefined;
            const nodes: NodeSpec[] = [
              conv({ name: 'conv', input: 'x', weight: 'w', output: 'c', strides: [s, s], dilations: [d, d], pads, autoPad }),
              maxPool({ name: 'pool', input: 'x', output: 'p', kernelShape: [k, k], strides: [s, s], pads, autoPad }),
              ...(autoPad === 'NOTSET'
                ? [maxPool({ name: 'ceil', input: 'x', output: 'q', kernelShape: [k, k], strides: [s, s], pads, ceilMode: true })]
                : [averagePool({ name: 'ceil', input: 'x', output: 'q', kernelShape: [k, k], strides: [s, s], autoPad })]),
            ];
            const bytes = buildModel({
              inputs: [{ name: 'x', shape: [1, 1, input, input + 1] }],
              outputs: [{ name: 'c' }, { name: 'p' }, { name: 'q' }],
              initializers: [tensor('w', [1, 1, k, k], new Array(k * k).fill(1))],
              nodes,
              opset: 19,
            });
            const model = readModelFromBytes(bytes, { path: 'grid.onnx' });
            const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
            const x = new ort.Tensor('float32', new Float32Array(input * (input + 1)), [1, 1, input, input + 1]);
            const out = await session.run({ x });
            for (const [n, name] of [[model.graph.nodes[0], 'c'], [model.graph.nodes[1], 'p'], [model.graph.nodes[2], 'q']] as const) {
              const ours = windowGeometry(n, [1, 1, input, input + 1], [k, k]).output;
              const label = `${n.name} input ${input} k ${k} s ${s} d ${d} ${autoPad}`;
              assert.deepEqual(ours, out[name].dims.slice(2), label);
              checked++;
            }
          }
        }
      }
    }
    assert.equal(checked, 3 * 2 * 2 * 4 * 3);
  });
});
