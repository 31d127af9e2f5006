// Axis permutation of a C-order tensor: out[k] = in[source[k]]. A permutation matrix is orthogonal,
// so its Lipschitz constant is exactly 1 and its adjoint (the inverse permutation) scatters back.
import type { Shape } from '../network';

/** Validates perm against the input rank and returns the output shape and the gather index. */
export function transposeIndex(inputShape: Shape, perm: readonly number[], name: string): { outputShape: number[]; source: Int32Array } {
  const rank = inputShape.length;
  const valid = perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!valid) throw new Error(`${name}: perm [${perm.join(', ')}] is not a permutation of the ${rank} axes of [${inputShape.join(', ')}]`);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; s *= inputShape[i], i--) inStrides[i] = s;
  const outputShape = perm.map((p) => inputShape[p]);
  const size = outputShape.reduce((a, b) => a * b, 1);
  const source = new Int32Array(size);
  const index = new Array<number>(rank).fill(0);
  for (let k = 0; k < size; k++) {
    let from = 0;
    for (let d = 0; d < rank; d++) from += index[d] * inStrides[perm[d]];
    source[k] = from;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < outputShape[d]) break;
      index[d] = 0;
    }
  }
  return { outputShape, source };
}

/** out[k] = values[source[k]] (the permuted tensor, or the permuted mask). */
export function gatherPermuted<T extends Float64Array | Uint8Array>(values: T, source: Int32Array, out: T): T {
  for (let k = 0; k < source.length; k++) out[k] = values[source[k]];
  return out;
}

/** The adjoint: out[source[k]] = values[k] (the inverse permutation). */
export function scatterPermuted(values: Float64Array, source: Int32Array): Float64Array {
  const out = new Float64Array(values.length);
  for (let k = 0; k < source.length; k++) out[source[k]] = values[k];
  return out;
}
