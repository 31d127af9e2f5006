// Split: each output is a slice of the input along one axis (docs/derivations.md §18). Sizes from the
// `split` input (opset 13+) or attribute, else equal parts (num_outputs from opset 18: ceil-sized).

import type { Node } from '../../../onnx/model';
import { formatShape, normaliseAxis } from '../../shapes';
import { emitAxisMap, identityAxis, selectAxis } from '../axisMatrices';
import type { NormaliseContext } from '../context';
import { constIntegers } from '../values';

export function split(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'input');
  const dims = value.kind === 'const' ? value.dims : [1, ...ctx.data(node, 0, 'input').shape];
  const axis = node.int('axis', 0);
  const a = normaliseAxis(axis, dims.length);
  if (a === undefined) throw node.error(`axis ${axis} is outside the rank ${dims.length} of ${formatShape(dims)}`, 'axis');
  const extent = dims[a];
  const parts = node.outputs.length;
  let sizes: number[];
  const given = node.opset < 13 ? (node.has('split') ? node.ints('split') : undefined) : ctx.hasInput(node, 1) ? constIntegers(ctx.constant(node, 1, 'split')) : undefined;
  if (given) sizes = given;
  else if (node.opset >= 18) {
    const size = Math.ceil(extent / parts);
    sizes = Array.from({ length: parts }, (_, k) => Math.max(0, Math.min(size, extent - k * size)));
  } else {
    if (extent % parts !== 0) throw node.error(`axis ${a} of extent ${extent} does not split into ${parts} equal parts`, 'split');
    sizes = new Array<number>(parts).fill(extent / parts);
  }
  if (sizes.length !== parts || sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((x, y) => x + y, 0) !== extent) {
    throw node.error(`split sizes [${sizes.join(',')}] do not cut axis ${a} of extent ${extent} into ${parts} outputs`, 'split');
  }
  let offset = 0;
  sizes.forEach((size, k) => {
    const matrices = dims.map((d) => identityAxis(d));
    matrices[a] = selectAxis(extent, Array.from({ length: size }, (_, i) => offset + i));
    offset += size;
    // An output nothing reads would only add a dead layer.
    if (node.outputs[k] && ctx.graph.consumers(node.outputs[k]).length + ctx.graph.outputs.filter((o) => o.name === node.outputs[k]).length > 0) emitAxisMap(node, ctx, 0, matrices, matrices.map((m) => m.rows.length), node.outputs[k]);
  });
}
