// ReduceMean and ReduceSum over any axes: per-axis maps with one row of 1/n (mean) or 1 (sum) on each
// reduced axis (docs/derivations.md §18); ReduceMean over H, W is global average pooling. Axes from
// the attribute, or from input 1 (ReduceSum from opset 13, ReduceMean from opset 18).

import type { Node } from '../../../onnx/model';
import { emitAxisMap, identityAxis, reduceAxis } from '../axisMatrices';
import type { NormaliseContext } from '../context';
import { emitLayerNormPattern } from '../layerNormPattern';
import { reducedAxes } from '../reducedAxes';

function reduce(node: Node, ctx: NormaliseContext, mean: boolean, firstInputOpset: number): void {
  const value = ctx.input(node, 0, 'data');
  if (mean && value.kind !== 'const' && emitLayerNormPattern(node, ctx)) return;
  const dims = value.kind === 'const' ? value.dims : [1, ...ctx.data(node, 0, 'data').shape];
  const keepDims = node.int('keepdims', 1) !== 0;
  const reduced = reducedAxes(node, ctx, dims, firstInputOpset);
  const matrices = dims.map((d, a) => (reduced.has(a) ? reduceAxis(d, mean) : identityAxis(d)));
  const outputShape = keepDims ? dims.map((d, a) => (reduced.has(a) ? 1 : d)) : dims.filter((_, a) => !reduced.has(a));
  emitAxisMap(node, ctx, 0, matrices, outputShape);
}

export const reduceMean = (node: Node, ctx: NormaliseContext): void => reduce(node, ctx, true, 18);
export const reduceSum = (node: Node, ctx: NormaliseContext): void => reduce(node, ctx, false, 13);
