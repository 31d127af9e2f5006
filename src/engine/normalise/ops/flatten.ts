import type { Node } from '../../../onnx/model';
import { flattenShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { reshapeLike } from './reshapeLike';

export function flatten(node: Node, ctx: NormaliseContext): void {
  const axis = node.int('axis');
  reshapeLike(node, ctx, (input) => flattenShape(input, axis));
}
