// The contract every linear map of the analysis graph implements. Vectors are float64 in the
// flattened C order of the tensor shapes (batch dimension excluded); weights stay float32 and are
// widened on use, so the operator applied is exactly the model's float32 weights in float64 arithmetic.

export interface LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /**
   * A x (no bias), in a new array the caller owns; or in `out` (of length outSize, its contents
   * overwritten) where the operator takes one, so passes can reuse their arrays. Use the returned array.
   */
  apply(x: Float64Array, out?: Float64Array): Float64Array;
  /** Aᵀ y: the exact adjoint, ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ up to rounding; `out` as for apply. */
  applyTranspose(y: Float64Array, out?: Float64Array): Float64Array;
  /** Σ_j a_ij² d_j for every row i, i.e. (A∘A) d; with a 0/1 mask d this is ‖a_iᵀ D‖². */
  rowNormsSquared(d: Float64Array): Float64Array;
  /**
   * The dense block A[rows, cols] (row-major, rows.length × cols.length), when the operator can
   * read it directly from its weights; operators without it are materialised column by column.
   */
  denseBlock?(rows: Int32Array, cols: Int32Array): Float64Array;
  /**
   * 'input' when D Aᵀ R² A D costs clearly less per application than R A D² Aᵀ R: a dense layer's
   * input-side product reads each weight row once for both halves, the output side reads the weights
   * twice. The certified norm then always iterates on the input side.
   */
  readonly preferredGramSide?: 'input';
  /** Aᵀ diag(s) A x in one call, for operators that fuse the pair (s has the output's size). */
  gram?(x: Float64Array, rowScaleSquared: Float64Array, out?: Float64Array): Float64Array;
  /** |A| x (entrywise absolute weights) without building |A|, for the forward pass's rounding bound. */
  applyAbsolute?(x: Float64Array): Float64Array;
  /** A diag(d) Aᵀ y in one call (d has the input's size). */
  gramOutput?(y: Float64Array, colScale: Float64Array, out?: Float64Array): Float64Array;
  /**
   * The operator restricted to the given output rows (rows.length × inSize, in that order), where that
   * costs clearly less than the whole operator; null otherwise. The composed bound's prefix norms read
   * only a layer's uncertain rows (docs/derivations.md §58.4).
   */
  selectRows?(rows: Int32Array): SelectedRows | null;
}

/** Some rows of an operator, and the multiply-adds one application of them costs. */
export interface SelectedRows {
  operator: LinearOperator;
  multiplyAdds: number;
}

/** A linear operator plus the bias of the layer (length outSize), y = A x + b. */
export interface AffineOperator {
  readonly linear: LinearOperator;
  readonly bias: Float64Array | null;
}

export function applyAffine(op: AffineOperator, x: Float64Array): Float64Array {
  const y = op.linear.apply(x);
  if (op.bias) for (let i = 0; i < y.length; i++) y[i] += op.bias[i];
  return y;
}

export function checkLength(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: vector of length ${actual}, expected ${expected}`);
}
