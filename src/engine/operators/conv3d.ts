// 3-D convolution (ONNX Conv over [C, D, H, W] without the batch): strides, asymmetric pads,
// dilations, groups (docs/derivations.md §34), and ConvTranspose over [C, D, H, W] as its adjoint (§21).
// The loop nest of conv.ts with a depth axis: the reference, and the operator of the TypeScript
// backend (nativeConv3d.ts runs it on the compiled 2-D kernels). Aᵀ scatters over the same index
// pairs the gather visits, so it is the exact adjoint by construction; every entry of A is one weight
// or 0, so |A| and A∘A are the same loops on |W| and W∘W.
import type { Conv3dParams, ConvTranspose3dParams, Shape } from '../network';
import { gatherRow, scatterRow, validRange } from './conv';
import { ConvTransposeOperator } from './convTranspose';
import { checkLength, type AffineOperator, type LinearOperator } from './linearOperator';

export interface Conv3dGeometry {
  inChannels: number;
  /** Input extents [D, H, W]. */
  inExtent: [number, number, number];
  outChannels: number;
  outExtent: [number, number, number];
  kernel: [number, number, number];
  strides: [number, number, number];
  /** Leading pads [front, top, left]; the trailing ones only shorten the output. */
  padBegin: [number, number, number];
  dilations: [number, number, number];
  group: number;
}

export function conv3dGeometry(params: Conv3dParams, inputShape: Shape, name: string): Conv3dGeometry {
  if (inputShape.length !== 4) throw new Error(`${name}: 3-D conv input shape [${inputShape.join(', ')}] is not [C, D, H, W]`);
  const [inChannels, ...inExtent] = inputShape;
  if (inExtent.some((n) => !(n >= 1))) throw new Error(`${name}: 3-D conv input shape [${inputShape.join(', ')}] is empty`);
  const [outChannels, perGroupIn, ...kernel] = params.weightShape;
  const group = params.group;
  if (!Number.isInteger(group) || group < 1 || outChannels % group !== 0 || perGroupIn * group !== inChannels) {
    throw new Error(`${name}: conv weight [${params.weightShape.join(', ')}] with group ${group} does not fit ${inChannels} input channels`);
  }
  if (params.weight.length !== outChannels * perGroupIn * kernel[0] * kernel[1] * kernel[2]) {
    throw new Error(`${name}: conv weight has ${params.weight.length} values, shape [${params.weightShape.join(', ')}]`);
  }
  const outExtent = [0, 1, 2].map(
    (a) => Math.floor((inExtent[a] + params.pads[a] + params.pads[a + 3] - params.dilations[a] * (kernel[a] - 1) - 1) / params.strides[a]) + 1,
  ) as [number, number, number];
  if (outExtent.some((n) => n < 1)) throw new Error(`${name}: conv output would be empty for input [${inputShape.join(', ')}]`);
  return {
    inChannels,
    inExtent: [inExtent[0], inExtent[1], inExtent[2]],
    outChannels,
    outExtent,
    kernel: [kernel[0], kernel[1], kernel[2]],
    strides: [params.strides[0], params.strides[1], params.strides[2]],
    padBegin: [params.pads[0], params.pads[1], params.pads[2]],
    dilations: [params.dilations[0], params.dilations[1], params.dilations[2]],
    group,
  };
}

