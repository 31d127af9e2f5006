// Gather with constant indices: on constants folded (typically picking a dimension out of a folded
// Shape); on computed data a per-axis selection (docs/derivations.md §18), never along the batch axis.

import type { Node } from '../../../onnx/model';
import { formatShape, gatherShape, normaliseAxis } from '../../shapes';
import { emitAxisMap, identityAxis, selectAxis } from '../axisMatrices';
import { unsupported, type NormaliseContext } from '../context';
import { constIntegers } from '../values';

export function gather(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'data');
  const dims = value.kind === 'const' ? value.dims : [1, ...ctx.data(node, 0, 'data').shape];
  const indices = ctx.constant(node, 1, 'indices');
  const axis = node.int('axis', 0);
  const shape = gatherShape(dims, indices.dims, axis);
  const a = normaliseAxis(axis, dims.length);
  if (typeof shape === 'string' || a === undefined) throw node.error(`inconsistent shapes: ${shape}`, 'axis');
  if (value.kind !== 'const' && a === 0) throw unsupported(node, `gathers along the batch axis of ${formatShape(dims)}`);
  const extent = dims[a];
  const list = constIntegers(indices);
  const bad = list.find((i) => !Number.isInteger(i) || i < -extent || i >= extent);
  if (bad !== undefined) throw node.error(`index ${bad} is outside axis ${a} of extent ${extent}`, 'indices');
  const matrices = dims.map((d) => identityAxis(d));
  matrices[a] = selectAxis(extent, list.map((i) => (i < 0 ? i + extent : i)));
  emitAxisMap(node, ctx, 0, matrices, shape);
}
