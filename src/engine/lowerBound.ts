// Lower bounds on the local constant L(f, x0, ε) = sup_{0<‖x−x0‖≤ε} ‖f(x) − f(x0)‖/‖x − x0‖, to show
// how tight the upper bounds are. Any point x of the ball witnesses L ≥ ratio(x), so the best ratio
// found is a lower bound whatever the search did; the search only decides how good it is:
//   0. witnesses of earlier, smaller balls (L is non-decreasing in ε);
//   1. the top right-singular direction of the Jacobian at x0 (power iteration on JᵀJ through the
//      network's own operators, once per x0), tried at radii from a small floor to ε in both signs:
//      as the radius shrinks the ratio tends to ‖J v‖, the best any small step can do where f is
//      differentiable;
//   1b. the top right-singular direction of the linearised network J(M) the composed bound certifies
//      (given by the caller per ε), in both signs at several radii, with an ascent restart from it;
//   2. random sampling: directions uniform on the sphere, radii ε, the floor and log-uniform between;
//   3. gradient ascent on log ratio(x) from the best points found (one from the far half of the ball),
//      projected onto the ball, with an adaptive step (accepted only if the ratio improves), several
//      restarts. Everything random is seeded.
// The reported value is the witness's ratio re-evaluated with the engine's pure forward pass in
// float64, less a rounding allowance (docs/derivations.md §11). Given a runtime (runScreened), the
// points of 0–2 are ranked by its float32 outputs in batches and only the best few evaluated on the
// engine before 3 (§16a).
import type { LowerBoundResult } from '../shared/results';
import { throwIfCancelled, type CancelSignal } from './errors';
import { pureForward, tensorValue } from './forward';
import type { PreparedNetwork } from './prepared';
import { SeededRandom } from './random';
import { NetworkTape, type Tape } from './tightness/tape';

export interface LowerBoundOptions {
  /**
   * Network evaluations allowed per ε: a forward pass and a backward (Jᵀu) or tangent (J v) pass each
   * count one (at least 40; the first run also spends up to 30 % of it on the power iteration).
   * Default 100: about a second for the example MNIST CNN on one core.
   */
  budget?: number;
  /** Seed of the random directions (default 1). */
  seed?: number;
  /** Gradient-ascent restarts (default 4). */
  restarts?: number;
  /** Only these input coordinates may move (1); null or absent: all. */
  inputMask?: Uint8Array | null;
  signal?: CancelSignal;
}

export const DEFAULT_LOWER_BOUND_BUDGET = 100;

/**
 * Smallest radius tried: 1e-3 ε, but at most 1e-4 · max(1, ‖x0‖) so that large balls still see the
 * Jacobian at x0 (any point of a smaller ball lies in the larger one), and at least 1e-6 · max(1, ‖x0‖)
 * (or ε itself if smaller) so that f(x) − f(x0) is not dominated by float64 cancellation.
 */
const MIN_RADIUS_FRACTION = 1e-3;
const MIN_RADIUS_RELATIVE_TO_X0 = 1e-4;
const FLOOR_RADIUS_RELATIVE_TO_X0 = 1e-6;
/**
 * Allowance for float64 rounding in the two forward passes, relative to ‖f(x)‖ + ‖f(x0)‖ (a forward
 * pass through a few thousand accumulations errs by ~1e-13 relative): subtracted from the witnessed
 * ‖f(x) − f(x0)‖ before dividing by ‖x − x0‖, so the reported value errs low.
 */
const ROUNDING_ALLOWANCE = 1e-12;
/**
 * Most power-iteration steps for the Jacobian direction (each costs a tangent and a backward pass);
 * it stops early once ‖JᵀJ v‖ changes by less than POWER_TOLERANCE (relative).
 */
const POWER_STEPS = 30;
const POWER_TOLERANCE = 1e-10;
/** Keeps witnesses strictly inside the closed ball after x0 + d is rounded. */
const INSIDE = 1 - 1e-12;

interface Point {
  d: Float64Array;
  ratio: number;
  tape: Tape;
  found: LowerBoundResult['method'];
}

