// Per-channel affine map (standalone batch normalisation): y[c, …] = scale[c] x[c, …] + shift[c].
import type { ChannelAffineParams, Shape } from '../network';
import { checkLength, type AffineOperator, type LinearOperator } from './linearOperator';

export class ChannelAffineOperator implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  private readonly channelSize: number;

  constructor(private readonly scale: Float32Array, shape: Shape, name: string) {
    if (shape.length === 0 || shape[0] !== scale.length) {
      throw new Error(`${name}: channel affine with ${scale.length} channels on input shape [${shape.join(', ')}]`);
    }
    this.inSize = shape.reduce((a, b) => a * b, 1);
    this.outSize = this.inSize;
    this.channelSize = this.inSize / scale.length;
  }

  private scaleBy(x: Float64Array, squared: boolean): Float64Array {
    const y = new Float64Array(x.length);
    for (let c = 0; c < this.scale.length; c++) {
      const s = squared ? this.scale[c] * this.scale[c] : this.scale[c];
      const base = c * this.channelSize;
      for (let k = 0; k < this.channelSize; k++) y[base + k] = s * x[base + k];
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
        if (rows[a] === cols[b]) block[a * cols.length + b] = this.scale[Math.floor(rows[a] / this.channelSize)];
      }
    }
    return block;
  }
}

export function createChannelAffine(params: ChannelAffineParams, inputShape: Shape, name: string): AffineOperator {
  const linear = new ChannelAffineOperator(params.scale, inputShape, name);
  if (params.shift.length !== params.scale.length) {
    throw new Error(`${name}: channel affine shift has ${params.shift.length} values, scale ${params.scale.length}`);
  }
  const perChannel = linear.outSize / params.scale.length;
  const bias = new Float64Array(linear.outSize);
  for (let c = 0; c < params.shift.length; c++) bias.fill(params.shift[c], c * perChannel, (c + 1) * perChannel);
  return { linear, bias };
}
