// Forward pass that records what the chain rule needs (activation derivatives, max-pool argmax), and
// the two products with the network's Jacobian at the recorded point: Jᵀu (backward, through each
// linear operator's applyTranspose) and J v (forward tangent, through apply). Used only to aim the
// lower-bound search; every reported ratio is re-evaluated with the pure forward pass.
import { throwIfCancelled, type CancelSignal } from '../errors';
import { NETWORK_INPUT, type Activation, type TensorRef } from '../network';
import { applyAffine } from '../operators/linearOperator';
import { layerNormAdjoint, layerNormOutput, layerNormPoint, layerNormTangent, type LayerNormPoint } from '../operators/layerNorm';
import { forEachPoolTap, poolOutputSize } from '../operators/pooling';
import { gatherPermuted, scatterPermuted } from '../operators/transpose';
import { adjointForA, adjointForB, batchedMatMul } from '../operators/batchedMatMul';
import { softmaxForward, softmaxTangent } from '../operators/softmax';
import { concatenate, splitConcatenated, type PreparedNetwork, type PreparedOp } from '../prepared';

interface ActivationKernel {
  value: (y: number) => number;
  /** A derivative (one-sided at kinks: any choice serves a search direction). */
  derivative: (y: number) => number;
}

/** The same formulas as activations.ts `activate`, built once per layer instead of once per value. */
export function activationKernel(activation: Activation): ActivationKernel {
  switch (activation.kind) {
    case 'relu':
      return { value: (y) => (y > 0 ? y : 0), derivative: (y) => (y > 0 ? 1 : 0) };
    case 'leakyRelu': {
      const a = activation.alpha;
      return { value: (y) => (y > 0 ? y : a * y), derivative: (y) => (y > 0 ? 1 : a) };
    }
    case 'clip': {
      const { min, max } = activation;
      return { value: (y) => Math.min(max, Math.max(min, y)), derivative: (y) => (y > min && y < max ? 1 : 0) };
    }
    case 'hardSigmoid': {
      const { alpha, beta } = activation;
      return {
        value: (y) => Math.max(0, Math.min(1, alpha * y + beta)),
        derivative: (y) => {
          const z = alpha * y + beta;
          return z > 0 && z < 1 ? alpha : 0;
        },
      };
    }
    case 'hardSwish': {
      const { alpha, beta } = activation;
      return {
        value: (y) => y * Math.max(0, Math.min(1, alpha * y + beta)),
        derivative: (y) => {
          const z = alpha * y + beta;
          return z <= 0 ? 0 : z >= 1 ? 1 : 2 * alpha * y + beta;
        },
      };
    }
    case 'sigmoid':
      return {
        value: (y) => 1 / (1 + Math.exp(-y)),
        derivative: (y) => {
          const s = 1 / (1 + Math.exp(-y));
          return s * (1 - s);
        },
      };
    case 'tanh':
      return {
        value: (y) => Math.tanh(y),
        derivative: (y) => {
          const t = Math.tanh(y);
          return 1 - t * t;
        },
      };
    case 'log':
      return { value: Math.log, derivative: (y) => 1 / y };
    case 'sqrt':
      return { value: Math.sqrt, derivative: (y) => 0.5 / Math.sqrt(y) };
    case 'reciprocal':
      return { value: (y) => 1 / y, derivative: (y) => -1 / (y * y) };
    case 'power': {
      const p = activation.exponent;
      return { value: (y) => Math.pow(y, p), derivative: (y) => (p === 0 ? 0 : p * Math.pow(y, p - 1)) };
    }
  }
}

export interface Tape {
  /** Output of each layer the network output depends on (null for the others). */
  outputs: (Float64Array | null)[];
  /** Activation derivative at the pre-activation, for activation units and lone activations. */
  derivatives: (Float64Array | null)[];
  /** Input index of each max-pool output's maximum. */
  argmax: (Int32Array | null)[];
  /** The two factors of each product layer at the taped point. */
  factors: ([Float64Array, Float64Array] | null)[];
  /** The normalised values and scales of each layer normalisation at the taped point. */
  normalisations: (LayerNormPoint | null)[];
}

