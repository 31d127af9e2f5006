// Transpose: folded on constants. On data it is a plain reshape when the axes longer than 1 keep their
// order (only unit axes move, so the memory order is unchanged); otherwise, with the batch axis left at
// axis 0, a 'transpose' layer over the batchless axes (a permutation of the values: an isometry). Moving
// the batch axis is supported only for per-head readers (headSlices.ts).

import type { Node } from '../../../onnx/model';
import { formatShape, sizeOfShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { constNumbers, foldedConst } from '../values';
import { emitHeadSlices } from './headSlices';
import { reshapeLike } from './reshapeLike';

function permutation(node: Node, rank: number): number[] {
  const perm = node.has('perm') ? node.ints('perm') : Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const valid = perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!valid) throw node.error(`perm [${perm.join(',')}] is not a permutation of ${rank} axes`, 'perm');
  return perm;
}

function transposeValues(values: Float64Array, dims: readonly number[], perm: readonly number[]): Float64Array {
  const rank = dims.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; s *= dims[i], i--) inStrides[i] = s;
  const outDims = perm.map((p) => dims[p]);
  const out = new Float64Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.length; k++) {
    let source = 0;
    for (let d = 0; d < rank; d++) source += index[d] * inStrides[perm[d]];
    out[k] = values[source];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < outDims[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

export function transpose(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'data');
  if (value.kind === 'const') {
    const perm = permutation(node, value.dims.length);
    const dims = perm.map((p) => value.dims[p]);
    const values = sizeOfShape(dims) === 0 ? new Float64Array(0) : transposeValues(constNumbers(value), value.dims, perm);
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], dims, value.dataType, values));
    return;
  }
  const x = ctx.data(node, 0, 'data');
  const full = [1, ...x.shape];
  const perm = permutation(node, full.length);
  const moved = perm.filter((p) => full[p] !== 1);
  if (moved.every((p, i) => i === 0 || p > moved[i - 1])) {
    reshapeLike(node, ctx, (input) => perm.map((p) => input[p]));
    return;
  }
  if (perm[0] !== 0) {
    if (emitHeadSlices(node, ctx, x, perm)) return;
    throw unsupported(node, `permutes the data ${formatShape(full)} by [${perm.join(',')}], moving the batch axis (only a move to axis 1 read by per-head Slice+Squeeze or Gather of axis 0 is supported)`);
  }
  const batchless = perm.slice(1).map((p) => p - 1);
  ctx.emit({
    nodes: [node],
    op: { kind: 'transpose', perm: batchless },
    inputs: [x],
    output: node.outputs[0],
    outputShape: batchless.map((p) => x.shape[p]),
    nonNegative: x.nonNegative,
  });
}
