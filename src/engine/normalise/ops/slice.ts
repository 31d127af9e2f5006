// Slice of a constant (folded) or of computed data (a per-axis selection, docs/derivations.md §18),
// with the opset-10+ inputs or the older attributes. Any rank; the batch axis of data must keep its one entry.

import type { Node } from '../../../onnx/model';
import { formatShape, normaliseAxis } from '../../shapes';
import { emitAxisMap, identityAxis, selectAxis, sliceIndices } from '../axisMatrices';
import type { NormaliseContext } from '../context';
import { constIntegers } from '../values';

export interface SliceArguments {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/** starts, ends, axes and steps from the inputs (opset 10+) or the attributes, checked for equal lengths. */
export function sliceArguments(node: Node, ctx: NormaliseContext): SliceArguments {
  const read = (index: number, attribute: string): number[] | undefined => {
    if (node.opset < 10) return node.has(attribute) ? node.ints(attribute) : undefined;
    const constant = ctx.optionalConstant(node, index, attribute);
    return constant ? constIntegers(constant) : undefined;
  };
  const starts = read(1, 'starts');
  const ends = read(2, 'ends');
  if (!starts || !ends) throw node.error('needs starts and ends', 'starts');
  const axes = read(3, 'axes') ?? starts.map((_, i) => i);
  const steps = read(4, 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw node.error(`starts, ends, axes and steps have ${starts.length}, ${ends.length}, ${axes.length} and ${steps.length} values`, 'starts');
  }
  return { starts, ends, axes, steps };
}

export function slice(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'data');
  const dims = value.kind === 'const' ? value.dims : [1, ...ctx.data(node, 0, 'data').shape];
  const { starts, ends, axes, steps } = sliceArguments(node, ctx);
  const matrices = dims.map((extent) => identityAxis(extent));
  const seen = new Set<number>();
  axes.forEach((axis, k) => {
    const a = normaliseAxis(axis, dims.length);
    if (a === undefined || seen.has(a)) throw node.error(`axis ${axis} is outside the rank ${dims.length} of ${formatShape(dims)} or repeated`, 'axes');
    if (!Number.isInteger(steps[k]) || steps[k] === 0) throw node.error(`step ${steps[k]} must be a non-zero integer`, 'steps');
    seen.add(a);
    matrices[a] = selectAxis(dims[a], sliceIndices(dims[a], starts[k], ends[k], steps[k]));
  });
  emitAxisMap(node, ctx, 0, matrices, matrices.map((m) => m.rows.length));
}
