// Pooling geometry shared by max and average pooling (NCHW or NCDHW without the batch). A 2-D pool
// is a 3-D one whose depth axis has extent 1 and a 1-wide window, so one tap loop serves both. The
// output size comes from the layer's declared output shape, so floor and ceil mode are both
// honoured; a window tap is valid when it lands inside the unpadded input.
import type { PoolParams, Shape } from '../network';

/** One spatial axis of a pool: input and output extents, window size, stride, pads and dilation. */
export interface PoolAxis {
  input: number;
  output: number;
  kernel: number;
  stride: number;
  padBegin: number;
  padEnd: number;
  dilation: number;
}

export interface PoolGeometry {
  channels: number;
  /** Depth, height and width, in memory order (depth is a unit axis for 2-D pooling). */
  axes: readonly [PoolAxis, PoolAxis, PoolAxis];
}

export function poolGeometry(params: PoolParams, inputShape: Shape, declaredOutput: Shape, name: string): PoolGeometry {
  const rank = params.kernel.length;
  // A 1-D pool reads its [C, L] input as [C, 1, L] and keeps the node's [C, L'] output shape.
  const outputShape = rank === 2 && declaredOutput.length === 2 && inputShape[1] === 1 ? [declaredOutput[0], 1, declaredOutput[1]] : declaredOutput;
  if (rank !== 2 && rank !== 3) throw new Error(`${name}: ${rank}-D pooling parameters; only 2-D and 3-D pooling exist as layers`);
  const layout = rank === 2 ? '[C, H, W]' : '[C, D, H, W]';
  if (inputShape.length !== rank + 1) throw new Error(`${name}: pool input shape [${inputShape.join(', ')}] is not ${layout}`);
  if (outputShape.length !== rank + 1 || outputShape[0] !== inputShape[0]) {
    throw new Error(`${name}: pool output shape [${outputShape.join(', ')}] does not fit input [${inputShape.join(', ')}]`);
  }
  const names = rank === 2 ? ['height', 'width'] : ['depth', 'height', 'width'];
  const span = (a: PoolAxis, round: (v: number) => number) =>
    round((a.input + a.padBegin + a.padEnd - a.dilation * (a.kernel - 1) - 1) / a.stride) + 1;
  const axes = names.map((axisName, d): PoolAxis => {
    const axis = {
      input: inputShape[1 + d],
      output: outputShape[1 + d],
      kernel: params.kernel[d],
      stride: params.strides[d],
      padBegin: params.pads[d],
      padEnd: params.pads[rank + d],
      dilation: params.dilations[d],
    };
    const floor = span(axis, Math.floor);
    const ceil = span(axis, Math.ceil);
    if (axis.output !== floor && axis.output !== ceil) {
      throw new Error(`${name}: declared pool output ${axisName} ${axis.output} matches neither floor (${floor}) nor ceil (${ceil}) mode`);
    }
    return axis;
  });
  const unit: PoolAxis = { input: 1, output: 1, kernel: 1, stride: 1, padBegin: 0, padEnd: 0, dilation: 1 };
  return { channels: inputShape[0], axes: rank === 2 ? [unit, axes[0], axes[1]] : [axes[0], axes[1], axes[2]] };
}

/** Calls visit(outIndex, inIndex) for every valid tap of every window. */
export function forEachPoolTap(g: PoolGeometry, visit: (outIndex: number, inIndex: number) => void): void {
  const [depth, height, width] = g.axes;
  for (let c = 0; c < g.channels; c++) {
    for (let od = 0; od < depth.output; od++) {
      for (let oh = 0; oh < height.output; oh++) {
        for (let ow = 0; ow < width.output; ow++) {
          const outIndex = ((c * depth.output + od) * height.output + oh) * width.output + ow;
          for (let kd = 0; kd < depth.kernel; kd++) {
            const id = od * depth.stride - depth.padBegin + kd * depth.dilation;
            if (id < 0 || id >= depth.input) continue;
            for (let kh = 0; kh < height.kernel; kh++) {
              const ih = oh * height.stride - height.padBegin + kh * height.dilation;
              if (ih < 0 || ih >= height.input) continue;
              for (let kw = 0; kw < width.kernel; kw++) {
                const iw = ow * width.stride - width.padBegin + kw * width.dilation;
                if (iw < 0 || iw >= width.input) continue;
                visit(outIndex, ((c * depth.input + id) * height.input + ih) * width.input + iw);
              }
            }
          }
        }
      }
    }
  }
}

/** Taps of one whole window, padding included. */
export function poolWindowSize(g: PoolGeometry): number {
  return g.axes.reduce((n, a) => n * a.kernel, 1);
}

export function poolOutputSize(g: PoolGeometry): number {
  return g.axes.reduce((n, a) => n * a.output, g.channels);
}

export function poolInputSize(g: PoolGeometry): number {
  return g.axes.reduce((n, a) => n * a.input, g.channels);
}
