// ConvTranspose (2-D): strides, explicit pads (asymmetric allowed), output_padding below the stride,
// dilations, groups; the adjoint of a convolution (docs/derivations.md §21). auto_pad SAME_* and an
// output_shape that differs from the explicit-pads output are refused.

import type { Node } from '../../../onnx/model';
import { checkWindowAttributes } from '../../limits';
import type { ConvTransposeParams } from '../../network';
import { convTransposeOutput } from '../../operators/convTranspose';
import { formatShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { constFloat32 } from '../values';

export function convTranspose(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0);
  if (x.shape.length !== 3) {
    throw unsupported(node, `${x.shape.length - 1}-D transposed convolution (input [N,${x.shape.join(',')}]); only 2-D is supported`);
  }
  const w = ctx.constant(node, 1, 'W');
  const b = ctx.optionalConstant(node, 2, 'B');
  if (w.dims.length !== 4) throw node.error(`inconsistent shapes: weight '${w.name}' has dims ${formatShape(w.dims)}, a 2-D transposed convolution needs 4`, 'W');
  if (w.dims[0] !== x.shape[0]) throw node.error(`inconsistent shapes: weight ${formatShape(w.dims)} expects ${w.dims[0]} input channels, the input [1,${x.shape.join(',')}] has ${x.shape[0]}`, 'W');
  if (node.has('kernel_shape') && node.ints('kernel_shape').some((k, i) => k !== w.dims[2 + i])) {
    throw node.error(`inconsistent shapes: kernel_shape [${node.ints('kernel_shape').join(',')}] differs from weight ${formatShape(w.dims)}`, 'kernel_shape');
  }
  checkWindowAttributes(node);
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `auto_pad ${autoPad} on a transposed convolution is not supported; give explicit pads`);
  const pair = (name: string, fallback: number): [number, number] => {
    const values = node.ints(name, [fallback, fallback]);
    if (values.length !== 2 || values.some((v) => !Number.isInteger(v))) throw node.error(`${name} [${values.join(',')}] must be two integers`, name);
    return [values[0], values[1]];
  };
  const strides = pair('strides', 1);
  const dilations = pair('dilations', 1);
  const outputPadding = pair('output_padding', 0);
  const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : node.ints('pads', [0, 0, 0, 0]);
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) throw node.error(`pads [${pads.join(',')}] must be four non-negative integers`, 'pads');
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) throw node.error('strides and dilations must be positive', 'strides');
  if (outputPadding.some((o, i) => o < 0 || o >= strides[i])) {
    throw unsupported(node, `output_padding [${outputPadding.join(',')}] is not below the strides [${strides.join(',')}]`);
  }
  const group = node.int('group');
  if (!Number.isInteger(group) || group < 1 || w.dims[0] % group !== 0) throw node.error(`group ${group} does not divide the ${w.dims[0]} input channels`, 'group');
  const outChannels = w.dims[1] * group;
  if (b && (b.dims.length !== 1 || b.dims[0] !== outChannels)) {
    throw node.error(`inconsistent shapes: bias '${b.name}' has dims ${formatShape(b.dims)}, expected [${outChannels}]`, 'B');
  }
  const params: ConvTransposeParams = {
    kind: 'convTranspose',
    weight: constFloat32(w, node),
    weightShape: [w.dims[0], w.dims[1], w.dims[2], w.dims[3]],
    ...(b ? { bias: constFloat32(b, node) } : {}),
    strides,
    pads: [pads[0], pads[1], pads[2], pads[3]],
    dilations,
    group,
    outputPadding,
  };
  const [height, width] = convTransposeOutput(params, x.shape);
  if (height < 1 || width < 1) throw node.error(`inconsistent shapes: the output [${outChannels},${height},${width}] is empty`, 'pads');
  if (node.has('output_shape')) {
    const declared = node.ints('output_shape').slice(-2);
    if (declared[0] !== height || declared[1] !== width) {
      throw unsupported(node, `output_shape [${node.ints('output_shape').join(',')}] differs from the [${height},${width}] its pads give (implicit pads are not supported)`);
    }
  }
  finishAffine(ctx, [node], params, x, node.outputs[0], [outChannels, height, width]);
}
