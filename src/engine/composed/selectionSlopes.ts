// Slope units for the layers that select or multiply their inputs (docs/derivations.md §22, §55): max
// pooling, ReduceMax and the maximum of two computed tensors as windows of candidates with selection
// weights, the product of two computed tensors as two edges per output (the chord identity). Edge e
// routes entry input[e] of the layer's inputs, concatenated in order, to output output[e].
import { roundedUp, type Interval } from '../reachInterval';
import type { SlopeUnits } from './linearisedNetwork';

/** Relative slack on the winner comparisons: keeping a few extra candidates is always sound. */
const CANDIDATE_SLACK = 1e-14;

const UNIT_ROUNDOFF = Number.EPSILON / 2;

/**
 * How far two entries of a window can move apart inside the ball, |Δt_j − Δt_k|, from their reaches:
 * at most c_j + c_k, and for entries of one tensor whose change has 2-norm at most `jointRadius` also at
 * most √2 · jointRadius (docs/derivations.md §59.1, §66.3). Rounded up.
 */
function pairReach(jointRadius: number | null, cj: number, ck: number): number {
  return (jointRadius === null ? cj + ck : Math.min(cj + ck, Math.SQRT2 * jointRadius)) * (1 + 4 * UNIT_ROUNDOFF);
}

/**
 * Windows of candidates (entries of the concatenated inputs), each known to lie within tau[j] + reach[j]
 * of values[j] everywhere in the ball (`jointRadius`: all entries of one tensor, whose change has
 * 2-norm at most that; null: entries of different tensors). An entry that can never reach the window's guaranteed floor, or never overtake
 * the nominal leader, never wins; if no remaining candidate can move, the window's maximum is constant
 * (no edge); one candidate is a certain winner (weight exactly 1). Otherwise the change of the maximum
 * is Σ w_j Δt_j with w in the convex hull of vertices: the unit vectors of the candidates when the
 * winner at x0 is uncertain (§22), or, when the leader j0 wins at x0 whatever the rounding, e_j0 and
 * e_j0 + r_j (e_j − e_j0) with r_j = 1 − g_j / D_j the chord of the gap g_j over how far the two can move
 * apart (§59.1). Weights on candidates that cannot move multiply a zero change and are dropped.
 * Midpoint: the vertices' centroid; radius: the largest distance from it to a vertex.
 */
export function windowSlopes(
  windows: ArrayLike<number>[],
  values: Float64Array,
  tau: Float64Array,
  reach: Float64Array,
  jointRadius: number | null,
  /** Where known, an interval holding each entry's exact values over the ball (§69): it cuts the floor and each top. */
  bounds?: Interval,
): SlopeUnits & { edges: NonNullable<SlopeUnits['edges']> } {
  const input: number[] = [];
  const output: number[] = [];
  const mid: number[] = [];
  const uncertain: number[] = [];
  const outputRadius = new Float64Array(windows.length);
  const centred = new Uint8Array(windows.length);
  windows.forEach((taps, o) => {
    let floor = -Infinity;
    let leader = taps[0];
    for (let t = 0; t < taps.length; t++) {
      const j = taps[t];
      floor = Math.max(floor, values[j] - tau[j] - reach[j], bounds ? bounds.low[j] : -Infinity);
      if (values[j] > values[leader]) leader = j;
    }
    // g_j ≤ the exact gap a_j0 − a_j (rounded down): positive for every other candidate when j0 certainly leads at x0.
    const gap = (j: number) => {
      const g = values[leader] - values[j] - tau[leader] - tau[j];
      return g - 4 * UNIT_ROUNDOFF * (Math.abs(values[leader]) + Math.abs(values[j]) + tau[leader] + tau[j]);
    };
    const candidates = Array.from(taps).filter((j) => {
      if (j === leader) return true;
      const top = Math.min(values[j] + tau[j] + reach[j], bounds ? bounds.high[j] : Infinity);
      if (top + CANDIDATE_SLACK * (Math.abs(top) + Math.abs(floor)) < floor) return false;
      return gap(j) <= pairReach(jointRadius, reach[j], reach[leader]);
    });
    const movable = candidates.filter((j) => reach[j] > 0);
    if (movable.length === 0) return;
    if (candidates.length === 1) {
      input.push(leader);
      output.push(o);
      mid.push(1);
      uncertain.push(0);
      return;
    }
    const others = candidates.filter((j) => j !== leader);
    const leads = others.every((j) => gap(j) > 0);
    const weights = leads ? chordWeights(others, leader, gap, (j) => pairReach(jointRadius, reach[j], reach[leader]), reach) : uniformWeights(candidates, reach);
    weights.mid.forEach((w, j) => {
      input.push(j);
      output.push(o);
      mid.push(w);
      uncertain.push(1);
    });
    outputRadius[o] = weights.radius * (1 + 2 * UNIT_ROUNDOFF * (candidates.length + 4));
    if (movable.length === candidates.length) centred[o] = 1;
  });
  return {
    mid: Float64Array.from(mid),
    outputRadius,
    uncertain: Uint8Array.from(uncertain),
    edges: { input: Int32Array.from(input), output: Int32Array.from(output), centred },
  };
}

