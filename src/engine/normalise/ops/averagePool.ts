// AveragePool (1-D, 2-D, 3-D): a linear map. count_include_pad decides whether padded taps count in the divisor.
// ceil_mode becomes extra end padding, which is exact only without count_include_pad (the runtime
// does not count taps past the declared pads). A zero Pad before it is absorbed when the divisor
// stays the same: the merged pool then counts the Pad's zeros, i.e. count_include_pad = 1.

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import type { DataValue } from '../values';
import { addPads, resolvePool, windowsCoverInput } from './poolGeometry';

export function averagePool(node: Node, ctx: NormaliseContext): void {
  const x = ctx.dataOrPadded(node, 0);
  const pool = resolvePool(node, x.shape);
  let countIncludePad = node.int('count_include_pad') !== 0;
  if (pool.ceilPadded && countIncludePad) {
    throw unsupported(node, 'ceil_mode = 1 with count_include_pad = 1: the last windows divide by a count the engine cannot express');
  }
  const nodes: Node[] = [node];
  let input: DataValue;
  let pads = pool.pads;
  const ownPadsZero = pool.pads.every((p) => p === 0);
  if (x.kind === 'padded' && !pool.ceilPadded && (countIncludePad || ownPadsZero)) {
    pads = addPads(pads, x.pads);
    nodes.unshift(x.node);
    input = x.source;
    countIncludePad = true;
  } else {
    input = x.kind === 'padded' ? ctx.materialisePad(x) : { ...x, shape: pool.layerInput };
  }
  if (!countIncludePad && !windowsCoverInput(pool, input.shape, pads)) {
    throw unsupported(node, 'a pooling window lies entirely in the padding (its average is undefined)');
  }
  ctx.emit({
    nodes,
    op: { kind: 'avgPool', countIncludePad, kernel: pool.kernel, strides: pool.strides, pads, dilations: pool.dilations },
    inputs: [input],
    output: node.outputs[0],
    outputShape: pool.outputShape,
    nonNegative: input.nonNegative,
  });
}
