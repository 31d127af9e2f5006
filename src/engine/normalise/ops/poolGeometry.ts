// Window geometry shared by MaxPool and AveragePool: explicit pads from auto_pad, and ceil_mode turned
// into extra end padding so that the engine only ever sees floor-mode arithmetic. A 1-D pool is the
// same map as a 2-D one over a height-1 input with a 1 × k window (as for Conv, docs/derivations.md
// §19); 2-D and 3-D pools are layers of their own rank.

import { windowGeometry } from '../../../onnx/autoPad';
import type { Node } from '../../../onnx/model';
import type { PoolParams } from '../../network';
import { checkWindowAttributes } from '../../limits';
import { ceilModeExtraPad, everyWindowHasValidTap } from '../../shapes';
import { unsupported } from '../context';

export interface ResolvedPool extends PoolParams {
  /** The batchless input shape the layer reads: [C, 1, L] for a 1-D pool, else the input's own. */
  layerInput: number[];
  /** Output extents along the layer's spatial axes (a leading 1 for a 1-D pool). */
  grid: number[];
  /** The node's own batchless output shape. */
  outputShape: number[];
  /** Whether ceil_mode added end padding beyond the node's own pads. */
  ceilPadded: boolean;
}

/** Geometry of a 1-D, 2-D or 3-D pool over an input of batchless shape [C, ...spatial]. */
export function resolvePool(node: Node, shape: readonly number[]): ResolvedPool {
  const spatialRank = shape.length - 1;
  if (spatialRank < 1 || spatialRank > 3) {
    throw unsupported(node, `${spatialRank}-D pooling (input [N,${shape.join(',')}]); only 1-D, 2-D and 3-D pooling are supported`);
  }
  checkWindowAttributes(node);
  const g = windowGeometry(node, [1, ...shape]);
  const pads = [...g.pads];
  let ceilPadded = false;
  for (let axis = 0; axis < spatialRank; axis++) {
    const extra = g.ceilMode
      ? ceilModeExtraPad(shape[1 + axis], g.kernel[axis], g.strides[axis], g.dilations[axis], pads[axis], pads[axis + spatialRank], g.output[axis])
      : 0;
    if (extra > 0) ceilPadded = true;
    pads[axis + spatialRank] += extra;
  }
  const outputShape = [shape[0], ...g.output];
  if (spatialRank === 1) {
    return {
      kernel: [1, g.kernel[0]],
      strides: [1, g.strides[0]],
      dilations: [1, g.dilations[0]],
      pads: [0, pads[0], 0, pads[1]],
      layerInput: [shape[0], 1, shape[1]],
      grid: [1, g.output[0]],
      outputShape,
      ceilPadded,
    };
  }
  return { kernel: g.kernel, strides: g.strides, dilations: g.dilations, pads, layerInput: [...shape], grid: g.output, outputShape, ceilPadded };
}

/** True when every window over the layer's input, with these begin pads, holds an input tap. */
export function windowsCoverInput(pool: ResolvedPool, shape: readonly number[], pads: readonly number[]): boolean {
  return pool.kernel.every((kernel, axis) =>
    everyWindowHasValidTap(shape[1 + axis], kernel, pool.strides[axis], pool.dilations[axis], pads[axis], pool.grid[axis]),
  );
}

export function addPads(a: readonly number[], b: readonly number[]): [number, number, number, number] {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];
}
