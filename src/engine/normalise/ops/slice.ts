// Slice of a 1-D constant (shape arithmetic), with the opset-10+ inputs or the older attributes.

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import { constIntegers, constNumbers, foldedConst } from '../values';

export function slice(node: Node, ctx: NormaliseContext): void {
  const data = ctx.input(node, 0, 'data');
  if (data.kind !== 'const') throw unsupported(node, 'slices a computed tensor');
  if (data.dims.length !== 1) throw unsupported(node, 'slices a constant of rank other than 1');
  const read = (index: number, attribute: string): number[] | undefined => {
    if (node.opset < 10) return node.has(attribute) ? node.ints(attribute) : undefined;
    const value = ctx.optionalConstant(node, index, attribute);
    return value ? constIntegers(value) : undefined;
  };
  const starts = read(1, 'starts');
  const ends = read(2, 'ends');
  if (!starts || !ends) throw node.error('needs starts and ends', 'starts');
  const axes = read(3, 'axes') ?? [0];
  const steps = read(4, 'steps') ?? [1];
  if (starts.length !== 1 || ends.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || steps[0] === 0) {
    throw unsupported(node, 'only a single-axis slice of a 1-D constant is supported');
  }
  const n = data.dims[0];
  const step = steps[0];
  const clampIndex = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v < 0 ? v + n : v));
  const values = constNumbers(data);
  const out: number[] = [];
  if (step > 0) {
    for (let i = clampIndex(starts[0], 0, n); i < clampIndex(ends[0], 0, n); i += step) out.push(values[i]);
  } else {
    for (let i = clampIndex(starts[0], 0, n - 1); i > clampIndex(ends[0], -1, n - 1); i += step) out.push(values[i]);
  }
  ctx.set(node.outputs[0], foldedConst(node.outputs[0], [out.length], data.dataType, Float64Array.from(out)));
}
