// The pure forward pass's rounding bound τ (NominalValues.absoluteError, docs/derivations.md §14):
// it bounds the actual float64 error of every pre-activation of an activation unit and every input
// of a lone activation, checked against exact dyadic-rational arithmetic (float32 weights and float64
// inputs are dyadic rationals, and ReLU, LeakyReLU and Clip are exact on them); it is tiny; and it
// matters: a ReLU whose exact pre-activation is positive but whose float64 value comes out negative
// is not declared off at a radius below the rounding error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { floatLayer, pureForward, type NominalValues } from '../../src/engine/forward';
import type { Activation, Layer, Network } from '../../src/engine/network';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { add, difference, dyadic, exactActivation, mul, type Dyadic } from './helpers/dyadic';
import { denseLayer, genericLayer, NETWORK_INPUT, randomArray } from './helpers/engineNetworks';
import { Builder } from './helpers/engineRandomNetworks';

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

describe('the float64 rules that keep deep networks finite (§52a, e, f): sampled exact values within the bound', () => {
  /** Layer 0 of the network, by §14's rule on x known to ±e; and its value at each sampled exact input. */
  function check(network: Network, x: Float64Array, e: Float64Array, samples: Float64Array[], slack: number): { worstUse: number; error: Float64Array } {
    const prepared = prepareNetwork(network, 'typescript');
    const p = prepared.layers[0];
    const step = floatLayer(prepared, p, [x], [e]);
    let worstUse = 0;
    for (const exactInput of samples) {
      const exact = floatLayer(prepared, p, [exactInput], [new Float64Array(x.length)]).out;
      step.out.forEach((v, i) => {
        const gap = Math.abs(v - exact[i]);
        assert.ok(gap <= step.error[i] + slack * (1 + Math.abs(v)), `value ${i}: |computed − exact| = ${gap} > bound ${step.error[i]}`);
        if (step.error[i] > 0) worstUse = Math.max(worstUse, gap / step.error[i]);
      });
    }
    return { worstUse, error: step.error };
  }

  /** Corners of the box x ± e (random signs), plus the two patterns along sign(pattern). */
  function corners(random: SeededRandom, x: Float64Array, e: Float64Array, pattern: Float64Array, count: number): Float64Array[] {
    const along = (s: number) => x.map((v, i) => v + s * Math.sign(pattern[i]) * e[i]);
    return [along(1), along(-1), ...Array.from({ length: count }, () => x.map((v, i) => v + (random.between(0, 1) < 0.5 ? -1 : 1) * e[i] * random.between(0.5, 1)))];
  }

  it('activations: chord slopes over [ŷ − e, ŷ + e] bound |σ(ŷ) − σ(y*)|, and a ReLU or HardSwish off across the window passes no error', () => {
    const random = new SeededRandom(521);
    const activations: Activation[] = [{ kind: 'relu' }, { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 }, { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 }, { kind: 'sigmoid' }, { kind: 'tanh' }, { kind: 'leakyRelu', alpha: 0.1 }];
    for (const activation of activations) {
      const b = new Builder(random, [300]);
      const network = b.network(b.activation(NETWORK_INPUT, activation));
      const x = Float64Array.from({ length: 300 }, () => random.between(-7, 7));
      const e = Float64Array.from({ length: 300 }, () => 0.05 * random.between(0, 1));
      const samples = [-1, -0.6, 0.3, 1].map((t) => x.map((v, i) => v + t * e[i]));
      const { worstUse, error } = check(network, x, e, samples, 1e-14);
      assert.ok(worstUse > 0.5, `${activation.kind}: largest |Δσ| / bound = ${worstUse}`);
      if (activation.kind === 'relu' || activation.kind === 'hardSwish') {
        const off = activation.kind === 'relu' ? 0 : -3;
        x.forEach((v, i) => {
          // Only the evaluation's own rounding (HardSwish's γ_3 term) is left, no part of e.
          if (v + e[i] < off - 1e-9) assert.ok(error[i] < 1e-13, `${activation.kind} off at ${v} ± ${e[i]}: bound ${error[i]}`);
        });
      }
    }
  });

  it('softmax: the relative bound p̂_i expm1(e_i + max e) holds on the corners, and is far below ½‖e‖ for small probabilities', () => {
    const random = new SeededRandom(522);
    const b = new Builder(random, [4, 40]);
    const network = b.network(b.softmax(NETWORK_INPUT, 1));
    const x = Float64Array.from({ length: 160 }, () => random.gaussian() * 3);
    const e = Float64Array.from({ length: 160 }, () => 1e-4 * random.between(0.2, 1));
    const samples = corners(random, x, e, x, 200);
    // Adversarial per coordinate: raise it, lower every other one of its group.
    for (let i = 0; i < 160; i += 7) samples.push(x.map((v, j) => v + (j === i ? e[j] : Math.floor(j / 40) === Math.floor(i / 40) ? -e[j] : 0)));
    const { worstUse, error } = check(network, x, e, samples, 1e-15);
    assert.ok(worstUse > 0.3, `largest |Δp| / bound = ${worstUse}`);
    // ½‖e_g‖ ≥ ½ √40 · 2·10⁻⁵ ≈ 6·10⁻⁵ per coordinate; the relative bound is at most 2·10⁻⁴ p̂_i.
    const probabilities = floatLayer(prepareNetwork(network, 'typescript'), prepareNetwork(network, 'typescript').layers[0], [x], [e]).out;
    probabilities.forEach((p, i) => assert.ok(error[i] <= p * 2.1e-4 + 1e-14, `value ${i}: bound ${error[i]} at p = ${p}`));
  });

  it('layer normalisation: the coordinatewise bound holds on the corners, including the variance-shrinking pattern, and is below the 2-norm form', () => {
    const random = new SeededRandom(523);
    for (const epsilon of [1e-5, 0.5]) {
      const b = new Builder(random, [5, 64]);
      const network = b.network(b.layerNorm(NETWORK_INPUT, 1, epsilon, true));
      const x = Float64Array.from({ length: 320 }, () => random.gaussian() * 2 + 1);
      const e = Float64Array.from({ length: 320 }, () => 1e-6 * random.between(0.2, 1));
      // The centred values' signs: moving each toward the mean shrinks the variance.
      const centred = x.map((v, i) => {
        const base = Math.floor(i / 64) * 64;
        return v - x.subarray(base, base + 64).reduce((a, t) => a + t, 0) / 64;
      });
      const { worstUse, error } = check(network, x, e, corners(random, x, e, centred, 200), 1e-13);
      assert.ok(worstUse > 0.05, `largest |Δy| / bound = ${worstUse}`);
      // The 2-norm form is at least |γ_i| ‖e_g‖ / s_max ≥ |γ_i| √64 min e / (largest scale).
      const layer = network.layers[0].op;
      assert.ok(layer.kind === 'layerNorm' && layer.scale);
      for (let g = 0; g < 5; g++) {
        const group = centred.subarray(g * 64, (g + 1) * 64);
        const scale = Math.sqrt(group.reduce((a, v) => a + v * v, 0) / 64 + epsilon);
        const norm = Math.sqrt(e.subarray(g * 64, (g + 1) * 64).reduce((a, v) => a + v * v, 0));
        for (let i = 0; i < 64; i++) assert.ok(error[g * 64 + i] < (Math.abs(layer.scale[i]) * norm) / scale, `group ${g} value ${i}`);
      }
    }
  });
});
