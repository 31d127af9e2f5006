// Conv (2-D): strides, explicit or auto_pad pads (asymmetric allowed), dilations, groups. A zero Pad
// read only by this Conv is added to its pads. A 1-D convolution is the same map as a 2-D one over a
// height-1 input with a 1 × k kernel (docs/derivations.md §19); a 3-D one has a layer kind of its own
// (conv3d.ts, §34); higher ranks are reported as unsupported.

import { windowGeometry, type WindowGeometry } from '../../../onnx/autoPad';
import type { Node } from '../../../onnx/model';
import { checkWindowAttributes } from '../../limits';
import { convShape, formatShape, type FullShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { constFloat32, constWeightView, type ConstValue, type DataValue } from '../values';
import { conv3d } from './conv3d';
import { addPads } from './poolGeometry';

export function conv(node: Node, ctx: NormaliseContext): void {
  const x = ctx.dataOrPadded(node, 0);
  if (x.shape.length === 2 && x.kind === 'data') return conv1d(node, ctx, x);
  if (x.shape.length === 4 && x.kind === 'data') return conv3d(node, ctx, x);
  if (x.shape.length !== 3) {
    throw unsupported(node, `${x.shape.length - 1}-D convolution (input [N,${x.shape.join(',')}]); only 1-D, 2-D and 3-D convolutions are supported`);
  }
  const w = ctx.constant(node, 1, 'W');
  const b = ctx.optionalConstant(node, 2, 'B');
  if (w.dims.length !== 4) {
    throw node.error(`inconsistent shapes: weight '${w.name}' has dims ${formatShape(w.dims)}, a 2-D convolution needs 4`, 'W');
  }
  const { geometry, group, shape } = convOutput(node, x.shape, w, b);
  const ownPads = geometry.pads as [number, number, number, number];
  const pads = x.kind === 'padded' ? addPads(ownPads, x.pads) : ownPads;
  const nodes: Node[] = x.kind === 'padded' ? [x.node, node] : [node];
  const input: DataValue = x.kind === 'padded' ? x.source : x;
  finishAffine(
    ctx,
    nodes,
    {
      kind: 'conv',
      weight: constWeightView(w, node),
      weightShape: [w.dims[0], w.dims[1], w.dims[2], w.dims[3]],
      ...(b ? { bias: constFloat32(b, node) } : {}),
      strides: [geometry.strides[0], geometry.strides[1]],
      pads,
      dilations: [geometry.dilations[0], geometry.dilations[1]],
      group,
    },
    input,
    node.outputs[0],
    shape.slice(1),
  );
}

/** [C, L] as [C, 1, L]: the kernel [M, C/g, k] becomes [M, C/g, 1, k], pads, strides and dilations act on the width. */
function conv1d(node: Node, ctx: NormaliseContext, x: DataValue): void {
  const w = ctx.constant(node, 1, 'W');
  const b = ctx.optionalConstant(node, 2, 'B');
  if (w.dims.length !== 3) {
    throw node.error(`inconsistent shapes: weight '${w.name}' has dims ${formatShape(w.dims)}, a 1-D convolution needs 3`, 'W');
  }
  const { geometry, group, shape } = convOutput(node, x.shape, w, b);
  finishAffine(
    ctx,
    [node],
    {
      kind: 'conv',
      weight: constWeightView(w, node),
      weightShape: [w.dims[0], w.dims[1], 1, w.dims[2]],
      ...(b ? { bias: constFloat32(b, node) } : {}),
      strides: [1, geometry.strides[0]],
      pads: [0, geometry.pads[0], 0, geometry.pads[1]],
      dilations: [1, geometry.dilations[0]],
      group,
    },
    { ...x, shape: [x.shape[0], 1, x.shape[1]] },
    node.outputs[0],
    shape.slice(1),
  );
}

/**
 * What every convolution checks before its output shape is known, 1-D, 2-D and 3-D alike: the window
 * attributes' limits, kernel_shape against the weight, the window geometry, the channel counts and the
 * bias.
 */
export function convOutput(node: Node, dataShape: readonly number[], w: ConstValue, b: ConstValue | undefined): { geometry: WindowGeometry; group: number; shape: FullShape } {
  if (node.has('kernel_shape') && node.ints('kernel_shape').some((k, i) => k !== w.dims[2 + i])) {
    throw node.error(`inconsistent shapes: kernel_shape [${node.ints('kernel_shape').join(',')}] differs from weight ${formatShape(w.dims)}`, 'kernel_shape');
  }
  const inputShape = [1, ...dataShape];
  checkWindowAttributes(node);
  const geometry = windowGeometry(node, inputShape, w.dims.slice(2));
  const group = node.int('group');
  const shape = convShape({ input: inputShape, weight: w.dims, group, spatialOutput: geometry.output });
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'W');
  if (b && (b.dims.length !== 1 || b.dims[0] !== w.dims[0])) {
    throw node.error(`inconsistent shapes: bias '${b.name}' has dims ${formatShape(b.dims)}, expected [${w.dims[0]}]`, 'B');
  }
  return { geometry, group, shape };
}
