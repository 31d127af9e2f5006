// The composed network bound (docs/derivations.md §22): never beaten by sampled points or hill climbing
// on random DAGs (dense, conv, BatchNorm, max-pool with ties, residual Add, Concat, every activation,
// units exactly at kinks); at least the largest ‖J(S)‖ over every vertex of the slope box on tiny
// networks (exact SVD, ml-matrix); pinned by hand-derived cases; the same on both backends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { analyzeNetwork } from '../../src/engine/analyze';
import { composedBound, functionalBounds, midpointDirection } from '../../src/engine/composed/composedBound';
import { LinearisedNetwork, type SlopeUnits } from '../../src/engine/composed/linearisedNetwork';
import { normalisationSlopes } from '../../src/engine/composed/normalisationSlopes';
import { layerNormOutput, layerNormPoint } from '../../src/engine/operators/layerNorm';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunOutcome } from '../../src/engine/layerBounds';
import { nativeKernels } from '../../src/engine/native/kernels';
import { NETWORK_INPUT, type Network } from '../../src/engine/network';
import { prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { LowerBoundSearch } from '../../src/engine/lowerBound';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { NetworkTape } from '../../src/engine/tightness/tape';
import { chain, denseLayer, genericLayer, referenceForward } from './helpers/engineNetworks';
import { assertTightestNetworkBound } from './helpers/networkMethod';
import {
  randomAttentionNetwork, randomConvNetwork, randomDenseNetwork, randomGraphNetwork, randomHardSwishNetwork, randomLayerNormNetwork, randomProductNetwork, randomSelectionNetwork, randomSmoothChainNetwork, randomSmoothNetwork, randomSoftmaxNetwork,
  randomTinySelectionNetwork, randomTransposeNetwork,
} from './helpers/engineRandomNetworks';

// Sampled values are float64 sums of a few hundred terms: 1e-9 relative plus 1e-12 absolute is far
// above their rounding and far below any real violation (as in engineSoundness.test.ts).
const REL = 1e-9;
const ABS = 1e-12;
const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function spectralNorm(rows: number[][]): number {
  return new SingularValueDecomposition(new Matrix(rows), { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).norm2;
}

interface Analysed {
  prepared: PreparedNetwork;
  run: RunOutcome;
  composed: NonNullable<ReturnType<typeof composedBound>>;
}

function analyse(network: Network, x0: Float64Array, epsilon: number, spectral: SpectralOptions = TS_SPECTRAL, backend: 'native' | 'typescript' = 'typescript'): Analysed {
  const prepared = prepareNetwork(network, backend);
  const nominal = pureForward(prepared, x0) as NominalValues;
  const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral }, epsilon);
  const composed = composedBound(prepared, run.slopes, spectral);
  if (!composed) throw new Error('no budget was set, so the composed bound must complete');
  return { prepared, run, composed };
}

/** The dense Jacobian of the linearised network with the given slopes (one forward pass per input coordinate). */
function jacobianRows(prepared: PreparedNetwork, slopes: (SlopeUnits | null)[]): number[][] {
  const linearised = new LinearisedNetwork(prepared, slopes);
  const columns: Float64Array[] = [];
  for (let j = 0; j < prepared.inputSize; j++) {
    const e = new Float64Array(prepared.inputSize);
    e[j] = 1;
    columns.push(linearised.forward(e, new Map()));
  }
  return Array.from({ length: columns[0].length }, (_r, i) => columns.map((c) => c[i]));
}

/**
 * Largest ratio ‖f(x) − f(x0)‖/‖x − x0‖ (or |uᵀ(f(x) − f(x0))|/‖x − x0‖ for a functional u) found by
 * uniform, boundary and hill-climbing samples of the ball (reference forward pass).
 */
