// Tighter reaches for deep uncertain units (docs/derivations.md §66): the prefix norms a layer's caps
// come from, recomputed over the rows still uncertain (§66.2), each bound how far its rows move at
// sampled and hill-climbed points of the ball; each activation output's own reach (§66.3) bounds its
// move, so a max-pool window read on it never changes winner where its slopes say it cannot; and a
// hand-built case pins both rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layerRunPrefixReach } from '../../src/engine/composed/composedBound';
import { analyzeNetwork } from '../../src/engine/analyze';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { runEpsilon, type RunContext } from '../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network } from '../../src/engine/network';
import { prepareNetwork, type PreparedNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { chain, denseLayer, genericLayer, referenceForward } from './helpers/engineNetworks';
import { randomConvNetwork, randomDenseNetwork, randomGraphNetwork } from './helpers/engineRandomNetworks';
import { ballPoints } from './helpers/ballPoints';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };
// Sampled values are float64 sums of a few hundred terms (as in prefixReach.test.ts).
const REL = 1e-9;
const ABS = 1e-12;

interface AskedNorm {
  layer: number;
  rows: Uint8Array;
  value: number;
}

/** The slopes-only run with prefix reach (as analyze.ts runs it), and every prefix norm its caps asked for. */
function runRecordingCaps(ctx: RunContext, epsilon: number): AskedNorm[] {
  const product = runEpsilon(ctx, epsilon);
  const { prefixReach } = layerRunPrefixReach(ctx.prepared, ctx.spectral, Infinity);
  const asked: AskedNorm[] = [];
  runEpsilon({
    ...ctx,
    prefixReach: (layer, rows, slopes) => {
      const beta = prefixReach(layer, rows, slopes);
      if (beta) asked.push({ layer, rows: Uint8Array.from(rows), value: beta.value });
      return beta;
    },
  }, epsilon, product);
  return asked;
}

/** The tensor a capped layer's units read: the pre-activation, or a lone activation's input. */
function unitValues(prepared: PreparedNetwork, values: NominalValues, x: Float64Array, layer: number): Float64Array {
  const p = prepared.layers[layer];
  return p.op.kind === 'affine' ? (values.preActivations[layer] as Float64Array) : tensorValue(values, x, p.layer.inputs[0]);
}

