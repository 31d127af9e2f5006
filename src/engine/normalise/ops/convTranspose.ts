// ConvTranspose (2-D and 3-D): strides, explicit pads (asymmetric allowed), output_padding below the
// stride, dilations, groups; the adjoint of a convolution (docs/derivations.md §21, §34). auto_pad SAME_*
// and an output_shape that differs from the explicit-pads output are refused.

import type { Node } from '../../../onnx/model';
import { checkWindowAttributes } from '../../limits';
import type { ConvTranspose3dParams, ConvTransposeParams } from '../../network';
import { convTranspose3dOutput } from '../../operators/conv3d';
import { convTransposeOutput } from '../../operators/convTranspose';
import { formatShape } from '../../shapes';
import { unsupported, type NormaliseContext } from '../context';
import { finishAffine } from '../fusion';
import { constFloat32 } from '../values';

export function convTranspose(node: Node, ctx: NormaliseContext): void {
  const x = ctx.data(node, 0);
  const axes = x.shape.length - 1;
  if (axes !== 2 && axes !== 3) {
    throw unsupported(node, `${axes}-D transposed convolution (input [N,${x.shape.join(',')}]); only 2-D and 3-D are supported`);
  }
  const w = ctx.constant(node, 1, 'W');
  const b = ctx.optionalConstant(node, 2, 'B');
  if (w.dims.length !== axes + 2) throw node.error(`inconsistent shapes: weight '${w.name}' has dims ${formatShape(w.dims)}, a ${axes}-D transposed convolution needs ${axes + 2}`, 'W');
  if (w.dims[0] !== x.shape[0]) throw node.error(`inconsistent shapes: weight ${formatShape(w.dims)} expects ${w.dims[0]} input channels, the input [1,${x.shape.join(',')}] has ${x.shape[0]}`, 'W');
  if (node.has('kernel_shape') && node.ints('kernel_shape').some((k, i) => k !== w.dims[2 + i])) {
    throw node.error(`inconsistent shapes: kernel_shape [${node.ints('kernel_shape').join(',')}] differs from weight ${formatShape(w.dims)}`, 'kernel_shape');
  }
  checkWindowAttributes(node);
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `auto_pad ${autoPad} on a transposed convolution is not supported; give explicit pads`);
  const perAxis = (name: string, fallback: number): number[] => {
    const values = node.ints(name, new Array<number>(axes).fill(fallback));
    if (values.length !== axes || values.some((v) => !Number.isInteger(v))) throw node.error(`${name} [${values.join(',')}] must be ${axes} integers`, name);
    return values;
  };
  const strides = perAxis('strides', 1);
  const dilations = perAxis('dilations', 1);
  const outputPadding = perAxis('output_padding', 0);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * axes).fill(0) : node.ints('pads', new Array<number>(2 * axes).fill(0));
  if (pads.length !== 2 * axes || pads.some((p) => !Number.isInteger(p) || p < 0)) throw node.error(`pads [${pads.join(',')}] must be ${2 * axes} non-negative integers`, 'pads');
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
  const common = { weight: constFloat32(w, node), ...(b ? { bias: constFloat32(b, node) } : {}), group };
  const params: ConvTransposeParams | ConvTranspose3dParams =
    axes === 2
      ? {
          kind: 'convTranspose',
          ...common,
          weightShape: [w.dims[0], w.dims[1], w.dims[2], w.dims[3]],
          strides: [strides[0], strides[1]],
          pads: [pads[0], pads[1], pads[2], pads[3]],
          dilations: [dilations[0], dilations[1]],
          outputPadding: [outputPadding[0], outputPadding[1]],
        }
      : {
          kind: 'convTranspose3d',
          ...common,
          weightShape: [w.dims[0], w.dims[1], w.dims[2], w.dims[3], w.dims[4]],
          strides: [strides[0], strides[1], strides[2]],
          pads: [pads[0], pads[1], pads[2], pads[3], pads[4], pads[5]],
          dilations: [dilations[0], dilations[1], dilations[2]],
          outputPadding: [outputPadding[0], outputPadding[1], outputPadding[2]],
        };
  const extent: number[] = params.kind === 'convTranspose' ? convTransposeOutput(params, x.shape) : convTranspose3dOutput(params, x.shape);
  if (extent.some((n) => n < 1)) throw node.error(`inconsistent shapes: the output [${outChannels},${extent.join(',')}] is empty`, 'pads');
  if (node.has('output_shape')) {
    const declared = node.ints('output_shape').slice(-axes);
    if (declared.some((n, i) => n !== extent[i])) {
      throw unsupported(node, `output_shape [${node.ints('output_shape').join(',')}] differs from the [${extent.join(',')}] its pads give (implicit pads are not supported)`);
    }
  }
  finishAffine(ctx, [node], params, x, node.outputs[0], [outChannels, ...extent]);
}