/** A point to try before the ascent (an offset from x0); `probe`: on the linearised direction. */
interface Candidate {
  d: Float64Array;
  found: LowerBoundResult['method'];
  probe: boolean;
}

/** One run's state: its ball, its random stream, the best points so far and its counts. */
interface Search {
  epsilon: number;
  budget: number;
  seed: number;
  random: SeededRandom;
  /** The smallest radius tried. */
  tiny: number;
  /** The best 8 points, best first. */
  pool: Point[];
  /** The best point of the far half of the ball. */
  farPool: Point[];
  /** The best point on the linearised direction. */
  linearisedBest: Point | null;
  samples: number;
  steps: number;
  /** Network outputs taken from the runtime (float32) to rank candidates. */
  runtimeEvaluations: number;
  consider(p: Point, probe: boolean): void;
}

/**
 * The network output at each point from a cheaper evaluator than the engine's float64 pass (float32
 * on onnxruntime, runtime/modelRuntime.ts), used only to rank the search's candidate points.
 */
export type OutputBatch = (points: Float64Array[]) => Promise<Float64Array[]>;

/**
 * Candidates evaluated on the engine after a runtime ranking: the best few (float32 rounding can
 * swap nearly equal ratios, so not the best alone), besides the best far and the best linearised one.
 */
const SCREENED_CONFIRMATIONS = 3;

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

// Plain loops rather than typed-array map/from with a callback: on an input of 150 000 values they run
// a few times faster, and the search calls them for every point it evaluates.
function scaled(v: Float64Array, s: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * s;
  return out;
}

/** x0 + d. */
function offset(x0: Float64Array, d: Float64Array): Float64Array {
  const x = new Float64Array(x0.length);
  for (let i = 0; i < x.length; i++) x[i] = x0[i] + d[i];
  return x;
}

/** ‖x − x0‖. */
function distance(x: Float64Array, x0: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - x0[i]) * (x[i] - x0[i]);
  return Math.sqrt(s);
}

/**
 * One search per (network, x0), reused across ε: the nominal output and the Jacobian direction do not
 * depend on ε.
 */
export class LowerBoundSearch {
  private readonly tape: NetworkTape;
  /** The tape at x0, kept for the power iteration (a forward pass of a large network costs as much as a product). */
  private readonly tape0: Tape;
  private readonly f0: Float64Array;
  private readonly pureF0: Float64Array;
  private readonly mask: Uint8Array | null;
  private jacobianDirection: Float64Array | null = null;
  /** Best points of earlier runs (offsets from x0) and the search that found them. */
  private readonly witnesses: Float64Array[] = [];
  private readonly witnessMethods = new Map<Float64Array, LowerBoundResult['method']>();
  private lastBest: Float64Array | null = null;
  private evaluations = 0;
  /** f(x0) as the runtime computes it (float32), for ranking candidates against runtime outputs. */
  private runtimeF0: Float64Array | null = null;

  constructor(
    private readonly prepared: PreparedNetwork,
    private readonly x0: Float64Array,
    private readonly options: LowerBoundOptions = {},
  ) {
    this.tape = new NetworkTape(prepared, options.signal);
    this.tape0 = this.tape.forward(x0);
    this.f0 = Float64Array.from(this.tape.outputOf(this.tape0, x0));
    this.pureF0 = Float64Array.from(this.pureOutput(x0));
    this.mask = options.inputMask ?? null;
  }

  private pureOutput(x: Float64Array): Float64Array {
    const values = pureForward(this.prepared, x);
    if (values instanceof Promise) throw new Error('the pure forward pass must be synchronous');
    return tensorValue(values, x, this.prepared.network.output);
  }

  private masked(v: Float64Array): Float64Array {
    if (this.mask) for (let i = 0; i < v.length; i++) if (!this.mask[i]) v[i] = 0;
    return v;
  }

  private randomDirection(random: SeededRandom): Float64Array {
    for (;;) {
      const v = new Float64Array(this.x0.length);
      for (let i = 0; i < v.length; i++) v[i] = random.gaussian();
      this.masked(v);
      const n = norm(v);
      if (n > 0) return scaled(v, 1 / n);
      if (this.mask && !this.mask.some((m) => m)) return v;
    }
  }

