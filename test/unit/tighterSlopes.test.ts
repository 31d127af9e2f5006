// Tighter slope sets for the composed bound (docs/derivations.md §59): max windows whose leader is
// certain at x0 get the chord set {e_j0, e_j0 + r_j (e_j − e_j0)} instead of the whole simplex, entries
// that can never overtake the leader are dropped, and ReLU/LeakyReLU units on at x0 get the anchored
// secant's floor. Each rule is checked directly against sampled points (the weights that realise the
// window's change lie within the radius of the midpoint; every secant lies in its interval), by hand
// cases, and through whole networks whose sampled and hill-climbed ratios never beat the bound.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { activate, secantSlopeRange } from '../../src/engine/activations';
import { analyzeNetwork } from '../../src/engine/analyze';
import { composedBound } from '../../src/engine/composed/composedBound';
import { LinearisedNetwork, type SlopeUnits } from '../../src/engine/composed/linearisedNetwork';
import { windowSlopes } from '../../src/engine/composed/selectionSlopes';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Activation, type Network } from '../../src/engine/network';
import { normaliseGraph, requireNetwork } from '../../src/engine/normalise/normalise';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { readModel } from '../../src/onnx/reader';
import { chain, denseLayer, genericLayer, referenceForward } from './helpers/engineNetworks';
import { randomConvNetwork, randomDenseNetwork, randomTinySelectionNetwork } from './helpers/engineRandomNetworks';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };

/**
 * A change of the window's entries inside the ball: |Δt_j| ≤ c_j each, and for entries of one tensor also
 * ‖Δt‖ ≤ jointRadius over the movable entries (per-entry reaches below it, §66.3, or all equal to it).
 */
function sampleChange(random: SeededRandom, reach: Float64Array, jointRadius: number | null, taps: number[], leader: number): Float64Array {
  const change = new Float64Array(reach.length);
  const movable = taps.filter((j) => reach[j] > 0);
  if (movable.length === 0) return change;
  const style = random.int(3);
  if (style === 0) {
    // The extreme that favours one entry over the leader: it up, the leader down, as far as both bounds allow.
    const j = movable[random.int(movable.length)];
    const both = j !== leader && reach[leader] > 0;
    if (!both || jointRadius === null || reach[j] ** 2 + reach[leader] ** 2 <= jointRadius ** 2) {
      change[j] = reach[j];
      if (both) change[leader] = -reach[leader];
      return change;
    }
    // The largest a + b with a ≤ c_j, b ≤ c_leader, a² + b² ≤ r²: at the circle, each capped by its reach.
    const half = jointRadius * Math.SQRT1_2;
    const [a, b] = reach[j] >= half && reach[leader] >= half
      ? [half, half]
      : reach[leader] < half
        ? [Math.sqrt(jointRadius ** 2 - reach[leader] ** 2), reach[leader]]
        : [reach[j], Math.sqrt(jointRadius ** 2 - reach[j] ** 2)];
    change[j] = a;
    change[leader] = -b;
    return change;
  }
  for (const j of movable) change[j] = random.gaussian();
  if (jointRadius !== null) {
    const norm = Math.sqrt(movable.reduce((s, j) => s + change[j] ** 2, 0));
    const radius = jointRadius * (style === 1 ? 1 : random.uniform());
    for (const j of movable) change[j] = Math.max(-reach[j], Math.min(reach[j], (change[j] * radius) / norm));
  } else {
    for (const j of movable) change[j] = reach[j] * (style === 1 ? Math.sign(change[j]) : Math.max(-1, Math.min(1, change[j] / 2)));
  }
  return change;
}

