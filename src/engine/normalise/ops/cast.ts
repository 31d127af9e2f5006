// Cast: folded on constants; on float data a cast to FLOAT changes nothing and becomes a reshape layer.

import type { Node } from '../../../onnx/model';
import { DataType } from '../../../onnx/tensor';
import { FLOAT_TYPES, unsupported, type NormaliseContext } from '../context';
import { constNumbers, foldedConst } from '../values';
import { reshapeLike } from './reshapeLike';

export function cast(node: Node, ctx: NormaliseContext): void {
  const to = node.int('to');
  const value = ctx.input(node, 0, 'input');
  if (value.kind === 'const') {
    const numbers = constNumbers(value);
    const converted = FLOAT_TYPES.has(to)
      ? to === DataType.FLOAT ? Float64Array.from(Float32Array.from(numbers)) : numbers
      : to === DataType.BOOL ? numbers.map((v) => (v !== 0 ? 1 : 0)) : numbers.map(Math.trunc);
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], value.dims, to, converted));
    return;
  }
  if (to !== DataType.FLOAT) throw unsupported(node, `casts a computed tensor to data type ${to}`);
  reshapeLike(node, ctx, (input) => input);
}
