// The 3-D convolution of conv3d.ts on the compiled 2-D float64 kernels (src/native, natively or as
// WebAssembly): A x = Σ_kd over the depth taps of the 2-D convolution with the weight slice W[:, :, kd]
// applied to the input depth slices id = od·s_d − b_d + kd·d_d of every output depth od that reads one
// inside the input (docs/derivations.md §34). One batched kernel call per depth tap; the same index
// pairs as the TypeScript loops, so it agrees with Conv3dOperator to rounding (tested).
import { requireNativeKernels, WEIGHT, type NativeKernels, type WeightMode } from '../native/kernels';
import { validRange } from './conv';
import type { Conv3dGeometry } from './conv3d';
import { checkLength, type LinearOperator } from './linearOperator';

interface DepthTap {
  plan: object;
  /** Output depths [start, end) whose input depth for this tap lies inside the input. */
  start: number;
  end: number;
  /** Input depth of output depth od: od · stride + offset. */
  offset: number;
}

export class NativeConv3dOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  private readonly taps: DepthTap[] = [];
  /** One input depth slice [C, H, W] and one output depth slice [M, OH, OW]. */
  private readonly inSlice: number;
  private readonly outSlice: number;

  constructor(weight: Float32Array, readonly geometry: Conv3dGeometry, private readonly kernels: NativeKernels = requireNativeKernels()) {
    const g = geometry;
    const [inD, inH, inW] = g.inExtent;
    const [outD, outH, outW] = g.outExtent;
    const [kD, kH, kW] = g.kernel;
    this.inSize = g.inChannels * inD * inH * inW;
    this.outSize = g.outChannels * outD * outH * outW;
    this.inSlice = g.inChannels * inH * inW;
    this.outSlice = g.outChannels * outH * outW;
    const perGroupIn = g.inChannels / g.group;
    const plane = kH * kW;
    // The kernels' 2-D geometry: leading pads and output extents (the trailing pads only set those).
    const shape = Int32Array.from([
      g.inChannels, inH, inW, g.outChannels, outH, outW, kH, kW,
      g.strides[1], g.strides[2], g.padBegin[1], g.padBegin[2], g.dilations[1], g.dilations[2], g.group,
    ]);
    for (let kd = 0; kd < kD; kd++) {
      const offset = kd * g.dilations[0] - g.padBegin[0];
      const [start, end] = validRange(offset, g.strides[0], inD, outD);
      if (start >= end) continue;
      const slice = new Float32Array(g.outChannels * perGroupIn * plane);
      for (let row = 0; row < g.outChannels * perGroupIn; row++) {
        slice.set(weight.subarray((row * kD + kd) * plane, (row * kD + kd + 1) * plane), row * plane);
      }
      this.taps.push({ plan: this.kernels.convPlan(slice, shape), start, end, offset });
    }
  }

  private forward(x: Float64Array, mode: WeightMode): Float64Array {
    const g = this.geometry;
    const [inD, inH, inW] = g.inExtent;
    const [outD, outH, outW] = g.outExtent;
    const inPlane = inH * inW;
    const outPlane = outH * outW;
    const y = new Float64Array(this.outSize);
    for (const tap of this.taps) {
      const count = tap.end - tap.start;
      const xb = new Float64Array(count * this.inSlice);
      for (let b = 0; b < count; b++) {
        const id = (tap.start + b) * g.strides[0] + tap.offset;
        for (let c = 0; c < g.inChannels; c++) {
          xb.set(x.subarray((c * inD + id) * inPlane, (c * inD + id + 1) * inPlane), b * this.inSlice + c * inPlane);
        }
      }
      const yb = new Float64Array(count * this.outSlice);
      this.kernels.convForward(tap.plan, xb, yb, count, mode);
      for (let b = 0; b < count; b++) {
        const od = tap.start + b;
        for (let m = 0; m < g.outChannels; m++) {
          const target = (m * outD + od) * outPlane;
          const source = b * this.outSlice + m * outPlane;
          for (let k = 0; k < outPlane; k++) y[target + k] += yb[source + k];
        }
      }
    }
    return y;
  }

  apply(x: Float64Array): Float64Array {
    checkLength('conv3d apply', x.length, this.inSize);
    return this.forward(x, WEIGHT.plain);
  }

  applyAbsolute(x: Float64Array): Float64Array {
    checkLength('conv3d applyAbsolute', x.length, this.inSize);
    return this.forward(x, WEIGHT.absolute);
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('conv3d rowNormsSquared', d.length, this.inSize);
    return this.forward(d, WEIGHT.squared);
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('conv3d applyTranspose', y.length, this.outSize);
    const g = this.geometry;
    const [inD, inH, inW] = g.inExtent;
    const [outD, outH, outW] = g.outExtent;
    const inPlane = inH * inW;
    const outPlane = outH * outW;
    const x = new Float64Array(this.inSize);
    for (const tap of this.taps) {
      const count = tap.end - tap.start;
      const yb = new Float64Array(count * this.outSlice);
      for (let b = 0; b < count; b++) {
        const od = tap.start + b;
        for (let m = 0; m < g.outChannels; m++) {
          yb.set(y.subarray((m * outD + od) * outPlane, (m * outD + od + 1) * outPlane), b * this.outSlice + m * outPlane);
        }
      }
      const xb = new Float64Array(count * this.inSlice);
      this.kernels.convAdjoint(tap.plan, yb, xb, count);
      for (let b = 0; b < count; b++) {
        const id = (tap.start + b) * g.strides[0] + tap.offset;
        for (let c = 0; c < g.inChannels; c++) {
          const target = (c * inD + id) * inPlane;
          const source = b * this.inSlice + c * inPlane;
          for (let k = 0; k < inPlane; k++) x[target + k] += xb[source + k];
        }
      }
    }
    return x;
  }
}
