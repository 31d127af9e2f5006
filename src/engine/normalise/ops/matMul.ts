// MatMul of the data [1, K] with a constant [K, N] is a dense layer; the Add of a constant bias that
// PyTorch and tf2onnx emit after it is folded in by fusion.ts. Data [1, .., R, K] with several rows is
// the same dense map applied to each row (I ⊗ W, docs/derivations.md §25; no bias folding there).

import type { Node } from '../../../onnx/model';
import { formatShape, matMulShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { bilinearMatMul } from './bilinearMatMul';
import { constWeightView, transposeMatrix } from '../values';

export function matMul(node: Node, ctx: NormaliseContext): void {
  const a = ctx.data(node, 0, 'A');
  const b = ctx.input(node, 1, 'B');
  if (b.kind !== 'const') return bilinearMatMul(node, ctx);
  if (b.dims.length !== 2) throw unsupported(node, `weight '${b.name}' has dims ${formatShape(b.dims)}; only 2-D weights are supported`);
  const shape = matMulShape([1, ...a.shape], b.dims);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'B');
  const [inFeatures, outFeatures] = b.dims;
  const weight = transposeMatrix(constWeightView(b, node), inFeatures, outFeatures);
  const rows = a.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const dense = { kind: 'dense' as const, weight, outFeatures, inFeatures, ...(rows > 1 ? { rows } : {}) };
  finishAffine(ctx, [node], dense, a, node.outputs[0], shape.slice(1));
}
