// Static shape inference for the operators the normaliser supports. Shapes here are full ONNX shapes
// (batch axis included, batch = 1); the normaliser strips the batch axis when it builds layers.
// Every function returns the output shape or a reason string when the shapes do not fit, so that the
// caller can turn it into an error naming the node.

export type FullShape = readonly number[];

export function sizeOfShape(shape: FullShape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: FullShape): string {
  return `[${shape.join(',')}]`;
}

/** Normalises a possibly negative axis into [0, rank); undefined when out of range. */
export function normaliseAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/** ONNX Flatten: [prod(d[0:axis]), prod(d[axis:])]. */
export function flattenShape(input: FullShape, axis: number): FullShape | string {
  const a = axis < 0 ? axis + input.length : axis;
  if (!Number.isInteger(a) || a < 0 || a > input.length) return `axis ${axis} is outside [-${input.length}, ${input.length}]`;
  return [sizeOfShape(input.slice(0, a)), sizeOfShape(input.slice(a))];
}

/** ONNX Reshape: 0 copies the input dimension (unless allowzero), one -1 takes the remaining size. */
export function reshapeShape(input: FullShape, target: readonly number[], allowZero: boolean): FullShape | string {
  const total = sizeOfShape(input);
  const out = target.map((d, i) => (d === 0 && !allowZero ? input[i] : d));
  if (out.some((d) => d === undefined)) return `target ${formatShape(target)} copies a dimension the input ${formatShape(input)} lacks`;
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1) return `target ${formatShape(target)} has more than one -1`;
  if (out.some((d) => !Number.isInteger(d) || d < -1)) return `target ${formatShape(target)} has an invalid dimension`;
  const known = sizeOfShape(out.filter((d) => d !== -1));
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) return `cannot reshape ${formatShape(input)} (${total} values) to ${formatShape(target)}`;
    return out.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) return `cannot reshape ${formatShape(input)} (${total} values) to ${formatShape(target)}`;
  return out;
}

export function squeezeShape(input: FullShape, axes: readonly number[] | undefined): FullShape | string {
  if (axes === undefined) return input.filter((d) => d !== 1);
  const normalised = new Set<number>();
  for (const axis of axes) {
    const a = normaliseAxis(axis, input.length);
    if (a === undefined) return `axis ${axis} is outside rank ${input.length}`;
    if (input[a] !== 1) return `axis ${axis} has extent ${input[a]}, not 1`;
    normalised.add(a);
  }
  return input.filter((_, i) => !normalised.has(i));
}

export function unsqueezeShape(input: FullShape, axes: readonly number[]): FullShape | string {
  const rank = input.length + axes.length;
  const normalised = new Set<number>();
  for (const axis of axes) {
    const a = normaliseAxis(axis, rank);
    if (a === undefined || normalised.has(a)) return `axis ${axis} is outside rank ${rank} or repeated`;
    normalised.add(a);
  }
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(normalised.has(i) ? 1 : input[next++]);
  return out;
}

export function concatShape(inputs: readonly FullShape[], axis: number): FullShape | string {
  const rank = inputs[0].length;
  const a = normaliseAxis(axis, rank);
  if (a === undefined) return `axis ${axis} is outside rank ${rank}`;
  for (const shape of inputs) {
    if (shape.length !== rank || shape.some((d, i) => i !== a && d !== inputs[0][i])) {
      return `inputs ${inputs.map(formatShape).join(', ')} differ outside axis ${a}`;
    }
  }
  const out = [...inputs[0]];
  out[a] = inputs.reduce((sum, s) => sum + s[a], 0);
  return out;
}

/** Multidirectional (numpy) broadcasting of two shapes. */
export function broadcastShapes(a: FullShape, b: FullShape): FullShape | string {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return `shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`;
    out.push(x === 1 ? y : x);
  }
  return out;
}

export interface ConvShapeRequest {
  input: FullShape;
  weight: FullShape;
  group: number;
  /** Spatial output extents from the window geometry. */
  spatialOutput: readonly number[];
}

/** Conv: [N, M, ...spatial] with the weight [M, C/group, ...kernel]; checks the channel counts. */
export function convShape({ input, weight, group, spatialOutput }: ConvShapeRequest): FullShape | string {
  if (weight.length !== input.length) return `weight ${formatShape(weight)} has rank ${weight.length}, input ${formatShape(input)} has rank ${input.length}`;
  if (!Number.isInteger(group) || group < 1) return `group ${group} must be a positive integer`;
  const channels = input[1];
  if (weight[1] * group !== channels) {
    return `weight ${formatShape(weight)} with group ${group} expects ${weight[1] * group} input channels, the input ${formatShape(input)} has ${channels}`;
  }
  if (weight[0] % group !== 0) return `weight ${formatShape(weight)}: ${weight[0]} output channels are not divisible by group ${group}`;
  return [input[0], weight[0], ...spatialOutput];
}