  private evaluate(d: Float64Array, found: LowerBoundResult['method']): Point {
    throwIfCancelled(this.options.signal);
    this.evaluations++;
    const x = offset(this.x0, d);
    const tape = this.tape.forward(x);
    const out = this.tape.outputOf(tape, x);
    let num = 0;
    for (let i = 0; i < out.length; i++) num += (out[i] - this.f0[i]) ** 2;
    const step = distance(x, this.x0);
    // Scored as reported (less the rounding allowance), so ties go to the larger, better-conditioned radius.
    const change = Math.max(0, Math.sqrt(num) - ROUNDING_ALLOWANCE * (norm(out) + norm(this.f0)));
    return { d, tape, ratio: step > 0 ? change / step : 0, found };
  }

  /** Top right-singular vector of J(x0) (restricted to the mask) by power iteration on JᵀJ. */
  private topJacobianDirection(random: SeededRandom, budget: number): Float64Array {
    if (this.jacobianDirection) return this.jacobianDirection;
    const tape0 = this.tape0;
    let v = this.randomDirection(random);
    let previous = 0;
    // At most 30 % of the budget, two passes per step.
    const powerSteps = Math.min(POWER_STEPS, Math.floor((0.3 * budget) / 2));
    for (let k = 0; k < powerSteps; k++) {
      throwIfCancelled(this.options.signal);
      const w = this.masked(this.tape.backward(tape0, this.tape.tangent(tape0, v)));
      this.evaluations += 2;
      const n = norm(w);
      if (n === 0) break;
      v = scaled(w, 1 / n);
      if (Math.abs(n - previous) <= POWER_TOLERANCE * n) break;
      previous = n;
    }
    this.jacobianDirection = v;
    return v;
  }

  /**
   * `linearised`: the top right-singular direction of the linearised network J(M) whose norm the
   * composed bound certifies at this ε (composed/composedBound.ts midpointDirection), tried in both
   * signs at several radii and given one ascent restart of its own.
   */
  run(epsilon: number, linearised: Float64Array | null = null): LowerBoundResult {
    const search = this.begin(epsilon);
    for (const candidate of this.candidates(search, linearised)) search.consider(this.evaluate(candidate.d, candidate.found), candidate.probe);
    return this.ascend(search);
  }

  /**
   * The same search, with its candidate points (earlier witnesses, the two directions' radii, the
   * random samples) ranked by `outputs` (float32 on onnxruntime, in batches) instead of a float64
   * pass each: only the best few by that ranking (and the best far one, the best linearised one and
   * the Jacobian direction at the smallest radius) are evaluated on the engine, where the ascent
   * continues from them. Each candidate counts as one evaluation as in run, so the ascent gets the same
   * share of the budget. Whatever the ranking, the witness is a
   * point of the ball re-evaluated in float64 (docs/derivations.md §16a).
   */
  async runScreened(epsilon: number, linearised: Float64Array | null, outputs: OutputBatch): Promise<LowerBoundResult> {
    const search = this.begin(epsilon);
    const candidates = this.candidates(search, linearised);
    this.runtimeF0 ??= (await outputs([this.x0]))[0];
    const f0 = this.runtimeF0;
    const ranked = (await outputs(candidates.map((c) => offset(this.x0, c.d)))).map((out, i) => {
      let num = 0;
      for (let j = 0; j < out.length; j++) num += (out[j] - f0[j]) ** 2;
      const step = norm(candidates[i].d);
      return { candidate: candidates[i], ratio: step > 0 ? Math.sqrt(num) / step : 0 };
    });
    throwIfCancelled(this.options.signal);
    this.evaluations += candidates.length;
    search.runtimeEvaluations += candidates.length;
    ranked.sort((a, b) => b.ratio - a.ratio);
    const far = ranked.find((r) => norm(r.candidate.d) >= 0.5 * epsilon);
    const probe = ranked.find((r) => r.candidate.probe);
    // At the smallest radius the Jacobian direction's ratio tends to ‖J v‖, and float32 resolves it
    // worst there (§16a): both signs go to the engine whatever their rank.
    const smallest = ranked.filter((r) => r.candidate.found === 'jacobian-direction' && norm(r.candidate.d) <= search.tiny);
    const confirmed = new Set([...ranked.slice(0, SCREENED_CONFIRMATIONS), ...(far ? [far] : []), ...(probe ? [probe] : []), ...smallest]);
    // Each candidate was counted once above; its float64 re-evaluation is not counted again, so the
    // ascent gets the share of the budget it gets in run.
    const counted = this.evaluations;
    for (const { candidate } of confirmed) search.consider(this.evaluate(candidate.d, candidate.found), candidate.probe);
    this.evaluations = counted;
    return this.ascend(search);
  }

