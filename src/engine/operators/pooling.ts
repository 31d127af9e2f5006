// Pooling geometry shared by max and average pooling (NCHW without the batch). The output size comes
// from the layer's declared output shape, so floor and ceil mode are both honoured; a window tap
// is valid when it lands inside the unpadded input.
import type { PoolParams, Shape } from '../network';

export interface PoolGeometry {
  channels: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
}

export function poolGeometry(params: PoolParams, inputShape: Shape, outputShape: Shape, name: string): PoolGeometry {
  if (inputShape.length !== 3) throw new Error(`${name}: pool input shape [${inputShape.join(', ')}] is not [C, H, W]`);
  const [channels, inHeight, inWidth] = inputShape;
  const [kernelH, kernelW] = params.kernel;
  const [strideH, strideW] = params.strides;
  const [padTop, padLeft, padBottom, padRight] = params.pads;
  const [dilationH, dilationW] = params.dilations;
  const span = (n: number, k: number, d: number, p0: number, p1: number, s: number, round: (v: number) => number) =>
    round((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;
  const check = (declared: number, n: number, k: number, d: number, p0: number, p1: number, s: number, axis: string) => {
    const floor = span(n, k, d, p0, p1, s, Math.floor);
    const ceil = span(n, k, d, p0, p1, s, Math.ceil);
    if (declared !== floor && declared !== ceil) {
      throw new Error(`${name}: declared pool output ${axis} ${declared} matches neither floor (${floor}) nor ceil (${ceil}) mode`);
    }
  };
  if (outputShape.length !== 3 || outputShape[0] !== channels) {
    throw new Error(`${name}: pool output shape [${outputShape.join(', ')}] does not fit input [${inputShape.join(', ')}]`);
  }
  const [, outHeight, outWidth] = outputShape;
  check(outHeight, inHeight, kernelH, dilationH, padTop, padBottom, strideH, 'height');
  check(outWidth, inWidth, kernelW, dilationW, padLeft, padRight, strideW, 'width');
  return {
    channels, inHeight, inWidth, outHeight, outWidth, kernelH, kernelW, strideH, strideW,
    padTop, padLeft, padBottom, padRight, dilationH, dilationW,
  };
}

/** Calls visit(outIndex, inIndex) for every valid tap of every window. */
export function forEachPoolTap(g: PoolGeometry, visit: (outIndex: number, inIndex: number) => void): void {
  for (let c = 0; c < g.channels; c++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        const outIndex = (c * g.outHeight + oh) * g.outWidth + ow;
        for (let ki = 0; ki < g.kernelH; ki++) {
          const ih = oh * g.strideH - g.padTop + ki * g.dilationH;
          if (ih < 0 || ih >= g.inHeight) continue;
          for (let kj = 0; kj < g.kernelW; kj++) {
            const iw = ow * g.strideW - g.padLeft + kj * g.dilationW;
            if (iw < 0 || iw >= g.inWidth) continue;
            visit(outIndex, (c * g.inHeight + ih) * g.inWidth + iw);
          }
        }
      }
    }
  }
}

export function poolOutputSize(g: PoolGeometry): number {
  return g.channels * g.outHeight * g.outWidth;
}

export function poolInputSize(g: PoolGeometry): number {
  return g.channels * g.inHeight * g.inWidth;
}
