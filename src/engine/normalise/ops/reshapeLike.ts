// Shared by Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout: the values are unchanged and only
// the shape moves. On a constant the result is a folded constant; on data it is a 'reshape' layer,
// provided the batch axis stays axis 0 with extent 1 (the network's shapes exclude it).

import type { Node } from '../../../onnx/model';
import { formatShape, type FullShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { constNumbers, foldedConst } from '../values';

export function reshapeLike(node: Node, ctx: NormaliseContext, outputShape: (input: FullShape) => FullShape | string): void {
  const value = ctx.input(node, 0, 'data');
  if (value.kind === 'const') {
    const shape = outputShape(value.dims);
    if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`);
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], shape, value.dataType, constNumbers(value)));
    return;
  }
  const x = ctx.data(node, 0, 'data');
  const full = [1, ...x.shape];
  const shape = outputShape(full);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`);
  if (shape.length === 0 || shape[0] !== 1) {
    throw unsupported(node, `reshapes ${formatShape(full)} to ${formatShape(shape)}, moving the batch axis`);
  }
  ctx.emit({
    nodes: [node],
    op: { kind: 'reshape' },
    inputs: [x],
    output: node.outputs[0],
    outputShape: shape.slice(1),
    nonNegative: x.nonNegative,
  });
}

/** Axes from the attribute (before opset 13) or the optional constant input 1 (from opset 13). */
export function axesOf(node: Node, ctx: NormaliseContext, firstInputOpset: number): number[] | undefined {
  if (node.opset < firstInputOpset) return node.has('axes') ? node.ints('axes') : undefined;
  const axes = ctx.optionalConstant(node, 1, 'axes');
  return axes ? Array.from(constNumbers(axes)) : undefined;
}
