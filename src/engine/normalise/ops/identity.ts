import type { Node } from '../../../onnx/model';
import type { NormaliseContext } from '../context';
import { reshapeLike } from './reshapeLike';

export function identity(node: Node, ctx: NormaliseContext): void {
  reshapeLike(node, ctx, (input) => input);
}
