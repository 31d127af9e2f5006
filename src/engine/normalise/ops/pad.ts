// Pad in constant mode with value 0 on the two spatial axes of an [N, C, H, W] tensor. Read by a single
// Conv or pool, it is absorbed into that node's pads; otherwise it becomes a layer of its own (a
// depthwise 1×1 unit convolution with those pads, see NormaliseContext.materialisePad). A constant
// is padded in constant mode of any rank and value and stays a constant.

import type { Node } from '../../../onnx/model';
import { checkNodeOutput, checkPads, MAX_FOLDED_ELEMENTS } from '../../limits';
import { padShape } from '../../shapes';
import { padValues } from '../constFold';
import { unsupported, type NormaliseContext } from '../context';
import { constIntegers, constNumbers, foldedConst, type ConstValue } from '../values';
import type { PaddedValue } from '../values';

const ABSORBERS = new Set(['Conv', 'MaxPool', 'AveragePool']);

function padsOf(node: Node, ctx: NormaliseContext, rank: number): number[] {
  if (node.opset < 11) return node.ints('pads');
  const pads = constIntegers(ctx.constant(node, 1, 'pads'));
  const axesInput = ctx.optionalConstant(node, 3, 'axes');
  if (!axesInput) return pads;
  const axes = constIntegers(axesInput).map((a) => (a < 0 ? a + rank : a));
  if (pads.length !== 2 * axes.length) throw node.error(`pads has ${pads.length} values for ${axes.length} axes`, 'pads');
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((axis, i) => {
    full[axis] = pads[i];
    full[axis + rank] = pads[i + axes.length];
  });
  return full;
}

function padValue(node: Node, ctx: NormaliseContext): number {
  if (node.opset < 11) return node.floatOrInfinity('value');
  const value = ctx.optionalConstant(node, 2, 'constant_value');
  return value ? constNumbers(value)[0] : 0;
}

export function pad(node: Node, ctx: NormaliseContext): void {
  const mode = node.string('mode');
  if (mode !== 'constant') throw unsupported(node, `mode '${mode}': only constant (zero) padding is supported`);
  const input = ctx.input(node, 0, 'data');
  if (input.kind === 'const') return padConstant(node, ctx, input);
  const x = ctx.data(node, 0, 'data');
  const rank = x.shape.length + 1;
  const pads = padsOf(node, ctx, rank);
  const value = padValue(node, ctx);
  if (value !== 0) throw unsupported(node, `pads with the constant ${value}; only zero padding is supported`);
  if (rank !== 4) throw unsupported(node, `pads a rank-${rank} tensor; only the spatial axes of [N,C,H,W] tensors are supported`);
  if (pads.length !== 2 * rank) throw node.error(`pads has ${pads.length} values for rank ${rank}`, 'pads');
  checkPads(node, pads);
  if (pads.some((p) => p < 0)) throw unsupported(node, `negative pads [${pads.join(',')}] (cropping)`);
  if (pads[0] || pads[1] || pads[4] || pads[5]) throw unsupported(node, `pads the batch or channel axis ([${pads.join(',')}])`);
  const shape = padShape([1, ...x.shape], pads);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'pads');
  const padded: PaddedValue = {
    kind: 'padded',
    name: node.outputs[0],
    source: x,
    pads: [pads[2], pads[3], pads[6], pads[7]],
    node,
    shape: shape.slice(1),
  };
  const next = ctx.soleConsumer(node.outputs[0]);
  if (next && ABSORBERS.has(next.opType) && next.inputs[0] === node.outputs[0]) ctx.set(node.outputs[0], padded);
  else ctx.materialisePad(padded);
}

function padConstant(node: Node, ctx: NormaliseContext, input: ConstValue): void {
  const pads = padsOf(node, ctx, input.dims.length);
  checkPads(node, pads);
  const shape = padShape(input.dims, pads);
  if (typeof shape === 'string') throw node.error(`inconsistent shapes: ${shape}`, 'pads');
  checkNodeOutput(node, shape, MAX_FOLDED_ELEMENTS);
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], shape, input.dataType, padValues(constNumbers(input), input.dims, pads, shape, padValue(node, ctx))));
}
