import type { Node } from '../../../onnx/model';
import { unsqueezeShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { axesOf, reshapeLike } from './reshapeLike';

export function unsqueeze(node: Node, ctx: NormaliseContext): void {
  const axes = axesOf(node, ctx, 13);
  if (!axes) throw node.error('has no axes', 'axes');
  reshapeLike(node, ctx, (input) => unsqueezeShape(input, axes));
}
