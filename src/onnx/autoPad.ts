// Window geometry of Conv and the pooling operators: turns auto_pad (SAME_UPPER, SAME_LOWER, VALID,
// NOTSET) into explicit pads for a given input shape, as the ONNX operator specification defines it,
// so that later stages only ever see explicit, possibly asymmetric, pads.

import type { Node } from './model';

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** ONNX order: all begins, then all ends ([top, left, bottom, right] in 2-D). */
  pads: number[];
  ceilMode: boolean;
  /** Output spatial extent per axis. */
  output: number[];
}

export interface WindowRequest {
  /** Spatial input extent per axis (no batch or channel). */
  input: readonly number[];
  kernel: readonly number[];
  strides: readonly number[];
  dilations: readonly number[];
  autoPad: AutoPad;
  /** Explicit pads, used only with NOTSET. */
  pads: readonly number[];
  ceilMode: boolean;
}

/** Explicit pads and output size; returns a reason string instead when the geometry is impossible. */
export function resolveWindow(request: WindowRequest): WindowGeometry | string {
  const { input, kernel, strides, dilations, autoPad, ceilMode } = request;
  const rank = input.length;
  for (const [label, list] of [['kernel_shape', kernel], ['strides', strides], ['dilations', dilations]] as const) {
    if (list.length !== rank) return `${label} has ${list.length} values for ${rank} spatial axes`;
    if (list.some((v) => !Number.isSafeInteger(v) || v < 1)) return `${label} [${list.join(',')}] must be positive integers`;
  }
  if (input.some((v) => !Number.isSafeInteger(v) || v < 1)) return `input extent [${input.join(',')}] must be positive integers`;
  const pads = new Array<number>(2 * rank).fill(0);
  const output = new Array<number>(rank);
  if (autoPad === 'NOTSET') {
    if (request.pads.length !== 2 * rank) return `pads has ${request.pads.length} values, expected ${2 * rank}`;
    if (request.pads.some((v) => !Number.isSafeInteger(v) || v < 0)) return `pads [${request.pads.join(',')}] must be non-negative integers`;
    pads.splice(0, pads.length, ...request.pads);
  }
  for (let axis = 0; axis < rank; axis++) {
    const extent = (kernel[axis] - 1) * dilations[axis] + 1;
    const stride = strides[axis];
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      output[axis] = Math.ceil(input[axis] / stride);
      const total = Math.max(0, (output[axis] - 1) * stride + extent - input[axis]);
      const small = Math.floor(total / 2);
      pads[axis] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[axis + rank] = total - pads[axis];
      continue;
    }
    const begin = pads[axis];
    const span = input[axis] + begin + pads[axis + rank] - extent;
    if (span < 0) return `window of extent ${extent} does not fit input extent ${input[axis]} (axis ${axis}) with pads ${begin}+${pads[axis + rank]}`;
    let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    // With ceil_mode a last window that would start entirely in the end padding is dropped (ONNX opset 19+, PyTorch).
    if (ceilMode && (out - 1) * stride >= input[axis] + begin) out--;
    output[axis] = out;
  }
  return { kernel: [...kernel], strides: [...strides], dilations: [...dilations], pads, ceilMode, output };
}

/**
 * Geometry of a window operator (Conv, MaxPool, AveragePool, LpPool) from its attributes and the input
 * shape [N, C, ...spatial]. For Conv pass the weight's spatial dims, used when kernel_shape is absent.
 * ConvTranspose is not covered: its auto_pad works on the output size. Errors name the node.
 */
export function windowGeometry(node: Node, inputShape: readonly number[], kernelShape?: readonly number[]): WindowGeometry {
  const spatial = inputShape.slice(2);
  const rank = spatial.length;
  if (rank < 1) throw node.error(`input shape [${inputShape.join(',')}] has no spatial axes`);
  const ones = new Array<number>(rank).fill(1);
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER' && autoPad !== 'VALID') {
    throw node.error(`attribute 'auto_pad' is '${autoPad}', expected NOTSET, SAME_UPPER, SAME_LOWER or VALID`, 'auto_pad');
  }
  const kernel = node.has('kernel_shape') ? node.ints('kernel_shape') : kernelShape;
  if (!kernel) throw node.error(`has no attribute 'kernel_shape'`, 'kernel_shape');
  const geometry = resolveWindow({
    input: spatial,
    kernel,
    strides: node.ints('strides', ones),
    dilations: node.ints('dilations', ones),
    autoPad,
    pads: node.ints('pads', new Array<number>(2 * rank).fill(0)),
    ceilMode: node.opType.endsWith('Pool') && node.int('ceil_mode', 0) !== 0,
  });
  if (typeof geometry === 'string') throw node.error(`inconsistent shapes: ${geometry}`);
  return geometry;
}
