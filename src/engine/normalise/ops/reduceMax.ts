// ReduceMax over any axes of computed data: a 'reduceMax' layer of disjoint windows (docs/derivations.md
// §26); on constants: folded. Reducing the batch axis (of extent 1) changes no value; a reduction over
// every axis with keepdims 0 gives a scalar, held as one value of batchless shape [1] (elementwise
// consumers broadcast a scalar and a [1, 1] tensor alike).

import type { Node } from '../../../onnx/model';
import { unsupported, type NormaliseContext } from '../context';
import { reducedAxes } from '../reducedAxes';
import { constNumbers, foldedConst } from '../values';

export function reduceMax(node: Node, ctx: NormaliseContext): void {
  const value = ctx.input(node, 0, 'data');
  const keepDims = node.int('keepdims', 1) !== 0;
  if (value.kind === 'const') {
    const dims = value.dims;
    const reduced = reducedAxes(node, ctx, dims, 18);
    const numbers = constNumbers(value);
    const kept = dims.map((_d, a) => a).filter((a) => !reduced.has(a));
    const out = new Array<number>(kept.reduce((p, a) => p * dims[a], 1)).fill(-Infinity);
    const index = new Array<number>(dims.length).fill(0);
    numbers.forEach((v) => {
      const o = kept.reduce((at, a) => at * dims[a] + index[a], 0);
      out[o] = Math.max(out[o], v);
      for (let d = dims.length - 1; d >= 0; d--) {
        if (++index[d] < dims[d]) break;
        index[d] = 0;
      }
    });
    const shape = keepDims ? dims.map((d, a) => (reduced.has(a) ? 1 : d)) : kept.map((a) => dims[a]);
    ctx.set(node.outputs[0], foldedConst(node.outputs[0], shape, value.dataType, Float64Array.from(out)));
    return;
  }
  const x = ctx.data(node, 0, 'data');
  const dims = [1, ...x.shape];
  const reduced = reducedAxes(node, ctx, dims, 18);
  const axes = [...reduced].filter((a) => a > 0).map((a) => a - 1).sort((a, b) => a - b);
  if (axes.length === 0) throw unsupported(node, 'reduces only the batch axis (or no axis): nothing to analyse');
  let outputShape: number[];
  if (keepDims) outputShape = x.shape.map((d, a) => (axes.includes(a) ? 1 : d));
  else if (!reduced.has(0)) outputShape = x.shape.filter((_d, a) => !axes.includes(a));
  else if (axes.length === x.shape.length) outputShape = [1];
  else throw unsupported(node, 'drops the batch axis (keepdims 0) while keeping others; a batch of 1 is analysed');
  ctx.emit({ nodes: [node], op: { kind: 'reduceMax', axes }, inputs: [x], output: node.outputs[0], outputShape, nonNegative: x.nonNegative });
}
