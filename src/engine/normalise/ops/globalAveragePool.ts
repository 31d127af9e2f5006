// GlobalAveragePool: the mean over all spatial positions of each channel, [C, ...] → [C, 1, ...].

import type { Node } from '../../../onnx/model';
import { globalPoolShape } from '../../shapes';
import type { NormaliseContext } from '../context';

export function globalAveragePool(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0);
  const shape = globalPoolShape([1, ...x.shape]);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'X');
  ctx.emit({
    nodes: [node],
    op: { kind: 'globalAvgPool' },
    inputs: [x],
    output: node.outputs[0],
    outputShape: shape.slice(1),
    nonNegative: x.nonNegative,
  });
}