/** Midpoint weights on the movable candidates, and the largest distance from them to a vertex of the window's weight set. */
interface WindowWeights {
  mid: Map<number, number>;
  radius: number;
}

/**
 * Winner uncertain at x0: vertices e_j for every candidate, centroid 1/|C| on each; a vertex of a
 * candidate that cannot move projects to 0 (§22).
 */
function uniformWeights(candidates: number[], reach: Float64Array): WindowWeights {
  const movable = candidates.filter((j) => reach[j] > 0);
  const weight = 1 / candidates.length;
  const toVertex = Math.sqrt((1 - weight) ** 2 + (movable.length - 1) * weight * weight);
  const toZero = movable.length < candidates.length ? weight * Math.sqrt(movable.length) : 0;
  return { mid: new Map(movable.map((j) => [j, weight])), radius: Math.max(toVertex, toZero) };
}

/**
 * Leader j0 certain at x0 (§59.1): vertices e_j0 and e_j0 + r_j (e_j − e_j0), r_j = 1 − g_j / D_j
 * rounded up; centroid w̄ = e_j0 + Σ μ_j (e_j − e_j0) with μ_j = r_j / (|others| + 1). Distances in closed
 * form over the movable coordinates (the others are dropped): with Q = Σ μ_j² over movable j and
 * S = Σ μ_j, ‖e_j0 − w̄‖² = Q + [j0 moves] S², ‖v_k − w̄‖² = Q − [k moves] (μ_k² − (r_k − μ_k)²) + [j0 moves] (S − r_k)².
 */
function chordWeights(others: number[], leader: number, gap: (j: number) => number, apart: (j: number) => number, reach: Float64Array): WindowWeights {
  const chord = others.map((j) => Math.min(1, 1 - gap(j) / apart(j) + 4 * UNIT_ROUNDOFF));
  const mu = chord.map((r) => r / (others.length + 1));
  const moves = (j: number) => (reach[j] > 0 ? 1 : 0);
  let q = 0;
  let s = 0;
  others.forEach((j, i) => {
    q += moves(j) * mu[i] * mu[i];
    s += mu[i];
  });
  const leaderMoves = moves(leader);
  let radiusSquared = q + leaderMoves * s * s;
  others.forEach((j, i) => {
    const d = q - moves(j) * (mu[i] * mu[i] - (chord[i] - mu[i]) ** 2) + leaderMoves * (s - chord[i]) ** 2;
    radiusSquared = Math.max(radiusSquared, d);
  });
  const mid = new Map<number, number>();
  if (leaderMoves) mid.set(leader, 1 - s);
  others.forEach((j, i) => {
    if (moves(j)) mid.set(j, mu[i]);
  });
  return { mid, radius: Math.sqrt(radiusSquared) };
}

