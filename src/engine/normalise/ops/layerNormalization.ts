// LayerNormalization (opset 17): y = (x − mean) / sqrt(variance + epsilon) · Scale + B over the axes
// from `axis` on (docs/derivations.md §23). Scale and B must be constants holding one value per
// normalised position (or one value for all); the optional Mean and InvStdDev outputs must be unused.

import type { Node } from '../../../onnx/model';
import { formatShape, normaliseAxis } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finiteNumbers, type ConstValue } from '../values';

/** One value per normalised position: the constant's dims, leading 1s dropped, equal the trailing shape. */
function perPosition(node: Node, value: ConstValue, normalised: readonly number[], role: string): Float32Array {
  const numbers = finiteNumbers(value, node);
  const size = normalised.reduce((a, b) => a * b, 1);
  if (numbers.length === 1) return new Float32Array(size).fill(numbers[0]);
  const dims = [...value.dims];
  while (dims.length > normalised.length && dims[0] === 1) dims.shift();
  if (dims.length !== normalised.length || dims.some((d, i) => d !== normalised[i])) {
    throw unsupported(node, `${role} '${value.name}' has dims ${formatShape(value.dims)}; one value per normalised position ${formatShape(normalised)} is supported`);
  }
  return Float32Array.from(numbers);
}

export function layerNormalization(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0, 'X');
  const rank = x.shape.length + 1;
  const axis = normaliseAxis(node.int('axis'), rank);
  if (axis === undefined) throw node.error(`axis ${node.int('axis')} is outside the rank ${rank} of the input`, 'axis');
  if (axis === 0) throw unsupported(node, 'normalises over the batch axis');
  for (let k = 1; k < node.outputs.length; k++) {
    if (node.outputs[k] && ctx.graph.consumers(node.outputs[k]).length > 0) throw unsupported(node, `its output ${k} (${k === 1 ? 'Mean' : 'InvStdDev'}) is used; only Y is supported`);
  }
  const epsilon = node.float('epsilon');
  if (!(epsilon >= 0)) throw unsupported(node, `epsilon ${epsilon} is negative`);
  const normalised = x.shape.slice(axis - 1);
  const scale = perPosition(node, ctx.constant(node, 1, 'Scale'), normalised, 'Scale');
  const bias = ctx.hasInput(node, 2) ? perPosition(node, ctx.constant(node, 2, 'B'), normalised, 'B') : undefined;
  ctx.emit({
    nodes: [node],
    op: { kind: 'layerNorm', axis: axis - 1, epsilon, scale, ...(bias ? { bias } : {}) },
    inputs: [x],
    output: node.outputs[0],
    outputShape: x.shape,
  });
}
