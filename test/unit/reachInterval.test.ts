// Two-sided per-coordinate reach (docs/derivations.md §69): every layer's interval holds the values its
// tensor takes at sampled and hill-climbed points of the ball; in the slopes-only run a window's winner at
// any point of the ball is one of the entries it keeps; the hand-derived rules give their exact intervals;
// and a decibel front end whose quiet band stays clipped is bounded near its exact constant.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { layerRunPrefixReach } from '../../src/engine/composed/composedBound';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network, type TensorRef } from '../../src/engine/network';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { activationImage, layerInterval, type Interval } from '../../src/engine/reachInterval';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { node, tensor, writeModel } from '../fixtures/onnxBuilder';
import { chain, denseLayer, genericLayer, referenceForward } from './helpers/engineNetworks';
import {
  Builder, randomConvNetwork, randomGraphNetwork, randomHardSwishNetwork, randomLayerNormNetwork, randomProductNetwork, randomSelectionNetwork, randomSmoothChainNetwork,
  randomPreNormAttentionNetwork, randomSmoothNetwork, randomSoftmaxNetwork, randomTinySelectionNetwork,
} from './helpers/engineRandomNetworks';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };
const builders = [
  randomProductNetwork, randomSelectionNetwork, randomTinySelectionNetwork, randomSmoothNetwork, randomSmoothChainNetwork, randomConvNetwork,
  randomGraphNetwork, randomHardSwishNetwork, randomLayerNormNetwork, randomSoftmaxNetwork,
];

