// Window geometry shared by MaxPool and AveragePool: explicit pads from auto_pad, and ceil_mode turned
// into extra end padding so that the engine only ever sees floor-mode arithmetic.

import { windowGeometry } from '../../../onnx/autoPad';
import type { Node } from '../../../onnx/model';
import type { PoolParams } from '../../network';
import { checkWindowAttributes } from '../../limits';
import { ceilModeExtraPad, everyWindowHasValidTap } from '../../shapes';
import { unsupported } from '../context';

export interface ResolvedPool extends PoolParams {
  /** Output spatial extents. */
  output: [number, number];
  /** Whether ceil_mode added end padding beyond the node's own pads. */
  ceilPadded: boolean;
}

/** Geometry of a 2-D pool over an input of batchless shape [C, H, W]. */
export function resolvePool(node: Node, shape: readonly number[]): ResolvedPool {
  if (shape.length !== 3) {
    throw unsupported(node, `${shape.length - 1}-D pooling (input [N,${shape.join(',')}]); only 2-D pooling is supported`);
  }
  checkWindowAttributes(node);
  const g = windowGeometry(node, [1, ...shape]);
  const pads: [number, number, number, number] = [g.pads[0], g.pads[1], g.pads[2], g.pads[3]];
  let ceilPadded = false;
  for (let axis = 0; axis < 2; axis++) {
    const extra = g.ceilMode
      ? ceilModeExtraPad(shape[1 + axis], g.kernel[axis], g.strides[axis], g.dilations[axis], pads[axis], pads[axis + 2], g.output[axis])
      : 0;
    if (extra > 0) ceilPadded = true;
    pads[axis + 2] += extra;
  }
  return {
    kernel: [g.kernel[0], g.kernel[1]],
    strides: [g.strides[0], g.strides[1]],
    dilations: [g.dilations[0], g.dilations[1]],
    pads,
    output: [g.output[0], g.output[1]],
    ceilPadded,
  };
}

/** True when every window over the [C, H, W] input, with these begin pads, holds an input tap. */
export function windowsCoverInput(pool: ResolvedPool, shape: readonly number[], pads: readonly number[]): boolean {
  return [0, 1].every((axis) =>
    everyWindowHasValidTap(shape[1 + axis], pool.kernel[axis], pool.strides[axis], pool.dilations[axis], pads[axis], pool.output[axis]),
  );
}

export function addPads(a: readonly number[], b: readonly number[]): [number, number, number, number] {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];
}
