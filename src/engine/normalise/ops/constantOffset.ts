// Add or Sub of computed data and a constant that varies along more than one axis (a positional table
// [tokens, features], an additive mask [1, 1, T, T]): y = ±x + C with C broadcast to the data's shape,
// a channelAffine layer with scale ±1, no shift and C as its per-element offset (docs/derivations.md §33).
// A constant that would broadcast the data to a larger shape has no rule.

import type { Node } from '../../../onnx/model';
import { sizeOfShape } from '../../shapes';
import { broadcastBinary } from '../constFold';
import { unsupported, type NormaliseContext } from '../context';
import { finiteNumbers, type ConstValue, type DataValue } from '../values';

/** y = dataSign · x + constantSign · C. */
export function emitConstantOffset(node: Node, ctx: NormaliseContext, x: DataValue, constant: ConstValue, dataSign: 1 | -1, constantSign: 1 | -1): void {
  const full = [1, ...x.shape];
  const spread = broadcastBinary(new Float64Array(sizeOfShape(full)), full, finiteNumbers(constant, node), constant.dims, (_zero, c) => c);
  if (typeof spread === 'string' || spread.shape.length !== full.length || spread.shape.some((d, i) => d !== full[i])) {
    throw unsupported(node, `${node.opType} with constant '${constant.name}' of dims [${constant.dims.join(',')}] does not keep the data's shape [${full.join(',')}]`);
  }
  const channels = x.shape[0];
  ctx.emit({
    nodes: [node],
    op: {
      kind: 'affine',
      linear: {
        kind: 'channelAffine',
        scale: new Float32Array(channels).fill(dataSign),
        shift: new Float32Array(channels),
        offset: Float32Array.from(spread.values, (c) => constantSign * c),
      },
    },
    inputs: [x],
    output: node.outputs[0],
    outputShape: x.shape,
  });
}
