// Resize (opset 10+) and Upsample (opset 7–9), modes nearest and linear, with constant scales or
// sizes: per-axis maps (docs/derivations.md §18). Nearest is a selection with an exact norm
// (sqrt of the most outputs copying one input); linear gets the certified norm. Cubic interpolation,
// antialiasing, tf_crop_and_resize and the opset-18 axes / aspect-ratio options are refused.

import type { Node } from '../../../onnx/model';
import { formatShape } from '../../shapes';
import {
  COORDINATE_MODES,
  NEAREST_MODES,
  emitAxisMap,
  resizeAxis,
  type CoordinateMode,
  type NearestMode,
} from '../axisMatrices';
import { unsupported, type NormaliseContext } from '../context';
import { finiteNumbers } from '../values';

function inputDims(node: Node, ctx: NormaliseContext): readonly number[] {
  const value = ctx.input(node, 0, 'X');
  return value.kind === 'const' ? value.dims : [1, ...ctx.data(node, 0, 'X').shape];
}

/** The interpolation mode ('linear' also as the older 'bilinear'). */
function interpolation(node: Node): 'nearest' | 'linear' {
  const mode = node.string('mode', 'nearest');
  if (mode === 'nearest') return 'nearest';
  if (mode === 'linear' || mode === 'bilinear') return 'linear';
  throw unsupported(node, `mode '${mode}' has no analysis rule (nearest and linear are supported)`);
}

function build(node: Node, ctx: NormaliseContext, dims: readonly number[], scales: number[] | undefined, sizes: number[] | undefined, mode: 'nearest' | 'linear', coordinate: CoordinateMode, nearest: NearestMode): void {
  const rank = dims.length;
  if ((scales && scales.length !== rank) || (sizes && sizes.length !== rank)) {
    throw node.error(`${scales ? `scales [${scales.join(',')}]` : `sizes [${sizes!.join(',')}]`} do not match the rank ${rank} of ${formatShape(dims)}`, scales ? 'scales' : 'sizes');
  }
  const axes = dims.map((inExtent, a) => {
    const outExtent = sizes ? sizes[a] : Math.floor(inExtent * scales![a]);
    const scale = sizes ? outExtent / inExtent : scales![a];
    if (!Number.isInteger(outExtent) || outExtent < 1 || !(scale > 0) || !Number.isFinite(scale)) {
      throw node.error(`axis ${a} of extent ${inExtent} resizes to ${outExtent} (scale ${scale}); both must be positive`, sizes ? 'sizes' : 'scales');
    }
    return resizeAxis({ inExtent, outExtent, scale, mode, coordinate, nearest });
  });
  emitAxisMap(node, ctx, 0, axes, axes.map((m) => m.rows.length));
}

export function resize(node: Node, ctx: NormaliseContext): void {
  const dims = inputDims(node, ctx);
  const mode = interpolation(node);
  if (node.opset < 11) {
    // Opset 10 behaves as Upsample: asymmetric coordinates, nearest rounds down (upsampling only).
    const scales = Array.from(finiteNumbers(ctx.constant(node, 1, 'scales'), node));
    if (mode === 'nearest' && scales.some((s) => s < 1)) throw unsupported(node, 'nearest downsampling at opset 10 is implementation-defined');
    return build(node, ctx, dims, scales, undefined, mode, 'asymmetric', 'floor');
  }
  const coordinate = node.string('coordinate_transformation_mode', 'half_pixel');
  if (!COORDINATE_MODES.has(coordinate)) throw unsupported(node, `coordinate_transformation_mode '${coordinate}' has no analysis rule`);
  const nearest = node.string('nearest_mode', 'round_prefer_floor');
  if (!NEAREST_MODES.has(nearest)) throw node.error(`nearest_mode '${nearest}' is not an ONNX mode`, 'nearest_mode');
  if (node.int('antialias', 0) !== 0) throw unsupported(node, 'antialiasing has no analysis rule');
  if (node.has('axes')) throw unsupported(node, 'the axes attribute (opset 18) is not supported');
  if (node.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw unsupported(node, 'keep_aspect_ratio_policy other than stretch is not supported');
  const optional = (index: number, role: string) => {
    const value = ctx.optionalConstant(node, index, role);
    const numbers = value ? Array.from(finiteNumbers(value, node)) : [];
    return numbers.length > 0 ? numbers : undefined;
  };
  const scales = optional(2, 'scales');
  const sizes = optional(3, 'sizes');
  if (!scales === !sizes) throw node.error('needs exactly one of scales and sizes', 'scales');
  build(node, ctx, dims, scales, sizes, mode, coordinate as CoordinateMode, nearest as NearestMode);
}

export function upsample(node: Node, ctx: NormaliseContext): void {
  const dims = inputDims(node, ctx);
  const mode = interpolation(node);
  const scales = node.opset < 9 ? node.floats('scales') : Array.from(finiteNumbers(ctx.constant(node, 1, 'scales'), node));
  if (mode === 'nearest' && scales.some((s) => s < 1)) throw unsupported(node, 'nearest downsampling with Upsample is implementation-defined');
  build(node, ctx, dims, scales, undefined, mode, 'asymmetric', 'floor');
}