describe('tighter reaches for deep uncertain units (derivations §66)', () => {
  it('hand-derived: a unit the first prefix norm leaves uncertain is stable under the norm over the rows still uncertain', async () => {
    // fc1 = Q diag(10, 1, 1) with Q = [[1, 2, 2], [2, 1, −2], [2, −2, 1]]/3 (orthogonal, so no coordinate's
    // own reach, §67, is small), bias 5, all on at x0 = 0; fc2 reads a = x2 + x3 and b = x2 through rows
    // (0, 1, 1) Q and (0, 1, 0) Q, with biases putting them at 0.05 and 0.012. ε = 0.01: the product's reach
    // is ε ‖fc1‖ ‖row‖ ≈ 0.141 and 0.1, both uncertain. β over {a, b} = ‖[[1, 1], [1, 0]]‖ = (1 + √5)/2:
    // a (0.05 > 0.0162) is settled, b (0.012 < 0.0162) is not. β over {b} = ‖(0, 1, 0)‖ = 1: b's reach
    // 0.01 < 0.012, stable. So f = (x2 + x3 + 0.05, x2 + 0.012) near x0 and L = ‖[[0, 1, 1], [0, 1, 0]]‖.
    // (Exactly so up to fc1's and fc2's float32 weights: the expected values are computed from them.)
    const q = [[1, 2, 2], [2, 1, -2], [2, -2, 1]].map((row) => row.map((v) => v / 3));
    const fc1 = q.map((row) => [row[0] * 10, row[1], row[2]]);
    const readA = [0, 1, 1].map((_v, j) => q[1][j] + q[2][j]);
    const readB = q[1];
    const network = chain([3], [
      denseLayer('fc1', fc1, [5, 5, 5], NETWORK_INPUT, { kind: 'relu' }),
      denseLayer('fc2', [readA, readB], [0.05 - 5 * readA.reduce((x, y) => x + y, 0), 0.012 - 5 * readB.reduce((x, y) => x + y, 0)], 0, { kind: 'relu' }),
    ]);
    const x0 = Float64Array.of(0, 0, 0);
    const prepared = prepareNetwork(network, 'typescript');
    // The exact prefix rows from the float32 weights, and the norms the test expects.
    const f32 = (m: number[][]) => m.map((row) => row.map((v) => Math.fround(v)));
    const [w1, w2] = [f32(fc1), f32([readA, readB])];
    const h = w2.map((row) => [0, 1, 2].map((j) => row.reduce((sum, v, k) => sum + v * w1[k][j], 0)));
    const dot = (u: number[], v: number[]) => u.reduce((sum, x, i) => sum + x * v[i], 0);
    const [gaa, gab, gbb] = [dot(h[0], h[0]), dot(h[0], h[1]), dot(h[1], h[1])];
    const both = Math.sqrt((gaa + gbb) / 2 + Math.sqrt(((gaa - gbb) / 2) ** 2 + gab * gab));
    const near = (value: number, exact: number) => value >= exact * (1 - 1e-12) && value <= exact * (1 + 1e-8);
    const asked = runRecordingCaps({ prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL }, 0.01);
    assert.deepEqual(asked.map((a) => [a.layer, [...a.rows]]), [[1, [1, 1]], [1, [0, 1]]], 'two norms for fc2: over {a, b}, then over {b}');
    assert.ok(near(asked[0].value, both) && Math.abs(both - (1 + Math.sqrt(5)) / 2) < 1e-6, `β over {a, b}: ${asked[0].value}, exact ${both}`);
    assert.ok(near(asked[1].value, Math.sqrt(gbb)) && Math.abs(Math.sqrt(gbb) - 1) < 1e-6, `β over {b}: ${asked[1].value}`);
    const run = (await analyzeNetwork(network, x0, { epsilons: [0.01], backend: 'typescript' })).runs[0];
    assert.equal(run.network.composed?.uncertainUnits, 0, 'no unit is uncertain');
    assert.ok(near(run.network.localBound, both), `bound ${run.network.localBound}, exact ${both}`);
  });

  it('hand-derived: a max-pool window whose runner-up is within the tensor\'s radius but not within the entries\' own reaches has a certain leader', async () => {
    // fc1 = diag(1, 0.01, 5) with ReLU and biases (1, 0.985, 1), x0 = 0, ε = 0.01; the pool's one window reads
    // t1 and t2 (t3 only makes ‖fc1‖ = 5, so that the layer product, 5, is not the bound). The layer's
    // radius is ε ‖fc1‖ = 0.05, so by it the runner-up (0.985 + 0.05 ≥ 1 − 0.05) could win; by the entries'
    // own reaches, 0.01 and 10⁻⁴, it cannot (0.9851 < 0.99). f = max(t1, t2) = 1 + x1 in the whole ball: L = 1.
    const network = chain([3], [
      denseLayer('fc1', [[1, 0, 0], [0, 0.01, 0], [0, 0, 5]], [1, 0.985, 1], NETWORK_INPUT, { kind: 'relu' }),
      genericLayer('grid', { kind: 'reshape' }, [0], [[3]], [1, 1, 3]),
      genericLayer('pool', { kind: 'maxPool', kernel: [1, 2], strides: [1, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, [1], [[1, 1, 3]], [1, 1, 1]),
    ]);
    const x0 = Float64Array.of(0, 0, 0);
    const prepared = prepareNetwork(network, 'typescript');
    const ctx = { prepared, x0, nominal: pureForward(prepared, x0) as NominalValues, spectralCache: new Map(), spectral: TS_SPECTRAL };
    const { prefixReach } = layerRunPrefixReach(prepared, TS_SPECTRAL, Infinity);
    const pool = runEpsilon({ ...ctx, prefixReach }, 0.01, runEpsilon(ctx, 0.01)).slopes[2];
    assert.deepEqual([...(pool?.edges?.input ?? [])], [0], 'one candidate edge: the leader t1');
    assert.equal(pool?.outputRadius[0], 0);
    const run = (await analyzeNetwork(network, x0, { epsilons: [0.01], backend: 'typescript' })).runs[0];
    assert.ok(Math.abs(run.network.layerProduct - 5) < 1e-8, `layer product ${run.network.layerProduct}`);
    assert.equal(run.network.composed?.uncertainUnits, 0, 'no uncertain window');
    assert.ok(run.network.localBound >= 1 && run.network.localBound <= 1 + 1e-8, `bound ${run.network.localBound}, exact 1`);
  });

  it('every prefix norm a layer\'s caps asked for, the first and those over the rows still uncertain, bounds its rows\' moves (random DAGs)', () => {
    const random = new SeededRandom(6602);
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork];
    let checked = 0;
    let narrowed = 0;
    let tightest = 0;
    // 72 networks: the intervals of §69 settle many of the units a first norm leaves, so fewer layers ask again.
    for (let k = 0; k < 72; k++) {
      const { network } = builders[k % builders.length](random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2, 0.5));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const spectral = backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS;
      const asked = runRecordingCaps({ prepared, x0, nominal, spectralCache: new Map(), spectral }, epsilon)
        .filter(({ layer }) => prepared.layers[layer].op.kind === 'affine' || prepared.layers[layer].op.kind === 'activation');
      // A later norm of the same layer reads fewer rows, hence is at most the earlier one (up to its certificate's slack).
      asked.forEach((a, i) => {
        const earlier = asked.slice(0, i).filter((b) => b.layer === a.layer);
        if (earlier.length === 0) return;
        narrowed++;
        a.rows.forEach((u, r) => assert.ok(!u || earlier.every((b) => b.rows[r]), `network ${k} layer ${a.layer}: row ${r} not among the earlier norm's rows`));
      });
      if (asked.length === 0) continue;
      const before = asked.map((a) => Float64Array.from(unitValues(prepared, nominal, x0, a.layer)));
      const worstMove = (x: Float64Array, check: boolean) => {
        const values = pureForward(prepared, x) as NominalValues;
        let worst = 0;
        asked.forEach((a, j) => {
          const z = unitValues(prepared, values, x, a.layer);
          const cap = epsilon * a.value;
          a.rows.forEach((u, r) => {
            if (!u) return;
            const moved = Math.abs(z[r] - before[j][r]);
            if (check) {
              assert.ok(moved <= cap * (1 + REL) + ABS, `network ${k} layer ${a.layer} unit ${r}: moved ${moved} > ε β = ${cap}`);
              checked++;
            }
            worst = Math.max(worst, moved / cap);
          });
        });
        return worst;
      };
      for (const x of ballPoints(random, x0, epsilon, (x) => worstMove(x, false))) tightest = Math.max(tightest, worstMove(x, true));
    }
    assert.ok(checked > 500, `${checked} unit moves checked`);
    assert.ok(narrowed > 3, `${narrowed} prefix norms over the rows an earlier one left uncertain`);
    assert.ok(tightest > 0.05, `largest move / cap = ${tightest}`);
  });

  it('max-pool windows read on activation outputs: a window whose slopes say its winner is certain is never overtaken at sampled and hill-climbed points (random conv networks)', () => {
    const random = new SeededRandom(6603);
    let rivalsChecked = 0;
    let closest = 0;
    for (let k = 0; k < 40; k++) {
      const { network } = randomConvNetwork(random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian());
      const epsilon = Math.pow(10, random.between(-2.5, -0.5));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const spectral = backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS;
      // The slopes-only run, where each coordinate's own reach is known (§66.3, §67).
      const ctx = { prepared, x0, nominal, spectralCache: new Map(), spectral };
      const { prefixReach } = layerRunPrefixReach(prepared, spectral, Infinity);
      const run = runEpsilon({ ...ctx, prefixReach }, epsilon, runEpsilon(ctx, epsilon));
      const outputs = (x: Float64Array) => referenceForward(network as Network, x);
      const at0 = outputs(x0);
      // Per max-pool layer reading an activation: each window with one candidate edge and radius 0 (its
      // leader certain), against the entries that would be candidates with the tensor's radius for every
      // entry (§22's rule before §66.3): the rivals the coordinate reaches ruled out.
      const pairs: { source: number; leader: number; rival: number; gap: number }[] = [];
      prepared.layers.forEach((p, layer) => {
        const s = run.slopes[layer];
        const source = p.layer.inputs[0];
        if (p.op.kind !== 'maxPool' || !s?.edges || source === NETWORK_INPUT) return;
        const kind = prepared.layers[source].op.kind;
        if (kind !== 'affine' && kind !== 'activation') return;
        const edgesOf = new Map<number, number[]>();
        s.edges.output.forEach((o, e) => edgesOf.set(o, [...(edgesOf.get(o) ?? []), s.edges?.input[e] as number]));
        const radius = run.layers[source].epsilonOut;
        const coarse = p.op.pool.slopeEdges(at0[source], 0, new Float64Array(p.inSizes[0]).fill(radius), radius);
        const rivalsOf = new Map<number, number[]>();
        coarse.edges?.output.forEach((o, e) => rivalsOf.set(o, [...(rivalsOf.get(o) ?? []), coarse.edges?.input[e] as number]));
        for (const [o, entries] of edgesOf) {
          if (entries.length !== 1 || s.outputRadius[o] !== 0) continue;
          const leader = entries[0];
          for (const rival of rivalsOf.get(o) ?? []) {
            const gap = at0[source][leader] - at0[source][rival];
            if (rival !== leader && gap > 0) pairs.push({ source, leader, rival, gap });
          }
        }
      });
      if (pairs.length === 0) continue;
      // The largest share of its gap at x0 a rival closes at x (above 1: the leader was overtaken).
      const closed = (x: Float64Array) => {
        const at = outputs(x);
        return Math.max(...pairs.map(({ source, leader, rival, gap }) => 1 - (at[source][leader] - at[source][rival]) / gap));
      };
      for (const x of ballPoints(random, x0, epsilon, closed)) {
        const share = closed(x);
        assert.ok(share < 1, `network ${k}, ε ${epsilon}: a window's certain leader was overtaken (${share} of the gap closed)`);
        closest = Math.max(closest, share);
      }
      rivalsChecked += pairs.length;
    }
    assert.ok(rivalsChecked > 30, `${rivalsChecked} rivals ruled out by the coordinate reaches checked`);
    assert.ok(closest > 0.05, `the closest approach closed ${closest} of a gap`);
  });
});
