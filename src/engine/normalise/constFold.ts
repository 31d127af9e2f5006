// Small evaluators for initializer-only subgraphs (shape arithmetic and the like): broadcasting
// element-wise maths, Concat and constant-mode Pad on constants held as float64 arrays (Gather and
// Slice fold through axisMatrices.ts, activations through foldActivation.ts).

import { broadcastShapes, sizeOfShape, type FullShape } from '../shapes';

function strides(shape: FullShape): number[] {
  const out = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = stride;
    stride *= shape[i];
  }
  return out;
}

/** Element-wise f(a, b) with numpy broadcasting; a reason string when the shapes do not broadcast. */
export function broadcastBinary(
  a: Float64Array,
  aShape: FullShape,
  b: Float64Array,
  bShape: FullShape,
  f: (x: number, y: number) => number,
): { values: Float64Array; shape: FullShape } | string {
  const shape = broadcastShapes(aShape, bShape);
  if (typeof shape === 'string') return shape;
  const out = new Float64Array(sizeOfShape(shape));
  const rank = shape.length;
  const aligned = (s: FullShape) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const aDims = aligned(aShape);
  const bDims = aligned(bShape);
  const aStrides = strides(aDims).map((st, i) => (aDims[i] === 1 ? 0 : st));
  const bStrides = strides(bDims).map((st, i) => (bDims[i] === 1 ? 0 : st));
  const outStrides = strides(shape);
  for (let flat = 0; flat < out.length; flat++) {
    let ai = 0;
    let bi = 0;
    let rest = flat;
    for (let d = 0; d < rank; d++) {
      const index = Math.floor(rest / outStrides[d]);
      rest -= index * outStrides[d];
      ai += index * aStrides[d];
      bi += index * bStrides[d];
    }
    out[flat] = f(a[ai], b[bi]);
  }
  return { values: out, shape };
}

export function concatValues(parts: { values: Float64Array; shape: FullShape }[], axis: number): Float64Array {
  const outer = sizeOfShape(parts[0].shape.slice(0, axis));
  const blocks = parts.map((p) => sizeOfShape(p.shape.slice(axis)));
  const out = new Float64Array(outer * blocks.reduce((a, b) => a + b, 0));
  let k = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, j) => {
      out.set(p.values.subarray(o * blocks[j], (o + 1) * blocks[j]), k);
      k += blocks[j];
    });
  }
  return out;
}

/**
 * Constant-mode Pad of any rank: output index o reads input index o − begin on every axis, or `fill`
 * where that falls outside (negative pads crop). `shape` is the padded shape (shapes.ts padShape).
 */
export function padValues(values: Float64Array, inShape: FullShape, pads: readonly number[], shape: FullShape, fill: number): Float64Array {
  const rank = inShape.length;
  const inStrides = strides(inShape);
  const outStrides = strides(shape);
  const out = new Float64Array(sizeOfShape(shape));
  for (let flat = 0; flat < out.length; flat++) {
    let source = 0;
    let rest = flat;
    for (let d = 0; d < rank && source >= 0; d++) {
      const index = Math.floor(rest / outStrides[d]) - pads[d];
      rest %= outStrides[d];
      source = index >= 0 && index < inShape[d] ? source + index * inStrides[d] : -1;
    }
    out[flat] = source >= 0 ? values[source] : fill;
  }
  return out;
}
