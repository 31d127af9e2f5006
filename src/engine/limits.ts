// Hard limits checked while a graph is normalised, before any loop or allocation depends on them, so a
// hostile or broken file (pads of 2^40, an input dimension of 2^40) is refused at once with an error
// naming the node and the attribute, instead of spinning or exhausting memory. Sizes a valid model
// can have but this machine cannot afford are the cost estimate's business (costEstimate.ts).

import type { Node } from '../onnx/model';
import { OnnxError } from '../onnx/onnxError';

/** Most values of one tensor: the length limit of a typed array. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;
/** Most values of a constant folded from initializers (shape arithmetic, small parameter tensors). */
export const MAX_FOLDED_ELEMENTS = 2 ** 27;
/** Largest kernel extent, stride, dilation or pad: far beyond any real model, and (k−1)·d stays exact. */
export const MAX_WINDOW_ATTRIBUTE = 2 ** 24;

const WINDOW_ATTRIBUTES = ['kernel_shape', 'strides', 'dilations', 'pads'] as const;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Refuses kernel, stride, dilation or pad attributes beyond MAX_WINDOW_ATTRIBUTE, naming the attribute. */
export function checkWindowAttributes(node: Node): void {
  for (const name of WINDOW_ATTRIBUTES) {
    if (!node.has(name)) continue;
    const huge = node.ints(name).find((v) => Math.abs(v) > MAX_WINDOW_ATTRIBUTE);
    if (huge !== undefined) {
      throw node.error(`attribute '${name}' value ${huge} exceeds the limit of ${MAX_WINDOW_ATTRIBUTE}`, name);
    }
  }
}

/** Refuses pads (of a Pad node's input) beyond MAX_WINDOW_ATTRIBUTE. */
export function checkPads(node: Node, pads: readonly number[]): void {
  const huge = pads.find((v) => Math.abs(v) > MAX_WINDOW_ATTRIBUTE);
  if (huge !== undefined) throw node.error(`pads value ${huge} exceeds the limit of ${MAX_WINDOW_ATTRIBUTE}`, 'pads');
}

/** Refuses the output tensor of a node when it would hold more than `limit` values. */
export function checkNodeOutput(node: Node, shape: readonly number[], limit = MAX_TENSOR_ELEMENTS): void {
  const count = elementCount(shape);
  if (!(count <= limit)) {
    throw node.error(`output '${node.outputs[0] ?? ''}' of shape [${shape.join(',')}] would hold ${count} values; the limit is ${limit}`);
  }
}

/** Refuses a network input shape (without the batch axis) with more than MAX_TENSOR_ELEMENTS values. */
export function checkInputShape(shape: readonly number[], file: string, subject: string): void {
  const count = elementCount(shape);
  if (!(count <= MAX_TENSOR_ELEMENTS)) {
    throw new OnnxError(`shape [N,${shape.join(',')}] would hold ${count} values; the limit is ${MAX_TENSOR_ELEMENTS}`, { file, subject });
  }
}
