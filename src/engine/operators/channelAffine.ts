// Per-channel affine map (standalone batch normalisation): y[c, …] = scale[c] x[c, …] + shift[c], or the
// same along another axis (y[…, f, …] = scale[f] x[…, f, …] + shift[f]), plus an optional constant per
// element in the bias. A diagonal map either way.
import type { ChannelAffineParams, Shape } from '../network';
import { checkLength, type AffineOperator, type LinearOperator } from './linearOperator';

export class ChannelAffineOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** Values per step along the axis (the product of the extents after it). */
  private readonly inner: number;

  constructor(private readonly scale: Float32Array, shape: Shape, name: string, axis = 0) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length || shape[axis] !== scale.length) {
      throw new Error(`${name}: channel affine with ${scale.length} values along axis ${axis} of input shape [${shape.join(', ')}]`);
    }
    this.inSize = shape.reduce((a, b) => a * b, 1);
    this.outSize = this.inSize;
    this.inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  }

  /** The scale entry of coordinate i. */
  private indexOf(i: number): number {
    return Math.floor(i / this.inner) % this.scale.length;
  }

  private scaleBy(x: Float64Array, squared: boolean): Float64Array {
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const s = this.scale[this.indexOf(i)];
      y[i] = (squared ? s * s : s) * x[i];
    }
    return y;
  }

  apply(x: Float64Array): Float64Array {
    checkLength('channelAffine apply', x.length, this.inSize);
    return this.scaleBy(x, false);
  }

  /** Diagonal, so self-adjoint. */
  applyTranspose(y: Float64Array): Float64Array {
    checkLength('channelAffine applyTranspose', y.length, this.outSize);
    return this.scaleBy(y, false);
  }

  rowNormsSquared(d: Float64Array): Float64Array {
    checkLength('channelAffine rowNormsSquared', d.length, this.inSize);
    return this.scaleBy(d, true);
  }

  denseBlock(rows: Int32Array, cols: Int32Array): Float64Array {
    const block = new Float64Array(rows.length * cols.length);
    for (let a = 0; a < rows.length; a++) {
      for (let b = 0; b < cols.length; b++) {
        if (rows[a] === cols[b]) block[a * cols.length + b] = this.scale[this.indexOf(rows[a])];
      }
    }
    return block;
  }

  /** The shift of every coordinate. */
  spread(shift: Float32Array): Float64Array {
    return Float64Array.from({ length: this.outSize }, (_, i) => shift[this.indexOf(i)]);
  }
}

export function createChannelAffine(params: ChannelAffineParams, inputShape: Shape, name: string): AffineOperator {
  const linear = new ChannelAffineOperator(params.scale, inputShape, name, params.axis ?? 0);
  if (params.shift.length !== params.scale.length) {
    throw new Error(`${name}: channel affine shift has ${params.shift.length} values, scale ${params.scale.length}`);
  }
  const bias = linear.spread(params.shift);
  if (params.offset) {
    if (params.offset.length !== bias.length) throw new Error(`${name}: channel affine offset has ${params.offset.length} values, the layer ${bias.length}`);
    for (let i = 0; i < bias.length; i++) bias[i] += params.offset[i];
  }
  return { linear, bias };
}
