// Pow. Between constants: folded. A computed tensor squared (a constant exponent 2) is the product
// x ⊙ x, a 'mul' layer with both inputs the same tensor (docs/derivations.md §20). Other exponents
// (square roots, reciprocals, computed exponents) have no rule yet.

import type { Node } from '../../../onnx/model';
import { broadcastBinary } from '../constFold';
import { unsupported, type NormaliseContext } from '../context';
import { constNumbers, foldedConst } from '../values';

export function pow(node: Node, ctx: NormaliseContext): void {
  const base = ctx.input(node, 0, 'X');
  const exponent = ctx.input(node, 1, 'Y');
  if (base.kind === 'const' && exponent.kind === 'const') {
    const result = broadcastBinary(constNumbers(base), base.dims, constNumbers(exponent), exponent.dims, Math.pow);
    if (typeof result === 'string') throw node.error(`inconsistent shapes: ${result}`);
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], result.shape, base.dataType, result.values));
    return;
  }
  if (exponent.kind !== 'const') throw unsupported(node, 'raises to a computed exponent');
  const values = constNumbers(exponent);
  if (values.length !== 1 || values[0] !== 2) {
    throw unsupported(node, `exponent '${exponent.name}' is ${values.length === 1 ? values[0] : `${values.length} values`}; only squaring (exponent 2) is supported`);
  }
  const x = ctx.data(node, 0, 'X');
  if (exponent.dims.length > x.shape.length + 1) throw unsupported(node, `exponent '${exponent.name}' of rank ${exponent.dims.length} broadcasts the input to a higher rank`);
  ctx.emit({ nodes: [node], op: { kind: 'mul' }, inputs: [x, x], output: node.outputs[0], outputShape: x.shape, nonNegative: true });
}