export class Conv3dOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** The float32 weights widened once (exactly). */
  private readonly weight: Float64Array;
  private absoluteWeight: Float64Array | null = null;
  private squaredWeight: Float64Array | null = null;

  constructor(weight: Float32Array, readonly geometry: Conv3dGeometry) {
    const g = geometry;
    this.inSize = g.inChannels * g.inExtent[0] * g.inExtent[1] * g.inExtent[2];
    this.outSize = g.outChannels * g.outExtent[0] * g.outExtent[1] * g.outExtent[2];
    this.weight = Float64Array.from(weight);
  }

  apply(x: Float64Array): Float64Array {
    checkLength('conv3d apply', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    conv3dLoops(this.geometry, this.weight, x, y, false);
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('conv3d applyTranspose', y.length, this.outSize);
    const x = new Float64Array(this.inSize);
    conv3dLoops(this.geometry, this.weight, x, y, true);
    return x;
  }

  applyAbsolute(x: Float64Array): Float64Array {
    checkLength('conv3d applyAbsolute', x.length, this.inSize);
    if (!this.absoluteWeight) this.absoluteWeight = this.weight.map(Math.abs);
    const y = new Float64Array(this.outSize);
    conv3dLoops(this.geometry, this.absoluteWeight, x, y, false);
    return y;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('conv3d rowNormsSquared', d.length, this.inSize);
    const y = new Float64Array(this.outSize);
    conv3dLoops(this.geometry, this.squared(), d, y, false);
    return y;
  }

  /** (A∘A)ᵀ e: Σ_i a_ij² e_i for every input j. */
  columnNormsSquared(e: Float64Array): Float64Array {
    checkLength('conv3d columnNormsSquared', e.length, this.outSize);
    const x = new Float64Array(this.inSize);
    conv3dLoops(this.geometry, this.squared(), x, e, true);
    return x;
  }

  private squared(): Float64Array {
    if (!this.squaredWeight) this.squaredWeight = this.weight.map((w) => w * w);
    return this.squaredWeight;
  }
}

/**
 * Visits every (kernel tap, output channel, input channel) over the output positions whose input
 * position for that tap lies inside the unpadded input (validRange per axis), then each output row of
 * that range: y += w·x (gather) or, transposed, x += w·y (scatter) over the same index pairs.
 */
function conv3dLoops(g: Conv3dGeometry, weight: Float64Array, x: Float64Array, y: Float64Array, transpose: boolean): void {
  const outPerGroup = g.outChannels / g.group;
  const inPerGroup = g.inChannels / g.group;
  const [inD, inH, inW] = g.inExtent;
  const [outD, outH, outW] = g.outExtent;
  const [kD, kH, kW] = g.kernel;
  const [sd, sh, sw] = g.strides;
  const outVolume = outD * outH * outW;
  const inVolume = inD * inH * inW;
  for (let kd = 0; kd < kD; kd++) {
    const idOffset = kd * g.dilations[0] - g.padBegin[0];
    const [odStart, odEnd] = validRange(idOffset, sd, inD, outD);
    if (odStart >= odEnd) continue;
    for (let ki = 0; ki < kH; ki++) {
      const ihOffset = ki * g.dilations[1] - g.padBegin[1];
      const [ohStart, ohEnd] = validRange(ihOffset, sh, inH, outH);
      if (ohStart >= ohEnd) continue;
      for (let kj = 0; kj < kW; kj++) {
        const iwOffset = kj * g.dilations[2] - g.padBegin[2];
        const [owStart, owEnd] = validRange(iwOffset, sw, inW, outW);
        if (owStart >= owEnd) continue;
        for (let m = 0; m < g.outChannels; m++) {
          const groupIndex = Math.floor(m / outPerGroup);
          for (let c = 0; c < inPerGroup; c++) {
            const w = weight[(((m * inPerGroup + c) * kD + kd) * kH + ki) * kW + kj];
            if (w === 0) continue;
            const outBase = m * outVolume;
            const inBase = (groupIndex * inPerGroup + c) * inVolume;
            for (let od = odStart; od < odEnd; od++) {
              const id = od * sd + idOffset;
              for (let oh = ohStart; oh < ohEnd; oh++) {
                const outRow = outBase + (od * outH + oh) * outW;
                const inRow = inBase + (id * inH + oh * sh + ihOffset) * inW + iwOffset;
                if (transpose) scatterRow(x, y, w, inRow, outRow, owStart, owEnd, sw);
                else gatherRow(y, x, w, outRow, inRow, owStart, owEnd, sw);
              }
            }
          }
        }
      }
    }
  }
}