/** Layers the network output depends on (an explicit stack: networks can be tens of thousands of layers deep). */
export function neededLayers(prepared: PreparedNetwork): boolean[] {
  const needed = prepared.layers.map(() => false);
  const stack: TensorRef[] = [prepared.network.output];
  while (stack.length > 0) {
    const ref = stack.pop()!;
    if (ref === NETWORK_INPUT || needed[ref]) continue;
    needed[ref] = true;
    stack.push(...prepared.layers[ref].layer.inputs);
  }
  return needed;
}

export class NetworkTape {
  private readonly needed: boolean[];
  private readonly kernels: (ActivationKernel | null)[];

  /** Polled before every layer of every pass, so a cancel stops a pass through a large network midway. */
  constructor(
    readonly prepared: PreparedNetwork,
    private readonly signal?: CancelSignal,
  ) {
    this.needed = neededLayers(prepared);
    this.kernels = prepared.layers.map((p) => {
      const lop = p.layer.op;
      if (lop.kind === 'affine' && lop.activation) return activationKernel(lop.activation);
      if (lop.kind === 'activation') return activationKernel(lop.activation);
      return null;
    });
  }

  /** The network output at x (a layer output array when the output is a layer, x itself otherwise). */
  outputOf(tape: Tape, x: Float64Array): Float64Array {
    const ref = this.prepared.network.output;
    return ref === NETWORK_INPUT ? x : (tape.outputs[ref] as Float64Array);
  }

  forward(x: Float64Array): Tape {
    const { layers } = this.prepared;
    const tape: Tape = { outputs: layers.map(() => null), derivatives: layers.map(() => null), argmax: layers.map(() => null), factors: layers.map(() => null), normalisations: layers.map(() => null) };
    const value = (ref: TensorRef) => (ref === NETWORK_INPUT ? x : (tape.outputs[ref] as Float64Array));
    layers.forEach((p, k) => {
      if (!this.needed[k]) return;
      throwIfCancelled(this.signal);
      const inputs = p.layer.inputs.map(value);
      const op = p.op;
      const kernel = this.kernels[k];
      let out: Float64Array;
      switch (op.kind) {
        case 'affine': {
          const pre = applyAffine(op.affine, inputs[0]);
          if (kernel) {
            const d = new Float64Array(pre.length);
            for (let i = 0; i < pre.length; i++) {
              d[i] = kernel.derivative(pre[i]);
              pre[i] = kernel.value(pre[i]);
            }
            tape.derivatives[k] = d;
          }
          out = pre;
          break;
        }
        case 'activation': {
          const input = inputs[0];
          const f = kernel as ActivationKernel;
          out = new Float64Array(input.length);
          const d = new Float64Array(input.length);
          for (let i = 0; i < input.length; i++) {
            out[i] = f.value(input[i]);
            d[i] = f.derivative(input[i]);
          }
          tape.derivatives[k] = d;
          break;
        }
        case 'maxPool': {
          const input = inputs[0];
          const size = poolOutputSize(op.pool.geometry);
          out = new Float64Array(size).fill(-Infinity);
          const argmax = new Int32Array(size).fill(-1);
          forEachPoolTap(op.pool.geometry, (o, i) => {
            if (input[i] > out[o]) {
              out[o] = input[i];
              argmax[o] = i;
            }
          });
          tape.argmax[k] = argmax;
          break;
        }
        case 'linearPool':
        case 'reshape':
        case 'add':
        case 'concat':
        case 'transpose':
          out = applyLinearLayer(op, inputs, p.outSize);
          break;
        case 'softmax':
          out = softmaxForward(op.groups, inputs[0]);
          break;
        case 'matMul':
          out = batchedMatMul(op.geometry, inputs[0], inputs[1]);
          tape.factors[k] = [inputs[0], inputs[1]];
          break;
        case 'mul': {
          const [a, b] = inputs;
          // A quotient is the product with 1/b: the same chain rule with d(1/b) = −Δb/b².
          const factor = op.divide ? b.map((v) => 1 / v) : b;
          out = a.map((v, i) => v * factor[op.source[i]]);
          tape.factors[k] = [a, factor];
          break;
        }
        case 'maximum': {
          const [a, b] = inputs;
          out = a.map((v, i) => Math.max(v, b[op.source[i]]));
          // 0: a wins, 1: b wins (ties to a: any choice serves a search direction).
          tape.argmax[k] = Int32Array.from(a, (v, i) => (b[op.source[i]] > v ? 1 : 0));
          break;
        }
        case 'reduceMax': {
          const input = inputs[0];
          out = new Float64Array(op.window.length / op.width).fill(-Infinity);
          const argmax = new Int32Array(out.length).fill(-1);
          for (let s = 0; s < op.window.length; s++) {
            const o = (s / op.width) | 0;
            if (input[op.window[s]] > out[o]) {
              out[o] = input[op.window[s]];
              argmax[o] = op.window[s];
            }
          }
          tape.argmax[k] = argmax;
          break;
        }
        case 'layerNorm': {
          const point = layerNormPoint(op.spec, inputs[0]);
          out = layerNormOutput(op.spec, point.normalised);
          tape.normalisations[k] = point;
          break;
        }
      }
      tape.outputs[k] = out;
    });
    return tape;
  }

