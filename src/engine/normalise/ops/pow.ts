// Pow. Between constants: folded. A computed tensor squared (a constant exponent 2) is the product
// x ⊙ x, a 'mul' layer with both inputs the same tensor (docs/derivations.md §20, exact in one
// dimension); any other constant exponent is a 'power' activation with slopes from the reachable
// interval (§24). Computed exponents have no rule.

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
  if (values.length !== 1 || !Number.isFinite(values[0])) {
    throw unsupported(node, `exponent '${exponent.name}' is ${values.length === 1 ? values[0] : `${values.length} values`}; only one finite exponent for all values is supported`);
  }
  const x = ctx.data(node, 0, 'X');
  if (exponent.dims.length > x.shape.length + 1) throw unsupported(node, `exponent '${exponent.name}' of rank ${exponent.dims.length} broadcasts the input to a higher rank`);
  const p = values[0];
  if (p === 2) {
    ctx.emit({ nodes: [node], op: { kind: 'mul' }, inputs: [x, x], output: node.outputs[0], outputShape: x.shape, nonNegative: true });
    return;
  }
  const evenInteger = Number.isInteger(p) && p % 2 === 0;
  ctx.emit({ nodes: [node], op: { kind: 'activation', activation: { kind: 'power', exponent: p } }, inputs: [x], output: node.outputs[0], outputShape: x.shape, nonNegative: evenInteger || !Number.isInteger(p) });
}
