// Models the integration tests generate on the fly (test/fixtures/onnxBuilder.ts).
import { conv, gemm, mulberry32, randomTensor, relu, writeModel, type NodeSpec, type TensorSpec } from '../fixtures/onnxBuilder';

/**
 * A convolutional ReLU network whose operators act on 16 × 64 × 64 = 65536 values, far above the
 * maxExactDimension default of 512, so every layer's norms take the Lanczos path, while the file stays
 * small (six 3 × 3 kernels). How long it runs depends on the machine: the cancel tests hold the worker
 * after its first layer (holdNextAnalysisForTest) rather than rely on it.
 */
export async function writeLargeConvModel(path: string): Promise<void> {
  const channels = 16;
  const size = 64;
  const depth = 6;
  const random = mulberry32(7);
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  let previous = 'x';
  for (let k = 0; k < depth; k++) {
    initializers.push(
      randomTensor(`W${k}`, [channels, channels, 3, 3], random, 1 / Math.sqrt(channels * 9)),
      randomTensor(`b${k}`, [channels], random, 0.1),
    );
    nodes.push(
      conv({ name: `conv${k}`, input: previous, weight: `W${k}`, bias: `b${k}`, output: `h${k}`, kernelShape: [3, 3], pads: [1, 1, 1, 1] }),
      relu(`h${k}`, `r${k}`, `relu${k}`),
    );
    previous = `r${k}`;
  }
  await writeModel(path, {
    inputs: [{ name: 'x', shape: [1, channels, size, size] }],
    outputs: [{ name: previous, shape: [1, channels, size, size] }],
    initializers,
    nodes,
    opset: 13,
  });
}

/** A dense ReLU layer whose node names and producer hold an escape sequence and a right-to-left override. */
export async function writeHostileNamesModel(path: string): Promise<void> {
  const random = mulberry32(13);
  await writeModel(path, {
    inputs: [{ name: 'x', shape: [1, 3] }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    initializers: [randomTensor('W', [2, 3], random)],
    nodes: [gemm({ name: 'fc\x1b[31m\u202eevil', a: 'x', b: 'W', output: 'h', transB: true }), relu('h', 'y', 'relu\x07')],
    producerName: 'producer\x9b2J',
    opset: 13,
  });
}

/** A narrow, deep dense ReLU network: `depth` layers fc{k}+relu{k} of width 8, each cheap to bound. */
export async function writeDeepModel(path: string, depth: number): Promise<void> {
  const width = 8;
  const random = mulberry32(11);
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  let previous = 'x';
  for (let k = 0; k < depth; k++) {
    // Scaled so the activations neither vanish nor explode over hundreds of layers.
    initializers.push(randomTensor(`W${k}`, [width, width], random, 1.2 / Math.sqrt(width)), randomTensor(`b${k}`, [width], random, 0.1));
    nodes.push(gemm({ name: `fc${k}`, a: previous, b: `W${k}`, c: `b${k}`, output: `h${k}`, transB: true }), relu(`h${k}`, `r${k}`, `relu${k}`));
    previous = `r${k}`;
  }
  await writeModel(path, { inputs: [{ name: 'x', shape: [1, width] }], outputs: [{ name: previous, shape: [1, width] }], initializers, nodes, opset: 13 });
}

/** y1 = relu(W1 x + h), y2 = W2 x: two inputs (x analysed, h held fixed) and two outputs. */
export async function writeTwoInputTwoOutputModel(path: string): Promise<void> {
  const random = mulberry32(17);
  await writeModel(path, {
    inputs: [
      { name: 'x', shape: [1, 3] },
      { name: 'h', shape: [1, 2] },
    ],
    outputs: [
      { name: 'y1', shape: [1, 2] },
      { name: 'y2', shape: [1, 2] },
    ],
    initializers: [randomTensor('W1', [2, 3], random), randomTensor('W2', [2, 3], random)],
    nodes: [
      gemm({ name: 'in1', a: 'x', b: 'W1', output: 'g1', transB: true }),
      { opType: 'Add', name: 'recur', inputs: ['g1', 'h'], outputs: ['a1'] },
      relu('a1', 'y1', 'act1'),
      gemm({ name: 'in2', a: 'x', b: 'W2', output: 'y2', transB: true }),
    ],
    opset: 13,
  });
}
