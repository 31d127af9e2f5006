// Shape: known statically for every tensor the normaliser tracks (batch = 1), so it folds to a constant.
// This is what lets the Shape→Gather→Unsqueeze→Concat→Reshape chains of exporters resolve.

import type { Node } from '../../../onnx/model';
import { DataType } from '../../../onnx/tensor';
import type { NormaliseContext } from '../context';
import { foldedConst } from '../values';

export function shape(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'data');
  const full = value.kind === 'const' ? [...value.dims] : [1, ...ctx.data(node, 0, 'data').shape];
  const rank = full.length;
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = node.opset >= 15 && node.has('start') ? clamp(node.int('start')) : 0;
  const end = node.opset >= 15 && node.has('end') ? clamp(node.int('end')) : rank;
  const dims = full.slice(start, Math.max(start, end));
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], [dims.length], DataType.INT64, Float64Array.from(dims)));
}