/** Gemm: A' [M, K] times B' [K, N]. */
export function gemmShape(a: FullShape, b: FullShape, transA: boolean, transB: boolean): FullShape | string {
  if (a.length !== 2 || b.length !== 2) return `Gemm needs 2-D inputs, got ${formatShape(a)} and ${formatShape(b)}`;
  const [m, k] = transA ? [a[1], a[0]] : [a[0], a[1]];
  const [k2, n] = transB ? [b[1], b[0]] : [b[0], b[1]];
  if (k !== k2) return `A ${formatShape(a)}${transA ? 'ᵀ' : ''} has ${k} columns but B ${formatShape(b)}${transB ? 'ᵀ' : ''} has ${k2} rows`;
  return [m, n];
}

/** MatMul of an [.., K] input with a 2-D [K, N] constant. */
export function matMulShape(a: FullShape, b: FullShape): FullShape | string {
  if (b.length !== 2) return `the weight ${formatShape(b)} is not 2-D`;
  if (a.length < 1) return 'the input is a scalar';
  if (a[a.length - 1] !== b[0]) return `input ${formatShape(a)} has ${a[a.length - 1]} columns but the weight ${formatShape(b)} has ${b[0]} rows`;
  return [...a.slice(0, -1), b[1]];
}

/** Global pooling keeps batch and channels and reduces every spatial axis to 1. */
export function globalPoolShape(input: FullShape): FullShape | string {
  if (input.length < 3) return `input ${formatShape(input)} has no spatial axes`;
  return [input[0], input[1], ...input.slice(2).map(() => 1)];
}

/** Pad: each axis grows by its begin and end pads (ONNX order: all begins, then all ends). */
export function padShape(input: FullShape, pads: readonly number[]): FullShape | string {
  if (pads.length !== 2 * input.length) return `pads has ${pads.length} values for rank ${input.length}`;
  const out = input.map((d, i) => d + pads[i] + pads[i + input.length]);
  if (out.some((d) => d < 1)) return `pads [${pads.join(',')}] leave an empty tensor from ${formatShape(input)}`;
  return out;
}

/** Shape of Gather along `axis`: data.shape[:axis] + indices.shape + data.shape[axis+1:]. */
export function gatherShape(data: FullShape, indices: FullShape, axis: number): FullShape | string {
  const a = normaliseAxis(axis, data.length);
  if (a === undefined) return `axis ${axis} is outside rank ${data.length}`;
  return [...data.slice(0, a), ...indices, ...data.slice(a + 1)];
}

/**
 * True when every window of a pooling axis holds at least one tap inside the unpadded input. Only then
 * is a pool over explicit padding the same as one that ignores padding (max pooling, average pooling
 * without count_include_pad).
 *
 * Closed form in O(kernel log kernel), whatever the number of windows: tap t of window o sits at
 * o·stride − padBegin + t·dilation, so the windows whose tap t is inside [0, extent) form one interval
 * of o; every window has a valid tap exactly when these kernel intervals cover [0, outputs − 1].
 */
export function everyWindowHasValidTap(
  extent: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  outputs: number,
): boolean {
  if (outputs <= 0) return true;
  const intervals: [number, number][] = [];
  for (let t = 0; t < kernel; t++) {
    const offset = t * dilation - padBegin;
    const first = Math.max(0, Math.ceil(-offset / stride));
    const last = Math.min(outputs - 1, Math.floor((extent - 1 - offset) / stride));
    if (first <= last) intervals.push([first, last]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  let coveredThrough = -1;
  for (const [first, last] of intervals) {
    if (first > coveredThrough + 1) return false;
    coveredThrough = Math.max(coveredThrough, last);
  }
  return coveredThrough >= outputs - 1;
}

/**
 * Extra end padding that makes floor-mode window arithmetic produce `outputs` windows (how ceil_mode is
 * expressed with explicit pads): the last window must end inside the padded extent.
 */
export function ceilModeExtraPad(extent: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, outputs: number): number {
  const window = (kernel - 1) * dilation + 1;
  return Math.max(0, (outputs - 1) * stride + window - (extent + padBegin + padEnd));
}
