// The per-axis matrices M_d of 'axisMap' layers (docs/derivations.md §18), shared by Slice, Split,
// Gather, ReduceMean/ReduceSum and Resize/Upsample, for data (a layer) and constants (folded) alike.

import type { Node } from '../../onnx/model';
import type { AxisMatrix } from '../network';
import { checkNodeOutput, MAX_FOLDED_ELEMENTS } from '../limits';
import { formatShape } from '../shapes';
import { unsupported, type NormaliseContext } from './context';
import { constNumbers, foldedConst } from './values';

export function identityAxis(extent: number): AxisMatrix {
  return selectAxis(extent, Array.from({ length: extent }, (_, i) => i));
}

/** Output index i reads input index indices[i]. */
export function selectAxis(extent: number, indices: readonly number[]): AxisMatrix {
  return { inExtent: extent, rows: indices.map((index) => [{ index, weight: 1 }]) };
}

/** One output: the sum (or mean) of the whole axis. */
export function reduceAxis(extent: number, mean: boolean): AxisMatrix {
  const weight = mean ? 1 / extent : 1;
  return { inExtent: extent, rows: [Array.from({ length: extent }, (_, index) => ({ index, weight }))] };
}

/**
 * The input indices ONNX Slice selects on an axis of the given extent: negative start/end count from
 * the end, then both are clamped ([0, n] for a positive step, [−1, n − 1] for a negative one).
 */
export function sliceIndices(extent: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v < 0 ? v + extent : v));
  const out: number[] = [];
  if (step > 0) {
    for (let i = clamp(start, 0, extent); i < clamp(end, 0, extent); i += step) out.push(i);
  } else {
    for (let i = clamp(start, 0, extent - 1); i > clamp(end, -1, extent - 1); i += step) out.push(i);
  }
  return out;
}

export type CoordinateMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export const COORDINATE_MODES: ReadonlySet<string> = new Set(['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn']);
export const NEAREST_MODES: ReadonlySet<string> = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

/** The input coordinate of output index i (ONNX Resize's coordinate_transformation_mode). */
function sourceCoordinate(i: number, inExtent: number, outExtent: number, scale: number, mode: CoordinateMode): number {
  switch (mode) {
    case 'half_pixel':
      return (i + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outExtent > 1 ? (i + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outExtent === 1 ? 0 : (i * (inExtent - 1)) / (outExtent - 1);
    case 'asymmetric':
      return i / scale;
    case 'tf_half_pixel_for_nn':
      return (i + 0.5) / scale;
  }
}

function roundNearest(x: number, mode: NearestMode): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return x === Math.floor(x) + 0.5 ? Math.ceil(x) : Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
  }
}

export interface ResizeAxis {
  inExtent: number;
  outExtent: number;
  /** outExtent / inExtent when the node gives sizes, else the given scale. */
  scale: number;
  mode: 'nearest' | 'linear';
  coordinate: CoordinateMode;
  nearest: NearestMode;
}

/** Nearest: one entry 1 per row; linear: weights 1 − f and f on the neighbours of the clamped coordinate. */
export function resizeAxis({ inExtent, outExtent, scale, mode, coordinate, nearest }: ResizeAxis): AxisMatrix {
  const rows = Array.from({ length: outExtent }, (_, i) => {
    const x = sourceCoordinate(i, inExtent, outExtent, scale, coordinate);
    if (mode === 'nearest') return [{ index: Math.min(inExtent - 1, Math.max(0, roundNearest(x, nearest))), weight: 1 }];
    const clamped = Math.min(inExtent - 1, Math.max(0, x));
    const low = Math.floor(clamped);
    const fraction = clamped - low;
    if (fraction === 0 || low + 1 >= inExtent) return [{ index: low, weight: 1 }];
    return [
      { index: low, weight: 1 - fraction },
      { index: low + 1, weight: fraction },
    ];
  });
  return { inExtent, rows };
}

/** Applies the per-axis matrices to a constant (C order): the same maps as the layer, folded. */
export function applyAxisMatrices(values: Float64Array, shape: readonly number[], axes: readonly AxisMatrix[]): Float64Array {
  let current = values;
  const dims = [...shape];
  axes.forEach((matrix, axis) => {
    const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const out = new Float64Array(outer * matrix.rows.length * inner);
    for (let o = 0; o < outer; o++) {
      matrix.rows.forEach((terms, i) => {
        for (const { index, weight } of terms) {
          for (let k = 0; k < inner; k++) out[(o * matrix.rows.length + i) * inner + k] += weight * current[(o * matrix.inExtent + index) * inner + k];
        }
      });
    }
    current = out;
    dims[axis] = matrix.rows.length;
  });
  return current;
}

/**
 * The node's output as per-axis maps of input `index` over its full ONNX shape (batch axis first): a
 * folded constant when the input is constant, else an 'axisMap' layer, provided the batch axis stays
 * axis 0 with extent 1 and is left alone. `outputShape` may differ from the maps' extents by a reshape.
 */
export function emitAxisMap(
  node: Node,
  ctx: NormaliseContext,
  index: number,
  axes: readonly AxisMatrix[],
  outputShape: readonly number[],
  output = node.outputs[0],
): void {
  const extents = axes.map((m) => m.rows.length);
  if (extents.reduce((a, b) => a * b, 1) !== outputShape.reduce((a, b) => a * b, 1)) {
    throw new Error(`${node.description}: per-axis maps give [${extents.join(',')}], the output is [${outputShape.join(',')}]`);
  }
  const value = ctx.input(node, index, 'data');
  if (value.kind === 'const') {
    checkNodeOutput(node, outputShape, MAX_FOLDED_ELEMENTS);
    ctx.set(output, foldedConst(output, outputShape, value.dataType, applyAxisMatrices(constNumbers(value), value.dims, axes)));
    return;
  }
  const x = ctx.data(node, index, 'data');
  const batch = axes[0];
  const batchKept = batch.inExtent === 1 && batch.rows.length === 1 && batch.rows[0].length === 1 && batch.rows[0][0].weight === 1;
  if (!batchKept || outputShape[0] !== 1) throw unsupported(node, `changes the batch axis (output ${formatShape(outputShape)}); a batch of 1 is analysed`);
  if (outputShape.some((d) => d === 0)) throw unsupported(node, `its output ${formatShape(outputShape)} is empty`);
  ctx.emit({
    nodes: [node],
    op: { kind: 'axisMap', axes: axes.slice(1) },
    inputs: [x],
    output,
    outputShape: outputShape.slice(1),
    nonNegative: x.nonNegative,
  });
}
