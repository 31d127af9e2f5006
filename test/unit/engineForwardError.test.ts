// The pure forward pass's rounding bound τ (NominalValues.absoluteError, docs/derivations.md §14):
// it bounds the actual float64 error of every pre-activation of an activation unit and every input
// of a lone activation, checked against exact dyadic-rational arithmetic (float32 weights and float64
// inputs are dyadic rationals, and ReLU, LeakyReLU and Clip are exact on them); it is tiny; and it
// matters: a ReLU whose exact pre-activation is positive but whose float64 value comes out negative
// is not declared off at a radius below the rounding error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import type { Activation, Layer, Network } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { add, difference, dyadic, exactActivation, mul, type Dyadic } from './helpers/dyadic';
import { denseLayer, genericLayer, NETWORK_INPUT, randomArray } from './helpers/engineNetworks';

/** Exact values of a chain of dense layers and lone activations; pre-activations recorded per layer. */
function exactForward(network: Network, x: Float64Array): { pre: (Dyadic[] | null)[]; outputs: Dyadic[][] } {
  const outputs: Dyadic[][] = [];
  const pre: (Dyadic[] | null)[] = [];
  for (const layer of network.layers) {
    const input = layer.inputs[0] === NETWORK_INPUT ? Array.from(x, dyadic) : outputs[layer.inputs[0]];
    const op = layer.op;
    if (op.kind === 'affine' && op.linear.kind === 'dense') {
      const { weight, bias, outFeatures, inFeatures } = op.linear;
      const y: Dyadic[] = [];
      for (let i = 0; i < outFeatures; i++) {
        let sum: Dyadic = bias ? dyadic(bias[i]) : { m: 0n, e: 0 };
        for (let j = 0; j < inFeatures; j++) sum = add(sum, mul(dyadic(weight[i * inFeatures + j]), input[j]));
        y.push(sum);
      }
      pre.push(y);
      outputs.push(y.map((v) => exactActivation(op.activation, v)));
    } else if (op.kind === 'activation') {
      pre.push(null);
      outputs.push(input.map((v) => exactActivation(op.activation, v)));
    } else {
      throw new Error(`exactForward: layer kind ${op.kind}`);
    }
  }
  return { pre, outputs };
}

function nominal(network: Network, x: Float64Array): NominalValues {
  const values = pureForward(prepareNetwork(network), x);
  if (values instanceof Promise) throw new Error('pure forward must be synchronous');
  return values;
}

function randomDenseChain(random: SeededRandom): Network {
  const activations: Activation[] = [{ kind: 'relu' }, { kind: 'leakyRelu', alpha: 0.1 }, { kind: 'clip', min: 0, max: 6 }];
  const layers: Layer[] = [];
  let width = 4 + random.int(60);
  const depth = 2 + random.int(3);
  for (let k = 0; k < depth; k++) {
    const out = 3 + random.int(40);
    const w = randomArray(random, out * width, 2 / Math.sqrt(width));
    const rows = Array.from({ length: out }, (_, i) => Array.from(w.subarray(i * width, (i + 1) * width)));
    const bias = Array.from(randomArray(random, out, 0.5));
    const input = k === 0 ? NETWORK_INPUT : layers.length - 1;
    if (k === 1) {
      // A dense map without activation followed by a lone activation: its input carries the error too.
      layers.push(denseLayer(`fc${k}`, rows, bias, input));
      layers.push(genericLayer(`act${k}`, { kind: 'activation', activation: activations[random.int(3)] }, [layers.length - 1], [[out]], [out]));
    } else {
      layers.push(denseLayer(`fc${k}`, rows, bias, input, activations[random.int(3)]));
    }
    width = out;
  }
  const first = layers[0].op;
  const inFeatures = first.kind === 'affine' && first.linear.kind === 'dense' ? first.linear.inFeatures : 0;
  return { inputName: 'x', inputShape: [inFeatures], layers, output: layers.length - 1 };
}