  /** Jᵀ u at the taped point: u is a cotangent of the network output; returns one of the input. */
  backward(tape: Tape, u: Float64Array): Float64Array {
    const { layers, inputSize, network } = this.prepared;
    const inputGrad = new Float64Array(inputSize);
    if (network.output === NETWORK_INPUT) {
      inputGrad.set(u);
      return inputGrad;
    }
    const grads: (Float64Array | null)[] = layers.map(() => null);
    grads[network.output] = Float64Array.from(u);
    const accumulate = (ref: TensorRef, g: Float64Array) => {
      const target = ref === NETWORK_INPUT ? inputGrad : (grads[ref] ??= new Float64Array(g.length));
      for (let i = 0; i < g.length; i++) target[i] += g[i];
    };
    for (let k = layers.length - 1; k >= 0; k--) {
      const g = grads[k];
      if (!g) continue;
      throwIfCancelled(this.signal);
      grads[k] = null;
      const p = layers[k];
      const inputs = p.layer.inputs;
      const op = p.op;
      switch (op.kind) {
        case 'affine': {
          const d = tape.derivatives[k];
          const scaled = d ? g.map((v, i) => v * d[i]) : g;
          accumulate(inputs[0], op.affine.linear.applyTranspose(scaled));
          break;
        }
        case 'activation': {
          const d = tape.derivatives[k] as Float64Array;
          accumulate(inputs[0], g.map((v, i) => v * d[i]));
          break;
        }
        case 'maxPool':
        case 'reduceMax': {
          const argmax = tape.argmax[k] as Int32Array;
          const routed = new Float64Array(p.inSizes[0]);
          for (let o = 0; o < argmax.length; o++) if (argmax[o] >= 0) routed[argmax[o]] += g[o];
          accumulate(inputs[0], routed);
          break;
        }
        case 'linearPool':
          accumulate(inputs[0], op.linear.applyTranspose(g));
          break;
        case 'reshape':
          accumulate(inputs[0], g);
          break;
        case 'add':
          inputs.forEach((ref, j) => accumulate(ref, op.signs[j] === 1 ? g : g.map((v) => -v)));
          break;
        case 'concat': {
          const parts = splitConcatenated(g, op.outer, op.blocks, p.inSizes);
          inputs.forEach((ref, j) => accumulate(ref, parts[j]));
          break;
        }
        case 'transpose':
          accumulate(inputs[0], scatterPermuted(g, op.source));
          break;
        case 'softmax':
          // J is symmetric: Jᵀu = p ⊙ (u − pᵀu).
          accumulate(inputs[0], softmaxTangent(op.groups, tape.outputs[k] as Float64Array, g));
          break;
        case 'matMul': {
          // Jᵀ U = (U Bᵀ, Aᵀ U).
          const [a, b] = tape.factors[k] as [Float64Array, Float64Array];
          accumulate(inputs[0], adjointForA(op.geometry, g, b));
          accumulate(inputs[1], adjointForB(op.geometry, a, g));
          break;
        }
        case 'mul': {
          // Jᵀu = (u ⊙ B b, Bᵀ(u ⊙ a)).
          const [a, b] = tape.factors[k] as [Float64Array, Float64Array];
          const gradB = new Float64Array(b.length);
          for (let i = 0; i < g.length; i++) gradB[op.source[i]] += g[i] * a[i];
          if (op.divide) for (let j = 0; j < b.length; j++) gradB[j] *= -b[j] * b[j];
          accumulate(inputs[0], g.map((v, i) => v * b[op.source[i]]));
          accumulate(inputs[1], gradB);
          break;
        }
        case 'maximum': {
          const winner = tape.argmax[k] as Int32Array;
          const gradB = new Float64Array(p.inSizes[1]);
          for (let i = 0; i < g.length; i++) if (winner[i] === 1) gradB[op.source[i]] += g[i];
          accumulate(inputs[0], g.map((v, i) => (winner[i] === 0 ? v : 0)));
          accumulate(inputs[1], gradB);
          break;
        }
        case 'layerNorm':
          accumulate(inputs[0], layerNormAdjoint(op.spec, tape.normalisations[k] as LayerNormPoint, g));
          break;
      }
    }
    return inputGrad;
  }

