// BatchNormalization in inference mode is the per-channel affine map y = s·x + (β − μ·s) with
// s = γ / sqrt(var + ε). Folded into the preceding Conv/Gemm by fusion.ts when nothing else reads that
// layer's output; otherwise a standalone channelAffine layer.

import type { Node } from '../../../onnx/model';
import { formatShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { finiteNumbers } from '../values';

export interface ChannelAffine {
  scale: Float32Array;
  shift: Float32Array;
}

/** The affine map of a BatchNormalization node over `channels` channels; unsupported in training mode. */
export function batchNormAffine(node: Node, ctx: NormaliseContext, channels: number): ChannelAffine {
  if (node.has('training_mode') && node.int('training_mode') !== 0) throw unsupported(node, 'training_mode = 1 (batch statistics)');
  if (node.opset < 9 && node.has('spatial') && node.int('spatial') === 0) throw unsupported(node, 'spatial = 0 (per-position statistics)');
  for (const extra of node.outputs.slice(1)) {
    if (extra && ctx.graph.consumers(extra).length > 0) throw unsupported(node, `its training output '${extra}' is used`);
  }
  const roles = ['scale', 'B', 'input_mean', 'input_var'] as const;
  const [gamma, beta, mean, variance] = roles.map((role, i) => {
    const value = ctx.constant(node, i + 1, role);
    if (value.dims.length !== 1 || value.dims[0] !== channels) {
      throw node.error(`inconsistent shapes: ${role} '${value.name}' has dims ${formatShape(value.dims)}, the input has ${channels} channels`, role);
    }
    return finiteNumbers(value, node);
  });
  const epsilon = node.float('epsilon');
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = gamma[c] / Math.sqrt(variance[c] + epsilon);
    scale[c] = s;
    shift[c] = beta[c] - mean[c] * s;
  }
  return { scale, shift };
}

export function batchNormalization(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0);
  if (x.shape.length < 1) throw node.error(`inconsistent shapes: input '${x.name}' has no channel axis`, 'X');
  const { scale, shift } = batchNormAffine(node, ctx, x.shape[0]);
  finishAffine(ctx, [node], { kind: 'channelAffine', scale, shift }, x, node.outputs[0], x.shape);
}