describe('max windows with a certain leader (derivations §59.1)', () => {
  it('the weights that realise every sampled change of the maximum lie within the radius of the midpoint; dropped entries never win', () => {
    const random = new SeededRandom(5901);
    const counts = { chord: 0, simplex: 0, certain: 0, constant: 0, samples: 0 };
    for (let trial = 0; trial < 400; trial++) {
      const oneTensor = trial % 2 === 0;
      const width = 2 + random.int(4);
      const epsilon = Math.pow(10, random.between(-2, 0));
      const taps = Array.from({ length: width }, (_v, j) => j);
      // Values near each other (gaps of the order of ε), some exact ties, some far below.
      const base = random.gaussian();
      const values = Float64Array.from(taps, () => (random.uniform() < 0.2 ? base : base - Math.abs(random.gaussian()) * epsilon * (random.uniform() < 0.8 ? 1.5 : 5)));
      const tauValue = random.uniform() < 0.5 ? 0 : epsilon * 0.05 * random.uniform();
      const tau = new Float64Array(width).fill(tauValue);
      // One tensor: every entry's reach the tensor's radius, or (§66.3) its own reach below it.
      const ownReach = !oneTensor || trial % 4 === 2;
      const reach = Float64Array.from(taps, () => (random.uniform() < 0.15 ? 0 : ownReach ? epsilon * random.between(0.2, 1) : epsilon));
      const jointRadius = oneTensor ? epsilon : null;
      const slopes = windowSlopes([taps], values, tau, reach, jointRadius);
      const edges = slopes.edges;
      const mid = new Map<number, number>();
      for (let e = 0; e < edges.input.length; e++) mid.set(edges.input[e], slopes.mid[e]);
      const radius = slopes.outputRadius[0];
      if (edges.input.length === 0) counts.constant++;
      else if (radius === 0) counts.certain++;
      else if (new Set(slopes.mid).size > 1) counts.chord++;
      else counts.simplex++;
      for (let sample = 0; sample < 40; sample++) {
        // The exact nominal values anywhere within τ of the computed ones (ends included).
        const exact = values.map((v) => v + tauValue * (random.uniform() < 0.3 ? Math.sign(random.gaussian()) : random.between(-1, 1)));
        let j0 = 0;
        for (const j of taps) if (exact[j] > exact[j0]) j0 = j;
        const change = sampleChange(random, reach, jointRadius, taps, j0);
        const moved = exact.map((v, j) => v + change[j]);
        let j1 = 0;
        for (const j of taps) if (moved[j] > moved[j1]) j1 = j;
        const delta = moved[j1] - exact[j0];
        counts.samples++;
        if (edges.input.length === 0) {
          assert.ok(Math.abs(delta) <= 1e-12 * (1 + Math.abs(base)), `a constant window moved by ${delta}`);
          continue;
        }
        // Δmax = (1 − λ) Δt_j0 + λ Δt_j1 with λ ∈ [0, 1] (§22, §59.1).
        const apart = change[j1] - change[j0];
        const lambda = apart === 0 ? 0 : (delta - change[j0]) / apart;
        assert.ok(lambda >= -1e-9 && lambda <= 1 + 1e-9, `λ ${lambda}`);
        const weights = new Map<number, number>();
        const add = (j: number, w: number) => {
          if (reach[j] > 0 && w !== 0) weights.set(j, (weights.get(j) ?? 0) + w);
        };
        add(j0, 1 - lambda);
        add(j1, lambda);
        let squared = 0;
        for (const [j, w] of weights) {
          assert.ok(mid.has(j), `trial ${trial}: entry ${j} carries weight ${w} but is not a candidate edge (values ${[...values]}, reach ${[...reach]})`);
        }
        for (const [j, m] of mid) squared += ((weights.get(j) ?? 0) - m) ** 2;
        const distance = Math.sqrt(squared);
        assert.ok(distance <= radius * (1 + 1e-12) + 1e-12, `trial ${trial}: realised weights at ${distance} from the midpoint, radius ${radius} (values ${[...values]}, τ ${tauValue}, reach ${[...reach]})`);
      }
    }
    assert.ok(counts.chord >= 50, `windows with a certain leader and the chord set: ${counts.chord}`);
    assert.ok(counts.simplex >= 20, `windows with an uncertain leader: ${counts.simplex}`);
    assert.ok(counts.certain >= 10, `certain winners: ${counts.certain}`);
  });

  it('ReduceMax of (x1, x2) at (1, 0.9), ε = 0.1: chord r = 1 − 0.1/(0.1√2), midpoint (1 − r/2, r/2), radius r/√2, bound 1; at (1, 0.85) x2 never overtakes (hand-derived)', () => {
    const network: Network = { inputName: 'x', inputShape: [2], output: 0, layers: [genericLayer('top', { kind: 'reduceMax', axes: [0] }, [NETWORK_INPUT], [[2]], [1])] };
    const analyse = (x0: Float64Array, epsilon: number) => {
      const prepared = prepareNetwork(network, 'typescript');
      const run = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, epsilon);
      return { slopes: run.slopes[0], composed: composedBound(prepared, run.slopes, TS_SPECTRAL) };
    };
    // x2 can overtake x1 only if Δx2 − Δx1 ≥ 0.1, and |Δx2 − Δx1| ≤ √2 ε: the weight on x2 is at most
    // r = 1 − 1/√2. Midpoint (1 − r/2, r/2), radius r/√2; J(M) = [1 − r/2, r/2]; the centred entries'
    // map has norm 1; one output, so the stack gives the sum.
    const r = 1 - Math.SQRT1_2;
    const { slopes, composed } = analyse(Float64Array.of(1, 0.9), 0.1);
    assert.deepEqual([...(slopes?.mid ?? [])].map((m) => +m.toFixed(12)), [1 - r / 2, r / 2].map((m) => +m.toFixed(12)));
    assert.ok(Math.abs((slopes?.outputRadius[0] ?? 0) - r * Math.SQRT1_2) < 1e-12, `radius ${slopes?.outputRadius[0]}`);
    // §22's stack: ‖J(M)‖ + ρ = 1.0731 (√2 with the simplex). The quadrature bound (§59.3): the centred
    // a = J(M)ᵀ is ((1 − r)/2, −(1 − r)/2), p = (1 − r)/√2, q = ρ = r/√2, β = 1:
    // ‖a‖² + 2pq + q² = (1 − r/2)² + r²/4 + (1 − r) r + r²/2 = 1, the true constant.
    assert.ok(Math.hypot(1 - r / 2, r / 2) + r * Math.SQRT1_2 < Math.SQRT2);
    const value = composed?.value ?? 0;
    assert.ok(value >= 1 && value - 1 < 1e-8, `composed ${value}, the true constant 1`);
    // The floor rule alone keeps x2 (0.85 + 0.1 ≥ 1 − 0.1), but 0.15 > √2 · 0.1: a certain winner.
    const certain = analyse(Float64Array.of(1, 0.85), 0.1);
    assert.equal(certain.composed?.uncertainUnits, 0);
    assert.ok(Math.abs((certain.composed?.value ?? 0) - 1) < 1e-8, `certain ${certain.composed?.value}`);
  });

  it('Max of two tensors (entries of different tensors): the pair moves apart by c_a + c_b, not their hypotenuse', () => {
    const values = Float64Array.of(1, 0.9);
    const tau = new Float64Array(2);
    const separate = windowSlopes([[0, 1]], values, tau, Float64Array.of(0.1, 0.1), null);
    const shared = windowSlopes([[0, 1]], values, tau, Float64Array.of(0.1, 0.1), 0.1);
    // Different tensors: D = 0.2, r = ½; one tensor: D = 0.1√2, r = 1 − 1/√2.
    assert.ok(Math.abs(separate.mid[1] - 0.25) < 1e-12, `separate: weight on the follower ${separate.mid[1]}`);
    assert.ok(Math.abs(shared.mid[1] - (1 - Math.SQRT1_2) / 2) < 1e-12, `shared: weight on the follower ${shared.mid[1]}`);
    // A follower that cannot move, against a leader that can: D = c_j0 = 0.1 equals the gap, r = 0 (up to rounding).
    const fixed = windowSlopes([[0, 1]], values, tau, Float64Array.of(0.1, 0), 0.1);
    assert.ok(fixed.outputRadius[0] < 1e-14, `a follower reachable only at the ball's edge: radius ${fixed.outputRadius[0]}`);
  });

  it('conv networks with max-pool windows near ties: no sampled or hill-climbed ratio beats the composed bound', () => {
    const random = new SeededRandom(5902);
    let chordWindows = 0;
    for (let k = 0; k < 24; k++) {
      const { network } = randomConvNetwork(random);
      const prepared = prepareNetwork(network, k % 2 ? 'native' : 'typescript');
      const spectral = k % 2 ? DEFAULT_SPECTRAL_OPTIONS : TS_SPECTRAL;
      const n = prepared.inputSize;
      const x0 = Float64Array.from({ length: n }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, -0.5));
      const run = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral }, epsilon);
      prepared.layers.forEach((p, i) => {
        const s = run.slopes[i];
        if (p.op.kind !== 'maxPool' || !s?.edges) return;
        const byWindow = new Map<number, number[]>();
        s.edges.output.forEach((o, e) => byWindow.set(o, [...(byWindow.get(o) ?? []), s.mid[e]]));
        for (const [o, mids] of byWindow) if (s.outputRadius[o] > 0 && new Set(mids).size > 1) chordWindows++;
      });
      const composed = composedBound(prepared, run.slopes, spectral);
      assert.ok(composed, 'no budget: the bound completes');
      const worst = sampledRatio(random, network, x0, epsilon);
      assert.ok(worst <= composed.value * (1 + 1e-9) + 1e-12, `case ${k}: sampled ${worst} > composed ${composed.value}`);
    }
    assert.ok(chordWindows > 0, 'some max-pool window had a certain leader that could be overtaken');
  });
});