  private begin(epsilon: number): Search {
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new Error(`lower bound: ε must be a finite number > 0, got ${epsilon}`);
    const budget = Math.max(40, Math.floor(this.options.budget ?? DEFAULT_LOWER_BOUND_BUDGET));
    const seed = this.options.seed ?? 1;
    this.evaluations = 0;
    const scale = Math.max(1, norm(this.x0));
    const search: Search = {
      epsilon, budget, seed,
      random: new SeededRandom(seed),
      tiny: Math.min(
        INSIDE * epsilon,
        Math.max(FLOOR_RADIUS_RELATIVE_TO_X0 * scale, Math.min(MIN_RADIUS_FRACTION * epsilon, MIN_RADIUS_RELATIVE_TO_X0 * scale)),
      ),
      pool: [], farPool: [], linearisedBest: null, samples: 0, steps: 0, runtimeEvaluations: 0,
      consider: (p, probe) => {
        if (probe && (!search.linearisedBest || p.ratio > search.linearisedBest.ratio)) search.linearisedBest = p;
        const { pool, farPool } = search;
        if (norm(p.d) >= 0.5 * epsilon && (farPool.length === 0 || p.ratio > farPool[0].ratio)) farPool[0] = p;
        pool.push(p);
        pool.sort((a, b) => b.ratio - a.ratio);
        if (pool.length > 8) pool.pop();
      },
    };
    return search;
  }

  /**
   * The points tried before the ascent, in order: earlier witnesses inside this ball, the Jacobian
   * direction at five radii and the linearised one at four (both signs), then random samples while
   * the budget allows (each counted as one evaluation). The power iteration for the Jacobian
   * direction runs here, on the engine, on the first run.
   */
  private candidates(search: Search, linearised: Float64Array | null): Candidate[] {
    const { epsilon, tiny, random, budget } = search;
    const list: Candidate[] = [];
    // L(f, x0, ε) is non-decreasing in ε: earlier witnesses inside this ball still count.
    for (const d of this.witnesses) if (norm(d) <= epsilon * INSIDE) list.push({ d, found: this.witnessMethods.get(d) ?? 'sampling', probe: false });

    const v = this.topJacobianDirection(random, budget);
    for (const radius of [tiny, 1e-2 * epsilon, 0.1 * epsilon, 0.3 * epsilon, INSIDE * epsilon]) {
      for (const sign of [1, -1]) list.push({ d: scaled(v, sign * Math.max(radius, tiny)), found: 'jacobian-direction', probe: false });
    }
    if (linearised) {
      for (const radius of [tiny, 0.1 * epsilon, 0.3 * epsilon, INSIDE * epsilon]) {
        for (const sign of [1, -1]) list.push({ d: this.masked(scaled(linearised, sign * Math.max(radius, tiny))), found: 'linearised-direction', probe: true });
      }
    }

    const sampleBudget = Math.floor(0.3 * budget);
    for (let s = 0; s < sampleBudget && this.evaluations + list.length < budget; s++) {
      const u = s % 4;
      const radius = u === 0 ? INSIDE * epsilon : u === 1 ? tiny : Math.exp(random.between(Math.log(tiny), Math.log(INSIDE * epsilon)));
      list.push({ d: scaled(this.randomDirection(random), radius), found: 'sampling', probe: false });
      search.samples++;
    }
    return list;
  }

