// 2-D convolution (ONNX Conv, NCHW without the batch): strides, asymmetric pads, dilations, groups.
// Aᵀ is the transposed convolution with the same weights and geometry, written as the same loop nest
// scattering instead of gathering, so it is the exact adjoint by construction.
import type { ConvParams, Shape } from '../network';
import { checkLength, type AffineOperator, type LinearOperator, type SelectedRows } from './linearOperator';
import { convRows } from './convRows';

export interface ConvGeometry {
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  dilationH: number;
  dilationW: number;
  group: number;
}

export function convGeometry(params: ConvParams, inputShape: Shape, name: string): ConvGeometry {
  if (inputShape.length !== 3) throw new Error(`${name}: conv input shape [${inputShape.join(', ')}] is not [C, H, W]`);
  const [inChannels, inHeight, inWidth] = inputShape;
  const [outChannels, perGroupIn, kernelH, kernelW] = params.weightShape;
  const group = params.group;
  if (group < 1 || inChannels % group !== 0 || outChannels % group !== 0 || perGroupIn * group !== inChannels) {
    throw new Error(
      `${name}: conv weight [${params.weightShape.join(', ')}] with group ${group} does not fit ${inChannels} input channels`,
    );
  }
  if (params.weight.length !== outChannels * perGroupIn * kernelH * kernelW) {
    throw new Error(`${name}: conv weight has ${params.weight.length} values, shape [${params.weightShape.join(', ')}]`);
  }
  const [strideH, strideW] = params.strides;
  const [dilationH, dilationW] = params.dilations;
  const [padTop, padLeft, padBottom, padRight] = params.pads;
  const outHeight = Math.floor((inHeight + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH) + 1;
  const outWidth = Math.floor((inWidth + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW) + 1;
  if (outHeight < 1 || outWidth < 1) throw new Error(`${name}: conv output would be empty for input [${inputShape.join(', ')}]`);
  return {
    inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, kernelH, kernelW,
    strideH, strideW, padTop, padLeft, dilationH, dilationW, group,
  };
}

export class ConvOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** The float32 weights widened once (exactly) so the hot loops see one array type. */
  private readonly weight: Float64Array;
  private squaredWeight: Float64Array | null = null;

  constructor(weight: Float32Array, readonly geometry: ConvGeometry) {
    const g = geometry;
    this.inSize = g.inChannels * g.inHeight * g.inWidth;
    this.outSize = g.outChannels * g.outHeight * g.outWidth;
    this.weight = Float64Array.from(weight);
  }

  get outputShape(): [number, number, number] {
    return [this.geometry.outChannels, this.geometry.outHeight, this.geometry.outWidth];
  }

  apply(x: Float64Array): Float64Array {
    checkLength('conv apply', x.length, this.inSize);
    const y = new Float64Array(this.outSize);
    convLoops(this.geometry, this.weight, x, y, false);
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('conv applyTranspose', y.length, this.outSize);
    const x = new Float64Array(this.inSize);
    convLoops(this.geometry, this.weight, x, y, true);
    return x;
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('conv rowNormsSquared', d.length, this.inSize);
    if (!this.squaredWeight) this.squaredWeight = this.weight.map((w) => w * w);
    const y = new Float64Array(this.outSize);
    convLoops(this.geometry, this.squaredWeight, d, y, false);
    return y;
  }

  /** Up to half the outputs, as sparse rows (the same loops in TypeScript either way). */
  selectRows(rows: Int32Array): SelectedRows | null {
    return rows.length * 2 <= this.outSize ? convRows(this.weight, this.geometry, rows) : null;
  }

  /** (A∘A)ᵀ e: Σ_i a_ij² e_i for every input j (the row norms of the transposed convolution). */
  columnNormsSquared(e: Float64Array): Float64Array {
    checkLength('conv columnNormsSquared', e.length, this.outSize);
    if (!this.squaredWeight) this.squaredWeight = this.weight.map((w) => w * w);
    const x = new Float64Array(this.inSize);
    convLoops(this.geometry, this.squaredWeight, x, e, true);
    return x;
  }
}

/**
 * Visits every (output channel, input channel, kernel tap) over the range of output positions whose
 * input position for that tap lies inside the unpadded input, so the inner loops need no bounds
 * checks. Gathers y += w·x (the convolution) or, transposed, scatters x += w·y: the same index pairs,
 * hence the exact adjoint.
 */
function convLoops(g: ConvGeometry, weight: Float64Array, x: Float64Array, y: Float64Array, transpose: boolean): void {
  const outPerGroup = g.outChannels / g.group;
  const inPerGroup = g.inChannels / g.group;
  const outPlane = g.outHeight * g.outWidth;
  const inPlane = g.inHeight * g.inWidth;
  const sh = g.strideH;
  const sw = g.strideW;
  for (let ki = 0; ki < g.kernelH; ki++) {
    const ihOffset = ki * g.dilationH - g.padTop;
    const [ohStart, ohEnd] = validRange(ihOffset, sh, g.inHeight, g.outHeight);
    if (ohStart >= ohEnd) continue;
    for (let kj = 0; kj < g.kernelW; kj++) {
      const iwOffset = kj * g.dilationW - g.padLeft;
      const [owStart, owEnd] = validRange(iwOffset, sw, g.inWidth, g.outWidth);
      if (owStart >= owEnd) continue;
      for (let m = 0; m < g.outChannels; m++) {
        const groupIndex = Math.floor(m / outPerGroup);
        for (let c = 0; c < inPerGroup; c++) {
          const w = weight[((m * inPerGroup + c) * g.kernelH + ki) * g.kernelW + kj];
          if (w === 0) continue;
          const outBase = m * outPlane;
          const inBase = (groupIndex * inPerGroup + c) * inPlane;
          const rowStep = sh * g.inWidth;
          let inRow = inBase + (ohStart * sh + ihOffset) * g.inWidth + iwOffset;
          for (let outRow = outBase + ohStart * g.outWidth; outRow < outBase + ohEnd * g.outWidth; outRow += g.outWidth, inRow += rowStep) {
            if (transpose) scatterRow(x, y, w, inRow, outRow, owStart, owEnd, sw);
            else gatherRow(y, x, w, outRow, inRow, owStart, owEnd, sw);
          }
        }
      }
    }
  }
}

/** y[outRow + ow] += w · x[inRow + ow·stride] for ow in [start, end); unit stride kept apart so V8 can keep it tight. */
export function gatherRow(y: Float64Array, x: Float64Array, w: number, outRow: number, inRow: number, start: number, end: number, stride: number): void {
  if (stride === 1) {
    const shift = inRow - outRow;
    for (let o = outRow + start; o < outRow + end; o++) y[o] += w * x[o + shift];
  } else {
    for (let ow = start; ow < end; ow++) y[outRow + ow] += w * x[inRow + ow * stride];
  }
}

/** The adjoint of gatherRow: x[inRow + ow·stride] += w · y[outRow + ow]. */
export function scatterRow(x: Float64Array, y: Float64Array, w: number, inRow: number, outRow: number, start: number, end: number, stride: number): void {
  if (stride === 1) {
    const shift = outRow - inRow;
    for (let i = inRow + start; i < inRow + end; i++) x[i] += w * y[i + shift];
  } else {
    for (let ow = start; ow < end; ow++) x[inRow + ow * stride] += w * y[outRow + ow];
  }
}

/** Output positions o in [0, outSize) with 0 ≤ o·stride + offset < inSize. */
export function validRange(offset: number, stride: number, inSize: number, outSize: number): [number, number] {
  const start = Math.max(0, Math.ceil(-offset / stride));
  const end = Math.min(outSize, Math.floor((inSize - 1 - offset) / stride) + 1);
  return [start, Math.max(start, end)];
}

/** The layer with the TypeScript operator, or another implementation of the same geometry (registry.ts). */
export function createConv(
  params: ConvParams,
  inputShape: Shape,
  name: string,
  makeLinear: (weight: Float32Array, geometry: ConvGeometry) => LinearOperator & { geometry: ConvGeometry } = (...args) =>
    new ConvOperator(...args),
): AffineOperator {
  const linear = makeLinear(params.weight, convGeometry(params, inputShape, name));
  const g = linear.geometry;
  let bias: Float64Array | null = null;
  if (params.bias) {
    if (params.bias.length !== g.outChannels) {
      throw new Error(`${name}: conv bias has ${params.bias.length} values, expected ${g.outChannels}`);
    }
    bias = new Float64Array(linear.outSize);
    const plane = g.outHeight * g.outWidth;
    for (let m = 0; m < g.outChannels; m++) bias.fill(params.bias[m], m * plane, (m + 1) * plane);
  }
  return { linear, bias };
}