/** The slopes at one vertex of the slope box: uncertain unit `bit` at the upper end of its interval where that bit of `vertex` is set, else the lower. */
function boxVertex(slopes: (SlopeUnits | null)[], units: { layer: number; i: number }[], vertex: number): (SlopeUnits | null)[] {
  const at = slopes.map((s) => s && { ...s, mid: Float64Array.from(s.mid) });
  units.forEach(({ layer, i }, bit) => {
    const s = at[layer] as SlopeUnits;
    s.mid[i] += ((vertex >> bit) & 1 ? 1 : -1) * s.outputRadius[i];
  });
  return at;
}

/** Largest ‖f(x) − f(x0)‖/‖x − x0‖ over uniform, boundary and hill-climbed points of the ball (reference forward pass). */
function sampledRatio(random: SeededRandom, network: Network, x0: Float64Array, epsilon: number): number {
  const output = (x: Float64Array) => referenceForward(network, x)[network.output as number];
  const f0 = output(x0);
  const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const ratio = (x: Float64Array) => {
    const dx = norm(x.map((v, i) => v - x0[i]));
    return dx === 0 ? 0 : norm(output(x).map((v, i) => v - f0[i])) / dx;
  };
  const onSphere = (radius: number) => {
    const d = Float64Array.from(x0, () => random.gaussian());
    const length = norm(d);
    return x0.map((v, i) => v + (radius * d[i]) / length);
  };
  let worst = 0;
  for (let s = 0; s < 12; s++) worst = Math.max(worst, ratio(onSphere(epsilon * (s < 6 ? 1 : random.uniform()))));
  for (let restart = 0; restart < 3; restart++) {
    let x = onSphere(epsilon * (restart === 0 ? 1e-3 : 1));
    let best = ratio(x);
    let step = 0.3 * epsilon;
    for (let iter = 0; iter < 25; iter++) {
      const candidate = x.map((v) => v + (step * random.gaussian()) / Math.sqrt(x0.length));
      const d = norm(candidate.map((v, i) => v - x0[i]));
      const projected = d > epsilon ? x0.map((v, i) => v + ((candidate[i] - v) * epsilon) / d) : candidate;
      const r = ratio(projected);
      if (r > best) {
        best = r;
        x = projected;
      } else step *= 0.7;
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

describe('ReLU and LeakyReLU on at x0: the anchored secant floor (derivations §59.2)', () => {
  it('ReLU at y0 = 0.5 with reach 1: [½, 1] (was [0, 1]); LeakyReLU(0.1): [0.55, 1]; off at x0 unchanged: [0, r] (hand-derived)', () => {
    const [lower, upper] = secantSlopeRange({ kind: 'relu' }, 0.5, 0, 1);
    assert.ok(Math.abs(lower - 0.5) < 1e-14 && lower <= 0.5 && upper === 1, `relu [${lower}, ${upper}]`);
    const [leakyLower, leakyUpper] = secantSlopeRange({ kind: 'leakyRelu', alpha: 0.1 }, 0.5, 0, 1);
    assert.ok(Math.abs(leakyLower - 0.55) < 1e-14 && leakyLower <= 0.55 && leakyUpper === 1, `leaky [${leakyLower}, ${leakyUpper}]`);
    // With τ = 0.1 the exact value may be as low as 0.4: [0.4, 1].
    const [tauLower] = secantSlopeRange({ kind: 'relu' }, 0.5, 0.1, 1);
    assert.ok(Math.abs(tauLower - 0.4) < 1e-14 && tauLower <= 0.4, `with τ: ${tauLower}`);
    // Off at x0 (y0 = −0.5, reach 1): the chord to the top, [0, ½], as before.
    const [offLower, offUpper] = secantSlopeRange({ kind: 'relu' }, -0.5, 0, 1);
    assert.ok(offLower === 0 && Math.abs(offUpper - 0.5) < 1e-14, `off [${offLower}, ${offUpper}]`);
  });

  it('every sampled secant from an admissible exact value lies in the interval (ReLU, LeakyReLU, units at and near the kink)', () => {
    const random = new SeededRandom(5903);
    const activations: Activation[] = [{ kind: 'relu' }, { kind: 'leakyRelu', alpha: 0.1 }, { kind: 'leakyRelu', alpha: 1 }, { kind: 'leakyRelu', alpha: 0 }];
    let narrowed = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const activation = activations[trial % activations.length];
      const reach = Math.pow(10, random.between(-3, 1));
      const y0 = random.uniform() < 0.1 ? 0 : random.gaussian() * reach;
      const tau = random.uniform() < 0.5 ? 0 : reach * 0.1 * random.uniform();
      const [lower, upper] = secantSlopeRange(activation, y0, tau, reach);
      if (lower > (activation.kind === 'leakyRelu' ? activation.alpha : 0) && lower < 1) narrowed++;
      for (let s = 0; s < 20; s++) {
        const a = y0 + tau * (s % 3 === 0 ? -1 : random.between(-1, 1));
        const y = a + reach * (s % 4 === 0 ? -1 : random.between(-1, 1));
        if (y === a) continue;
        const secant = (activate(activation, y) - activate(activation, a)) / (y - a);
        assert.ok(secant >= lower - 1e-12 && secant <= upper + 1e-12, `${activation.kind} y0 ${y0} τ ${tau} reach ${reach}: secant ${secant} from ${a} to ${y} outside [${lower}, ${upper}]`);
      }
    }
    assert.ok(narrowed > 200, `units whose floor narrowed the interval: ${narrowed}`);
  });
});

describe('the midpoint and the deviations in quadrature (derivations §59.3)', () => {
  it('deep ReLU chains (pairwise spreads and γ_k past 3 uncertain layers): at least every vertex of the slope box, and no sampled or hill-climbed ratio beats it', () => {
    const random = new SeededRandom(5904);
    let deep = 0;
    let vertexCases = 0;
    for (let k = 0; k < 30; k++) {
      const width = 2 + random.int(2);
      const depth = 5 + random.int(3);
      const layers = Array.from({ length: depth }, (_v, d) => {
        const inputs = d === 0 ? 2 : width;
        const weight = Array.from({ length: width }, () => Array.from({ length: inputs }, () => random.gaussian() / Math.sqrt(inputs)));
        return denseLayer(`fc${d}`, weight, Array.from({ length: width }, () => 0.1 * random.gaussian()), d === 0 ? NETWORK_INPUT : d - 1, { kind: 'relu' });
      });
      layers.push(denseLayer('out', Array.from({ length: 2 }, () => Array.from({ length: width }, () => random.gaussian())), null, depth - 1));
      const network = chain([2], layers);
      const prepared = prepareNetwork(network, 'typescript');
      const x0 = Float64Array.from({ length: 2 }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-1, 0));
      const run = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, epsilon);
      const composed = composedBound(prepared, run.slopes, TS_SPECTRAL);
      assert.ok(composed, 'no budget: the bound completes');
      // Layers with more than 3 uncertain layers before them take γ_k instead of pairwise norms.
      const uncertainLayers = run.slopes.flatMap((s, layer) => (s?.outputRadius.some((r) => r > 0) ? [layer] : []));
      if (uncertainLayers.length > 4) deep++;
      const worst = sampledRatio(random, network, x0, epsilon);
      assert.ok(worst <= composed.value * (1 + 1e-9) + 1e-12, `chain ${k}: sampled ${worst} > composed ${composed.value}`);
      // Every vertex of the box (each uncertain unit at either end of its interval), where there are at most 12.
      const units = run.slopes.flatMap((s, layer) => (s ? Array.from(s.outputRadius).flatMap((r, i) => (r > 0 ? [{ layer, i }] : [])) : []));
      if (units.length === 0 || units.length > 12) continue;
      let largest = 0;
      for (let vertex = 0; vertex < 1 << units.length; vertex++) {
        const slopes = boxVertex(run.slopes, units, vertex);
        const linearised = new LinearisedNetwork(prepared, slopes);
        const columns = [Float64Array.of(1, 0), Float64Array.of(0, 1)].map((e) => linearised.forward(e, new Map()));
        // ‖J‖ of a 2 × 2 matrix: the larger singular value from its Gram matrix.
        const [p, q, r] = [columns[0][0] ** 2 + columns[0][1] ** 2, columns[0][0] * columns[1][0] + columns[0][1] * columns[1][1], columns[1][0] ** 2 + columns[1][1] ** 2];
        largest = Math.max(largest, Math.sqrt((p + r) / 2 + Math.sqrt(((p - r) / 2) ** 2 + q * q)));
      }
      assert.ok(composed.value >= largest * (1 - 1e-12), `chain ${k}: composed ${composed.value} < vertex maximum ${largest}`);
      vertexCases++;
    }
    assert.ok(deep >= 5, `chains with more than 4 uncertain layers: ${deep}`);
    assert.ok(vertexCases >= 10, `chains checked against every vertex: ${vertexCases}`);
  });
});