function norm(v: Float64Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

/** x0 + the direction scaled to `radius`. */
function pointAt(x0: Float64Array, direction: Float64Array, radius: number): Float64Array {
  const length = norm(direction);
  return x0.map((v, i) => v + (radius * direction[i]) / length);
}

/** Uniform points of the ball, points on its sphere, and points along the axes on the sphere. */
function ballPoints(random: SeededRandom, x0: Float64Array, epsilon: number): Float64Array[] {
  const n = x0.length;
  const points: Float64Array[] = [];
  for (let s = 0; s < 30; s++) {
    const direction = Float64Array.from({ length: n }, () => random.gaussian());
    points.push(pointAt(x0, direction, s % 2 ? epsilon : epsilon * Math.pow(random.uniform(), 1 / n)));
  }
  for (let j = 0; j < Math.min(n, 12); j++) {
    const axis = new Float64Array(n);
    axis[j] = random.uniform() < 0.5 ? -1 : 1;
    points.push(pointAt(x0, axis, epsilon));
  }
  return points;
}

/**
 * Every tensor's interval by layerInterval alone, from the box x0 ± ε (which holds the ball): an
 * affine layer's activation is applied to its pre-activation's interval by activationImage where that
 * is monotone, and the float rule's interval is kept alongside (both must hold).
 */
function propagate(prepared: PreparedNetwork, x0: Float64Array, epsilon: number): { out: Interval[]; pre: (Interval | null)[]; images: (Interval | null)[] } {
  const inputBox: Interval = { low: x0.map((v) => v - epsilon * (1 + 1e-15)), high: x0.map((v) => v + epsilon * (1 + 1e-15)) };
  const out: Interval[] = [];
  const pre: (Interval | null)[] = [];
  const images: (Interval | null)[] = [];
  const of = (ref: TensorRef) => (ref === NETWORK_INPUT ? inputBox : out[ref]);
  for (const p of prepared.layers) {
    const step = layerInterval(prepared, p, p.layer.inputs.map(of));
    const lop = p.layer.op;
    images.push(step.pre && lop.kind === 'affine' && lop.activation ? activationImage(lop.activation, step.pre, [-Infinity, Infinity]) : null);
    out.push(step.out);
    pre.push(step.pre);
  }
  return { out, pre, images };
}

/** |value| in [low, high] up to the float64 pass's own rounding of the sampled value. */
function inside(value: number, interval: Interval, j: number): boolean {
  const slack = 1e-9 * (1 + Math.abs(value));
  return value >= interval.low[j] - slack && value <= interval.high[j] + slack;
}

describe('two-sided per-coordinate reach (derivations §69)', () => {
  it('every layer\'s interval holds its values at sampled and hill-climbed points of the ball (random networks with squares, gates, windows, smooth maps)', () => {
    const random = new SeededRandom(69);
    let checked = 0;
    let climbed = 0;
    let tighter = 0;
    for (let k = 0; k < 30; k++) {
      const { network } = builders[k % builders.length](random);
      const prepared = prepareNetwork(network, k % 2 === 0 ? 'typescript' : 'native');
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian() * (random.uniform() < 0.5 ? 1 : 5));
      const epsilon = Math.pow(10, random.between(-3, 0.3));
      const { out, pre, images } = propagate(prepared, x0, epsilon);
      const valuesAt = (x: Float64Array) => pureForward(prepared, x) as NominalValues;
      const check = (values: NominalValues, label: string) => {
        prepared.layers.forEach((p, layer) => {
          values.outputs[layer].forEach((v, j) => {
            assert.ok(inside(v, out[layer], j), `${label} layer ${layer} (${p.op.kind}) coordinate ${j}: ${v} outside [${out[layer].low[j]}, ${out[layer].high[j]}]`);
            const image = images[layer];
            if (image) assert.ok(inside(v, image, j), `${label} layer ${layer}: ${v} outside the activation's image [${image.low[j]}, ${image.high[j]}]`);
            checked++;
          });
          const preValues = values.preActivations[layer];
          const preInterval = pre[layer];
          if (preValues && preInterval) preValues.forEach((v, j) => assert.ok(inside(v, preInterval, j), `${label} layer ${layer} pre-activation ${j}: ${v} outside`));
        });
      };
      const points = ballPoints(random, x0, epsilon);
      points.forEach((x, s) => check(valuesAt(x), `network ${k} point ${s}`));
      // Hill-climb a few coordinates up and down: random steps on the ball, kept when they move the coordinate further.
      for (let attempt = 0; attempt < 4; attempt++) {
        const layer = random.int(prepared.layers.length);
        const j = random.int(prepared.layers[layer].outSize);
        const sign = attempt % 2 ? 1 : -1;
        let x = points[random.int(points.length)];
        let best = sign * valuesAt(x).outputs[layer][j];
        for (let step = 0, size = epsilon / 2; step < 60; step++, size *= 0.95) {
          const direction = Float64Array.from({ length: x.length }, () => random.gaussian());
          const moved = x.map((v, i) => v + (size * direction[i]) / norm(direction));
          const offset = moved.map((v, i) => v - x0[i]);
          const candidate = norm(offset) > epsilon ? pointAt(x0, offset, epsilon) : moved;
          const value = sign * valuesAt(candidate).outputs[layer][j];
          if (value > best) [x, best] = [candidate, value];
        }
        check(valuesAt(x), `network ${k} climb ${attempt}`);
        climbed++;
      }
      // Where an input entry is quiet and moves both ways, a square's interval is one-sided: its low end is 0, not below.
      prepared.layers.forEach((p, layer) => {
        if (p.op.kind === 'mul' && p.layer.inputs[0] === p.layer.inputs[1]) tighter += out[layer].low.filter((v) => v === 0).length;
      });
    }
    assert.ok(checked > 20000, `${checked} values checked`);
    assert.ok(climbed >= 100, `${climbed} climbs`);
    assert.ok(tighter > 0, 'some square held 0 in its interval');
  });

  it('hand-derived: an affine map, a square, a product, a maximum and Log give their exact intervals', () => {
    // y = W x + b with W = [[1, −2], [0.5, 0]], b = (0.5, 0), x in [0, 1] × [−1, 1]: [−1.5, 3.5] and [0, 0.5];
    // then y², y · z and max(y, z) with z in [−1, 1] × [0.5, 1]: [0, 12.25] (not [−5.25, 12.25]),
    // [−3.5, 3.5] and [0, 0.5], [−1, 3.5]; log of [−2, e] and [0.5, 1]: [−∞, 1], [log 0.5, 0].
    const network: Network = chain([2], [
      denseLayer('d', [[1, -2], [0.5, 0]], [0.5, 0], NETWORK_INPUT),
      genericLayer('sq', { kind: 'mul' }, [0, 0], [[2], [2]], [2]),
      genericLayer('prod', { kind: 'mul' }, [0, 1], [[2], [2]], [2]),
      genericLayer('max', { kind: 'maximum' }, [0, 1], [[2], [2]], [2]),
      genericLayer('log', { kind: 'activation', activation: { kind: 'log' } }, [0], [[2]], [2]),
    ]);
    const prepared = prepareNetwork(network, 'typescript');
    const box: Interval = { low: Float64Array.of(0, -1), high: Float64Array.of(1, 1) };
    const dense = layerInterval(prepared, prepared.layers[0], [box]).out;
    const close = (interval: Interval, j: number, low: number, high: number, what: string) => {
      assert.ok(interval.low[j] <= low && interval.high[j] >= high, `${what}: [${interval.low[j]}, ${interval.high[j]}] does not hold [${low}, ${high}]`);
      // The float rule keeps 1e-6 of its error bound for its own rounding (§14): no more than that.
      const allowance = 2e-6 * (1 + Math.abs(low) + Math.abs(high));
      assert.ok(interval.low[j] >= low - allowance && interval.high[j] <= high + allowance, `${what}: [${interval.low[j]}, ${interval.high[j]}] wider than [${low}, ${high}]`);
    };
    close(dense, 0, -1.5, 3.5, 'W x + b, row 0');
    close(dense, 1, 0, 0.5, 'W x + b, row 1');
    // The products read layer 0's output twice (a square) and against a second tensor given here.
    const square = layerInterval(prepared, prepared.layers[1], [dense, dense]).out;
    close(square, 0, 0, 12.25, 'square of [−1.5, 3.5]');
    const other: Interval = { low: Float64Array.of(-1, 0.5), high: Float64Array.of(1, 1) };
    const product = layerInterval(prepared, prepared.layers[2], [dense, other]).out;
    close(product, 0, -3.5, 3.5, '[−1.5, 3.5] · [−1, 1]');
    close(product, 1, 0, 0.5, '[0, 0.5] · [0.5, 1]');
    const maximum = layerInterval(prepared, prepared.layers[3], [dense, other]).out;
    close(maximum, 0, -1, 3.5, 'max([−1.5, 3.5], [−1, 1])');
    const log = layerInterval(prepared, prepared.layers[4], [{ low: Float64Array.of(-2, 0.5), high: Float64Array.of(Math.E, 1) }]).out;
    assert.equal(log.low[0], -Infinity, 'log of an interval reaching 0 has no low end');
    close(log, 0, -Infinity, 1, 'log [−2, e]');
    close(log, 1, Math.log(0.5), 0, 'log [0.5, 1]');
  });

  it('in the slopes-only run, each window\'s winner at points of the ball is an entry it keeps, or an entry that does not move, and each product\'s a-edge holds b(x)', () => {
    const random = new SeededRandom(690);
    let windows = 0;
    let settled = 0;
    let products = 0;
    const windowBuilders = [randomSelectionNetwork, randomTinySelectionNetwork, randomSmoothNetwork, randomConvNetwork, randomProductNetwork];
    for (let k = 0; k < 24; k++) {
      const { network } = windowBuilders[k % windowBuilders.length](random);
      const prepared = prepareNetwork(network, 'typescript');
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian() * (random.uniform() < 0.5 ? 1 : 5));
      const epsilon = Math.pow(10, random.between(-3, 0));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const ctx = { prepared, x0, nominal, spectralCache: new Map(), spectral: TS_SPECTRAL };
      let product;
      try {
        product = runEpsilon(ctx, epsilon);
      } catch {
        continue; // a smooth map whose interval reaches its singularity at this ε: refused in the first run
      }
      const { prefixReach } = layerRunPrefixReach(prepared, TS_SPECTRAL, Infinity);
      const run = runEpsilon({ ...ctx, prefixReach }, epsilon, product);
      // The concatenated inputs of a window layer, as its edges index them.
      const entries = (values: NominalValues, x: Float64Array, layer: number) => {
        const parts = prepared.layers[layer].layer.inputs.map((ref) => tensorValue(values, x, ref));
        return Float64Array.from(parts.flatMap((part) => [...part]));
      };
      for (const x of ballPoints(random, x0, epsilon)) {
        const values = pureForward(prepared, x) as NominalValues;
        prepared.layers.forEach((p, layer) => {
          const slopes = run.slopes[layer];
          const edges = slopes?.edges;
          if (!slopes || !edges) return;
          if (p.op.kind === 'mul') {
            if (p.op.divide) return;
            // A product's a-edge has slope b_j(x) (the chord identity, §55): within its edge's interval, cut by b's (§69).
            const [a0Size, b] = [p.inSizes[0], tensorValue(values, x, p.layer.inputs[1])];
            for (let e = 0; e < edges.input.length; e++) {
              if (edges.input[e] >= a0Size) continue;
              const slope = b[p.op.source[edges.input[e]]];
              const o = edges.output[e];
              assert.ok(Math.abs(slope - slopes.mid[e]) <= slopes.outputRadius[o] * (1 + 1e-9) + 1e-9 * (1 + Math.abs(slope)), `network ${k} layer ${layer} edge ${e}: b(x) = ${slope} outside ${slopes.mid[e]} ± ${slopes.outputRadius[o]}`);
              products++;
            }
            return;
          }
          const [now, then] = [entries(values, x, layer), entries(nominal, x0, layer)];
          const kept = new Map<number, number[]>();
          for (let e = 0; e < edges.input.length; e++) kept.set(edges.output[e], [...(kept.get(edges.output[e]) ?? []), edges.input[e]]);
          values.outputs[layer].forEach((y, o) => {
            const tolerance = 1e-9 * (1 + Math.abs(y));
            const atKept = (kept.get(o) ?? []).some((j) => Math.abs(now[j] - y) <= tolerance);
            const atStill = now.some((v, j) => Math.abs(v - y) <= tolerance && Math.abs(v - then[j]) <= tolerance);
            assert.ok(atKept || atStill, `network ${k} layer ${layer} (${p.op.kind}) output ${o}: the winner ${y} is no entry the window keeps`);
            windows++;
            if ((kept.get(o) ?? []).length === 1) settled++;
          });
        });
      }
    }
    assert.ok(windows > 2000, `${windows} windows checked`);
    assert.ok(settled > 100, `${settled} windows with a certain winner`);
    assert.ok(products > 500, `${products} product edges checked`);
  });

  it('the network bound is never beaten by sampled points or the witness search (random networks with windows, squares, gates, smooth maps)', async () => {
    const random = new SeededRandom(6900);
    let compared = 0;
    for (let k = 0; k < 20; k++) {
      const { network } = builders[k % builders.length](random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian() * (random.uniform() < 0.5 ? 1 : 5));
      const epsilon = Math.pow(10, random.between(-3, 0));
      let result;
      try {
        result = await analyzeNetwork(network, x0, { epsilons: [epsilon], lowerBound: {}, backend: k % 2 === 0 ? 'typescript' : 'native' });
      } catch {
        continue; // refused at this ε (a smooth map's singularity in reach)
      }
      const run = result.runs[0];
      const bound = run.network.localBound;
      assert.ok((run.lowerBound?.value ?? 0) <= bound * (1 + 1e-9), `network ${k}: witnessed ${run.lowerBound?.value} > bound ${bound}`);
      const y0 = referenceForward(network, x0)[network.output];
      for (const x of ballPoints(random, x0, epsilon)) {
        const y = referenceForward(network, x)[network.output];
        const dy = norm(y.map((v, i) => v - y0[i]));
        const dx = norm(x.map((v, i) => v - x0[i]));
        assert.ok(dy <= bound * dx * (1 + 1e-9) + 1e-12, `network ${k}: ‖Δy‖/‖Δx‖ = ${dy / dx} > bound ${bound}`);
      }
      if (run.network.method === 'composed') compared++;
    }
    assert.ok(compared > 8, `${compared} composed bounds compared`);
  });

  it('hand-derived: a decibel front end max(a, max(a) − 80) whose quiet band stays clipped is bounded near its exact √2 · 20/ln 10 · |log(1 − 1e-5)| / 0.01', async () => {
    // a = 10 log10(max(x ⊙ x, 1e-10)) at x0 = (1000, 0.001), ε = 0.01: a = (60, −60) dB, the floor
    // max(a) − 80 = −20 dB. The quiet band's square stays within [0, 0.011²], so a2 ≤ −39.2 dB and the floor
    // wins it everywhere in the ball: y = (a1, a1 − 80), whose largest ratio is at x1 = 1000 − ε:
    // √2 · (20/ln 10) · |log(1 − 1e-5)| / 0.01 = 0.012284. The symmetric box (§67) lets a2 move 40 dB both
    // ways, as far up as down, so the floor is not certain and Log's slope at 1e-10 (1e10) enters.
    const folder = await mkdtemp(join(tmpdir(), 'reach-interval-'));
    const path = join(folder, 'decibels.onnx');
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [tensor('floor', [], [1e-10]), tensor('scale', [], [10 / Math.LN10]), tensor('range', [], [80])],
      nodes: [
        node('Mul', ['x', 'x'], ['power'], undefined, 'square'),
        node('Clip', ['power', 'floor'], ['floored'], undefined, 'clip'),
        node('Log', ['floored'], ['log'], undefined, 'log'),
        node('Mul', ['log', 'scale'], ['decibels'], undefined, 'decibels'),
        node('ReduceMax', ['decibels'], ['loudest'], { axes: [1], keepdims: 1 }, 'loudest'),
        node('Sub', ['loudest', 'range'], ['quietest'], undefined, 'quietest'),
        node('Max', ['decibels', 'quietest'], ['y'], undefined, 'floorAt80'),
      ],
      opset: 13,
    });
    const inputPath = join(folder, 'x.json');
    await writeFile(inputPath, JSON.stringify({ shape: [1, 2], data: [1000, 0.001] }));
    const report = await analyzeModelFile({ modelPath: path, input: { kind: 'file', path: inputPath }, epsilons: [0.01], options: { seed: 1 } });
    const run = report.runs[0];
    const exact = (Math.SQRT2 * (20 / Math.LN10) * Math.abs(Math.log(1 - 1e-5))) / 0.01;
    assert.equal(run.network.method, 'composed');
    assert.ok(run.network.localBound >= exact, `bound ${run.network.localBound} below the exact ${exact}`);
    assert.ok(run.network.localBound < 1.5 * exact, `bound ${run.network.localBound}: the interval keeps the quiet band below the floor`);
    assert.ok(run.network.layerProduct > 1e6, `the layer product (ball reach) ${run.network.layerProduct} sees Log at the floor`);
    assert.ok((run.lowerBound?.value ?? 0) > 0.99 * exact, `witnessed ${run.lowerBound?.value}`);
  });
});

