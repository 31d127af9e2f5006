import type { Node } from '../../../onnx/model';
import { squeezeShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { axesOf, reshapeLike } from './reshapeLike';

export function squeeze(node: Node, ctx: NormaliseContext): void {
  const axes = axesOf(node, ctx, 13);
  reshapeLike(node, ctx, (input) => squeezeShape(input, axes));
}
