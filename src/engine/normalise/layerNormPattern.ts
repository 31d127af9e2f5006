// Layer normalisation written out in elementary ops, recognised as one 'layerNorm' layer
// (docs/derivations.md §23), as PyTorch's exporter writes nn.LayerNorm before opset 17:
//   m = ReduceMean(x, axes), d = Sub(x, m), p = Pow(d, 2) (or Mul(d, d)), v = ReduceMean(p, axes),
//   s = Sqrt(Add(v, e)) (or Sqrt(v)), y = Div(d, s)
// over the same trailing axes with keepdims. Every intermediate tensor must be read only inside the
// pattern and not be a graph output, so the nodes can be absorbed; the scale and shift that follow
// (Mul, Add by constants) stay the per-channel affine layers they already are.

import type { Node } from '../../onnx/model';
import { unsupported, type NormaliseContext } from './context';
import { reducedAxes } from './reducedAxes';
import { constNumbers } from './values';

function scalarConstant(ctx: NormaliseContext, name: string | undefined): number | undefined {
  const value = name ? ctx.lookup(name) : undefined;
  if (value?.kind !== 'const') return undefined;
  const numbers = constNumbers(value);
  return numbers.length === 1 ? numbers[0] : undefined;
}

/** d² as Pow(d, 2) or Mul(d, d). */
function squares(ctx: NormaliseContext, node: Node, d: string): boolean {
  if (node.opType === 'Pow') return node.inputs[0] === d && scalarConstant(ctx, node.inputs[1]) === 2;
  return node.opType === 'Mul' && node.inputs.length === 2 && node.inputs[0] === d && node.inputs[1] === d;
}

/** The nodes of the pattern opened by the ReduceMean `first`, and its ε; undefined when it is not one. */
function matchLayerNorm(ctx: NormaliseContext, first: Node): { nodes: Node[]; epsilon: number; div: Node } | undefined {
  const x = first.inputs[0];
  const sub = ctx.soleConsumer(first.outputs[0]);
  if (sub?.opType !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== first.outputs[0]) return undefined;
  const d = sub.outputs[0];
  const hidden = ctx.hiddenConsumers(d);
  // Mul(d, d) is listed once per input it reads.
  const readers = hidden && [...new Set(hidden)];
  if (!readers || readers.length !== 2) return undefined;
  const square = readers.find((n) => squares(ctx, n, d));
  const div = readers.find((n) => n.opType === 'Div' && n.inputs[0] === d);
  if (!square || !div) return undefined;
  const variance = ctx.soleConsumer(square.outputs[0]);
  if (variance?.opType !== 'ReduceMean' || variance.inputs[0] !== square.outputs[0]) return undefined;
  const nodes = [first, sub, square, variance];
  let epsilon = 0;
  let next = ctx.soleConsumer(variance.outputs[0]);
  if (next?.opType === 'Add' && next.inputs.length === 2) {
    const shift = scalarConstant(ctx, next.inputs[next.inputs[0] === variance.outputs[0] ? 1 : 0]);
    if (shift === undefined) return undefined;
    epsilon = shift;
    nodes.push(next);
    next = ctx.soleConsumer(next.outputs[0]);
  }
  if (next?.opType !== 'Sqrt' || next.inputs[0] !== nodes[nodes.length - 1].outputs[0]) return undefined;
  nodes.push(next);
  if (ctx.soleConsumer(next.outputs[0]) !== div || div.inputs[1] !== next.outputs[0]) return undefined;
  nodes.push(div);
  return { nodes, epsilon, div };
}

/** When the ReduceMean `node` opens a layer normalisation pattern, emits it as one layer and returns true. */
export function emitLayerNormPattern(node: Node, ctx: NormaliseContext): boolean {
  const match = matchLayerNorm(ctx, node);
  if (!match) return false;
  const variance = match.nodes[3];
  const data = ctx.data(node, 0, 'data');
  const dims = [1, ...data.shape];
  const axes = reducedAxes(node, ctx, dims, 18);
  const varianceAxes = reducedAxes(variance, ctx, dims, 18);
  const sorted = [...axes].sort((a, b) => a - b);
  const first = sorted[0];
  const trailing = sorted.length > 0 && first >= 1 && sorted.every((a, i) => a === first + i) && sorted[sorted.length - 1] === dims.length - 1;
  const sameAxes = varianceAxes.size === axes.size && sorted.every((a) => varianceAxes.has(a));
  if (!trailing || !sameAxes || node.int('keepdims', 1) === 0 || variance.int('keepdims', 1) === 0) return false;
  if (!(match.epsilon >= 0) || !Number.isFinite(match.epsilon)) {
    throw unsupported(node, `layer normalisation pattern adds ${match.epsilon} to the variance; only a finite epsilon ≥ 0 has a rule`);
  }
  ctx.emit({
    nodes: match.nodes,
    op: { kind: 'layerNorm', axis: first - 1, epsilon: match.epsilon },
    inputs: [data],
    output: match.div.outputs[0],
    outputShape: data.shape,
  });
  return true;
}
