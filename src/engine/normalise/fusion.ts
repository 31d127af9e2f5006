// Look-ahead fusion after an affine map: an Add of a per-channel constant becomes part of the bias, a
// BatchNormalization that alone reads the affine output is
// folded into the weights, and an activation that alone reads the result joins the layer as the
// paper's affine-ReLU unit, and so does a hard-swish written out in elementary ops (hardSwish.ts).
// A node that cannot be fused (training-mode BN, a Clip with computed bounds, …) is left for its own
// handler, which reports it.

import type { Node } from '../../onnx/model';
import type { Activation, LinearParams } from '../network';
import { UnsupportedNodeError, type NormaliseContext } from './context';
import { globalSlope } from '../activations';
import { isActivationNode, isNonNegative, parseActivation } from './ops/activations';
import { perChannel } from './ops/arithmetic';
import { batchNormAffine, type ChannelAffine } from './ops/batchNormalization';
import { matchHardSwish } from './hardSwish';
import type { DataValue } from './values';

/** The map x ↦ scale ⊙ (A x + b) + shift over output channels, folded into the linear parameters. */
export function foldChannelAffine(linear: LinearParams, { scale, shift }: ChannelAffine): LinearParams {
  switch (linear.kind) {
    case 'conv':
    case 'conv3d':
    case 'dense': {
      const outputs = linear.kind === 'dense' ? linear.outFeatures : linear.weightShape[0];
      const perOutput = linear.weight.length / outputs;
      const weight = new Float32Array(linear.weight.length);
      const bias = new Float32Array(outputs);
      for (let o = 0; o < outputs; o++) {
        const s = scale[o];
        for (let k = o * perOutput; k < (o + 1) * perOutput; k++) weight[k] = linear.weight[k] * s;
        bias[o] = (linear.bias ? linear.bias[o] : 0) * s + shift[o];
      }
      return { ...linear, weight, bias };
    }
    case 'convTranspose':
    case 'convTranspose3d': {
      // Output channel m = group · (M/g) + m' collects W[c, m', …] for every input channel c of that group.
      const [inChannels, perGroupOut, ...kernel] = linear.weightShape;
      const inPerGroup = inChannels / linear.group;
      const taps = kernel.reduce((a, b) => a * b, 1);
      const weight = new Float32Array(linear.weight.length);
      for (let c = 0; c < inChannels; c++) {
        const group = Math.floor(c / inPerGroup);
        for (let j = 0; j < perGroupOut; j++) {
          const s = scale[group * perGroupOut + j];
          const base = (c * perGroupOut + j) * taps;
          for (let k = base; k < base + taps; k++) weight[k] = linear.weight[k] * s;
        }
      }
      const bias = Float32Array.from(scale, (s, m) => (linear.bias ? linear.bias[m] : 0) * s + shift[m]);
      return { ...linear, weight, bias };
    }
    case 'channelAffine':
      return {
        kind: 'channelAffine',
        scale: linear.scale.map((v, c) => v * scale[c]),
        shift: linear.shift.map((v, c) => v * scale[c] + shift[c]),
      };
  }
}

function tryFusion<T>(attempt: () => T): T | undefined {
  try {
    return attempt();
  } catch (error) {
    if (error instanceof UnsupportedNodeError) return undefined;
    throw error;
  }
}

export function finishAffine(
  ctx: NormaliseContext,
  nodes: readonly Node[],
  linear: LinearParams,
  input: DataValue,
  output: string,
  outputShape: readonly number[],
): DataValue {
  const fused = [...nodes];
  let affineOutput = output;
  // A per-channel constant lies along axis 1, which is not the feature axis of a row-wise dense map.
  const foldable = !(linear.kind === 'dense' && (linear.rows ?? 1) > 1);
  const biasAdd = foldable ? ctx.soleConsumer(affineOutput) : undefined;
  if (biasAdd?.opType === 'Add') {
    const other = ctx.lookup(biasAdd.inputs[biasAdd.inputs[0] === affineOutput ? 1 : 0]);
    const shift = other?.kind === 'const' ? perChannel(other, outputShape, biasAdd) : undefined;
    if (shift) {
      linear = foldChannelAffine(linear, { scale: new Float32Array(shift.length).fill(1), shift });
      fused.push(biasAdd);
      affineOutput = biasAdd.outputs[0];
    }
  }
  const next = foldable ? ctx.soleConsumer(affineOutput) : undefined;
  if (next?.opType === 'BatchNormalization' && next.inputs[0] === affineOutput) {
    const bn = tryFusion(() => batchNormAffine(next, ctx, outputShape[0]));
    if (bn) {
      linear = foldChannelAffine(linear, bn);
      fused.push(next);
      affineOutput = next.outputs[0];
    }
  }
  let activation: Activation | undefined;
  let layerOutput = affineOutput;
  const after = ctx.soleConsumer(affineOutput);
  const hardSwish = matchHardSwish(ctx, affineOutput);
  if (hardSwish) {
    activation = hardSwish.activation;
    fused.push(...hardSwish.nodes);
    layerOutput = hardSwish.output;
  } else if (after && isActivationNode(after) && after.inputs[0] === affineOutput) {
    activation = tryFusion(() => parseActivation(after, ctx));
    // Maps without a global constant stay lone layers: an affine unit's conservative column needs one.
    if (activation && !Number.isFinite(globalSlope(activation))) activation = undefined;
    if (activation) {
      fused.push(after);
      layerOutput = after.outputs[0];
    }
  }
  return ctx.emit({
    nodes: fused,
    op: activation ? { kind: 'affine', linear, activation } : { kind: 'affine', linear },
    inputs: [input],
    output: layerOutput,
    outputShape,
    preActivation: activation ? affineOutput : undefined,
    nonNegative: activation ? isNonNegative(activation) : false,
  });
}
