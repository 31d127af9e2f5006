// MaxPool (1-D, 2-D, 3-D): kernel, strides, pads, dilations, ceil_mode (as extra end padding, exact because
// padding never wins a max as long as every window holds an input tap). A zero Pad before it is
// absorbed only when its input is non-negative (then a zero cannot win the max either); otherwise
// the Pad becomes a layer of its own.

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import type { DataValue } from '../values';
import { addPads, resolvePool, windowsCoverInput } from './poolGeometry';

export function maxPool(node: Node, ctx: NormaliseContext): void {
  const indices = node.outputs[1];
  if (indices && ctx.graph.consumers(indices).length > 0) throw unsupported(node, `its Indices output '${indices}' is used`);
  const x = ctx.dataOrPadded(node, 0);
  const pool = resolvePool(node, x.shape);
  const nodes: Node[] = [node];
  let input: DataValue;
  let pads = pool.pads;
  if (x.kind === 'padded' && x.source.nonNegative && windowsCoverInput(pool, x.source.shape, addPads(pads, x.pads))) {
    pads = addPads(pads, x.pads);
    nodes.unshift(x.node);
    input = x.source;
  } else {
    input = x.kind === 'padded' ? ctx.materialisePad(x) : { ...x, shape: pool.layerInput };
    if (!windowsCoverInput(pool, input.shape, pads)) throw unsupported(node, 'a pooling window lies entirely in the padding');
  }
  ctx.emit({
    nodes,
    op: { kind: 'maxPool', kernel: pool.kernel, strides: pool.strides, pads, dilations: pool.dilations },
    inputs: [input],
    output: node.outputs[0],
    outputShape: pool.outputShape,
    nonNegative: input.nonNegative,
  });
}