function worstSampledRatio(random: SeededRandom, network: Network, x0: Float64Array, epsilon: number, functional?: Float64Array): number {
  const n = x0.length;
  const output = (x: Float64Array) => {
    const values = referenceForward(network, x);
    return network.output === NETWORK_INPUT ? x : values[network.output];
  };
  const f0 = output(x0);
  const ratio = (x: Float64Array) => {
    const dx = distance(x, x0);
    if (dx === 0) return 0;
    const fx = output(x);
    return (functional ? Math.abs(fx.reduce((sum, v, i) => sum + functional[i] * (v - f0[i]), 0)) : distance(fx, f0)) / dx;
  };
  const gaussian = () => Float64Array.from({ length: n }, () => random.gaussian());
  const pointAt = (direction: Float64Array, radius: number) => {
    const norm = Math.sqrt(direction.reduce((s, v) => s + v * v, 0));
    return x0.map((v, i) => v + (radius * direction[i]) / norm);
  };
  let worst = 0;
  for (let s = 0; s < 10; s++) worst = Math.max(worst, ratio(pointAt(gaussian(), epsilon * Math.pow(random.uniform(), 1 / n))));
  for (let s = 0; s < 6; s++) worst = Math.max(worst, ratio(pointAt(gaussian(), epsilon)));
  for (let restart = 0; restart < 3; restart++) {
    let x = pointAt(gaussian(), epsilon * (restart === 0 ? 1e-3 : random.uniform()));
    let best = ratio(x);
    let step = 0.3 * epsilon;
    for (let iter = 0; iter < 25; iter++) {
      const move = gaussian();
      const candidate = x.map((v, i) => v + (step * move[i]) / Math.sqrt(n));
      const radius = distance(candidate, x0);
      const projected = radius > epsilon ? x0.map((v, i) => v + ((candidate[i] - v) * epsilon) / radius) : candidate;
      const r = ratio(projected);
      if (r > best) {
        best = r;
        x = projected;
      } else {
        step *= 0.7;
      }
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

/**
 * For `count` networks from `generate` at a random x0 and ε: no sampled or hill-climbed ratio beats the
 * composed bound, nor a margin change (e_0 − e_1) its functional bound. Returns how often the composed
 * bound was below the layer product, the best sampled/composed ratio and the uncertain units in all.
 */
function sampledAgainstComposed(
  random: SeededRandom,
  count: number,
  generate: (random: SeededRandom, k: number) => { network: Network },
  { inputScale = 1, largestLogEpsilon = 0.3 } = {},
): { tighter: number; worst: number; uncertain: number } {
  let tighter = 0;
  let worst = 0;
  let uncertain = 0;
  for (let k = 0; k < count; k++) {
    const { network } = generate(random, k);
    const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => inputScale * random.gaussian());
    const epsilon = Math.pow(10, random.between(-3, largestLogEpsilon));
    const { run, composed } = analyse(network, x0, epsilon);
    const sampled = worstSampledRatio(random, network, x0, epsilon);
    assert.ok(sampled <= composed.value * (1 + REL) + ABS, `network ${k} (${network.layers.map((l) => l.label).join(' ')}), ε ${epsilon}: sampled ${sampled} > composed ${composed.value}`);
    const u = Float64Array.from(referenceForward(network, x0)[network.output], (_v, i) => (i === 0 ? 1 : i === 1 ? -1 : 0));
    const margin = worstSampledRatio(random, network, x0, epsilon, u);
    assert.ok(margin <= composed.functionalBound(u) * (1 + REL) + ABS, `network ${k}, ε ${epsilon}: margin ratio ${margin} > its bound ${composed.functionalBound(u)}`);
    uncertain += composed.uncertainUnits;
    if (composed.value < run.localBound) tighter++;
    if (composed.value > 0) worst = Math.max(worst, sampled / composed.value);
  }
  return { tighter, worst, uncertain };
}

/** The same network without biases: at x0 = 0 every pre-activation sits exactly at 0 (a ReLU kink) and every max-pool window is a tie. */
function withoutBiases(network: Network): Network {
  return {
    ...network,
    layers: network.layers.map((layer) => {
      const op = layer.op;
      if (op.kind !== 'affine' || op.linear.kind === 'channelAffine') return layer;
      return { ...layer, op: { ...op, linear: { ...op.linear, bias: undefined } } };
    }),
  };
}

/**
 * Points of a selection window's weight ball that the composed bound must cover (§22, §59.1): the
 * midpoint moved by ± its radius along each edge's axis — centred (the deviations sum to 0) where the
 * window is read centred. Where the set is §22's simplex these include every candidate's unit vector
 * (each lies at the radius along its centred axis); the window's whole weight set lies in the ball
 * (tighterSlopes.test.ts samples it).
 */
function windowBallPoints(s: SlopeUnits, o: number, edges: number[]): number[][] {
  const rho = s.outputRadius[o];
  const centred = s.edges?.centred[o] === 1;
  return edges.flatMap((_e, pick) => {
    const axis = edges.map((_x, i) => (i === pick ? 1 : 0) - (centred ? 1 / edges.length : 0));
    const length = Math.hypot(...axis);
    return [1, -1].map((sign) => edges.map((e, i) => s.mid[e] + (sign * rho * axis[i]) / length));
  });
}

describe('composed network bound (derivations §22)', () => {
  it('random DAGs: no sampled or hill-climbed ratio beats it; it is often below the layer product', (t) => {
    const random = new SeededRandom(1717);
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork, randomTransposeNetwork, randomHardSwishNetwork];
    let checked = 0;
    let tighter = 0;
    let uncertain = 0;
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const { network } = builders[k % builders.length](random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const atKinks = k % 4 === 3;
      const net = atKinks ? withoutBiases(network) : network;
      const x0 = atKinks ? new Float64Array(n) : Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-3, 0.5));
      const { run, composed } = analyse(net, x0, epsilon);
      const sampled = worstSampledRatio(random, net, x0, epsilon);
      assert.ok(sampled <= composed.value * (1 + REL) + ABS, `network ${k} (${net.layers.map((l) => l.label).join(' ')}), ε ${epsilon}: sampled ${sampled} > composed ${composed.value}`);
      checked++;
      uncertain += composed.uncertainUnits;
      if (composed.value < run.localBound) tighter++;
      if (composed.value > 0) worst = Math.max(worst, sampled / composed.value);
    }
    t.diagnostic(`${checked} networks, composed below the layer product on ${tighter}, ${uncertain} uncertain units in all, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(uncertain > 100, `uncertain units ${uncertain}`);
    assert.ok(tighter > 50, `composed tighter on ${tighter} of ${checked}`);
    assert.ok(worst > 0.5 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('log, sqrt, 1/y and powers (secant slopes from their reachable intervals, §24), a signed Add and row-wise dense maps: no sampled ratio beats it', (t) => {
    const random = new SeededRandom(2525);
    let tighter = 0;
    let worst = 0;
    for (let k = 0; k < 40; k++) {
      const { network } = randomSmoothChainNetwork(random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-3, 0.5));
      const { run, composed } = analyse(network, x0, epsilon);
      const sampled = worstSampledRatio(random, network, x0, epsilon);
      assert.ok(sampled <= composed.value * (1 + REL) + ABS, `network ${k}, ε ${epsilon}: sampled ${sampled} > composed ${composed.value}`);
      if (composed.value < run.localBound) tighter++;
      if (composed.value > 0) worst = Math.max(worst, sampled / composed.value);
    }
    t.diagnostic(`composed below the layer product on ${tighter} of 40, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(tighter > 20, `composed tighter on ${tighter} of 40`);
    assert.ok(worst > 0.3 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('max-pool ties (read centred) and units exactly at kinks are uncertain units, and the bound still holds', () => {
    const random = new SeededRandom(99);
    let ties = 0;
    let centred = 0;
    for (let k = 0; k < 20; k++) {
      const net = withoutBiases(randomConvNetwork(random).network);
      const n = net.inputShape.reduce((a, b) => a * b, 1);
      const x0 = new Float64Array(n);
      const epsilon = Math.pow(10, random.between(-2, 0));
      const { prepared, run, composed } = analyse(net, x0, epsilon);
      prepared.layers.forEach((p, i) => {
        const s = run.slopes[i];
        if (p.op.kind === 'maxPool' && s) {
          ties += s.outputRadius.filter((r) => r > 0).length;
          centred += s.edges?.centred.reduce((a, b) => a + b, 0) ?? 0;
        }
      });
      assert.ok(worstSampledRatio(random, net, x0, epsilon) <= composed.value * (1 + REL) + ABS);
    }
    assert.ok(ties > 0, 'some max-pool window was a tie');
    assert.ok(centred > 0, 'some tied window had only movable candidates (its prefix read centred)');
  });

  it('tiny networks: at least the largest ‖J(S)‖ over every vertex of the slope box (exact SVD)', (t) => {
    // Vertices: each uncertain activation unit at either end of its interval, each uncertain max-pool
    // window at the points of its ball that windowBallPoints lists (its candidates' unit vectors where
    // the window's set is §22's simplex).
    const random = new SeededRandom(4711);
    let cases = 0;
    let margins = 0;
    let tightest = Infinity;
    for (let attempt = 0; attempt < 400 && cases < 25; attempt++) {
      const { network } = (attempt % 2 ? randomDenseNetwork : randomConvNetwork)(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0));
      const { prepared, run, composed } = analyse(network, x0, epsilon);
      // Each choice: [layer, the units it sets, the vertex values of those units, one list per option].
      const choices: { layer: number; units: number[]; options: number[][] }[] = [];
      run.slopes.forEach((s, k) => {
        if (!s) return;
        if (!s.edges) {
          s.outputRadius.forEach((r, i) => { if (r > 0) choices.push({ layer: k, units: [i], options: [[s.mid[i] - r], [s.mid[i] + r]] }); });
          return;
        }
        const windows = new Map<number, number[]>();
        s.uncertain.forEach((u, e) => { if (u) windows.set(s.edges!.output[e], [...(windows.get(s.edges!.output[e]) ?? []), e]); });
        for (const [o, edges] of windows) choices.push({ layer: k, units: edges, options: windowBallPoints(s, o, edges) });
      });
      const vertexCount = choices.reduce((c, ch) => c * ch.options.length, 1);
      if (choices.length === 0 || choices.length > 12 || vertexCount > 4096) continue;
      let largest = 0;
      // The margin functional u = e_0 − e_1 (when there are two outputs): its bound covers every vertex too.
      const margin = composed.value > 0 && jacobianRows(prepared, run.slopes).length >= 2 ? Float64Array.from(jacobianRows(prepared, run.slopes), (_r, i) => (i === 0 ? 1 : i === 1 ? -1 : 0)) : null;
      let largestMargin = 0;
      for (let index = 0; index < vertexCount; index++) {
        const vertex = run.slopes.map((s) => s && { ...s, mid: Float64Array.from(s.mid) });
        let rest = index;
        for (const choice of choices) {
          const option = choice.options[rest % choice.options.length];
          rest = Math.floor(rest / choice.options.length);
          choice.units.forEach((unit, i) => { (vertex[choice.layer] as SlopeUnits).mid[unit] = option[i]; });
        }
        const rows = jacobianRows(prepared, vertex);
        largest = Math.max(largest, spectralNorm(rows));
        if (margin) largestMargin = Math.max(largestMargin, Math.hypot(...rows[0].map((v, j) => v - rows[1][j])));
      }
      assert.ok(composed.value >= largest * (1 - 1e-12), `case ${cases}: composed ${composed.value} < vertex maximum ${largest}`);
      if (margin) {
        const bound = composed.functionalBound(margin);
        assert.ok(bound >= largestMargin * (1 - 1e-12), `case ${cases}: margin bound ${bound} < vertex maximum ${largestMargin}`);
        margins++;
      }
      tightest = Math.min(tightest, composed.value / largest);
      cases++;
    }
    t.diagnostic(`${cases} tiny networks (${margins} with a margin functional), smallest composed / vertex maximum ${tightest.toFixed(4)}`);
    assert.ok(cases >= 20, `${cases} tiny networks with 1–12 uncertain units or windows`);
    assert.ok(margins >= 10, `${margins} tiny networks with two outputs`);
  });

  it('the functional bounds alone (derivations §60.2) are the composed bound\'s margin bounds, never below them, and never beaten by sampled margins', () => {
    const random = new SeededRandom(60);
    let compared = 0;
    let equal = 0;
    for (let k = 0; k < 24; k++) {
      const { network } = [randomDenseNetwork, randomConvNetwork, randomSelectionNetwork][k % 3](random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-3, 0));
      const { prepared, run, composed } = analyse(network, x0, epsilon);
      const alone = functionalBounds(prepared, run.slopes, TS_SPECTRAL);
      assert.ok(alone, 'no budget was set, so the functional bounds must complete');
      const outputs = referenceForward(network, x0)[network.output].length;
      for (let j = 1; j < outputs; j++) {
        const u = Float64Array.from({ length: outputs }, (_v, i) => (i === 0 ? 1 : i === j ? -1 : 0));
        const [own, full] = [alone.functionalBound(u), composed.functionalBound(u)];
        // The composed bound's also reads ‖u‖ times its network bound; where that does not bind, the same norms (and seeds) give the same number.
        assert.ok(own >= full * (1 - 1e-12), `network ${k}, margin ${j}: ${own} below the composed bound's ${full}`);
        if (full < Math.SQRT2 * composed.value * (1 - 1e-9)) {
          assert.ok(Math.abs(own - full) <= 1e-12 * full, `network ${k}, margin ${j}: ${own} against ${full}`);
          equal++;
        }
        const sampled = worstSampledRatio(random, network, x0, epsilon, u);
        assert.ok(sampled <= own * (1 + REL) + ABS, `network ${k}, ε ${epsilon}, margin ${j}: sampled ${sampled} > its bound ${own}`);
        compared++;
      }
    }
    assert.ok(compared >= 30 && equal >= 15, `${compared} margins compared, ${equal} where the network bound did not bind`);
  });

  it('no uncertain unit: exactly ‖J(x0)‖ (tape Jacobian, exact SVD) up to the certificate tolerance', () => {
    const random = new SeededRandom(5);
    let cases = 0;
    for (let attempt = 0; attempt < 60 && cases < 10; attempt++) {
      const { network } = randomDenseNetwork(random);
      if (network.layers.some((l) => l.op.kind === 'affine' && l.op.activation && !['relu', 'leakyRelu', 'clip', 'hardSigmoid'].includes(l.op.activation.kind))) continue;
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const { prepared, composed } = analyse(network, x0, 1e-7);
      if (composed.uncertainUnits > 0) continue;
      const tape = new NetworkTape(prepared);
      const recorded = tape.forward(x0);
      const columns = Array.from({ length: n }, (_v, j) => {
        const e = new Float64Array(n);
        e[j] = 1;
        return tape.tangent(recorded, e);
      });
      const exact = spectralNorm(Array.from({ length: columns[0].length }, (_r, i) => columns.map((c) => c[i])));
      assert.ok(Math.abs(composed.value - exact) <= 1e-8 * exact, `composed ${composed.value} vs ‖J(x0)‖ ${exact}`);
      assert.equal(composed.norms, 1);
      cases++;
    }
    assert.ok(cases >= 5, `${cases} cases`);
  });

  it('one uncertain unit: ‖J(M)‖ and its rank-one change in quadrature, √(5/4), the true constant (hand-derived, §59.3)', () => {
    // y = ReLU(x + (1, −0.05)), f = y1 + y2, x0 = 0, ε = 0.1. Unit 1 stays on (slope 1); unit 2 can
    // switch on: reach 0.1, chord r = 0.05/0.1 = 1/2, slopes [0, 1/2], M = 1/4, P = 1/4.
    // J(M) = [1, 1/4]: ‖J(M)‖ = √(17/16); G R = [0, 1/4], β = ‖e2ᵀ‖ = 1: correction 1/4. Layer product: 1 · √2.
    const network = chain([2], [
      denseLayer('hidden', [[1, 0], [0, 1]], [1, -0.05], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('out', [[1, 1]], null, 0),
    ]);
    const { run, composed } = analyse(network, new Float64Array(2), 0.1);
    assert.equal(composed.uncertainUnits, 1);
    assert.ok(Math.abs(composed.midpointNorm - Math.sqrt(17 / 16)) < 1e-9, `‖J(M)‖ ${composed.midpointNorm}`);
    // The stacked bound gives ‖J(M)‖ + 1/4; the quadrature bound (§59.3) adds the deviation where it is
    // orthogonal to a = J(M)ᵀ = (1, 1/4): p = ‖Π H a‖ = 1/4, q = 1/4, ‖a‖² + 2pq + β²q² = 17/16 + 2/16 +
    // 1/16 = 5/4 — the true constant, sup over s ∈ [0, 1/2] of ‖[1, s]‖ = √(5/4).
    // With the engine's slopes (the chord r = 1/2 rounded, reach from the row norm with its margin) the
    // box's top is mid + radius; the bound is the vertex maximum √(1 + top²) up to rounding.
    const top = (run.slopes[0] as SlopeUnits).mid[1] + (run.slopes[0] as SlopeUnits).outputRadius[1];
    assert.ok(Math.abs(top - 0.5) < 1e-7, `top slope ${top}`);
    const vertexMaximum = Math.hypot(1, top);
    assert.ok(composed.value >= vertexMaximum && composed.value - vertexMaximum < 1e-8, `composed ${composed.value}, vertex maximum ${vertexMaximum}`);
    assert.ok(Math.abs(run.localBound - Math.SQRT2) < 1e-8, `layer product ${run.localBound}`);
  });

  it('analyzeNetwork reports the smallest bound, the layer and spectral products beside it, and which one', async () => {
    const random = new SeededRandom(8);
    for (let k = 0; k < 6; k++) {
      const { network } = randomConvNetwork(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const result = await analyzeNetwork(network, x0, { epsilons: [1e-3, 0.3], backend: 'typescript' });
      for (const run of result.runs) {
        assertTightestNetworkBound(run.network);
        const { method } = run.network;
        if (method === 'composed') assert.ok(run.network.composed && run.network.composed.norms >= 1);
      }
    }
  });

  it('a budget of operator applications stops it (null) instead of running on; a large one does not', () => {
    const random = new SeededRandom(3);
    const { network } = randomConvNetwork(random);
    const n = network.inputShape.reduce((a, b) => a * b, 1);
    const x0 = Float64Array.from({ length: n }, () => random.gaussian());
    const { prepared, run, composed } = analyse(network, x0, 0.1);
    assert.equal(composedBound(prepared, run.slopes, TS_SPECTRAL, 1), null);
    assert.equal(composedBound(prepared, run.slopes, TS_SPECTRAL, 1e9)?.value, composed.value);
  });

  it('the native kernels and the TypeScript operators give the same composed bound', () => {
    assert.ok(nativeKernels(), 'the native kernels are built (npm run build)');
    const random = new SeededRandom(12);
    for (let k = 0; k < 8; k++) {
      const { network } = (k % 2 ? randomConvNetwork : randomGraphNetwork)(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0));
      const typescript = analyse(network, x0, epsilon, TS_SPECTRAL, 'typescript').composed.value;
      const native = analyse(network, x0, epsilon, { ...DEFAULT_SPECTRAL_OPTIONS, kernels: nativeKernels() }, 'native').composed.value;
      assert.ok(Math.abs(native - typescript) <= 1e-9 * typescript, `network ${k}: native ${native} vs TypeScript ${typescript}`);
    }
  });
});

describe('the lower bound from the linearised network (derivations §11, §22)', () => {
  it('midpointDirection is the top right-singular vector of J(M) (exact SVD of the dense Jacobian)', () => {
    // Hand case: fc1 = diag(3, 1, 0.5) with ReLU, all on at x0 and stable; fc2 mixes the first two
    // first input off from the others, so J = W2·W1 = [[3, 0, 0], [0, 1, 0.5]]: JᵀJ = 9 ⊕ [[1, 0.5],
    // [0.5, 0.25]], top right-singular vector e1 (singular values 3 and √1.25).
    const hand = chain([3], [
      denseLayer('fc1', [[3, 0, 0], [0, 1, 0], [0, 0, 0.5]], [1, 1, 1], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('fc2', [[1, 0, 0], [0, 1, 1]], null, 0),
    ]);
    const { prepared: handPrepared, run: handRun } = analyse(hand, Float64Array.from([0.1, 0.2, 0.3]), 0.01);
    const e = midpointDirection(handPrepared, handRun.slopes, 1) as Float64Array;
    // The power iteration stops once ‖J(M)ᵀJ(M)v‖ changes by 1e-6 relative: the vector is within ~1e-3.
    assert.ok(Math.abs(Math.abs(e[0]) - 1) <= 1e-6 && Math.abs(e[1]) <= 1e-3 && Math.abs(e[2]) <= 1e-3, `direction ${Array.from(e)}`);
    const random = new SeededRandom(808);
    for (let k = 0; k < 8; k++) {
      const net = withoutBiases(randomConvNetwork(random).network);
      const n = net.inputShape.reduce((a, b) => a * b, 1);
      const { prepared, run } = analyse(net, new Float64Array(n), 0.1);
      const v = midpointDirection(prepared, run.slopes, 3) as Float64Array;
      assert.ok(Math.abs(Math.hypot(...v) - 1) <= 1e-12, 'a unit vector');
      const rows = jacobianRows(prepared, run.slopes);
      const top = spectralNorm(rows);
      const jv = Math.hypot(...rows.map((row) => row.reduce((s, x, i) => s + x * v[i], 0)));
      // Twenty power steps aim, they need not converge where the top singular values are close.
      assert.ok(jv >= top * 0.9 && jv <= top * (1 + 1e-9), `network ${k}: ‖J(M)v‖ ${jv} vs ‖J(M)‖ ${top}`);
    }
  });

  it('max-pool ties and kinks: witnesses from the linearised direction are real points of the ball, never above the composed bound', () => {
    const random = new SeededRandom(909);
    for (let k = 0; k < 16; k++) {
      const net = withoutBiases((k % 2 ? randomGraphNetwork : randomConvNetwork)(random).network);
      const n = net.inputShape.reduce((a, b) => a * b, 1);
      const x0 = k % 4 < 2 ? new Float64Array(n) : Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-4, 0));
      const { prepared, run, composed } = analyse(net, x0, epsilon);
      const bound = Math.min(composed.value, run.localBound);
      const search = new LowerBoundSearch(prepared, x0, { budget: 60, seed: k });
      const found = search.run(epsilon, midpointDirection(prepared, run.slopes, k));
      const witness = search.lastWitness() as Float64Array;
      const dx = distance(witness, x0);
      const f0 = referenceForward(net, x0)[net.output];
      const ratio = distance(referenceForward(net, witness)[net.output], f0) / dx;
      assert.ok(dx > 0 && dx <= epsilon, `network ${k}: witness at ${dx}, ε ${epsilon}`);
      // The reported value is the witness's own ratio (less its rounding allowance), and below the bound.
      assert.ok(found.value <= ratio * (1 + REL) + ABS && found.value >= ratio * (1 - 1e-6), `network ${k}: reported ${found.value}, witness ratio ${ratio}`);
      assert.ok(ratio <= bound * (1 + REL) + ABS, `network ${k}: witness ratio ${ratio} > bound ${bound}`);
    }
  });
});

describe('margin functionals (derivations §44)', () => {
  it('one uncertain unit: the margin bound is ‖J(M)ᵀu‖ + β p |g·u|, here exactly the true constant 1 (hand-derived)', () => {
    // y = ReLU(x + (1, −1/16)), f = (y1 + y2, y1 − y2), x0 = 0, ε = 1/8 (all exact in float32 and float64):
    // unit 2 has slopes [0, 1/2] (M = 1/4,
    // p = 1/4), β = 1. For u = e1 − e2 = (1, −1): uᵀW2 = (0, 2), ‖J(M)ᵀu‖ = 2 · 1/4 = 1/2, correction
    // β · p · 2 = 1/2: bound 1. True: sup over s ∈ [0, 1/2] of |2s| = 1.
    const network = chain([2], [
      denseLayer('hidden', [[1, 0], [0, 1]], [1, -0.0625], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('out', [[1, 1], [1, -1]], null, 0),
    ]);
    const { composed } = analyse(network, new Float64Array(2), 0.125);
    const margin = composed.functionalBound(Float64Array.from([1, -1]));
    assert.ok(margin >= 1 && margin - 1 < 1e-8, `margin bound ${margin}`);
    // For u = e1 the quadrature form (§59.3) is exact: ‖a‖² + 2pq + q² = 1 + (M + P)² = 5/4 (was √(17/16) + 1/4).
    const first = composed.functionalBound(Float64Array.from([1, 0]));
    assert.ok(first >= Math.sqrt(5 / 4) && first - Math.sqrt(5 / 4) < 1e-8, `first output ${first}`);
    // The whole output's bound is larger than either: √2 · it is what the margin radius had before.
    assert.ok(composed.value * Math.SQRT2 > margin * 1.5);
  });

  it('random DAGs with ties and kinks: no sampled or hill-climbed margin change beats its bound', () => {
    const random = new SeededRandom(2121);
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork, randomTransposeNetwork, randomHardSwishNetwork];
    let checked = 0;
    for (let k = 0; k < 40; k++) {
      const { network } = builders[k % builders.length](random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const atKinks = k % 4 === 3;
      const net = atKinks ? withoutBiases(network) : network;
      const x0 = atKinks ? new Float64Array(n) : Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-3, 0.5));
      const { composed } = analyse(net, x0, epsilon);
      const outputs = referenceForward(net, x0)[net.output].length;
      if (outputs < 2) continue;
      const c = random.int(outputs);
      const j = (c + 1 + random.int(outputs - 1)) % outputs;
      const u = new Float64Array(outputs);
      u[c] = 1;
      u[j] = -1;
      const bound = composed.functionalBound(u);
      const sampled = worstSampledRatio(random, net, x0, epsilon, u);
      assert.ok(sampled <= bound * (1 + REL) + ABS, `network ${k}, ε ${epsilon}: margin ${c} − ${j} changed at ratio ${sampled} > bound ${bound}`);
      assert.ok(bound <= Math.SQRT2 * composed.value * (1 + REL), `network ${k}: margin bound ${bound} above √2 · composed ${composed.value}`);
      checked++;
    }
    assert.ok(checked >= 30, `${checked} networks with two or more outputs`);
  });
});