describe('the vertex split of few uncertain units (derivations §62.1)', () => {
  /**
   * The uncertain units as segments, independently of the engine's split: an activation unit's
   * interval ends m ± p; a window of one movable edge, m ± ρ on it; a window of two candidates that both
   * move, its two candidates' vertices, i.e. m ± ρ (1, −1)/√2 (the weights sum to 1). Null where some
   * uncertain unit is not a segment (product edges, windows of three or more edges).
   */
  function segments(prepared: ReturnType<typeof prepareNetwork>, slopes: (SlopeUnits | null)[]): { layer: number; entries: number[]; ends: number[][] }[] | null {
    const units: { layer: number; entries: number[]; ends: number[][] }[] = [];
    for (let k = 0; k < slopes.length; k++) {
      const s = slopes[k];
      if (!s || !s.outputRadius.some((r) => r > 0)) continue;
      if (s.normalised || s.softmaxGroups) return null;
      if (!s.edges) {
        s.outputRadius.forEach((r, i) => { if (r > 0) units.push({ layer: k, entries: [i], ends: [[s.mid[i] - r], [s.mid[i] + r]] }); });
        continue;
      }
      if (!['maxPool', 'reduceMax', 'maximum'].includes(prepared.layers[k].op.kind)) return null;
      const windows = new Map<number, number[]>();
      s.uncertain.forEach((u, e) => { if (u) windows.set(s.edges!.output[e], [...(windows.get(s.edges!.output[e]) ?? []), e]); });
      for (const [o, edges] of windows) {
        const rho = s.outputRadius[o];
        if (edges.length === 1) units.push({ layer: k, entries: edges, ends: [[s.mid[edges[0]] - rho], [s.mid[edges[0]] + rho]] });
        else if (edges.length === 2 && s.edges.centred[o]) {
          const [a, b] = edges.map((e) => s.mid[e]);
          const step = rho / Math.SQRT2;
          units.push({ layer: k, entries: edges, ends: [[a - step, b + step], [a + step, b - step]] });
        } else return null;
      }
    }
    return units;
  }

  function jacobianNorm(prepared: ReturnType<typeof prepareNetwork>, slopes: (SlopeUnits | null)[]): number {
    const linearised = new LinearisedNetwork(prepared, slopes);
    const columns = Array.from({ length: prepared.inputSize }, (_v, j) => {
      const e = new Float64Array(prepared.inputSize);
      e[j] = 1;
      return linearised.forward(e, new Map());
    });
    // ‖J‖² = λ_max(JᵀJ) of a matrix with a handful of columns: power iteration on the Gram matrix to convergence.
    const n = columns.length;
    const gram = columns.map((a) => columns.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));
    let v = Array.from({ length: n }, (_x, i) => 1 + i / n);
    let lambda = 0;
    for (let step = 0; step < 2000; step++) {
      const w = gram.map((row) => row.reduce((s, g, j) => s + g * v[j], 0));
      const norm = Math.hypot(...w);
      if (norm === 0) return 0;
      lambda = norm;
      v = w.map((x) => x / norm);
    }
    return Math.sqrt(lambda);
  }

  it('tiny networks whose uncertain units are at most 4 segments: the bound is the largest ‖J(S)‖ over their ends, and no sampled ratio beats it', () => {
    const random = new SeededRandom(6201);
    let cases = 0;
    let windows = 0;
    for (let attempt = 0; attempt < 600 && cases < 30; attempt++) {
      const generate = [randomDenseNetwork, randomConvNetwork, randomTinySelectionNetwork][attempt % 3];
      const { network } = generate(random);
      const prepared = prepareNetwork(network, 'typescript');
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0));
      const run = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, epsilon);
      const units = segments(prepared, run.slopes);
      if (!units || units.length === 0 || units.length > 4) continue;
      const composed = composedBound(prepared, run.slopes, TS_SPECTRAL);
      assert.ok(composed, 'no budget: the bound completes');
      let largest = 0;
      for (let vertex = 0; vertex < 1 << units.length; vertex++) {
        const slopes = run.slopes.map((s) => s && { ...s, mid: Float64Array.from(s.mid) });
        units.forEach((unit, bit) => unit.entries.forEach((entry, i) => { (slopes[unit.layer] as SlopeUnits).mid[entry] = unit.ends[(vertex >> bit) & 1][i]; }));
        largest = Math.max(largest, jacobianNorm(prepared, slopes));
      }
      // Every combination leaves no uncertain unit, so each is ‖J(v)‖ certified exactly (up to §22's margin and the certificate's rounding).
      assert.ok(composed.value >= largest * (1 - 1e-12), `case ${cases}: composed ${composed.value} < vertex maximum ${largest}`);
      assert.ok(composed.value <= largest * (1 + 1e-6) + 1e-12, `case ${cases}: composed ${composed.value} above the vertex maximum ${largest}: the split did not make it exact`);
      const worst = sampledRatio(random, network, x0, epsilon);
      assert.ok(worst <= composed.value * (1 + 1e-9) + 1e-12, `case ${cases}: sampled ${worst} > composed ${composed.value}`);
      if (units.some((u) => u.entries.length === 2 || run.slopes[u.layer]?.edges)) windows++;
      cases++;
    }
    assert.ok(cases >= 20, `${cases} tiny networks with 1–4 segment units`);
    assert.ok(windows >= 3, `${windows} of them with a max window among the split units`);
  });
});

