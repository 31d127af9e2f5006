// Writes the trained example CNN as ONNX, with node names a reader of the report can follow.
import { buildModel, conv, flatten, gemm, maxPool, relu, tensor } from '../../test/fixtures/onnxBuilder';
import type { MnistWeights } from './train';

export function buildMnistModel(weights: MnistWeights): Uint8Array {
  return buildModel({
    producerName: 'lipschitz-lens examples/mnist/train.ts',
    graphName: 'mnist_cnn',
    opset: 13,
    inputs: [{ name: 'image', shape: [1, 1, 28, 28] }],
    outputs: [{ name: 'logits', shape: [1, 10] }],
    initializers: [
      tensor('conv1.weight', [8, 1, 5, 5], weights.conv1),
      tensor('conv1.bias', [8], weights.bias1),
      tensor('conv2.weight', [16, 8, 5, 5], weights.conv2),
      tensor('conv2.bias', [16], weights.bias2),
      tensor('fc.weight', [10, 256], weights.dense),
      tensor('fc.bias', [10], weights.bias3),
    ],
    nodes: [
      conv({ name: 'conv1', input: 'image', weight: 'conv1.weight', bias: 'conv1.bias', output: 'conv1_out', kernelShape: [5, 5], pads: [2, 2, 2, 2] }),
      relu('conv1_out', 'relu1_out', 'relu1'),
      maxPool({ name: 'pool1', input: 'relu1_out', output: 'pool1_out', kernelShape: [2, 2], strides: [2, 2] }),
      conv({ name: 'conv2', input: 'pool1_out', weight: 'conv2.weight', bias: 'conv2.bias', output: 'conv2_out', kernelShape: [5, 5], pads: [2, 2, 2, 2] }),
      relu('conv2_out', 'relu2_out', 'relu2'),
      maxPool({ name: 'pool2', input: 'relu2_out', output: 'pool2_out', kernelShape: [3, 3], strides: [3, 3] }),
      flatten('pool2_out', 'flat', 1, 'flatten'),
      gemm({ name: 'fc', a: 'flat', b: 'fc.weight', c: 'fc.bias', output: 'logits', transB: true }),
    ],
  });
}