  /**
   * Projected gradient ascent on the engine from the best points: restarts from the best, but at
   * least one from the far half of the ball (the nominal Jacobian's neighbourhood and the switching
   * region far out are different maxima) and one from the best linearised-direction point.
   */
  private ascend(search: Search): LowerBoundResult {
    const { epsilon, tiny, random, budget, pool, farPool, linearisedBest } = search;
    const restarts = Math.max(1, this.options.restarts ?? 4);
    const far = [...pool, ...farPool].filter((p) => norm(p.d) >= 0.5 * epsilon).sort((a, b) => b.ratio - a.ratio);
    const starts = [...new Set([pool[0], ...(far.length ? [far[0]] : []), ...(linearisedBest ? [linearisedBest] : []), ...pool.slice(1)])].slice(0, restarts);
    starts.forEach((start, r) => {
      const share = Math.floor((budget - this.evaluations) / (restarts - r));
      const stop = this.evaluations + share;
      let current = start;
      let rate = 0.3;
      while (this.evaluations + 2 <= stop && rate > 1e-4) {
        const out = this.tape.outputOf(current.tape, offset(this.x0, current.d));
        const u = out.map((y, i) => y - this.f0[i]);
        const uu = u.reduce((s, y) => s + y * y, 0);
        const dd = current.d.reduce((s, y) => s + y * y, 0);
        let g: Float64Array;
        if (uu > 0) {
          g = this.tape.backward(current.tape, scaled(u, 1 / uu));
          this.evaluations++;
          for (let i = 0; i < g.length; i++) g[i] -= current.d[i] / dd;
          this.masked(g);
        } else {
          g = this.randomDirection(random);
        }
        const gn = norm(g);
        if (gn === 0) break;
        let candidate: Float64Array = new Float64Array(current.d.length);
        const stepLength = rate * Math.sqrt(dd);
        for (let i = 0; i < candidate.length; i++) candidate[i] = current.d[i] + (stepLength * g[i]) / gn;
        const cn = norm(candidate);
        if (cn === 0) {
          rate *= 0.5;
          continue;
        }
        if (cn > epsilon * INSIDE) candidate = scaled(candidate, (epsilon * INSIDE) / cn);
        else if (cn < tiny) candidate = scaled(candidate, tiny / cn);
        const next = this.evaluate(candidate, 'gradient-ascent');
        search.steps++;
        if (next.ratio > current.ratio) {
          current = next;
          search.consider(next, false);
          rate = Math.min(1, rate * 1.5);
        } else {
          rate *= 0.5;
        }
      }
    });

    return this.witness(pool[0], search);
  }

  /** The witness point x of the last run (for checks and displays), or null before any run. */
  lastWitness(): Float64Array | null {
    const d = this.lastBest;
    return d ? offset(this.x0, d) : null;
  }

  /** Re-evaluates the best point with the pure forward pass; the reported value is that ratio. */
  private witness(best: Point, search: Search): LowerBoundResult {
    this.lastBest = best.d;
    if (!this.witnessMethods.has(best.d)) {
      this.witnesses.push(best.d);
      this.witnessMethods.set(best.d, best.found);
    }
    const x = offset(this.x0, best.d);
    const out = this.pureOutput(x);
    let num = 0;
    for (let i = 0; i < out.length; i++) num += (out[i] - this.pureF0[i]) ** 2;
    const witnessNorm = distance(x, this.x0);
    const change = Math.max(0, Math.sqrt(num) - ROUNDING_ALLOWANCE * (norm(out) + norm(this.pureF0)));
    return {
      value: witnessNorm > 0 ? change / witnessNorm : 0,
      method: best.found,
      samples: search.samples,
      steps: search.steps,
      evaluations: this.evaluations,
      ...(search.runtimeEvaluations > 0 ? { runtimeEvaluations: search.runtimeEvaluations } : {}),
      witnessNorm,
      seed: search.seed,
    };
  }
}
