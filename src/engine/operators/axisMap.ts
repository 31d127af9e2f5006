// A linear map acting on each axis separately: A = M_1 ⊗ … ⊗ M_r in C order (docs/derivations.md §18).
// Applied factor by factor (a mode product per non-identity axis), so a Slice of a large tensor or a
// Resize never materialises A. Weights are ≥ 0, so |A| = A (the forward pass's rounding rule relies on it).
import type { AxisMatrix, Shape } from '../network';
import { checkLength, type LinearOperator } from './linearOperator';

interface Factor {
  axis: number;
  matrix: AxisMatrix;
}

function isIdentity(matrix: AxisMatrix): boolean {
  return matrix.rows.length === matrix.inExtent && matrix.rows.every((terms, i) => terms.length === 1 && terms[0].index === i && terms[0].weight === 1);
}

/**
 * y = M_axis applied along one axis of x (shape `shape`), or its transpose; `square` uses the squared
 * weights (for the row-norm pass (A∘A) d and the column norms).
 */
function modeProduct(x: Float64Array, shape: number[], factor: Factor, transpose: boolean, square: boolean): Float64Array {
  const { axis, matrix } = factor;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const fromExtent = shape[axis];
  const toExtent = transpose ? matrix.inExtent : matrix.rows.length;
  const y = new Float64Array(outer * toExtent * inner);
  for (let o = 0; o < outer; o++) {
    const fromBase = o * fromExtent * inner;
    const toBase = o * toExtent * inner;
    matrix.rows.forEach((terms, i) => {
      for (const { index: j, weight } of terms) {
        const w = square ? weight * weight : weight;
        // Forward: y[i] += w x[j]; transposed: y[j] += w x[i].
        const from = fromBase + (transpose ? i : j) * inner;
        const to = toBase + (transpose ? j : i) * inner;
        for (let k = 0; k < inner; k++) y[to + k] += w * x[from + k];
      }
    });
  }
  shape[axis] = toExtent;
  return y;
}

export class AxisMapOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** Every input coordinate feeds at most one output: the rows of A D are orthogonal. */
  readonly columnsDisjoint: boolean;
  /** Every output reads exactly one input: the columns of A D are orthogonal. */
  readonly singleEntryRows: boolean;
  /** Terms of the float64 sums along the way (Σ over applied factors of their longest row + 1), for the rounding bound. */
  readonly roundingTerms: number;
  private readonly factors: Factor[];
  private readonly inShape: number[];
  private readonly outShape: number[];

  constructor(axes: readonly AxisMatrix[], inputShape: Shape, outputShape: Shape, name: string) {
    if (axes.length !== inputShape.length) throw new Error(`${name}: ${axes.length} axis maps for input shape [${inputShape.join(', ')}]`);
    axes.forEach((matrix, d) => {
      if (matrix.inExtent !== inputShape[d]) throw new Error(`${name}: axis ${d} map reads ${matrix.inExtent} values, the input has ${inputShape[d]}`);
      for (const terms of matrix.rows) {
        for (const { index, weight } of terms) {
          if (!Number.isInteger(index) || index < 0 || index >= matrix.inExtent) throw new Error(`${name}: axis ${d} reads index ${index} outside [0, ${matrix.inExtent})`);
          if (!(weight >= 0 && Number.isFinite(weight))) throw new Error(`${name}: axis ${d} has weight ${weight}; per-axis maps need finite weights ≥ 0`);
        }
      }
    });
    this.inShape = [...inputShape];
    this.outShape = axes.map((m) => m.rows.length);
    this.inSize = this.inShape.reduce((a, b) => a * b, 1);
    this.outSize = this.outShape.reduce((a, b) => a * b, 1);
    const declared = outputShape.reduce((a, b) => a * b, 1);
    if (declared !== this.outSize) throw new Error(`${name}: the axis maps give ${this.outSize} values, the output [${outputShape.join(', ')}] holds ${declared}`);
    this.factors = axes.flatMap((matrix, axis) => (isIdentity(matrix) ? [] : [{ axis, matrix }]));
    this.columnsDisjoint = this.factors.every(({ matrix }) => {
      const seen = new Uint8Array(matrix.inExtent);
      return matrix.rows.every((terms) => terms.every(({ index, weight }) => weight === 0 || seen[index]++ === 0));
    });
    this.singleEntryRows = this.factors.every(({ matrix }) => matrix.rows.every((terms) => terms.length === 1 && terms[0].weight !== 0));
    this.roundingTerms = this.factors.reduce((sum, { matrix }) => sum + matrix.rows.reduce((m, terms) => Math.max(m, terms.length), 0) + 1, 0);
  }

  private run(x: Float64Array, transpose: boolean, square: boolean): Float64Array {
    const shape = transpose ? [...this.outShape] : [...this.inShape];
    let y = x;
    for (const factor of this.factors) y = modeProduct(y, shape, factor, transpose, square);
    return y === x ? Float64Array.from(x) : y;
  }

  apply(x: Float64Array): Float64Array {
    checkLength('axisMap apply', x.length, this.inSize);
    return this.run(x, false, false);
  }

  applyTranspose(y: Float64Array): Float64Array {
    checkLength('axisMap applyTranspose', y.length, this.outSize);
    return this.run(y, true, false);
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('axisMap rowNormsSquared', d.length, this.inSize);
    return this.run(d, false, true);
  }

  /** Σ_i A_ij² for every input j: (A∘A)ᵀ 1. */
  columnNormsSquared(): Float64Array {
    return this.run(new Float64Array(this.outSize).fill(1), true, true);
  }
}