/** The two candidates of y_i = max(a_i, b_source[i]): a_i is entry i, b_j entry a.length + j. */
export function maximumWindows(source: Int32Array): Int32Array[] {
  return Array.from(source, (j, i) => Int32Array.of(i, source.length + j));
}

/** ReduceMax's disjoint windows: output o reads window[o·width …(o + 1)·width). */
export function reductionWindows(window: Int32Array, width: number): Int32Array[] {
  return Array.from({ length: window.length / width }, (_v, o) => window.subarray(o * width, (o + 1) * width));
}

/** [v − w, v + w] rounded outward (w ≥ 0; exact when w = 0). */
function widened(v: number, w: number): [number, number] {
  if (w === 0) return [v, v];
  const slack = (Math.abs(v) + w) * 2 * UNIT_ROUNDOFF;
  return [v - w - slack, v + w + slack];
}

/**
 * y_i = a_i · b_j (j = source[i], b broadcast over a's shape) as two edges per output, from the chord
 * identity Δy_i = b_j(x) Δa_i + a0*_i Δb_j (docs/derivations.md §55): the a-edge's slope is b_j(x), which
 * lies in [b0_j − τ_b − reach_b(j), b0_j + τ_b + reach_b(j)] ∩ `rangeB` (b's activation range) ∩ b_j's
 * interval where given (§69); the
 * b-edge's slope is the exact nominal a0*_i ∈ [a0_i − τ_a, a0_i + τ_a]. An edge whose input cannot move
 * is left out (its change is 0). Output i's deviation row has length at most hypot of its two edges'
 * radii. Entry i of the concatenated inputs is a_i, entry a.length + j is b_j.
 */
export function productSlopes(
  source: Int32Array,
  a0: Float64Array,
  b0: Float64Array,
  tauA: number,
  tauB: number,
  reachA: Float64Array,
  reachB: Float64Array,
  [low, high]: readonly [number, number],
  /** Where known, an interval holding each b_j over the ball (§69): it bounds b(x) too. */
  boundsB?: Interval,
): SlopeUnits {
  const input: number[] = [];
  const output: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const j = source[i];
    if (reachA[i] > 0) {
      const [from, to] = widened(b0[j], tauB + reachB[j]);
      input.push(i);
      output.push(i);
      // The range bounds b(x) itself; a range that misses the interval entirely cannot happen for a
      // sound reach, but keep the interval non-empty whatever the rounding did.
      const lo = Math.max(low, from, boundsB ? boundsB.low[j] : -Infinity);
      const hi = Math.min(high, to, boundsB ? boundsB.high[j] : Infinity);
      lower.push(lo <= hi ? lo : from);
      upper.push(lo <= hi ? hi : to);
    }
    if (reachB[j] > 0) {
      const [from, to] = widened(a0[i], tauA);
      input.push(source.length + j);
      output.push(i);
      lower.push(from);
      upper.push(to);
    }
  }
  return edgeSlopes(source.length, input, output, lower, upper);
}

/**
 * Per column j of one batch slice of B, ‖B_:j(x) − b0_:j‖ ≤ sqrt(Σ_l max(high − b0, b0 − low)²) over
 * its interval (§70), rounded up; b0 is the float nominal value, so τ_B is inside the interval's reach.
 */
function intervalColumnReach({ low, high }: Interval, b0: Float64Array, offset: number, k: number, n: number): Float64Array {
  const sums = new Float64Array(n);
  for (let l = 0; l < k; l++) {
    for (let j = 0; j < n; j++) {
      const e = offset + l * n + j;
      const far = Math.max(high[e] - b0[e], b0[e] - low[e]);
      sums[j] += far * far;
    }
  }
  // Each difference is rounded once and the sum of k squares adds k + 2 roundings more, relative.
  return sums.map((sum) => roundedUp(Math.sqrt(sum * (1 + (k + 6) * UNIT_ROUNDOFF))));
}

