// The axes a Reduce* node reduces: from the attribute, or from input 1 from the opset where the op
// took them as an input (ReduceSum 13, the others 18); none given means all (or none with
// noop_with_empty_axes).

import type { Node } from '../../onnx/model';
import { formatShape, normaliseAxis } from '../shapes';
import type { NormaliseContext } from './context';
import { constIntegers } from './values';

/** The reduced axes (normalised to [0, rank)) of a Reduce* node over an input of `dims` (batch axis included). */
export function reducedAxes(node: Node, ctx: NormaliseContext, dims: readonly number[], firstInputOpset: number): Set<number> {
  let axes: number[] | undefined;
  if (node.opset < firstInputOpset) axes = node.has('axes') ? node.ints('axes') : undefined;
  else if (ctx.hasInput(node, 1)) axes = constIntegers(ctx.constant(node, 1, 'axes'));
  if (!axes || axes.length === 0) {
    const noop = node.opset >= firstInputOpset && node.int('noop_with_empty_axes', 0) !== 0;
    axes = noop ? [] : dims.map((_, i) => i);
  }
  const reduced = new Set<number>();
  for (const axis of axes) {
    const a = normaliseAxis(axis, dims.length);
    if (a === undefined || reduced.has(a)) throw node.error(`axis ${axis} is outside the rank ${dims.length} of ${formatShape(dims)} or repeated`, 'axes');
    reduced.add(a);
  }
  return reduced;
}

