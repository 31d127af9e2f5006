// Conv over [N, C, D, H, W]: strides, explicit or auto_pad pads (asymmetric allowed), dilations,
// groups, as a 'conv3d' layer (docs/derivations.md §34). No Pad is absorbed: Pad refuses rank-5 tensors.

import type { Node } from '../../../onnx/model';
import { formatShape } from '../../shapes';
import type { NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { constFloat32, constWeightView, type DataValue } from '../values';
import { convOutput } from './conv';

export function conv3d(node: Node, ctx: NormaliseContext, x: DataValue): void {
  const w = ctx.constant(node, 1, 'W');
  const b = ctx.optionalConstant(node, 2, 'B');
  if (w.dims.length !== 5) {
    throw node.error(`inconsistent shapes: weight '${w.name}' has dims ${formatShape(w.dims)}, a 3-D convolution needs 5`, 'W');
  }
  const { geometry, group, shape } = convOutput(node, x.shape, w, b);
  const [p, s, d] = [geometry.pads, geometry.strides, geometry.dilations];
  finishAffine(
    ctx,
    [node],
    {
      kind: 'conv3d',
      weight: constWeightView(w, node),
      weightShape: [w.dims[0], w.dims[1], w.dims[2], w.dims[3], w.dims[4]],
      ...(b ? { bias: constFloat32(b, node) } : {}),
      strides: [s[0], s[1], s[2]],
      pads: [p[0], p[1], p[2], p[3], p[4], p[5]],
      dilations: [d[0], d[1], d[2]],
      group,
    },
    x,
    node.outputs[0],
    shape.slice(1),
  );
}
