// Concat: of constants, folded; of computed tensors, a 'concat' layer along a non-batch axis; of one
// computed tensor and constants that are uniform per channel (the zero channels BlazeFace-style
// residuals append), along the channel axis: an affine map that embeds the input channels and adds
// the constant channels as bias (a 1×1 convolution, or a dense layer on a feature vector).

import type { Node } from '../../../onnx/model';
import { concatShape, normaliseAxis } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { concatValues } from '../constFold';
import { constNumbers, finiteNumbers, foldedConst, type ConstValue, type Value } from '../values';
import { finishAffine } from '../fusion';

export function concat(node: Node, ctx: NormaliseContext): void {
  const values = node.inputs.map((_, i) => ctx.input(node, i, `inputs[${i}]`));
  const axis = node.int('axis');
  if (values.every((v) => v.kind === 'const')) {
    const parts = (values as ConstValue[]).map((v) => ({ values: constNumbers(v), shape: v.dims }));
    const shape = concatShape(parts.map((p) => p.shape), axis);
    if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'axis');
    const a = normaliseAxis(axis, shape.length)!;
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], shape, (values[0] as ConstValue).dataType, concatValues(parts, a)));
    return;
  }
  if (values.some((v) => v.kind === 'const')) return concatWithConstants(node, ctx, values, axis);
  const inputs = values.map((_, i) => ctx.data(node, i, `inputs[${i}]`));
  const shape = concatShape(inputs.map((x) => [1, ...x.shape]), axis);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'axis');
  const a = normaliseAxis(axis, shape.length)!;
  if (a === 0) throw unsupported(node, 'concatenates along the batch axis');
  ctx.emit({
    nodes: [node],
    op: { kind: 'concat', axis: a - 1 },
    inputs,
    output: node.outputs[0],
    outputShape: shape.slice(1),
    nonNegative: inputs.every((x) => x.nonNegative),
  });
}

/** The per-channel value of a constant block [1, K, ...spatial] if every channel is uniform. */
function uniformChannels(value: ConstValue, spatial: readonly number[], node: Node): Float32Array | undefined {
  const dims = value.dims;
  const expected = [1, dims[1], ...spatial];
  if (dims.length !== expected.length || dims.some((d, i) => d !== expected[i])) return undefined;
  const numbers = finiteNumbers(value, node);
  const channels = dims[1];
  const plane = numbers.length / channels;
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    out[c] = numbers[c * plane];
    for (let k = 1; k < plane; k++) if (numbers[c * plane + k] !== out[c]) return undefined;
  }
  return out;
}

function concatWithConstants(node: Node, ctx: NormaliseContext, values: Value[], axis: number): void {
  const dataIndices = values.flatMap((v, i) => (v.kind === 'const' ? [] : [i]));
  if (dataIndices.length !== 1) throw unsupported(node, 'concatenates constants with more than one computed tensor');
  const x = ctx.data(node, dataIndices[0], `inputs[${dataIndices[0]}]`);
  const rank = x.shape.length + 1;
  if (normaliseAxis(axis, rank) !== 1 || (rank !== 2 && rank !== 4)) {
    throw unsupported(node, 'concatenates constants with a computed tensor other than along the channels of [N,C] or [N,C,H,W]');
  }
  const spatial = x.shape.slice(1);
  const blocks = values.map((v) => {
    if (v.kind !== 'const') return { channels: x.shape[0] };
    const perChannel = uniformChannels(v, spatial, node);
    if (!perChannel) throw unsupported(node, `constant '${v.name}' is not uniform within each channel`);
    return { channels: perChannel.length, values: perChannel };
  });
  const inChannels = x.shape[0];
  const outChannels = blocks.reduce((sum, b) => sum + b.channels, 0);
  const weight = new Float32Array(outChannels * inChannels);
  const bias = new Float32Array(outChannels);
  let offset = 0;
  for (const block of blocks) {
    for (let c = 0; c < block.channels; c++) {
      if (block.values) bias[offset + c] = block.values[c];
      else weight[(offset + c) * inChannels + c] = 1;
    }
    offset += block.channels;
  }
  const outputShape = [outChannels, ...spatial];
  const linear =
    rank === 4
      ? {
          kind: 'conv' as const,
          weight,
          weightShape: [outChannels, inChannels, 1, 1] as const,
          bias,
          strides: [1, 1] as const,
          pads: [0, 0, 0, 0] as const,
          dilations: [1, 1] as const,
          group: 1,
        }
      : { kind: 'dense' as const, weight, outFeatures: outChannels, inFeatures: inChannels, bias };
  finishAffine(ctx, [node], linear, x, node.outputs[0], outputShape);
}