  /** J v at the taped point: v is a tangent of the input; returns one of the network output. */
  tangent(tape: Tape, v: Float64Array): Float64Array {
    const { layers, network } = this.prepared;
    const tangents: (Float64Array | null)[] = layers.map(() => null);
    const valueOf = (ref: TensorRef) => (ref === NETWORK_INPUT ? v : (tangents[ref] as Float64Array));
    layers.forEach((p, k) => {
      if (!this.needed[k]) return;
      throwIfCancelled(this.signal);
      const inputs = p.layer.inputs.map(valueOf);
      const op = p.op;
      let out: Float64Array;
      switch (op.kind) {
        case 'affine': {
          out = op.affine.linear.apply(inputs[0]);
          const d = tape.derivatives[k];
          if (d) for (let i = 0; i < out.length; i++) out[i] *= d[i];
          break;
        }
        case 'activation': {
          const d = tape.derivatives[k] as Float64Array;
          out = inputs[0].map((t, i) => t * d[i]);
          break;
        }
        case 'maxPool':
        case 'reduceMax': {
          const argmax = tape.argmax[k] as Int32Array;
          out = Float64Array.from(argmax, (i) => (i >= 0 ? inputs[0][i] : 0));
          break;
        }
        case 'linearPool':
        case 'reshape':
        case 'add':
        case 'concat':
        case 'transpose':
          out = applyLinearLayer(op, inputs, p.outSize);
          break;
        case 'softmax':
          out = softmaxTangent(op.groups, tape.outputs[k] as Float64Array, inputs[0]);
          break;
        case 'matMul': {
          // J v = ΔA B + A ΔB.
          const [a, b] = tape.factors[k] as [Float64Array, Float64Array];
          out = batchedMatMul(op.geometry, inputs[0], b);
          const second = batchedMatMul(op.geometry, a, inputs[1]);
          for (let i = 0; i < out.length; i++) out[i] += second[i];
          break;
        }
        case 'mul': {
          // J v = Δa ⊙ B b + a ⊙ B Δb.
          const [a, b] = tape.factors[k] as [Float64Array, Float64Array];
          const db = op.divide ? inputs[1].map((t, j) => -t * b[j] * b[j]) : inputs[1];
          out = inputs[0].map((ta, i) => ta * b[op.source[i]] + a[i] * db[op.source[i]]);
          break;
        }
        case 'maximum': {
          const winner = tape.argmax[k] as Int32Array;
          out = inputs[0].map((t, i) => (winner[i] === 0 ? t : inputs[1][op.source[i]]));
          break;
        }
        case 'layerNorm':
          out = layerNormTangent(op.spec, tape.normalisations[k] as LayerNormPoint, inputs[0]);
          break;
      }
      tangents[k] = out;
    });
    return valueOf(network.output);
  }
}

/**
 * The layers that are linear maps of their inputs: the forward pass and the tangent pass (J v) apply
 * them the same way.
 */
function applyLinearLayer(
  op: Extract<PreparedOp, { kind: 'linearPool' | 'reshape' | 'add' | 'concat' | 'transpose' }>,
  inputs: Float64Array[],
  outSize: number,
): Float64Array {
  switch (op.kind) {
    case 'linearPool':
      return op.linear.apply(inputs[0]);
    case 'reshape':
      return inputs[0];
    case 'add': {
      const out = new Float64Array(outSize);
      inputs.forEach((input, k) => {
        for (let i = 0; i < out.length; i++) out[i] += op.signs[k] * input[i];
      });
      return out;
    }
    case 'concat':
      return concatenate(inputs, op.outer, op.blocks, new Float64Array(outSize));
    case 'transpose':
      return gatherPermuted(inputs[0], op.source, new Float64Array(outSize));
  }
}