/** A 3-D convolution on the TypeScript loops or another implementation of the same geometry (registry.ts). */
export type Conv3dFactory = (weight: Float32Array, geometry: Conv3dGeometry) => LinearOperator & { geometry: Conv3dGeometry };

export function createConv3d(params: Conv3dParams, inputShape: Shape, name: string, makeLinear: Conv3dFactory = (...args) => new Conv3dOperator(...args)): AffineOperator {
  const linear = makeLinear(params.weight, conv3dGeometry(params, inputShape, name));
  const g = linear.geometry;
  let bias: Float64Array | null = null;
  if (params.bias) {
    if (params.bias.length !== g.outChannels) throw new Error(`${name}: conv bias has ${params.bias.length} values, expected ${g.outChannels}`);
    bias = new Float64Array(linear.outSize);
    const volume = g.outExtent[0] * g.outExtent[1] * g.outExtent[2];
    for (let m = 0; m < g.outChannels; m++) bias.fill(params.bias[m], m * volume, (m + 1) * volume);
  }
  return { linear, bias };
}

/** Output extents [D, H, W] of ConvTranspose over a [C, D, H, W] input: s (n − 1) + o + (k − 1) d + 1 − pads per axis. */
export function convTranspose3dOutput(params: ConvTranspose3dParams, inputShape: Shape): [number, number, number] {
  const extent = (a: number) =>
    params.strides[a] * (inputShape[1 + a] - 1) + params.outputPadding[a] + (params.weightShape[2 + a] - 1) * params.dilations[a] + 1 - params.pads[a] - params.pads[a + 3];
  return [extent(0), extent(1), extent(2)];
}

/** Kᵀ for the 3-D convolution K with this weight read as a conv weight (docs/derivations.md §21). */
export function createConvTranspose3d(params: ConvTranspose3dParams, inputShape: Shape, name: string, makeLinear?: Conv3dFactory): AffineOperator {
  if (inputShape.length !== 4) throw new Error(`${name}: 3-D conv-transpose input shape [${inputShape.join(', ')}] is not [C, D, H, W]`);
  const [inChannels, perGroupOut] = params.weightShape;
  if (inputShape[0] !== inChannels) throw new Error(`${name}: conv-transpose weight [${params.weightShape.join(', ')}] expects ${inChannels} input channels, the input has ${inputShape[0]}`);
  const outChannels = perGroupOut * params.group;
  const outExtent = convTranspose3dOutput(params, inputShape);
  const convParams: Conv3dParams = { kind: 'conv3d', weight: params.weight, weightShape: params.weightShape, strides: params.strides, pads: params.pads, dilations: params.dilations, group: params.group };
  const geometry = conv3dGeometry(convParams, [outChannels, ...outExtent], name);
  if (geometry.outExtent.some((n, a) => n !== inputShape[1 + a])) {
    throw new Error(`${name}: the convolution adjoint to this conv-transpose maps [${outChannels}, ${outExtent.join(', ')}] to [${geometry.outChannels}, ${geometry.outExtent.join(', ')}], not the input [${inputShape.join(', ')}] (output_padding must stay below the stride)`);
  }
  const reference = new Conv3dOperator(params.weight, geometry);
  const linear = new ConvTransposeOperator(makeLinear ? makeLinear(params.weight, geometry) : reference, reference);
  let bias: Float64Array | null = null;
  if (params.bias) {
    if (params.bias.length !== outChannels) throw new Error(`${name}: conv-transpose bias has ${params.bias.length} values, expected ${outChannels}`);
    bias = new Float64Array(linear.outSize);
    const volume = outExtent[0] * outExtent[1] * outExtent[2];
    for (let m = 0; m < outChannels; m++) bias.fill(params.bias[m], m * volume, (m + 1) * volume);
  }
  return { linear, bias };
}
