// Softmax inside the graph (attention weights; docs/derivations.md §30). One that produces the analysed
// output never gets here: normalise.ts takes the output before it. From opset 13 the groups run along
// one axis; before, ONNX coerces the input to 2-D at the axis and normalises over the whole flattened
// tail (flattenTail).

import type { Node } from '../../../onnx/model';
import { formatShape, normaliseAxis } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';

export function softmax(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0, 'input');
  const full = [1, ...x.shape];
  const axis = normaliseAxis(node.int('axis'), full.length);
  if (axis === undefined) throw node.error(`axis ${node.int('axis')} is outside the rank ${full.length} of ${formatShape(full)}`, 'axis');
  const coerced = node.opset < 13 && axis < full.length - 1;
  // Over the batch axis alone (a batch of one) every probability is the constant 1; coerced at axis 0,
  // the group is the whole tensor, as at axis 1.
  if (axis === 0 && !coerced) throw unsupported(node, `normalises over the batch axis of ${formatShape(full)} alone (a batch of one: the constant 1)`);
  ctx.emit({
    nodes: [node],
    op: { kind: 'softmax', axis: Math.max(axis, 1) - 1, ...(coerced ? { flattenTail: true } : {}) },
    inputs: [x],
    output: node.outputs[0],
    outputShape: x.shape,
    nonNegative: true,
  });
}
