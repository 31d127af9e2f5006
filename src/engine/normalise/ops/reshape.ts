// Reshape with a constant target shape (possibly folded from a Shape→Gather→Unsqueeze→Concat chain).

import type { Node } from '../../../onnx/model';
import { reshapeShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { constIntegers } from '../values';
import { reshapeLike } from './reshapeLike';

export function reshape(node: Node, ctx: NormaliseContext): void {
  const target = constIntegers(ctx.constant(node, 1, 'shape'));
  const allowZero = node.opset >= 14 && node.has('allowzero') && node.int('allowzero') !== 0;
  reshapeLike(node, ctx, (input) => reshapeShape(input, target, allowZero));
}