/**
 * C_b = A_b B_b ([m, k] × [k, n] per batch b, row-major) as edges from the chord identity
 * ΔC_ij = Σ_l ΔA_il B_lj(x) + Σ_l A0*_il ΔB_lj (docs/derivations.md §55.3): the a-edge A_il → C_ij has
 * slope B_lj(x), the b-edge B_lj → C_ij the exact nominal A0*_il. Output (i, j)'s a-edge deviations form
 * the vector B(x)_{·j} − B̂_{·j} = ΔB_{·j} + (B0* − B̂)_{·j}, of length at most ε_B (if the column can
 * move) + √k τ_B; its b-edge deviations have length at most √k τ_A. Entry e of A is edge input e, entry e
 * of B is edge input A.length + e. Edges whose input cannot move are left out.
 */
export function matMulSlopes(
  { batch, m, k, n }: { batch: number; m: number; k: number; n: number },
  a0: Float64Array,
  b0: Float64Array,
  tauA: number,
  tauB: number,
  maskA: Uint8Array | null,
  maskB: Uint8Array | null,
  radiusA: number,
  radiusB: number,
  /** Where B's exact entries lie over the ball (§70), where known: it bounds each column's move too. */
  bInterval?: Interval,
): SlopeUnits {
  const input: number[] = [];
  const output: number[] = [];
  const mid: number[] = [];
  const uncertain: number[] = [];
  const outputRadius = new Float64Array(batch * m * n);
  const movableA = (e: number) => radiusA > 0 && (!maskA || maskA[e] === 1);
  const movableB = (e: number) => radiusB > 0 && (!maskB || maskB[e] === 1);
  const rootK = Math.sqrt(k);
  for (let b = 0; b < batch; b++) {
    // Whether column j of B_b holds a movable entry (then its change has length up to ε_B).
    const columnMoves = new Uint8Array(n);
    for (let l = 0; l < k; l++) for (let j = 0; j < n; j++) if (movableB(b * k * n + l * n + j)) columnMoves[j] = 1;
    const columnReach = bInterval ? intervalColumnReach(bInterval, b0, b * k * n, k, n) : null;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const o = b * m * n + i * n + j;
        const fromBall = (columnMoves[j] ? radiusB : 0) + rootK * tauB;
        const radiusAEdges = columnReach && columnReach[j] < fromBall ? columnReach[j] : fromBall;
        const radiusBEdges = rootK * tauA;
        let anyA = false;
        let anyB = false;
        for (let l = 0; l < k; l++) {
          const ea = b * m * k + i * k + l;
          const eb = b * k * n + l * n + j;
          if (movableA(ea)) {
            input.push(ea);
            output.push(o);
            mid.push(b0[eb]);
            uncertain.push(radiusAEdges > 0 ? 1 : 0);
            anyA = true;
          }
          if (movableB(eb)) {
            input.push(a0.length + eb);
            output.push(o);
            mid.push(a0[ea]);
            uncertain.push(radiusBEdges > 0 ? 1 : 0);
            anyB = true;
          }
        }
        const ra = anyA ? radiusAEdges : 0;
        const rb = anyB ? radiusBEdges : 0;
        const squared = ra * ra + rb * rb;
        outputRadius[o] = squared >= 1e-290 ? Math.sqrt(squared) * (1 + 8 * UNIT_ROUNDOFF) : ra + rb;
      }
    }
  }
  return {
    mid: Float64Array.from(mid),
    outputRadius,
    uncertain: Uint8Array.from(uncertain),
    edges: { input: Int32Array.from(input), output: Int32Array.from(output), centred: new Uint8Array(batch * m * n) },
  };
}

