// The double-double nominal pass (accurateForward.ts, docs/derivations.md §50) against exact dyadic
// arithmetic: every value it hands the bound engine is within its reported bound of the exact network,
// that bound is about half an ulp at any depth (it does not compound like §14's float64 bound), the
// error-free splitting of affine layers is exact where it claims to be, and the native kernels and the
// TypeScript operators give the same values within the bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accurateAffine } from '../../src/engine/accurateAffine';
import { accurateForward } from '../../src/engine/accurateForward';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import type { ConvTransposeParams, LinearParams, Network, Shape } from '../../src/engine/network';
import { forEachPoolTap } from '../../src/engine/operators/pooling';
import { createAffineOperator } from '../../src/engine/operators/registry';
import { gatherPermuted } from '../../src/engine/operators/transpose';
import { concatenate, prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { add, difference, dyadic, exactActivation, mul, sign, subtract, ZERO, type Dyadic } from './helpers/dyadic';
import { denseLayer, NETWORK_INPUT, randomArray, referenceForward } from './helpers/engineNetworks';
import { Builder } from './helpers/engineRandomNetworks';

function unit(n: number, j: number): Float64Array {
  const v = new Float64Array(n);
  v[j] = 1;
  return v;
}

/** Exact A x + b: A's columns read from the operator (each entry one product with 1: exact). */
function exactAffine(prepared: PreparedNetwork, k: number, x: Dyadic[]): Dyadic[] {
  const op = prepared.layers[k].op;
  if (op.kind !== 'affine') throw new Error('not affine');
  const { linear, bias } = op.affine;
  const y: Dyadic[] = Array.from({ length: linear.outSize }, (_v, i) => (bias ? dyadic(bias[i]) : ZERO));
  for (let j = 0; j < linear.inSize; j++) {
    if (sign(x[j]) === 0) continue;
    const column = linear.apply(unit(linear.inSize, j));
    for (let i = 0; i < column.length; i++) if (column[i] !== 0) y[i] = add(y[i], mul(dyadic(column[i]), x[j]));
  }
  return y;
}

/** Rearranges dyadic values the way a float64 helper rearranges indices. */
function rearrange(values: Dyadic[], indices: Float64Array): Dyadic[] {
  return Array.from(indices, (i) => values[i]);
}

/** The exact network (affine maps, ReLU/LeakyReLU/Clip, max pooling, Add, Concat, Transpose, Reshape, products). */
function exactForward(prepared: PreparedNetwork, x0: Float64Array): { pre: (Dyadic[] | null)[]; outputs: Dyadic[][] } {
  const outputs: Dyadic[][] = [];
  const pre: (Dyadic[] | null)[] = [];
  const value = (ref: number) => (ref === NETWORK_INPUT ? Array.from(x0, dyadic) : outputs[ref]);
  prepared.layers.forEach((p, k) => {
    const inputs = p.layer.inputs.map(value);
    const lop = p.layer.op;
    const op = p.op;
    let out: Dyadic[];
    let y: Dyadic[] | null = null;
    if (op.kind === 'affine' && lop.kind === 'affine') {
      y = exactAffine(prepared, k, inputs[0]);
      out = y.map((v) => exactActivation(lop.activation, v));
    } else if (lop.kind === 'activation') {
      out = inputs[0].map((v) => exactActivation(lop.activation, v));
    } else if (op.kind === 'maxPool') {
      out = Array.from({ length: p.outSize }, () => null as Dyadic | null) as Dyadic[];
      forEachPoolTap(op.pool.geometry, (o, i) => {
        if (out[o] === null || sign(subtract(inputs[0][i], out[o])) > 0) out[o] = inputs[0][i];
      });
    } else if (op.kind === 'add') {
      const signed = (k: number, v: Dyadic) => (op.signs[k] < 0 ? subtract(ZERO, v) : v);
      out = inputs[0].map((v, i) => inputs.slice(1).reduce((s, t, k) => add(s, signed(k + 1, t[i])), signed(0, v)));
    } else if (op.kind === 'mul') {
      out = Array.from(op.source, (j, i) => mul(inputs[0][i], inputs[1][j]));
    } else if (op.kind === 'concat') {
      let offset = 0;
      const indices = inputs.map((t) => {
        const start = offset;
        offset += t.length;
        return Float64Array.from(t, (_v, i) => start + i);
      });
      out = rearrange(inputs.flat(), concatenate(indices, op.outer, op.blocks, new Float64Array(p.outSize)));
    } else if (op.kind === 'transpose') {
      out = rearrange(inputs[0], gatherPermuted(Float64Array.from(inputs[0], (_v, i) => i), op.source, new Float64Array(p.outSize)));
    } else if (op.kind === 'reshape') {
      out = inputs[0];
    } else {
      throw new Error(`exactForward: no exact form for ${op.kind}`);
    }
    pre.push(y);
    outputs.push(out);
  });
  return { pre, outputs };
}

/** Every value of every layer with only exactly representable operators, a residual, a concat, a transpose and a product. */
function exactGraph(random: SeededRandom): Network {
  const b = new Builder(random, [2, 5 + random.int(3), 5 + random.int(3)]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(NETWORK_INPUT, 4, [3, 3], [1, 1], same, [1, 1], 1, { kind: 'relu' });
  const depthwise = b.conv(a, 4, [3, 3], [1, 1], same, [1, 1], 4, { kind: 'leakyRelu', alpha: 0.1 });
  const sum = b.add(a, depthwise);
  const lone = b.activation(sum, { kind: 'relu' });
  const side = b.channelAffine(lone, { kind: 'clip', min: 0, max: 6 });
  const joined = b.concatChannels(lone, side);
  const pooled = b.pool(joined, 'maxPool', { kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] });
  const gate = b.conv(pooled, 8, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1, { kind: 'clip', min: 0, max: 1 });
  const gated = b.mul(pooled, gate);
  const nhwc = b.transpose(gated, [1, 2, 0]);
  const flat = b.flatten(nhwc);
  const hidden = b.dense(flat, 12, { kind: 'relu' });
  return b.network(b.dense(hidden, 3));
}

/** ulp(v) for float64 (2^−1074 at 0). */
function ulp(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -1022 ? 2 ** -1074 : 2 ** (Math.floor(Math.log2(a)) - 52);
}

const backends = ['typescript', 'native'] as const;

describe('double-double nominal pass: values within a bound of about half an ulp', () => {
  it('every pre-activation and output is within its reported bound of the exact value, and that bound is about an ulp (random graphs, exact reference)', () => {
    const random = new SeededRandom(2027);
    let checked = 0;
    let worstUse = 0;
    for (let t = 0; t < 12; t++) {
      const network = exactGraph(random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian() * 10 ** random.between(-2, 2));
      for (const backend of backends) {
        const prepared = prepareNetwork(network, backend);
        const values = accurateForward(prepared, x0) as NominalValues;
        const exact = exactForward(prepared, x0);
        prepared.layers.forEach((_p, k) => {
          const pairs: [Float64Array | null, Dyadic[] | null, number][] = [
            [values.preActivations[k], exact.pre[k], values.preActivationErrors![k]],
            [values.outputs[k], exact.outputs[k], values.outputErrors![k]],
          ];
          for (const [computed, reference, bound] of pairs) {
            if (!computed || !reference) continue;
            let largest = 0;
            computed.forEach((v, i) => {
              const error = Math.abs(difference(dyadic(v), reference[i]));
              assert.ok(error <= bound, `network ${t} (${backend}) layer ${k} value ${i}: error ${error} > bound ${bound}`);
              // Faithful: hi is one of the two doubles around the exact value.
              assert.ok(error <= ulp(v), `network ${t} layer ${k} value ${i}: error ${error} above an ulp of ${v}`);
              if (bound > 0) worstUse = Math.max(worstUse, error / bound);
              largest = Math.max(largest, Math.abs(v));
              checked++;
            });
            // The bound is half an ulp of the largest value plus the (tiny) double-double error, not m·u.
            assert.ok(bound <= largest * 2 ** -52 * 1.01 + 1e-24 * Math.max(1, largest), `layer ${k}: bound ${bound} at scale ${largest}`);
          }
        });
      }
    }
    assert.ok(checked > 5000, `${checked} values checked`);
    assert.ok(worstUse > 1e-3, `largest error / bound = ${worstUse}`);
  });

  it('error-free splitting: hi + lo is within the reported fresh error of the exact A x + b on conv (groups, strides, dilations, pads), conv-transpose (2-D and 3-D), 3-D conv, dense and channel affine (with a per-element offset), both backends', () => {
    const random = new SeededRandom(5);
    const cases: { params: LinearParams; shape: Shape }[] = [
      {
        params: { kind: 'conv', weight: randomArray(random, 6 * 2 * 3 * 2, 3), weightShape: [6, 2, 3, 2], bias: randomArray(random, 6), strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2], group: 2 },
        shape: [4, 7, 6],
      },
      {
        params: { kind: 'convTranspose', weight: randomArray(random, 4 * 3 * 3 * 2), weightShape: [4, 3, 3, 2], bias: randomArray(random, 6), strides: [2, 3], pads: [1, 0, 0, 1], dilations: [1, 2], group: 2, outputPadding: [1, 2] } as ConvTransposeParams,
        shape: [4, 3, 4],
      },
      { params: { kind: 'dense', weight: randomArray(random, 9 * 300, 1e-3), outFeatures: 9, inFeatures: 300, bias: randomArray(random, 9) }, shape: [300] },
      { params: { kind: 'channelAffine', scale: randomArray(random, 3, 7), shift: randomArray(random, 3) }, shape: [3, 2, 2] },
      // x + C with C per element (a positional table, docs/derivations.md §33), and a 3-D convolution (§34).
      { params: { kind: 'channelAffine', scale: new Float32Array(3).fill(-1), shift: new Float32Array(3), offset: randomArray(random, 12, 1e4) }, shape: [3, 2, 2] },
      {
        params: { kind: 'conv3d', weight: randomArray(random, 4 * 1 * 2 * 3 * 2, 3), weightShape: [4, 1, 2, 3, 2], bias: randomArray(random, 4), strides: [1, 2, 1], pads: [1, 0, 1, 0, 1, 1], dilations: [2, 1, 1], group: 2 },
        shape: [2, 4, 5, 3],
      },
      {
        params: { kind: 'convTranspose3d', weight: randomArray(random, 4 * 1 * 2 * 3 * 2), weightShape: [4, 1, 2, 3, 2], bias: randomArray(random, 2), strides: [2, 1, 2], pads: [1, 0, 0, 0, 1, 1], dilations: [1, 2, 1], group: 2, outputPadding: [1, 0, 1] },
        shape: [4, 2, 3, 2],
      },
    ];
    for (const { params, shape } of cases) {
      for (const backend of backends) {
        const affine = createAffineOperator(params, shape, params.kind, backend);
        const n = affine.linear.inSize;
        // Values over twelve orders of magnitude, and a low part as a previous layer leaves it.
        const hi = Float64Array.from({ length: n }, () => random.gaussian() * 10 ** random.between(-6, 6));
        const lo = hi.map((v) => v * 2 ** -54 * random.between(-1, 1));
        for (let i = 0; i < n; i++) {
          const s = hi[i] + lo[i];
          lo[i] = hi[i] - s + lo[i];
          hi[i] = s;
        }
        const result = accurateAffine(params, shape, params.kind, backend, affine, hi, lo);
        assert.ok(result, `${params.kind}: the splitting applies`);
        const x = Array.from(hi, (v, i) => add(dyadic(v), dyadic(lo[i])));
        const y: Dyadic[] = Array.from({ length: affine.linear.outSize }, (_v, i) => (affine.bias ? dyadic(affine.bias[i]) : ZERO));
        for (let j = 0; j < n; j++) {
          const column = affine.linear.apply(unit(n, j));
          for (let i = 0; i < column.length; i++) if (column[i] !== 0) y[i] = add(y[i], mul(dyadic(column[i]), x[j]));
        }
        let scale = 0;
        result.hi.forEach((v, i) => {
          const error = Math.abs(difference(add(dyadic(v), dyadic(result.lo[i])), y[i]));
          assert.ok(error <= result.fresh[i], `${params.kind} (${backend}) output ${i}: error ${error} > fresh bound ${result.fresh[i]}`);
          scale = Math.max(scale, Math.abs(v));
        });
        // ~2^−80 of the scale of |A||x| (m u 2^−38 for the rest), where float64 would give m·2^−53.
        const fresh = Math.max(...result.fresh);
        assert.ok(fresh > 0 && fresh < 1e-22 * Math.max(...hi.map(Math.abs)) * 10, `${params.kind}: fresh ${fresh}`);
      }
    }
  });

  it('non-finite weights or inputs have no slices: the double-double affine declines (it looped forever on ∞ before)', () => {
    const affineOf = (weight: number) => {
      const network: Network = { inputName: 'x', inputShape: [2], layers: [denseLayer('inf', [[weight, 1], [2, -1]], [0, 0], NETWORK_INPUT)], output: 0 };
      const op = prepareNetwork(network, 'typescript').layers[0].op;
      const lop = network.layers[0].op;
      assert.ok(op.kind === 'affine' && lop.kind === 'affine');
      return (x: Float64Array) => accurateAffine(lop.linear, [2], 'inf', 'typescript', op.affine, x, new Float64Array(2));
    };
    assert.equal(affineOf(Infinity)(Float64Array.from([1, 2])), null);
    assert.equal(affineOf(-Infinity)(Float64Array.from([1, 2])), null);
    assert.equal(affineOf(3)(Float64Array.from([Infinity, 2])), null);
    assert.notEqual(affineOf(3)(Float64Array.from([1, 2])), null);
  });

  it('weights too small for float32 slices fall back to the float64 bound, which still holds', () => {
    const network: Network = {
      inputName: 'x',
      inputShape: [3],
      layers: [denseLayer('tiny', [[1e-36, -3e-37, 2e-36], [4e-37, 1e-36, -1e-36]], [0, 0], NETWORK_INPUT, { kind: 'relu' })],
      output: 0,
    };
    const prepared = prepareNetwork(network, 'typescript');
    const op = prepared.layers[0].op;
    const lop = network.layers[0].op;
    assert.ok(op.kind === 'affine' && lop.kind === 'affine');
    const x0 = Float64Array.from([1.5, -2.25, 3.125]);
    assert.equal(accurateAffine(lop.linear, [3], 'tiny', 'typescript', op.affine, x0, new Float64Array(3)), null);
    const values = accurateForward(prepared, x0) as NominalValues;
    const exact = exactForward(prepared, x0);
    values.preActivations[0]!.forEach((v, i) => {
      assert.ok(Math.abs(difference(dyadic(v), exact.pre[0]![i])) <= values.preActivationErrors![0]);
    });
  });

  it('the value that float64 rounds to the wrong sign comes out exact, so τ no longer has to cover it', async () => {
    // 1 + 2^-54 + 2^-54 − 1 − 2^-54 is −2^-54 in float64 (engineForwardError.test.ts), +2^-54 exactly.
    const network: Network = {
      inputName: 'x',
      inputShape: [5],
      layers: [denseLayer('fc', [[1, 1, 1, 1, 1]], null, NETWORK_INPUT, { kind: 'relu' })],
      output: 0,
    };
    const x0 = Float64Array.from([1, 2 ** -54, 2 ** -54, -1, -(2 ** -54)]);
    const values = accurateForward(prepareNetwork(network), x0) as NominalValues;
    assert.equal(values.preActivations[0]![0], 2 ** -54);
    // Only the (bounded, not actual) rounding of the splitting's rest remains: about 2^−90 here, not 2^−53.
    assert.ok(values.absoluteError! < 1e-25, `τ ${values.absoluteError}`);
    const result = await analyzeNetwork(network, x0, { epsilons: [1e-17] });
    const local = result.runs[0].network.localBound;
    assert.ok(local >= Math.sqrt(5) && local <= Math.sqrt(5) * (1 + 1e-9), `local bound ${local}, exact √5`);
  });

  it('native kernels and TypeScript operators give the same values within their bounds', () => {
    const random = new SeededRandom(77);
    for (let t = 0; t < 6; t++) {
      const network = exactGraph(random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
      const [ts, native] = (['typescript', 'native'] as const).map((backend) => accurateForward(prepareNetwork(network, backend), x0) as NominalValues);
      ts.outputs.forEach((v, k) => {
        const allowed = ts.outputErrors![k] + native.outputErrors![k];
        v.forEach((value, i) => assert.ok(Math.abs(value - native.outputs[k][i]) <= allowed, `layer ${k} value ${i}: ${value} vs ${native.outputs[k][i]}`));
      });
    }
  });

  it('does not compound like the float64 bound: a 20-layer dense chain whose |A| grows sixfold per layer: the float64 bound (§14) reaches the values themselves, the double-double one stays 2^40 below it', () => {
    const random = new SeededRandom(3);
    const width = 24;
    const layers = Array.from({ length: 20 }, (_v, k) => {
      // Row sums of |W| around 5 while the values stay near 10: both bounds grow about sixfold per layer.
      const rows = Array.from({ length: width }, () => Array.from(randomArray(random, width, 1.5 / Math.sqrt(width))));
      return denseLayer(`fc${k}`, rows, Array.from(randomArray(random, width, 0.1)), k === 0 ? NETWORK_INPUT : k - 1, { kind: 'leakyRelu', alpha: 0.5 });
    });
    const network: Network = { inputName: 'x', inputShape: [width], layers, output: layers.length - 1 };
    const x0 = Float64Array.from({ length: width }, () => random.gaussian());
    const prepared = prepareNetwork(network);
    const accurate = accurateForward(prepared, x0) as NominalValues;
    const float64 = pureForward(prepared, x0) as NominalValues;
    const last = layers.length - 1;
    const scale = Math.max(...accurate.outputs[last].map(Math.abs));
    assert.ok(accurate.outputErrors![last] <= 1e-9 * scale, `double-double bound ${accurate.outputErrors![last]} at scale ${scale}`);
    assert.ok(float64.outputErrors![last] > 2 ** 40 * accurate.outputErrors![last], `float64 bound ${float64.outputErrors![last]}`);
    const exact = exactForward(prepared, x0);
    accurate.outputs[last].forEach((v, i) => assert.ok(Math.abs(difference(dyadic(v), exact.outputs[last][i])) <= accurate.outputErrors![last]));
  });
  it('HardSwish, HardSigmoid, Sub and average pooling on pairs (§52b–d): within the reported bound of the exact value, and that bound about an ulp, both backends', () => {
    const random = new SeededRandom(52);
    let checked = 0;
    for (let t = 0; t < 6; t++) {
      const b = new Builder(random, [3, 6, 6]);
      const same: [number, number, number, number] = [1, 1, 1, 1];
      // Scales spread values across all three HardSwish pieces (kinks at −3 and 3).
      const a = b.conv(NETWORK_INPUT, 4, [3, 3], [1, 1], same, [1, 1], 1, { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 });
      const c = b.channelAffine(a, { kind: 'hardSwish', alpha: 0.2, beta: 0.5 });
      const gate = b.conv(c, 4, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1, { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 });
      const gap = b.subtract(c, gate);
      b.pool(gap, 'avgPool', { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] }, t % 2 === 0);
      const network = b.network(b.globalAvgPool(gap));
      const x0 = Float64Array.from({ length: 108 }, () => random.gaussian() * 6);
      for (const backend of backends) {
        const prepared = prepareNetwork(network, backend);
        const values = accurateForward(prepared, x0) as NominalValues;
        // The exact network up to the pools (dyadic).
        const exact = exactForward({ ...prepared, layers: prepared.layers.slice(0, 4) }, x0);
        for (let k = 0; k < 4; k++) {
          const bound = values.outputErrors![k];
          values.outputs[k].forEach((v, i) => {
            const error = Math.abs(difference(dyadic(v), exact.outputs[k][i]));
            assert.ok(error <= bound, `network ${t} (${backend}) layer ${k} value ${i}: error ${error} > bound ${bound}`);
            assert.ok(error <= ulp(v), `layer ${k} value ${i}: error ${error} above an ulp of ${v}`);
            checked++;
          });
          const largest = values.outputs[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(bound <= largest * 2 ** -52 * 1.01 + 1e-24 * Math.max(1, largest), `layer ${k}: bound ${bound} at scale ${largest}`);
        }
        // Both pools read the exact (dyadic) difference; each average is checked as n · value against the exact window sum.
        for (const k of [4, 5]) {
          const op = prepared.layers[k].op;
          assert.ok(op.kind === 'linearPool');
          // Window sums and counts read from the operator: A e_j's nonzero entries are 1/n.
          const sums: Dyadic[] = Array.from({ length: op.linear.outSize }, () => ZERO);
          const counts = new Float64Array(op.linear.outSize);
          for (let j = 0; j < op.linear.inSize; j++) {
            op.linear.apply(unit(op.linear.inSize, j)).forEach((w, o) => {
              if (w !== 0) {
                sums[o] = add(sums[o], exact.outputs[3][j]);
                counts[o] = Math.round(1 / w);
              }
            });
          }
          const bound = values.outputErrors![k];
          values.outputs[k].forEach((v, o) => {
            const error = Math.abs(difference(mul(dyadic(v), dyadic(counts[o])), sums[o])) / counts[o];
            assert.ok(error <= bound, `network ${t} (${backend}) pool layer ${k} value ${o}: error ${error} > bound ${bound}`);
            checked++;
          });
          const largest = values.outputs[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(bound <= largest * 2 ** -52 * 1.01 + 1e-24 * Math.max(1, largest), `pool layer ${k}: bound ${bound} at scale ${largest}`);
        }
      }
    }
    assert.ok(checked > 1000, `${checked} values checked`);
  });
  it('a rec-like network (HardSwish convs, a squeeze-excitation gate, average pooling, LayerNorm, attention, a residual Sub, x · sigmoid(x)) analysed on the pair pass: sampled points never beat a layer radius or the network bound', async () => {
    const random = new SeededRandom(5252);
    let points = 0;
    let layerNormUse = 0;
    for (let t = 0; t < 6; t++) {
      const b = new Builder(random, [2, 6, 6]);
      const same: [number, number, number, number] = [1, 1, 1, 1];
      const features = b.channelAffine(b.conv(NETWORK_INPUT, 4, [3, 3], [1, 1], same, [1, 1], 1, { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 }));
      const squeezed = b.conv(b.conv(b.globalAvgPool(features), 2, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1, { kind: 'relu' }), 4, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1, { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 });
      const gated = b.mul(features, squeezed);
      const tokens = b.reshape(b.pool(gated, 'avgPool', { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }), [4, 9]);
      const normalised = b.layerNorm(tokens, 1, 1e-5, true);
      const scores = b.matMul(b.rowDense(normalised, 5), b.transpose(b.rowDense(normalised, 5), [1, 0]));
      const attended = b.matMul(b.softmax(scores, 1), b.rowDense(normalised, 9));
      const residual = b.subtract(tokens, attended);
      const swish = b.mul(residual, b.rowDense(residual, 9, { kind: 'sigmoid' }));
      const network = b.network(b.dense(b.flatten(swish), 3));
      const x0 = Float64Array.from({ length: 72 }, () => random.between(0, 1));
      const result = await analyzeNetwork(network, x0, { epsilons: [1e-3, 0.05], lanczosSteps: 60, failureProbability: 1e-3, exactCutoff: 64, lowerBound: { budget: 30 } });
      const base = referenceForward(network, x0);
      for (const run of result.runs) {
        assert.ok(Number.isFinite(run.network.localBound), `ε=${run.epsilon}: bound ${run.network.localBound}`);
        for (let p = 0; p < 40; p++) {
          const direction = Float64Array.from({ length: 72 }, () => random.gaussian());
          const norm = Math.sqrt(direction.reduce((a, v) => a + v * v, 0));
          const x = x0.map((v, i) => v + (run.epsilon * (p % 2 === 0 ? 1 : random.between(0, 1)) * direction[i]) / norm);
          const dx = Math.sqrt(x.reduce((a, v, i) => a + (v - x0[i]) ** 2, 0));
          const values = referenceForward(network, x);
          network.layers.forEach((layer, k) => {
            const moved = Math.sqrt(values[k].reduce((a, v, i) => a + (v - base[k][i]) ** 2, 0));
            assert.ok(moved <= run.layers[k].epsilonOut * (1 + 1e-9) + 1e-12, `ε=${run.epsilon} ${layer.label}: moved ${moved} > radius ${run.layers[k].epsilonOut}`);
            if (layer.op.kind === 'layerNorm') layerNormUse = Math.max(layerNormUse, moved / run.layers[k].epsilonOut);
          });
          const out = network.output;
          const ratio = Math.sqrt(values[out].reduce((a, v, i) => a + (v - base[out][i]) ** 2, 0)) / dx;
          assert.ok(ratio <= run.network.localBound * (1 + 1e-9), `ε=${run.epsilon}: sampled ratio ${ratio} > bound ${run.network.localBound}`);
          points++;
        }
      }
    }
    assert.equal(points, 6 * 2 * 40);
    // Not vacuous: the points move the LayerNorm's output by a visible part of its radius (observed 0.018;
    // the radii after it are products over attention, looser by orders of magnitude, §31).
    assert.ok(layerNormUse > 0.005, `largest moved / radius at the LayerNorm ${layerNormUse}`);
  });
});
