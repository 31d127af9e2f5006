// Exact arithmetic on dyadic rationals m · 2^e (bigint m): every float32 weight and float64 value is one,
// and sums and products of them stay dyadic, so networks of affine maps, ReLU, LeakyReLU, Clip, HardSigmoid,
// HardSwish and max pooling have exact reference values to check the forward passes' rounding bounds against.
import type { Activation } from '../../../src/engine/network';

export interface Dyadic {
  m: bigint;
  e: number;
}

export const ZERO: Dyadic = { m: 0n, e: 0 };

export function dyadic(v: number): Dyadic {
  if (v === 0) return ZERO;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const m = exponent === 0 ? fraction : fraction | (1n << 52n);
  return { m: v < 0 ? -m : m, e: (exponent === 0 ? 1 : exponent) - 1075 };
}

export function add(a: Dyadic, b: Dyadic): Dyadic {
  const e = Math.min(a.e, b.e);
  return { m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e };
}

export function mul(a: Dyadic, b: Dyadic): Dyadic {
  return { m: a.m * b.m, e: a.e + b.e };
}

export function sign(a: Dyadic): number {
  return a.m > 0n ? 1 : a.m < 0n ? -1 : 0;
}

export function subtract(a: Dyadic, b: Dyadic): Dyadic {
  return add(a, { m: -b.m, e: b.e });
}

/** The (small) difference a − b as a double. */
export function difference(a: Dyadic, b: Dyadic): number {
  const d = subtract(a, b);
  if (d.m === 0n) return 0;
  // Keep 60 significant bits so that Number() neither overflows nor loses the exponent.
  const bits = d.m < 0n ? (-d.m).toString(2).length : d.m.toString(2).length;
  const shift = Math.max(0, bits - 60);
  return Number(d.m >> BigInt(shift)) * 2 ** (d.e + shift);
}

export function exactActivation(activation: Activation | undefined, y: Dyadic): Dyadic {
  if (!activation) return y;
  switch (activation.kind) {
    case 'relu':
      return sign(y) > 0 ? y : ZERO;
    case 'leakyRelu':
      return sign(y) > 0 ? y : mul(dyadic(activation.alpha), y);
    case 'clip': {
      const below = sign(subtract(y, dyadic(activation.min))) < 0;
      const above = sign(subtract(y, dyadic(activation.max))) > 0;
      return below ? dyadic(activation.min) : above ? dyadic(activation.max) : y;
    }
    case 'hardSigmoid':
      return unitClamp(add(mul(dyadic(activation.alpha), y), dyadic(activation.beta)));
    case 'hardSwish':
      return mul(y, unitClamp(add(mul(dyadic(activation.alpha), y), dyadic(activation.beta))));
    default:
      throw new Error(`no exact rational form for ${activation.kind}`);
  }
}

function unitClamp(t: Dyadic): Dyadic {
  if (sign(t) <= 0) return ZERO;
  return sign(subtract(t, dyadic(1))) >= 0 ? dyadic(1) : t;
}