describe('composed rules for products, quotients, maxima, layer normalisation, softmax and attention (derivations §55)', () => {
  it('squeeze-excitation gates, x ⊙ σ(x), x ⊙ x, Max and ReduceMax: no sampled or hill-climbed ratio beats it, nor a margin change its functional bound', (t) => {
    const count = 60;
    const { tighter, worst, uncertain } = sampledAgainstComposed(new SeededRandom(5555), count, (random, k) => (k % 2 ? randomProductNetwork : randomSelectionNetwork)(random));
    t.diagnostic(`composed below the layer product on ${tighter} of ${count}, ${uncertain} uncertain units in all, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(uncertain > 100, `uncertain units ${uncertain}`);
    assert.ok(tighter > count / 2, `composed tighter on ${tighter} of ${count}`);
    assert.ok(worst > 0.3 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('tiny networks: at least the largest ‖J(S)‖ over every vertex of the slope set (exact SVD)', (t) => {
    // Vertices: an uncertain activation unit at either end of its interval; a product's output row with
    // one of its uncertain edges at mid ± the row's radius (the row's deviations have length at most
    // that radius: with one uncertain edge these are the ends of its interval); a selection window (Max,
    // ReduceMax) at the points of its ball that windowBallPoints lists.
    const random = new SeededRandom(606);
    let cases = 0;
    let tightest = Infinity;
    const kinds = new Set<string>();
    for (let attempt = 0; attempt < 400 && cases < 30; attempt++) {
      const { network } = randomTinySelectionNetwork(random);
      const x0 = Float64Array.from({ length: network.inputShape[0] }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-1.5, 0.3));
      const { prepared, run, composed } = analyse(network, x0, epsilon);
      const choices: { layer: number; units: number[]; options: number[][] }[] = [];
      run.slopes.forEach((s, k) => {
        if (!s) return;
        if (!s.edges) {
          s.outputRadius.forEach((r, i) => { if (r > 0) choices.push({ layer: k, units: [i], options: [[s.mid[i] - r], [s.mid[i] + r]] }); });
          return;
        }
        const edges = s.edges;
        const rows = new Map<number, number[]>();
        s.uncertain.forEach((u, e) => { if (u) rows.set(edges.output[e], [...(rows.get(edges.output[e]) ?? []), e]); });
        for (const [o, units] of rows) {
          kinds.add(prepared.layers[k].op.kind);
          if (prepared.layers[k].op.kind === 'mul') {
            const r = s.outputRadius[o];
            choices.push({ layer: k, units, options: units.flatMap((_e, pick) => [-r, r].map((d) => units.map((e, i) => s.mid[e] + (i === pick ? d : 0)))) });
          } else {
            choices.push({ layer: k, units, options: windowBallPoints(s, o, units) });
          }
        }
      });
      const vertexCount = choices.reduce((c, ch) => c * ch.options.length, 1);
      if (choices.length === 0 || choices.length > 12 || vertexCount > 4096) continue;
      let largest = 0;
      for (let index = 0; index < vertexCount; index++) {
        const vertex = run.slopes.map((s) => s && { ...s, mid: Float64Array.from(s.mid) });
        let rest = index;
        for (const choice of choices) {
          const option = choice.options[rest % choice.options.length];
          rest = Math.floor(rest / choice.options.length);
          choice.units.forEach((unit, i) => { (vertex[choice.layer] as SlopeUnits).mid[unit] = option[i]; });
        }
        largest = Math.max(largest, spectralNorm(jacobianRows(prepared, vertex)));
      }
      assert.ok(composed.value >= largest * (1 - 1e-12), `case ${cases}: composed ${composed.value} < vertex maximum ${largest}`);
      tightest = Math.min(tightest, composed.value / largest);
      cases++;
    }
    t.diagnostic(`${cases} tiny networks, uncertain rows in ${[...kinds].join(', ')}, smallest composed / vertex maximum ${tightest.toFixed(4)}`);
    assert.ok(cases >= 25, `${cases} tiny networks with 1–12 uncertain units, rows or windows`);
    for (const kind of ['mul', 'maximum', 'reduceMax']) assert.ok(kinds.has(kind), `some tiny network had an uncertain ${kind} row`);
  });

  it('f(x) = x1² + x2² at x0 = (3, 4), ε = 0.5: ‖J(M)‖ = 10 and the a-edges\' correction, the slope box\'s largest ‖J‖ = ‖(6.5, 8.5)‖ (hand-derived), below the layer product', () => {
    // a-edge slopes b(x) = x_i ∈ [x0_i − ½, x0_i + ½] (mid x0_i, radius ½), b-edge slopes a0 = x0_i
    // exact: J(M) = 2 x0ᵀ, ‖J(M)‖ = 10; G R = ½ [1, 1], β = ‖I‖ = 1: §22's stack gives 10 + ½√2. The
    // quadrature bound (§59.3) with one block per output: a = (6, 8), y_b = a_b, q_b = ½:
    // 100 + 2 (6 + 8)/2 + ½ = 114.5, the box's vertex (6.5, 8.5). The true constant is
    // 2‖x0‖ + ε = 10.5 (at x − x0 = ε x0/‖x0‖). Layer product: (β ε_a + α ε_b)/ε = 4.5 + 4 = 8.5, times ‖[1, 1]‖ = √2.
    const network: Network = {
      inputName: 'x', inputShape: [2], output: 1,
      layers: [genericLayer('square', { kind: 'mul' }, [NETWORK_INPUT, NETWORK_INPUT], [[2], [2]], [2]), denseLayer('sum', [[1, 1]], null, 0)],
    };
    const { run, composed } = analyse(network, Float64Array.of(3, 4), 0.5);
    assert.equal(composed.uncertainUnits, 2);
    assert.ok(Math.abs(composed.midpointNorm - 10) < 1e-7, `‖J(M)‖ ${composed.midpointNorm}`);
    assert.ok(composed.value >= Math.sqrt(114.5) && composed.value - Math.sqrt(114.5) < 1e-8 * composed.value, `composed ${composed.value}`);
    assert.ok(Math.abs(run.localBound - 8.5 * Math.SQRT2) < 1e-8, `layer product ${run.localBound}`);
    assert.ok(composed.value >= 10.5);
  });

  it('ReduceMax of (x1, x2): a certain winner is an exact selection (bound 1); a tie is the centred window, its deviation orthogonal to J(M): 1 (hand-derived, §59.3)', () => {
    const network: Network = { inputName: 'x', inputShape: [2], output: 0, layers: [genericLayer('top', { kind: 'reduceMax', axes: [0] }, [NETWORK_INPUT], [[2]], [1])] };
    const certain = analyse(network, Float64Array.of(1, 0), 0.1).composed;
    assert.equal(certain.uncertainUnits, 0);
    assert.ok(Math.abs(certain.value - 1) < 1e-8, `certain winner ${certain.value}`);
    // Tie at (1, 1): weights (½, ½) ± a deviation of length ρ = 1/√2 summing to 0; J(M) = [½, ½]
    // (norm 1/√2), the centred entries' map is I − 11ᵀ/2 (norm 1): the stacked bound 1/√2 + 1/√2; the
    // centred a = J(M)ᵀ is 0, so p = 0 and the quadrature bound (§59.3) is √(½ + ½) = 1, the true constant.
    const tie = analyse(network, Float64Array.of(1, 1), 0.1).composed;
    assert.equal(tie.uncertainUnits, 2);
    assert.ok(tie.value >= 1 && tie.value - 1 < 1e-8, `tie ${tie.value}`);
  });

  it('layer normalisation (§55.1): no sampled or hill-climbed ratio beats it, nor a margin change its functional bound', (t) => {
    const count = 40;
    const { tighter, worst } = sampledAgainstComposed(new SeededRandom(5151), count, randomLayerNormNetwork);
    t.diagnostic(`composed below the layer product on ${tighter} of ${count}, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(tighter > count / 2, `composed tighter on ${tighter} of ${count}`);
    assert.ok(worst > 0.3 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('layer normalisation (§55.1): the slope matrix T(x) of every sampled x reproduces Δy exactly and lies within ρ of T_M', () => {
    const random = new SeededRandom(4242);
    for (let k = 0; k < 30; k++) {
      const n = 2 + random.int(6);
      const spec = { groupSize: n, epsilon: [1e-5, 0.01, 1][random.int(3)], scale: Float64Array.from({ length: n }, () => random.gaussian()), bias: null };
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-3, 0));
      const slopes = normalisationSlopes(spec, x0, 0, epsilon, null);
      const { scale: [rMid], rankOne: [cMid], centred: z0 } = slopes.normalised;
      const rho = slopes.outputRadius[0] / Math.abs(spec.scale[0]);
      const y0 = layerNormOutput(spec, layerNormPoint(spec, x0).normalised);
      const v0 = z0.reduce((a, z) => a + z * z, 0) / n;
      const r = (v: number) => 1 / Math.sqrt(v + spec.epsilon);
      for (let trial = 0; trial < 20; trial++) {
        const direction = Float64Array.from({ length: n }, () => random.gaussian());
        const length = Math.hypot(...direction);
        const dx = direction.map((d) => (d * epsilon * random.uniform()) / length);
        const x = x0.map((v, i) => v + dx[i]);
        const dz = dx.map((d) => d - dx.reduce((a, b) => a + b, 0) / n);
        const v = z0.reduce((a, z, i) => a + (z + dz[i]) ** 2, 0) / n;
        const sigma = v === v0 ? -0.5 * r(v0) ** 3 : (r(v) - r(v0)) / (v - v0);
        // T(x) = r(x) I + (σ/n) z0 (2 z0 + Δz)ᵀ: γ ⊙ T(x) Δz is Δy.
        const rows = Array.from({ length: n }, (_r, i) => Array.from({ length: n }, (_c, j) => (i === j ? r(v) : 0) + (sigma / n) * z0[i] * (2 * z0[j] + dz[j])));
        const y = layerNormOutput(spec, layerNormPoint(spec, x).normalised);
        rows.forEach((row, i) => {
          const predicted = spec.scale[i] * row.reduce((a, t, j) => a + t * dz[j], 0);
          assert.ok(Math.abs(predicted - (y[i] - y0[i])) <= 1e-9 * (Math.abs(y[i]) + Math.abs(y0[i]) + 1e-300), `case ${k}: Δy_${i} ${y[i] - y0[i]} vs T Δz ${predicted}`);
        });
        const deviation = rows.map((row, i) => row.map((t, j) => t - ((i === j ? rMid : 0) + cMid * z0[i] * z0[j])));
        assert.ok(spectralNorm(deviation) <= rho * (1 + 1e-12), `case ${k}: ‖T(x) − T_M‖ ${spectralNorm(deviation)} > ρ ${rho}`);
      }
    }
  });

  it('layer normalisation far out (§70.3): the nominal Jacobian as midpoint, rows within 1/√e + r0 + (r0³/n)|ẑ_i|‖ẑ‖ (hand-derived), which the chord of J at sampled points respects', () => {
    // n = 2, x0 = (1, −1), e = 0.01, γ = (2, −0.5), ε = 1e6: r0 = 1/√1.01, ρ_i = 10 + r0 + r0³ · 1 · √2 / 2.
    const hand = { groupSize: 2, epsilon: 0.01, scale: Float64Array.of(2, -0.5), bias: null };
    const far = normalisationSlopes(hand, Float64Array.of(1, -1), 0, 1e6, null);
    const r0 = 1 / Math.sqrt(1.01);
    const rho = 10 + r0 + (r0 ** 3 * Math.SQRT2) / 2;
    assert.ok(Math.abs(far.normalised.scale[0] - r0) <= 1e-15 && Math.abs(far.normalised.rankOne[0] + r0 ** 3 / 2) <= 1e-15, `midpoint ${far.normalised.scale[0]}, ${far.normalised.rankOne[0]}`);
    [2, 0.5].forEach((g, i) => assert.ok(far.outputRadius[i] >= g * rho && far.outputRadius[i] <= g * rho * (1 + 1e-9), `row ${i}: ${far.outputRadius[i]} vs ${g * rho}`));
    const random = new SeededRandom(7003);
    let farGroups = 0;
    for (let k = 0; k < 24; k++) {
      const n = 2 + random.int(5);
      const spec = { groupSize: n, epsilon: [1e-5, 0.01][k % 2], scale: null, bias: null };
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(1, 6));
      const slopes = normalisationSlopes(spec, x0, 0, epsilon, null);
      const { scale: [rMid], rankOne: [cMid], centred: z0 } = slopes.normalised;
      const r = 1 / Math.sqrt(z0.reduce((a, z) => a + z * z, 0) / n + spec.epsilon);
      if (Math.abs(rMid - r) > 1e-15 * r) continue;
      farGroups++;
      const q = (x: Float64Array) => layerNormPoint(spec, x).normalised;
      const jacobian = (x: Float64Array) => {
        const point = q(x);
        const s = 1 / layerNormPoint(spec, x).inverseScale[0];
        return Array.from({ length: n }, (_r, i) => Array.from({ length: n }, (_c, j) => ((i === j ? 1 : 0) - 1 / n - (point[i] * point[j]) / n) / s));
      };
      for (let trial = 0; trial < 6; trial++) {
        const direction = Float64Array.from({ length: n }, () => random.gaussian());
        const length = Math.hypot(...direction);
        const dx = direction.map((d) => (d * epsilon * (trial % 2 ? 1 : random.uniform())) / length);
        // The chord of J by the composite midpoint rule on [0, t*] and [t*, 1], graded towards t*, where the
        // variance along the segment is smallest and J changes fastest.
        const dz = dx.map((d) => d - dx.reduce((a, b) => a + b, 0) / n);
        const tStar = Math.min(1, Math.max(0, -z0.reduce((a, z, i) => a + z * dz[i], 0) / dz.reduce((a, d) => a + d * d, 0)));
        const steps = 10000;
        const chord = Array.from({ length: n }, () => new Float64Array(n));
        const add = (from: number, to: number) => {
          // t = t* + (end − t*) u³ from t* outwards, for u in [0, 1].
          for (const [start, end] of [[tStar, from], [tStar, to]]) {
            for (let m = 0; m < steps; m++) {
              const t = start + (end - start) * ((m + 0.5) / steps) ** 3;
              const weight = Math.abs(end - start) * (((m + 1) / steps) ** 3 - (m / steps) ** 3);
              jacobian(x0.map((v, i) => v + t * dx[i])).forEach((row, i) => row.forEach((value, j) => (chord[i][j] += weight * value)));
            }
          }
        };
        add(0, 1);
        const change = q(x0.map((v, i) => v + dx[i])).map((v, i) => v - q(x0)[i]);
        chord.forEach((row, i) => {
          const predicted = row.reduce((a, value, j) => a + value * dx[j], 0);
          assert.ok(Math.abs(predicted - change[i]) <= 2e-3 * (Math.abs(change[i]) + 1e-3), `case ${k}: chord Δq_${i} ${predicted} vs ${change[i]}`);
          const deviation = Math.hypot(...Array.from(row, (value, j) => value - ((i === j ? rMid : 0) + cMid * z0[i] * z0[j])));
          assert.ok(deviation <= slopes.outputRadius[i] * (1 + 1e-9), `case ${k}: row ${i} of M(x) − T_M ${deviation} > ${slopes.outputRadius[i]}`);
        });
      }
    }
    assert.ok(farGroups >= 12, `${farGroups} groups far out`);
  });

  it('layer normalisation of x0 = (1, 0, −1), e = 0.5: at ε → 0 the bound is ‖J(x0)‖ = 1/sqrt(2/3 + 1/2) (hand-derived, §23)', () => {
    const network: Network = { inputName: 'x', inputShape: [3], output: 0, layers: [genericLayer('norm', { kind: 'layerNorm', axis: 0, epsilon: 0.5 }, [NETWORK_INPUT], [[3]], [3])] };
    const tiny = analyse(network, Float64Array.of(1, 0, -1), 1e-9).composed;
    assert.ok(Math.abs(tiny.midpointNorm - 1 / Math.sqrt(2 / 3 + 0.5)) < 1e-8, `ε = 1e-9: ‖J(M)‖ ${tiny.midpointNorm}`);
    // The stack [J(M) | β G R] gives its ~1e-9 correction block the weights' floor (1e-3 of the mean, §22):
    // J(M)'s block then weighs 1/sqrt(1 − 5e-4), 2.5e-4 relative.
    assert.ok(tiny.value >= tiny.midpointNorm && tiny.value <= tiny.midpointNorm * (1 + 3e-4), `ε = 1e-9: ${tiny.value}`);
    const { run, composed } = analyse(network, Float64Array.of(1, 0, -1), 0.1);
    assert.ok(Math.abs(run.localBound - 1 / Math.sqrt((Math.SQRT2 - 0.1) ** 2 / 3 + 0.5)) < 1e-9, `layer bound ${run.localBound}`);
    assert.ok(composed.value >= 1 / Math.sqrt(2 / 3 + 0.5), `ε = 0.1: ${composed.value}`);
    assert.ok(worstSampledRatio(new SeededRandom(3), network, Float64Array.of(1, 0, -1), 0.1) <= composed.value);
  });

  it('softmax inside the network (§55.2): no sampled or hill-climbed ratio beats it, nor a margin change its functional bound', (t) => {
    const count = 40;
    const { tighter, worst } = sampledAgainstComposed(new SeededRandom(5353), count, randomSoftmaxNetwork, { inputScale: 2 });
    t.diagnostic(`composed below the layer product on ${tighter} of ${count}, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(tighter > count / 2, `composed tighter on ${tighter} of ${count}`);
    assert.ok(worst > 0.3 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('softmax of two equal logits: at ε → 0 the bound is ‖J(p0)‖ = ½ (J = [[¼, −¼], [−¼, ¼]], hand-derived); it grows with the box', () => {
    const network: Network = { inputName: 'x', inputShape: [2], output: 0, layers: [genericLayer('soft', { kind: 'softmax', axis: 0, flattenTail: false }, [NETWORK_INPUT], [[2]], [2])] };
    const tiny = analyse(network, Float64Array.of(0, 0), 1e-9).composed;
    assert.ok(Math.abs(tiny.midpointNorm - 0.5) < 1e-8, `‖J(M)‖ ${tiny.midpointNorm}`);
    assert.ok(tiny.value >= 0.5 && tiny.value <= 0.5 * (1 + 3e-4), `ε = 1e-9: ${tiny.value}`);
    const wide = analyse(network, Float64Array.of(0, 0), 1).composed;
    assert.ok(wide.value > tiny.value && worstSampledRatio(new SeededRandom(4), network, Float64Array.of(0, 0), 1) <= wide.value);
  });

  it('attention (MatMul of two computed tensors, §55.3; Softmax between): no sampled or hill-climbed ratio beats it, nor a margin change its functional bound', (t) => {
    const count = 30;
    const { tighter, worst } = sampledAgainstComposed(new SeededRandom(5454), count, randomAttentionNetwork);
    t.diagnostic(`composed below the layer product on ${tighter} of ${count}, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(tighter > count / 3, `composed tighter on ${tighter} of ${count}`);
    assert.ok(worst > 0.1 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('MatMul of x with itself ([1, 1] × [1, 1]) at x0 = 3, ε = 0.5: ‖J(M)‖ = 6 plus the a-edge\'s correction 0.5 = 6.5, the true constant (hand-derived)', () => {
    const network: Network = {
      inputName: 'x', inputShape: [1, 1], output: 0,
      layers: [genericLayer('square', { kind: 'matMul' }, [NETWORK_INPUT, NETWORK_INPUT], [[1, 1], [1, 1]], [1, 1])],
    };
    const { composed } = analyse(network, Float64Array.of(3), 0.5);
    assert.ok(Math.abs(composed.midpointNorm - 6) < 1e-7, `‖J(M)‖ ${composed.midpointNorm}`);
    assert.ok(Math.abs(composed.value - 6.5) < 1e-5 * 6.5, `composed ${composed.value}`);
  });

  it('quotients of computed tensors (§55.4) with smooth maps, Max and ReduceMax: no sampled or hill-climbed ratio beats it, nor a margin change its functional bound', (t) => {
    const count = 40;
    const { tighter, worst } = sampledAgainstComposed(new SeededRandom(5656), count, randomSmoothNetwork, { largestLogEpsilon: 0 });
    t.diagnostic(`composed below the layer product on ${tighter} of ${count}, best sampled/composed ${worst.toFixed(4)}`);
    assert.ok(tighter > count / 3, `composed tighter on ${tighter} of ${count}`);
    assert.ok(worst > 0.1 && worst <= 1 + REL, `best sampled/composed ${worst}`);
  });

  it('x / (2 + x) at x0 = 0, ε = 0.5: a-edge slopes 1/b ∈ [0.4, 2/3], b-edge slope −a0 q = 0: 8/15 + 2/15 = 2/3, the true constant (hand-derived, §28)', () => {
    const network: Network = {
      inputName: 'x', inputShape: [1], output: 1,
      layers: [denseLayer('shift', [[1]], [2], NETWORK_INPUT), genericLayer('ratio', { kind: 'mul', divide: true }, [NETWORK_INPUT, 0], [[1], [1]], [1])],
    };
    const { composed } = analyse(network, new Float64Array(1), 0.5);
    assert.ok(Math.abs(composed.midpointNorm - 8 / 15) < 1e-9, `‖J(M)‖ ${composed.midpointNorm}`);
    assert.ok(Math.abs(composed.value - 2 / 3) < 1e-5 * (2 / 3), `composed ${composed.value}`);
  });

  it('the native kernels and the TypeScript operators give the same composed bound through products, maxima, layer normalisation, softmax and attention', () => {
    assert.ok(nativeKernels(), 'the native kernels are built (npm run build)');
    const random = new SeededRandom(21);
    for (let k = 0; k < 10; k++) {
      const { network } = [randomProductNetwork, randomSelectionNetwork, randomLayerNormNetwork, randomSoftmaxNetwork, randomAttentionNetwork][k % 5](random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0));
      const typescript = analyse(network, x0, epsilon, TS_SPECTRAL, 'typescript').composed.value;
      const native = analyse(network, x0, epsilon, { ...DEFAULT_SPECTRAL_OPTIONS, kernels: nativeKernels() }, 'native').composed.value;
      assert.ok(Math.abs(native - typescript) <= 1e-9 * typescript, `network ${k}: native ${native} vs TypeScript ${typescript}`);
    }
  });

  it('analyzeNetwork reports the smaller bound with products, maxima, layer normalisation and softmax, never above the layer or spectral product', async () => {
    const random = new SeededRandom(77);
    let composedWins = 0;
    for (let k = 0; k < 8; k++) {
      const { network } = [randomProductNetwork, randomSelectionNetwork, randomLayerNormNetwork, randomSoftmaxNetwork][k % 4](random);
      const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.gaussian());
      const result = await analyzeNetwork(network, x0, { epsilons: [1e-3, 0.3], backend: 'typescript' });
      for (const run of result.runs) {
        const { method, composedSkipped } = run.network;
        assert.equal(composedSkipped, undefined);
        assertTightestNetworkBound(run.network);
        if (method === 'composed') composedWins++;
      }
    }
    assert.ok(composedWins >= 8, `the composed bound gave ${composedWins} of 16 network bounds`);
  });
});
