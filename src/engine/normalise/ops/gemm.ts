// Gemm Y = α·A'·B' + β·C with the data as A (not transposed) and constant B and C: a dense layer with
// W = α·B'ᵀ and b = β·C broadcast over the output features.

import type { Node } from '../../../onnx/model';
import { formatShape, gemmShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { constFloat32, constWeightView, transposeMatrix, type ConstValue } from '../values';

/** A constant broadcast along the feature axis of a [1, features] tensor, as one value per feature. */
function featureVector(node: Node, value: ConstValue, features: number, role: string): Float32Array {
  const values = constFloat32(value, node);
  const dims = value.dims;
  const fits = dims.length <= 2 && (dims.length === 0 || dims[dims.length - 1] === features || dims[dims.length - 1] === 1) && (dims.length < 2 || dims[0] === 1);
  if (!fits) throw node.error(`inconsistent shapes: ${role} '${value.name}' has dims ${formatShape(dims)}, which does not broadcast to [1,${features}]`, role);
  return values.length === features ? values : new Float32Array(features).fill(values[0]);
}

export function gemm(node: Node, ctx: NormaliseContext): void {
  const a = ctx.data(node, 0, 'A');
  if (node.int('transA') !== 0) throw unsupported(node, 'transA = 1 with the data as A would make the batch axis a feature axis');
  if (a.shape.length !== 1) throw node.error(`inconsistent shapes: A '${a.name}' is [1,${a.shape.join(',')}], Gemm needs a 2-D input`, 'A');
  const b = ctx.constant(node, 1, 'B');
  const transB = node.int('transB') !== 0;
  const shape = gemmShape([1, a.shape[0]], b.dims, false, transB);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'B');
  const alpha = node.float('alpha');
  const beta = node.float('beta');
  const inFeatures = a.shape[0];
  const outFeatures = shape[1];
  // With transB the weight is already [out, in] and is used in place (a view of the model's bytes, or a
  // fresh copy when α scales it), since a second copy of a fc-sized weight costs more in fresh memory
  // than any arithmetic here.
  const weight = transB
    ? alpha === 1 ? constWeightView(b, node) : constFloat32(b, node)
    : transposeMatrix(constWeightView(b, node), inFeatures, outFeatures);
  if (alpha !== 1) {
    for (let i = 0; i < weight.length; i++) weight[i] *= alpha;
  }
  const c = ctx.optionalConstant(node, 2, 'C');
  const bias = c ? featureVector(node, c, outFeatures, 'C').map((v) => beta * v) : undefined;
  finishAffine(
    ctx,
    [node],
    { kind: 'dense', weight, outFeatures, inFeatures, ...(bias ? { bias } : {}) },
    a,
    node.outputs[0],
    [outFeatures],
  );
}