/**
 * y_i = a_i / b_j (j = source[i]) as two edges per output, from the chord identity
 * Δy_i = Δa_i / b_j(x) − a0*_i Δb_j / (b_j(x) b0*_j) (docs/derivations.md §55.4): the a-edge's slope
 * 1/b_j(x), the b-edge's −a0*_i q with q = 1/(b_j(x) b0*_j) ∈ [1/max|b|², 1/min|b|²] over b_j's reachable
 * interval, which the layer rule (§28) has checked to exclude 0. Entries and edges as in productSlopes.
 */
export function quotientSlopes(
  source: Int32Array,
  a0: Float64Array,
  b0: Float64Array,
  tauA: number,
  tauB: number,
  reachA: Float64Array,
  reachB: Float64Array,
  [low, high]: readonly [number, number],
): SlopeUnits {
  const input: number[] = [];
  const output: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const down = (v: number) => v - 2 * UNIT_ROUNDOFF * Math.abs(v);
  const up = (v: number) => v + 2 * UNIT_ROUNDOFF * Math.abs(v);
  for (let i = 0; i < source.length; i++) {
    const j = source[i];
    const [wideFrom, wideTo] = widened(b0[j], tauB + reachB[j]);
    const from = Math.max(low, wideFrom);
    const to = Math.min(high, wideTo);
    if (!(from > 0 || to < 0)) throw new Error(`divisor coordinate ${j} can reach 0: the layer rule should have refused it`);
    if (reachA[i] > 0) {
      // 1/t decreases on each half-line, so over [from, to] it spans [1/to, 1/from].
      input.push(i);
      output.push(i);
      lower.push(down(1 / to));
      upper.push(up(1 / from));
    }
    if (reachB[j] > 0) {
      const nearest = Math.min(Math.abs(from), Math.abs(to));
      const farthest = Math.max(Math.abs(from), Math.abs(to));
      const [qLow, qHigh] = [down(down(1 / farthest) / farthest), up(up(1 / nearest) / nearest)];
      const [aLow, aHigh] = widened(a0[i], tauA);
      // −a0* q over the box: q > 0, so the ends come from the ends of a0*'s interval.
      const products = aLow === 0 && aHigh === 0 ? [0] : [aLow * qLow, aLow * qHigh, aHigh * qLow, aHigh * qHigh];
      input.push(source.length + j);
      output.push(i);
      lower.push(down(-Math.max(...products)));
      upper.push(up(-Math.min(...products)));
    }
  }
  return edgeSlopes(source.length, input, output, lower, upper);
}

/**
 * Edges with slope intervals [lower_e, upper_e] into `outputs` outputs: midpoint and radius per edge as in
 * §22 (radius rounded up), output o's row radius the hypotenuse of its edges' radii.
 */
function edgeSlopes(outputs: number, input: number[], output: number[], lower: number[], upper: number[]): SlopeUnits {
  const mid = lower.map((lo, e) => (lo === upper[e] ? lo : (lo + upper[e]) / 2));
  const edgeRadius = lower.map((lo, e) => {
    const hi = upper[e];
    return lo === hi ? 0 : ((hi - lo) / 2) * (1 + 4 * UNIT_ROUNDOFF) + 2 * UNIT_ROUNDOFF * (Math.abs(lo) + Math.abs(hi));
  });
  const squared = new Float64Array(outputs);
  const sums = new Float64Array(outputs);
  edgeRadius.forEach((r, e) => {
    squared[output[e]] += r * r;
    sums[output[e]] += r;
  });
  // The row's length: hypot of the two radii (a few roundings, 4u covers them), or their sum (≥ hypot)
  // where the squares underflow.
  const outputRadius = squared.map((sq, i) => (sq >= 1e-290 ? Math.sqrt(sq) * (1 + 4 * UNIT_ROUNDOFF) : sums[i]));
  return {
    mid: Float64Array.from(mid),
    outputRadius,
    uncertain: Uint8Array.from(edgeRadius, (r) => (r > 0 ? 1 : 0)),
    edges: { input: Int32Array.from(input), output: Int32Array.from(output), centred: new Uint8Array(outputs) },
  };
}
