// ConstantOfShape with a constant shape input: folded.

import type { Node } from '../../../onnx/model';
import { DataType } from '../../../onnx/tensor';
import { checkNodeOutput, MAX_FOLDED_ELEMENTS } from '../../limits';
import { sizeOfShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { constIntegers, foldedConst } from '../values';

export function constantOfShape(node: Node, ctx: NormaliseContext): void {
  const dims = constIntegers(ctx.constant(node, 0, 'input'));
  checkNodeOutput(node, dims, MAX_FOLDED_ELEMENTS);
  const fill = node.has('value') ? node.tensor('value') : undefined;
  const value = fill ? fill.toFloat64()[0] : 0;
  const dataType = fill ? fill.dataType : DataType.FLOAT;
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], dims, dataType, new Float64Array(sizeOfShape(dims)).fill(value)));
}
