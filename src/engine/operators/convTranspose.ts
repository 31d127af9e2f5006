// ONNX ConvTranspose as the adjoint Kᵀ of the convolution K whose weight it shares (docs/derivations.md
// §21): apply is K's applyTranspose and the other way round, the Gram products swap sides, and the row
// norms of Kᵀ are K's column norms (squared weights, float64, on the TypeScript loops).
import type { ConvTransposeParams, Shape } from '../network';
import { convGeometry, ConvOperator, type ConvGeometry } from './conv';
import { checkLength, type AffineOperator, type LinearOperator } from './linearOperator';

export class ConvTransposeOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;

  constructor(
    /** K on the chosen backend (native kernels or the TypeScript loops). */
    private readonly conv: LinearOperator,
    /** K on the TypeScript loops, for the squared-weight column pass. */
    private readonly reference: { columnNormsSquared(e: Float64Array): Float64Array },
  ) {
    this.inSize = conv.outSize;
    this.outSize = conv.inSize;
  }

  apply(x: Float64Array): Float64Array {
    checkLength('convTranspose apply', x.length, this.inSize);
    return this.conv.applyTranspose(x);
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('convTranspose applyTranspose', y.length, this.outSize);
    return this.conv.apply(y);
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('convTranspose rowNormsSquared', d.length, this.inSize);
    return this.reference.columnNormsSquared(d);
  }

  /** (Kᵀ)ᵀ diag(s) Kᵀ x = K diag(s) Kᵀ x: the conv's output-side Gram product, when it has one. */
  get gram(): LinearOperator['gram'] {
    const gramOutput = this.conv.gramOutput?.bind(this.conv);
    return gramOutput && ((x, s, out) => gramOutput(x, s, out));
  }

  /** Kᵀ diag(d) K y: the conv's input-side Gram product, when it has one. */
  get gramOutput(): LinearOperator['gramOutput'] {
    const gram = this.conv.gram?.bind(this.conv);
    return gram && ((y, d, out) => gram(y, d, out));
  }
}

/** Output spatial extents of ConvTranspose over a [C, H, W] input. */
export function convTransposeOutput(params: ConvTransposeParams, inputShape: Shape): [number, number] {
  const [, , kh, kw] = params.weightShape;
  const extent = (n: number, axis: 0 | 1, k: number) =>
    params.strides[axis] * (n - 1) + params.outputPadding[axis] + (k - 1) * params.dilations[axis] + 1 - params.pads[axis] - params.pads[axis + 2];
  return [extent(inputShape[1], 0, kh), extent(inputShape[2], 1, kw)];
}

export function createConvTranspose(
  params: ConvTransposeParams,
  inputShape: Shape,
  name: string,
  /** K on another backend (the native kernels); the TypeScript loops otherwise. */
  makeConv?: (weight: Float32Array, geometry: ConvGeometry) => LinearOperator,
): AffineOperator {
  if (inputShape.length !== 3) throw new Error(`${name}: conv-transpose input shape [${inputShape.join(', ')}] is not [C, H, W]`);
  const [inChannels, perGroupOut] = params.weightShape;
  if (inputShape[0] !== inChannels) throw new Error(`${name}: conv-transpose weight [${params.weightShape.join(', ')}] expects ${inChannels} input channels, the input has ${inputShape[0]}`);
  const outChannels = perGroupOut * params.group;
  const [outHeight, outWidth] = convTransposeOutput(params, inputShape);
  const convParams = { kind: 'conv' as const, weight: params.weight, weightShape: params.weightShape, strides: params.strides, pads: params.pads, dilations: params.dilations, group: params.group };
  const geometry = convGeometry(convParams, [outChannels, outHeight, outWidth], name);
  if (geometry.outHeight !== inputShape[1] || geometry.outWidth !== inputShape[2]) {
    throw new Error(`${name}: the convolution adjoint to this conv-transpose maps [${outChannels}, ${outHeight}, ${outWidth}] to [${geometry.outChannels}, ${geometry.outHeight}, ${geometry.outWidth}], not the input [${inputShape.join(', ')}] (output_padding must stay below the stride)`);
  }
  const reference = new ConvOperator(params.weight, geometry);
  const linear = new ConvTransposeOperator(makeConv ? makeConv(params.weight, geometry) : reference, reference);
  let bias: Float64Array | null = null;
  if (params.bias) {
    if (params.bias.length !== outChannels) throw new Error(`${name}: conv-transpose bias has ${params.bias.length} values, expected ${outChannels}`);
    bias = new Float64Array(linear.outSize);
    const plane = outHeight * outWidth;
    for (let m = 0; m < outChannels; m++) bias.fill(params.bias[m], m * plane, (m + 1) * plane);
  }
  return { linear, bias };
}