describe('weights on the blocks of a single uncertain layer (derivations §62.2)', () => {
  it('one dense layer of 5–12 uncertain ReLU units (many at their kinks, some paired so that J(M) nearly vanishes): at least the largest ‖J(S)‖ over every vertex, and no sampled ratio beats it', () => {
    const random = new SeededRandom(6202);
    let cases = 0;
    let tightest = Infinity;
    for (let attempt = 0; attempt < 400 && cases < 20; attempt++) {
      // A dense ReLU layer at its kinks (biases 0 at x0 = 0 put every unit there) or a conv + max-pool over a flat input (ties).
      const inputs = 3 + random.int(3);
      const width = 5 + random.int(8);
      const outputs = 2 + random.int(3);
      // Every other case pairs the units (equal rows in, opposite columns out): J(M) nearly vanishes and the deviations carry the bound.
      const paired = attempt % 2 === 0;
      const rowsIn = Array.from({ length: width }, () => Array.from({ length: inputs }, () => random.gaussian()));
      const columnsOut = Array.from({ length: outputs }, () => Array.from({ length: width }, () => random.gaussian()));
      if (paired) {
        for (let i = 1; i < width; i += 2) {
          rowsIn[i] = rowsIn[i - 1].map((v) => v + 0.05 * random.gaussian());
          for (const row of columnsOut) row[i] = -row[i - 1];
        }
      }
      const hidden = denseLayer('hidden', rowsIn, Array.from({ length: width }, () => (random.uniform() < 0.7 ? 0 : 0.3 * random.gaussian())), NETWORK_INPUT, { kind: 'relu' });
      const out = denseLayer('out', columnsOut, null, 0);
      const network = chain([inputs], [hidden, out]);
      const prepared = prepareNetwork(network, 'typescript');
      const x0 = Float64Array.from({ length: inputs }, () => (random.uniform() < 0.5 ? 0 : 0.05 * random.gaussian()));
      const epsilon = Math.pow(10, random.between(-2, 0));
      const run = runEpsilon({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, epsilon);
      const units = run.slopes.flatMap((s, layer) => (s ? Array.from(s.outputRadius).flatMap((r, i) => (r > 0 ? [{ layer, i }] : [])) : []));
      if (units.length < 5 || units.length > 12) continue;
      const composed = composedBound(prepared, run.slopes, TS_SPECTRAL);
      assert.ok(composed, 'no budget: the bound completes');
      let largest = 0;
      for (let vertex = 0; vertex < 1 << units.length; vertex++) {
        const slopes = boxVertex(run.slopes, units, vertex);
        const linearised = new LinearisedNetwork(prepared, slopes);
        const columns = Array.from({ length: inputs }, (_v, j) => linearised.forward(Float64Array.from({ length: inputs }, (_x, i) => (i === j ? 1 : 0)), new Map()));
        const gram = columns.map((a) => columns.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));
        let v = Array.from({ length: inputs }, (_x, i) => 1 + i);
        let lambda = 0;
        for (let step = 0; step < 500; step++) {
          const w = gram.map((row) => row.reduce((s, g, j) => s + g * v[j], 0));
          lambda = Math.hypot(...w);
          if (lambda === 0) break;
          v = w.map((x) => x / lambda);
        }
        largest = Math.max(largest, Math.sqrt(lambda));
      }
      assert.ok(composed.value >= largest * (1 - 1e-12), `case ${cases}: composed ${composed.value} < vertex maximum ${largest}`);
      const worst = sampledRatio(random, network, x0, epsilon);
      assert.ok(worst <= composed.value * (1 + 1e-9) + 1e-12, `case ${cases}: sampled ${worst} > composed ${composed.value}`);
      tightest = Math.min(tightest, composed.value / largest);
      cases++;
    }
    assert.ok(cases >= 15, `${cases} networks with one layer of 5–12 uncertain units`);
    assert.ok(tightest < 1.2, `the bound came within 20 % of the vertex maximum somewhere (closest ${tightest})`);
  });
});

describe('the bundled example at small ε (derivations §62)', () => {
  it('with its 221 tied pool1 windows (weighted, §62.2) and, at 1e-4, split ReLU units and a pool2 window (§62.1): a long gradient-ascent search from the linearised direction never beats the composed bound', async () => {
    const folder = join(import.meta.dirname, '..', '..', 'examples', 'mnist');
    const network = requireNetwork(normaliseGraph(await readModel(join(folder, 'mnist-cnn.onnx'))), 'mnist-cnn.onnx');
    const x0 = Float64Array.from(JSON.parse(readFileSync(join(folder, 'sample-input.json'), 'utf8')).data as number[]);
    // Ten times the default search, four times its restarts: the witness stops moving well below this (§62.0).
    const result = await analyzeNetwork(network, x0, { epsilons: [1e-5, 1e-4], lowerBound: { budget: 1000, restarts: 16 } });
    for (const run of result.runs) {
      const lower = run.lowerBound?.value ?? Infinity;
      assert.equal(run.network.method, 'composed', `ε = ${run.epsilon}: the composed bound is the network bound`);
      assert.ok(lower <= run.network.localBound, `ε = ${run.epsilon}: witnessed ${lower} > bound ${run.network.localBound}`);
    }
  });
});
