// Nominal forward pass: the value of every layer's output (and, for affine units, the pre-activation)
// at x0. Injectable: a faster provider (onnxruntime) can supply the same values.
import { activate } from './activations';
import { NETWORK_INPUT, type TensorRef } from './network';
import { applyAffine } from './operators/linearOperator';
import { concatenate, type PreparedNetwork } from './prepared';

export interface NominalValues {
  /** Output of each layer, in layer order (float64, flattened C order). */
  outputs: Float64Array[];
  /** Affine output before the activation, for affine layers; null elsewhere. */
  preActivations: (Float64Array | null)[];
  /**
   * A bound on |provided − exact| for every value above (e.g. from a float32 runtime). The slope
   * bounds then hold for every nominal value within it. 0 or absent: the values are exact up to
   * float64 rounding (the pure forward pass).
   */
  absoluteError?: number;
}

export type ForwardProvider = (prepared: PreparedNetwork, x0: Float64Array) => NominalValues | Promise<NominalValues>;

export function tensorValue(values: NominalValues, x0: Float64Array, ref: TensorRef): Float64Array {
  return ref === NETWORK_INPUT ? x0 : values.outputs[ref];
}

export const pureForward: ForwardProvider = (prepared, x0) => {
  const values: NominalValues = { outputs: [], preActivations: [] };
  for (const p of prepared.layers) {
    const inputs = p.layer.inputs.map((ref) => tensorValue(values, x0, ref));
    let out: Float64Array;
    let pre: Float64Array | null = null;
    const op = p.op;
    switch (op.kind) {
      case 'affine': {
        pre = applyAffine(op.affine, inputs[0]);
        const lop = p.layer.op;
        const activation = lop.kind === 'affine' ? lop.activation : undefined;
        out = activation ? pre.map((y) => activate(activation, y)) : pre;
        break;
      }
      case 'activation': {
        const lop = p.layer.op;
        if (lop.kind !== 'activation') throw new Error('prepared activation without an activation op');
        out = inputs[0].map((y) => activate(lop.activation, y));
        break;
      }
      case 'maxPool':
        out = op.pool.forward(inputs[0]);
        break;
      case 'linearPool':
        out = op.linear.apply(inputs[0]);
        break;
      case 'reshape':
        out = inputs[0];
        break;
      case 'add':
        out = new Float64Array(p.outSize);
        for (const input of inputs) for (let i = 0; i < out.length; i++) out[i] += input[i];
        break;
      case 'concat':
        out = concatenate(inputs, op.outer, op.blocks, new Float64Array(p.outSize));
        break;
    }
    values.outputs.push(out);
    values.preActivations.push(pre);
  }
  return values;
};