describe('ranges that hold for any input (derivations §70)', () => {
  it('hand-derived: a layer normalisation stays within β ± |γ| √(n − 1), which (d, 0, …, 0) approaches far out; Softmax stays within [0, 1]', () => {
    const random = new SeededRandom(70);
    for (const n of [2, 5]) {
      const b = new Builder(random, [1, n]);
      const normalised = b.layerNorm(NETWORK_INPUT, 1, 1e-5, true);
      const op = b.layers[normalised].op;
      if (op.kind !== 'layerNorm') throw new Error('a layer normalisation');
      const scale = Float32Array.from({ length: n }, (_v, i) => (i % 2 ? -0.5 : 2));
      const bias = Float32Array.from({ length: n }, (_v, i) => 0.1 - 0.4 * i);
      [op.scale, op.bias] = [scale, bias];
      const network = b.network(b.softmax(normalised, 1));
      const prepared = prepareNetwork(network, 'typescript');
      const far: Interval = { low: new Float64Array(n).fill(-1e6), high: new Float64Array(n).fill(1e6) };
      const range = layerInterval(prepared, prepared.layers[0], [far]).out;
      const root = Math.sqrt(n - 1);
      for (let i = 0; i < n; i++) {
        const [low, high] = [bias[i] - Math.abs(scale[i]) * root, bias[i] + Math.abs(scale[i]) * root];
        assert.ok(range.low[i] <= low && range.high[i] >= high, `n = ${n}, ${i}: [${range.low[i]}, ${range.high[i]}] does not hold [${low}, ${high}]`);
        assert.ok(range.low[i] >= low - 1e-12 && range.high[i] <= high + 1e-12, `n = ${n}, ${i}: [${range.low[i]}, ${range.high[i]}] is wider than [${low}, ${high}]`);
      }
      // One coordinate far from the rest: q_0 = √(n − 1) (1 − O(e/d²)), the top of the range when γ_0 > 0.
      const spike = new Float64Array(n);
      spike[0] = 1e5;
      const values = pureForward(prepared, spike) as NominalValues;
      assert.ok(inside(values.outputs[0][0], range, 0), `the spike's ${values.outputs[0][0]} lies in [${range.low[0]}, ${range.high[0]}]`);
      assert.ok(values.outputs[0][0] >= range.high[0] - 1e-6, `the spike's ${values.outputs[0][0]} reaches the top ${range.high[0]}`);
      for (let s = 0; s < 200; s++) {
        const x = Float64Array.from({ length: n }, () => random.gaussian() * Math.pow(10, random.between(0, 6)));
        const at = pureForward(prepared, x) as NominalValues;
        at.outputs[0].forEach((v, i) => assert.ok(inside(v, range, i), `n = ${n}: ${v} outside [${range.low[i]}, ${range.high[i]}]`));
      }
      const softmax = layerInterval(prepared, prepared.layers[1], [{ low: new Float64Array(n).fill(-1e300), high: new Float64Array(n).fill(1e300) }]).out;
      for (let i = 0; i < n; i++) assert.ok(softmax.low[i] === 0 && softmax.high[i] === 1, `Softmax ${i}: [${softmax.low[i]}, ${softmax.high[i]}]`);
    }
  });

  it('hand-derived: C = X σ(X) at X0 = 0, ε = 100 has bound 2, the cap ‖σ(X)‖_F ≤ 2 from σ\'s range, attained by X = 50 · ones', async () => {
    // β + ε_B = ‖σ(0)‖ + ¼ · 100 = 26, but every entry of σ(X) lies in [0, 1], so ‖σ(X)‖₂ ≤ ‖σ(X)‖_F ≤ 2;
    // α = ‖X0‖ = 0, so ε_C = 2 · 100. At X = 50 · ones (‖X‖_F = 100) ‖X σ(X)‖_F = 200 σ(50).
    const network: Network = chain([2, 2], [
      genericLayer('gate', { kind: 'activation', activation: { kind: 'sigmoid' } }, [NETWORK_INPUT], [[2, 2]], [2, 2]),
      genericLayer('product', { kind: 'matMul' }, [NETWORK_INPUT, 0], [[2, 2], [2, 2]], [2, 2]),
    ]);
    const x0 = new Float64Array(4);
    const result = await analyzeNetwork(network, x0, { epsilons: [100], lowerBound: {}, backend: 'typescript' });
    const run = result.runs[0];
    assert.ok(run.network.localBound >= 2 && run.network.localBound <= 2 * (1 + 1e-9), `bound ${run.network.localBound}, exact 2`);
    assert.ok(run.layers[1].certificate.detail?.includes('capped at 2.000'), run.layers[1].certificate.detail);
    const corner = Float64Array.from([50, 50, 50, 50]);
    const moved = norm(referenceForward(network, corner)[1]);
    assert.ok(moved / 100 > 2 * (1 - 1e-12) && moved / 100 <= run.network.localBound, `‖X σ(X)‖/‖X‖ = ${moved / 100}`);
  });

  it('pre-norm attention behind far-moving rows: intervals hold at sampled points, and a finite network bound that neither they nor the witness search beat, with the products\' factors capped', async () => {
    const random = new SeededRandom(7070);
    let capped = 0;
    for (let k = 0; k < 12; k++) {
      const { network } = randomPreNormAttentionNetwork(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-1, 0.5));
      const prepared = prepareNetwork(network, 'typescript');
      const { out } = propagate(prepared, x0, epsilon);
      const points = ballPoints(random, x0, epsilon);
      for (const x of points) {
        const values = pureForward(prepared, x) as NominalValues;
        prepared.layers.forEach((p, layer) => values.outputs[layer].forEach((v, j) => assert.ok(inside(v, out[layer], j), `network ${k} layer ${layer} (${p.op.kind}) ${j}: ${v} outside`)));
      }
      const result = await analyzeNetwork(network, x0, { epsilons: [epsilon], lowerBound: {}, backend: k % 2 === 0 ? 'typescript' : 'native' });
      const run = result.runs[0];
      const bound = run.network.localBound;
      assert.ok(Number.isFinite(bound), `network ${k}: bound ${bound}`);
      assert.ok((run.lowerBound?.value ?? 0) <= bound * (1 + 1e-9), `network ${k}: witnessed ${run.lowerBound?.value} > bound ${bound}`);
      const y0 = referenceForward(network, x0)[network.output];
      for (const x of points) {
        const y = referenceForward(network, x)[network.output];
        const dy = norm(y.map((v, i) => v - y0[i]));
        const dx = norm(x.map((v, i) => v - x0[i]));
        assert.ok(dy <= bound * dx * (1 + 1e-9) + 1e-12, `network ${k}: ‖Δy‖/‖Δx‖ = ${dy / dx} > bound ${bound}`);
      }
      capped += run.layers.filter((layer) => layer.kind === 'matMul' && layer.certificate.detail?.includes('§70')).length;
    }
    assert.ok(capped >= 6, `${capped} matrix products had their factor capped by its interval`);
  });
});
