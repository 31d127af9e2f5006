// Hard limits of the normaliser: a 25 KB file asking for pads of 2^30, an input of 2^40 values or a
// folded constant of 2^40 values is refused at once with an error naming the node (or input) and the
// attribute, instead of spinning in a window check or failing an allocation. (Values beyond 2^31 − 1,
// such as pads of 2^40, the reader already refuses.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_WINDOW_ATTRIBUTE } from '../../src/engine/limits';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, conv, maxPool, mulberry32, node, randomTensor, tensor, type ModelSpec } from '../fixtures/onnxBuilder';

function normalise(spec: ModelSpec) {
  return normaliseGraph(readModelFromBytes(buildModel(spec), { path: 'hostile.onnx' }));
}

function convModel(pads: number[], inputShape: number[] = [1, 1, 8, 8]): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: inputShape }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('w', [2, 1, 3, 3], mulberry32(1))],
    nodes: [conv({ name: 'c1', input: 'x', weight: 'w', output: 'y', pads })],
  };
}

describe('limits checked before any loop', () => {
  test('Conv pads of 2^30 (and 2^40) are refused naming the node and the attribute', () => {
    assert.throws(
      () => normalise(convModel([2 ** 30, 0, 0, 0])),
      (error: unknown) =>
        error instanceof OnnxError &&
        error.message.startsWith('hostile.onnx: node \'c1\' (Conv): ') &&
        error.message.includes(`attribute 'pads' value ${2 ** 30} exceeds the limit of ${MAX_WINDOW_ATTRIBUTE}`) &&
        error.field === 'pads',
    );
    assert.throws(() => normalise(convModel([2 ** 40, 0, 0, 0])), /hostile\.onnx: node 'c1' \(Conv\): .*'pads'/);
  });

  test('MaxPool strides and kernels beyond the limit are refused by name', () => {
    const spec = (kernel: number, stride: number): ModelSpec => ({
      inputs: [{ name: 'x', shape: [1, 1, 8, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [maxPool({ name: 'p', input: 'x', output: 'y', kernelShape: [kernel, 1], strides: [stride, 1] })],
    });
    assert.throws(() => normalise(spec(2, 2 ** 30)), /node 'p' \(MaxPool\): attribute 'strides' value 1073741824 exceeds/);
    assert.throws(() => normalise(spec(2 ** 30, 1)), /node 'p' \(MaxPool\): attribute 'kernel_shape' value 1073741824 exceeds/);
  });

  test('an input of 2^40 values is refused naming the graph input', () => {
    assert.throws(() => normalise(convModel([0, 0, 0, 0], [1, 1, 2 ** 20, 2 ** 20])), /hostile\.onnx: graph input 'x': shape \[N,1,1048576,1048576\] would hold 1099511627776 values; the limit is 2147483647/);
  });

  test('1-D and transposed convolutions check the same window limits, and a 1-D kernel_shape must match its weight', () => {
    const oneD = (attributes: Record<string, number[]>): ModelSpec => ({
      inputs: [{ name: 'x', shape: [1, 1, 12] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [2, 1, 3], mulberry32(2))],
      nodes: [node('Conv', ['x', 'w'], ['y'], attributes, 'c1d')],
    });
    assert.throws(() => normalise(oneD({ strides: [2 ** 30] })), /node 'c1d' \(Conv\): attribute 'strides' value 1073741824 exceeds/);
    assert.throws(() => normalise(oneD({ kernel_shape: [5] })), /node 'c1d' \(Conv\): inconsistent shapes: kernel_shape \[5\] differs from weight \[2,1,3\]/);
    assert.ok(normalise(oneD({ kernel_shape: [3] })).network, 'a matching kernel_shape is accepted');
    const transposed: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 1, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [1, 2, 3, 3], mulberry32(3))],
      nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { dilations: [2 ** 30, 1] }, 'up')],
    };
    assert.throws(() => normalise(transposed), /node 'up' \(ConvTranspose\): attribute 'dilations' value 1073741824 exceeds/);
  });

  test('a layer whose output would exceed the element limit is refused naming its node', () => {
    // 2^16 × 2^16 input with pads of 2^24 on both axes: the output would hold about 2^50 values.
    const big = 2 ** 24;
    assert.throws(() => normalise(convModel([big, big, big, big], [1, 1, 2 ** 15, 2 ** 15])), /node 'c1' \(Conv\): output 'y' of shape \[2,\d+,\d+\] would hold \d+ values; the limit is 2147483647/);
  });

  test('a ConstantOfShape or broadcast of 2^40 values is refused before it is allocated', () => {
    const constantOfShape: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [tensor('shape', [2], [2 ** 20, 2 ** 20], { dataType: 'INT64' })],
      nodes: [node('ConstantOfShape', ['shape'], ['c'], undefined, 'fill'), node('Add', ['x', 'c'], ['y'], undefined, 'add')],
    };
    assert.throws(() => normalise(constantOfShape), /node 'fill' \(ConstantOfShape\): output 'c' of shape \[1048576,1048576\] would hold 1099511627776 values/);
    const broadcast: ModelSpec = {
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [tensor('a', [2 ** 20, 1], new Float32Array(2 ** 20)), tensor('b', [1, 2 ** 20], new Float32Array(2 ** 20))],
      nodes: [node('Mul', ['a', 'b'], ['c'], undefined, 'outer'), node('Add', ['x', 'c'], ['y'], undefined, 'add')],
    };
    assert.throws(() => normalise(broadcast), /node 'outer' \(Mul\): output 'c' of shape \[1048576,1048576\] would hold/);
  });
});
