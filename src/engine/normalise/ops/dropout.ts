// Dropout at inference is the identity; a used mask output or a constant training_mode = true is not.

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import { constNumbers } from '../values';
import { reshapeLike } from './reshapeLike';

export function dropout(node: Node, ctx: NormaliseContext): void {
  const mask = node.outputs[1];
  if (mask && ctx.graph.consumers(mask).length > 0) throw unsupported(node, `its mask output '${mask}' is used`);
  if (node.opset < 12 && node.has('is_test') && node.int('is_test') === 0) throw unsupported(node, 'is_test = 0 (training mode)');
  const training = node.opset >= 12 ? ctx.optionalConstant(node, 2, 'training_mode') : undefined;
  if (training && constNumbers(training).some((v) => v !== 0)) throw unsupported(node, 'training_mode is true');
  reshapeLike(node, ctx, (input) => input);
}
