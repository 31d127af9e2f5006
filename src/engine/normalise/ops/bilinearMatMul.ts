// MatMul of two computed tensors (attention's Q Kᵀ and P V; docs/derivations.md §31): a 'matMul'
// layer when both are [..., m, k] and [..., k, n] with the same leading dims after the batch axis.
// Broadcasting one factor over the leading dims, or a 1-D factor, has no rule yet.

import type { Node } from '../../../onnx/model';
import { matMulGeometry, matMulOutputShape } from '../../operators/batchedMatMul';
import { unsupported, type NormaliseContext } from '../context';

export function bilinearMatMul(node: Node, ctx: NormaliseContext): void {
  const a = ctx.data(node, 0, 'A');
  const b = ctx.data(node, 1, 'B');
  const geometry = matMulGeometry(a.shape, b.shape);
  if (typeof geometry === 'string') {
    throw unsupported(node, `multiplies the computed tensors [1,${a.shape.join(',')}] and [1,${b.shape.join(',')}]: ${geometry}`);
  }
  ctx.emit({
    nodes: [node],
    op: { kind: 'matMul' },
    inputs: [a, b],
    output: node.outputs[0],
    outputShape: matMulOutputShape(a.shape, geometry),
  });
}
