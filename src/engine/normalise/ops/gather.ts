// Gather on constants (typically picking a dimension out of a folded Shape).

import type { Node } from '../../../onnx/model';
import { gatherShape, normaliseAxis } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { checkNodeOutput, MAX_FOLDED_ELEMENTS } from '../../limits';
import { gatherValues } from '../constFold';
import { constIntegers, constNumbers, foldedConst } from '../values';

export function gather(node: Node, ctx: NormaliseContext): void {
  const data = ctx.input(node, 0, 'data');
  if (data.kind !== 'const') throw unsupported(node, 'gathers from a computed tensor');
  const indices = ctx.constant(node, 1, 'indices');
  const axis = node.int('axis');
  const shape = gatherShape(data.dims, indices.dims, axis);
  const a = normaliseAxis(axis, data.dims.length);
  if (typeof shape === 'string' || a === undefined) throw node.error(`inconsistent shapes: ${shape}`, 'axis');
  checkNodeOutput(node, shape, MAX_FOLDED_ELEMENTS);
  const list = constIntegers(indices);
  const extent = data.dims[a];
  const bad = list.find((i) => i < -extent || i >= extent);
  if (bad !== undefined) throw node.error(`index ${bad} is outside axis ${a} of extent ${extent}`, 'indices');
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], shape, data.dataType, gatherValues(constNumbers(data), data.dims, list, a)));
}