describe('pure forward pass: rigorous rounding bound τ', () => {
  it('bounds the float64 error of every pre-activation and lone-activation input (exact rational reference), and is tiny', () => {
    const random = new SeededRandom(1234);
    let checked = 0;
    let worstUse = 0;
    for (let t = 0; t < 40; t++) {
      const network = randomDenseChain(random);
      const x = Float64Array.from({ length: network.inputShape[0] }, () => random.gaussian() * Math.pow(10, random.between(-3, 3)));
      const values = nominal(network, x);
      const tau = values.absoluteError!;
      const exact = exactForward(network, x);
      let scale = 1;
      network.layers.forEach((layer, k) => {
        const affine = layer.op.kind === 'affine';
        const computed = affine ? values.preActivations[k]! : values.outputs[layer.inputs[0]];
        const reference = affine ? exact.pre[k]! : exact.outputs[layer.inputs[0]];
        // The per-layer bound of the values this layer's slope rule reads.
        const bound = affine ? values.preActivationErrors![k] : values.outputErrors![layer.inputs[0]];
        if (affine && !(layer.op.kind === 'affine' && layer.op.activation)) return;
        assert.ok(bound <= tau, `layer ${k}: per-layer bound ${bound} above τ ${tau}`);
        computed.forEach((v, i) => {
          const error = Math.abs(difference(dyadic(v), reference[i]));
          assert.ok(error <= bound, `network ${t} layer ${k} value ${i}: error ${error} > bound ${bound}`);
          worstUse = Math.max(worstUse, error / bound);
          scale = Math.max(scale, Math.abs(v));
          checked++;
        });
      });
      // Not vacuous: τ stays within 1e-12 of the largest magnitude involved (γ_n ≈ n·1.1e-16, n ≤ 65).
      assert.ok(tau > 0 && tau <= 1e-12 * scale * 100, `τ ${tau} at scale ${scale}`);
    }
    assert.ok(checked > 1000, `${checked} values checked`);
    // The bound is a worst case; actual errors use a visible part of it on some value.
    assert.ok(worstUse > 1e-4, `largest error / τ = ${worstUse}`);
  });

  it('a ReLU whose exact pre-activation is positive but rounds negative is not declared off (ε below the rounding error)', async () => {
    // y = 1 + 2^-54 + 2^-54 − 1 − 2^-54 summed left to right: each 2^-54 added to 1 is lost (below half
    // an ulp), so float64 gives −2^-54 while the exact value is +2^-54. At ε = 1e-17 the row reaches
    // ε‖w‖ = √5·1e-17 < 2^-54 ≈ 5.6e-17: exactly, the neuron is on in the whole ball and the local
    // constant of ReLU(w·x) is ‖w‖ = √5. Without τ the engine would see it off and report 0.
    const network: Network = {
      inputName: 'x',
      inputShape: [5],
      layers: [denseLayer('fc', [[1, 1, 1, 1, 1]], null, NETWORK_INPUT, { kind: 'relu' })],
      output: 0,
    };
    const x0 = Float64Array.from([1, 2 ** -54, 2 ** -54, -1, -(2 ** -54)]);
    const values = nominal(network, x0);
    assert.equal(values.preActivations[0]![0], -(2 ** -54));
    assert.ok(values.absoluteError! >= 2 ** -53, `τ ${values.absoluteError} must cover the error 2^-53`);
    const result = await analyzeNetwork(network, x0, { epsilons: [1e-17] });
    // 1e-9 relative: the exact eigen path adds its rounding margin (derivations.md §9) to √5.
    const local = result.runs[0].network.localBound;
    assert.ok(local >= Math.sqrt(5) && local <= Math.sqrt(5) * (1 + 1e-9), `local bound ${local}, exact √5`);
    const withoutTau = await analyzeNetwork(network, x0, { epsilons: [1e-17], forward: (p, x) => ({ ...(pureForward(p, x) as NominalValues), absoluteError: 0 }) });
    assert.equal(withoutTau.runs[0].network.localBound, 0, 'the float64 values alone call the neuron off');
  });
});
