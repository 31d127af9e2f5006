// One ε run over the graph (method.md §2–§3, and the graph rules derived below). Every tensor t carries
// a radius ε_t (all reachable values lie within ε_t of the nominal value, in 2-norm), a mask of the
// coordinates that can move at all, and the conservative input-relative factor S_t (ε_t ≤ S_t ε).
//
// Rules beyond a chain (each sound by the triangle inequality or disjointness):
// - Add y = Σ a_k:        ‖Δy‖ ≤ Σ ‖Δa_k‖, so ε_y = Σ ε_k; mask = union.
// - Concat y = (a, b, …): coordinates are disjoint, ‖Δy‖² = Σ ‖Δa_k‖², so ε_y = sqrt(Σ ε_k²); masks concatenated.
// - Lone activation:      each coordinate moves at most ε_in (it is bounded by the 2-norm), so
//                         |Δy_i| ≤ r_i |Δx_i| with r_i the slope bound over [x_i − ε_in, x_i + ε_in]
//                         and ‖Δy‖ ≤ max_i r_i ‖Δx‖ over movable i.
// - Lone linear map (incl. average pooling): ‖A D‖; an output whose row of A D is zero cannot move.
// - Max pooling:          sqrt(largest number of windows sharing a movable input) (see maxPool.ts).
// - Product a ⊙ B b:      ε_y = β ε_a + α ε_b, β = the largest |b| reachable (b's activation range
//                         bounds it), α = the largest group norm of |a0| + τ (§20).
// - Softmax:              the largest ‖J‖ over the reachable probabilities of each group (§30).
// - MatMul A B:           ε_C = (β + ε_B) ε_A + α ε_B with β, α the largest certified ‖B_b‖, ‖A_b‖ (§31).
// - Transpose:            a permutation is an isometry: exactly 1, the mask permuted with the data.
// - Layer normalisation:  1/s_min per group (times max |γ|), s_min the smallest scale sqrt(var + e)
//                         reachable in the ball (docs/derivations.md §23).
// - Per-axis linear maps (Slice, Gather, Reduce, Resize): exact when columns or rows are disjoint
//                         (largest row / column norm), else ‖A D‖ certified (docs/derivations.md §18).
// After an activation unit the output can move only where r_i > 0, which for ReLU is 1[ybar > 0] minus
// the rows that cannot move at all.
import type { Certificate, LayerResult, NeuronCounts } from '../shared/results';
import { activationRange, derivativeRange, globalSlope, isSmoothWithSingularity, neuronState, secantSlopeRange, slopeBoundUncertain, slopeJumps, type SmoothActivation } from './activations';
import { count, intervalSlopes, type SlopeUnits } from './composed/linearisedNetwork';
import { matMulSlopes, maximumWindows, productSlopes, quotientSlopes, reductionWindows, windowSlopes } from './composed/selectionSlopes';
import { normalisationSlopes } from './composed/normalisationSlopes';
import { throwIfCancelled, UnsupportedLayerError, type CancelSignal } from './errors';
import { BOUND_ROUNDING_ALLOWANCE, floatLayer, tensorValue, type NominalValues } from './forward';
import { NETWORK_INPUT, type Activation, type TensorRef } from './network';
import { largestFactorNorm, matMulMask, type MatMulGeometry } from './operators/batchedMatMul';
import { softmaxBound, softmaxGlobalBound, softmaxSlopes, type SoftmaxGroups } from './operators/softmax';
import { AvgPoolOperator, GlobalAvgPoolOperator } from './operators/avgPool';
import { AxisMapOperator } from './operators/axisMap';
import type { LayerNormSpec } from './operators/layerNorm';
import type { LinearOperator } from './operators/linearOperator';
import { gatherPermuted } from './operators/transpose';
import { concatenate, inputRange, type PreparedLayer, type PreparedNetwork } from './prepared';
import { activationImage, aroundCentre, intersectInto, layerInterval, roundedUp, type Interval } from './reachInterval';
import { certifiedNorm, type CertifiedNorm, type SpectralOptions } from './spectral/certifiedNorm';

/** Relative inflation of the row norms ‖a_iᵀD‖ against float64 rounding of the squared-kernel pass. */
const ROW_NORM_MARGIN = 1e-10;

interface TensorState {
  radius: number;
  spectralFactor: number;
  /** null: every coordinate can move. */
  mask: Uint8Array | null;
  /** Per coordinate, |t_j(x) − t*_j(x0)| ≤ coordinates[j] where given (§67); the ball's radius bounds it too. */
  coordinates?: Float64Array;
  /** Per coordinate, low[j] ≤ t*_j(x) ≤ high[j] for every x in the ball (§69; the slopes-only run). */
  interval?: Interval;
}

/**
 * ‖A‖ (and pool constants) per layer: independent of x0 and ε, computed once per model, with the
 * operator applications computing it took (a run reusing it still counts them for its budget).
 */
export type SpectralCache = Map<number, CertifiedNorm & { applications?: number }>;

/** Time spent in the row-norm passes and in the certified norms, accumulated over runs. */
export interface PhaseTimes {
  rowNormsMs: number;
  spectralMs: number;
  /** The composed network bound's certified norms (analyze.ts). */
  composedMs: number;
}

function timed<T>(times: PhaseTimes | undefined, phase: 'rowNormsMs' | 'spectralMs', work: () => T): T {
  if (!times) return work();
  const started = performance.now();
  try {
    return work();
  } finally {
    times[phase] += performance.now() - started;
  }
}

export interface RunContext {
  prepared: PreparedNetwork;
  x0: Float64Array;
  nominal: NominalValues;
  spectralCache: SpectralCache;
  spectral: SpectralOptions;
  signal?: CancelSignal;
  onLayer?: (layerIndex: number) => void;
  /** Called with each layer's result as soon as it is known (the editor fills its rows as they come). */
  onLayerResult?: (result: LayerResult) => void;
  times?: PhaseTimes;
  /** The composed bound after a run may use this many times its operator applications (analyze.ts; 0: not computed). */
  composedBudget?: number;
  /**
   * β_k ≥ ‖Π_rows H_k(S)‖ over every slope pattern S of the layers before k (the composed prefix,
   * docs/derivations.md §56), with its certificates' failure probability; null when none is given
   * (e.g. past its budget). Where given, the units the product's reach leaves uncertain take the reach
   * ε β_k when smaller. With keep false the norm is not kept as β_k: it covers a subset of the units
   * the slopes may leave uncertain, and only lowers their caps (§68).
   */
  prefixReach?: (layer: number, rows: Uint8Array, slopes: readonly (SlopeUnits | null)[], keep?: boolean) => { value: number; failureProbability: number } | null;
  /**
   * γ_k ≥ ‖Π_rows H_k(S)‖ read on layer k's inputs concatenated (not its units), over every slope
   * pattern of the layers before k (docs/derivations.md §57); null past the budget. Given to the
   * slopes-only run after a run whose product reach overflowed: there the reach of every input of a
   * slope layer that reads whole tensors (products, Softmax, layer normalisation, windows) is capped by ε γ_k.
   */
  inputReach?: (layer: number, rows: Uint8Array, slopes: readonly (SlopeUnits | null)[]) => { value: number; failureProbability: number } | null;
  /**
   * Stop with UnboundedSlopesError at the first layer whose slope interval is not finite: a slopes-only
   * run for the composed bound, which such a slope makes infinite, so the rest of the run is not needed.
   */
  stopAtUnboundedSlopes?: boolean;
}

/** A slopes-only run met a slope interval that is not finite (§57): the composed bound cannot be finite. */
export class UnboundedSlopesError extends Error {
  constructor(readonly layerLabel: string) {
    super(`the slopes of layer '${layerLabel}' are unbounded: the reach into it overflowed and no prefix norm capped it (docs/derivations.md §57)`);
    this.name = 'UnboundedSlopesError';
  }
}

/** Whether a layer's slope intervals are all finite (after an overflowed reach they need not be, §57). */
export function slopesBounded(slopes: SlopeUnits): boolean {
  return slopes.mid.every(Number.isFinite) && slopes.outputRadius.every(Number.isFinite);
}

export interface RunOutcome {
  localBound: number;
  spectralBound: number;
  /** Union bound over all Lanczos certificates of the run (local and conservative). */
  failureProbability: number;
  layers: LayerResult[];
  /** Per layer output: which coordinates can move inside the ball (null: all). */
  masks: (Uint8Array | null)[];
  /**
   * Per layer: the interval of every unit's secant slope inside the ball (activations, max-pool
   * windows; docs/derivations.md §22), for the composed network bound; null for linear layers.
   */
  slopes: (SlopeUnits | null)[];
  /** Operator applications this run made. */
  operatorApplications: number;
  /**
   * What the conservative norms it took from the cache cost when they were computed: with
   * operatorApplications, the run's work as if nothing had been cached, which the composed bound's
   * budget is measured against (the same for one ε alone as within a sweep).
   */
  reusedApplications: number;
  /**
   * The first layer whose output deviation (ε times the layer bounds before it) left the float64 range;
   * from there on the run carried radius ∞ and each layer's bound over its whole reachable set (§57).
   */
  overflowedAt?: string;
  /** The first layer where the spectral product left the float64 range (spectralBound is then ∞). */
  spectralOverflowedAt?: string;
  /**
   * The first MatMul of two computed tensors whose factor its interval bounded below ‖B*‖ + ε_B (§70):
   * the product's reach had passed the factor's whole range, so the layer product from there on is
   * bounded by ranges, not by the ball, and the composed bound is treated as after an overflow (§70.2).
   */
  reachPastRangeAt?: string;
}

/** Units whose secant slope is not one number over the given reach (docs/derivations.md §22's uncertain units). */
function uncertainUnits(activation: Activation, values: Float64Array, tau: number, reach: (i: number) => number, range?: readonly [number, number], within?: Interval): Uint8Array {
  return Uint8Array.from(values, (v, i) => {
    const [lower, upper] = unitSlopes(activation, v, tau, reach(i), range, within, i);
    return lower === upper ? 0 : 1;
  });
}

/**
 * Unit i's secant slopes over its reach (§22), and where an interval holding its input's exact values
 * over the ball is known, narrowed to σ' over that interval cut to the reach (§69: both the anchor
 * y*(x0) and y*(x) lie in it, so every chord between them is an average of σ' there).
 */
function unitSlopes(activation: Activation, v: number, tau: number, reach: number, range: readonly [number, number] | undefined, within: Interval | undefined, i: number): [number, number] {
  const slopes = secantSlopeRange(activation, v, tau, reach, range);
  if (!within || slopes[0] === slopes[1]) return slopes;
  const [low, high] = unitWindow(v, tau, reach, within, i);
  if (!(low <= high)) return slopes;
  const [smallest, largest] = derivativeRange(activation, low, high);
  const lower = Math.max(slopes[0], smallest);
  const upper = Math.min(slopes[1], largest);
  return lower <= upper ? [lower, upper] : slopes;
}

/** Unit i's interval cut to its reach: [v − τ − reach, v + τ + reach] (rounded outward) ∩ within_i. */
function unitWindow(v: number, tau: number, reach: number, within: Interval, i: number): [number, number] {
  const width = roundedUp(tau + reach);
  const slack = roundedUp((Math.abs(v) + width) * 4 * UNIT_ROUNDOFF);
  return [Math.max(within.low[i], v - width - slack), Math.min(within.high[i], v + width + slack)];
}

/** Each unit's window (unitWindow) as an interval. */
function unitWindows(values: Float64Array, tau: number, reach: (i: number) => number, within: Interval): Interval {
  const low = new Float64Array(values.length);
  const high = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) [low[i], high[i]] = unitWindow(values[i], tau, reach(i), within, i);
  return { low, high };
}

/**
 * The uncertain units (uncertainUnits, same reach) whose window [y0 − τ − reach, y0 + τ + reach] holds a
 * point where σ' jumps (docs/derivations.md §68): their slope radius does not shrink with their reach.
 */
function jumpUnits(activation: Activation, uncertain: Uint8Array, values: Float64Array, tau: number, reach: (i: number) => number): Uint8Array {
  const jumps = slopeJumps(activation);
  return Uint8Array.from(uncertain, (u, i) => (u && jumps.some((jump) => Math.abs(jump - values[i]) <= tau + reach(i)) ? 1 : 0));
}

/**
 * The units of an activation layer under per-unit reach caps (null: the first reach): those uncertain
 * (§22), and those of them whose window holds a jump of σ' (§68).
 */
type UnitsWithin = (caps: Float64Array | null) => { uncertain: Uint8Array; jumping: () => Uint8Array };

/** A layer's reach caps from its composed prefix norms (§56, §66.2, §68), null where none applies. */
type CapsFor = (unitsWithin: UnitsWithin) => Float64Array | null;

/**
 * An earlier run's local norm of a layer, for a slopes-only run of the same ε: the value bounds this
 * run's layer too, and its failure probability is counted with the earlier run, not again here.
 */
function earlierRunNorm(earlier: LayerResult): CertifiedNorm {
  return {
    value: earlier.localBound,
    certificate: {
      ...earlier.certificate,
      failureProbability: 0,
      detail: `${earlier.certificate.detail}; taken from the run with the product's reach, whose larger reach and masks bound this one (docs/derivations.md §56)`,
    },
  };
}

/** The smallest of the error bounds the forward provider gave (each must hold); none given: exact, 0. */
function smallestBound(...bounds: (number | undefined)[]): number {
  const given = bounds.filter((b): b is number => b !== undefined);
  return given.length > 0 ? Math.min(...given) : 0;
}

function layerSeed(base: number, index: number, conservative: boolean): number {
  return (Math.imul(base >>> 0, 1000003) + index * 2 + (conservative ? 1 : 0)) >>> 0;
}

/**
 * How far each coordinate of a tensor moves inside the ball: its radius where its mask is set, else 0,
 * or its per-coordinate reach where that is smaller (§67).
 */
function coordinateReach(state: TensorState, size: number): Float64Array {
  const { coordinates } = state;
  return Float64Array.from({ length: size }, (_v, i) => (state.mask && !state.mask[i] ? 0 : coordinates ? Math.min(state.radius, coordinates[i]) : state.radius));
}

/**
 * Per-coordinate reaches of a layer's pre-activations and output (§67): the float64 pass's error rules
 * (§14, §52) applied to the computed inputs with errors E_in = reach + τ_in, whose result E bounds
 * |t(x) − t̂| for every x in the ball; the reach is E + τ. NaN (∞ · 0) counts as ∞.
 */
function coordinateBox(ctx: RunContext, p: PreparedLayer, index: number, inputs: TensorState[]): { pre: Float64Array | null; out: Float64Array } {
  const { prepared, x0, nominal } = ctx;
  const values = p.layer.inputs.map((ref) => tensorValue(nominal, x0, ref));
  const errors = p.layer.inputs.map((ref, k) => coordinateReach(inputs[k], p.inSizes[k]).map((reach) => reach + outputTau(nominal, ref)));
  const step = floatLayer(prepared, p, values, errors);
  const reach = (error: Float64Array, tau: number) => error.map((e) => (Number.isNaN(e) ? Infinity : e * (1 + BOUND_ROUNDING_ALLOWANCE) + tau));
  return {
    pre: step.preError && reach(step.preError, smallestBound(nominal.preActivationErrors?.[index], nominal.absoluteError)),
    out: reach(step.error, smallestBound(nominal.outputErrors?.[index], nominal.absoluteError)),
  };
}

/**
 * The interval of a layer input over the ball (§69): x0 ± ε for the network input, else the tensor's
 * own, both cut to the reach of its (possibly capped, §57) state around the nominal value.
 */
function inputInterval(ctx: RunContext, ref: TensorRef, state: TensorState, size: number): Interval {
  const reach = coordinateReach(state, size);
  const tau = outputTau(ctx.nominal, ref);
  const around = aroundCentre(tensorValue(ctx.nominal, ctx.x0, ref), (j) => tau + reach[j]);
  return ref === NETWORK_INPUT || !state.interval ? around : intersectInto(around, state.interval);
}

/**
 * Sets a layer output's interval: `interval` cut to [v − τ − reach, v + τ + reach] (the symmetric
 * reach bounds it too), and its reach to the farthest its ends are from where t*(x0) can be,
 * max(high − (v − τ), (v + τ) − low) rounded up, where smaller (§69).
 */
function settleInterval(state: TensorState, interval: Interval, value: Float64Array, tau: number, size: number): void {
  const reach = coordinateReach(state, size);
  intersectInto(interval, aroundCentre(value, (j) => tau + reach[j]));
  const { low, high } = interval;
  state.interval = interval;
  state.coordinates = Float64Array.from(reach, (r, j) => {
    const v = value[j];
    const slack = 4 * UNIT_ROUNDOFF * (Math.abs(v) + Math.abs(low[j]) + Math.abs(high[j]) + tau);
    const far = roundedUp(Math.max(high[j] - v, v - low[j]) + tau + slack);
    return far < r ? far : r;
  });
}

/**
 * A layer-run output's interval (§70): the general rule's, or a nondecreasing activation's image of the
 * pre-activation's, cut to [v − τ − reach, v + τ + reach]. Unlike settleInterval it leaves the reach alone.
 */
function layerRunInterval(p: PreparedLayer, step: { pre: Interval | null; out: Interval }, value: Float64Array, tau: number, reach: Float64Array): Interval {
  const lop = p.layer.op;
  const image = lop.kind === 'affine' && lop.activation && step.pre ? activationImage(lop.activation, step.pre, [-Infinity, Infinity]) : null;
  const out = image ? intersectInto(image, step.out) : step.out;
  return intersectInto(out, aroundCentre(value, (j) => tau + reach[j]));
}

/** The intervals of a layer's inputs concatenated in order (the entries of a maximum's windows). */
function concatenatedIntervals(intervals: Interval[]): Interval {
  const size = intervals.reduce((n, t) => n + t.low.length, 0);
  const low = new Float64Array(size);
  const high = new Float64Array(size);
  let offset = 0;
  for (const t of intervals) {
    low.set(t.low, offset);
    high.set(t.high, offset);
    offset += t.low.length;
  }
  return { low, high };
}

/** Layers that read their inputs per coordinate: windows and products (§22, §55). */
const PER_COORDINATE_READERS = new Set(['maxPool', 'reduceMax', 'maximum', 'mul']);

/** |Δσ_i| ≤ max(|lower_i|, |upper_i|) · reach_i: the secant slope times the input's move (§66.3). */
function outputReach(reach: number, lower: number, upper: number): number {
  return scaled(Math.max(Math.abs(lower), Math.abs(upper)), reach) * (1 + 4 * UNIT_ROUNDOFF);
}

/** τ of a layer input: the provider's rounding bound on its nominal values; 0 for x0 itself, which is exact. */
function outputTau(nominal: NominalValues, ref: TensorRef): number {
  return ref === NETWORK_INPUT ? 0 : smallestBound(nominal.outputErrors?.[ref], nominal.absoluteError);
}

function maskToVector(mask: Uint8Array | null, size: number): Float64Array {
  const d = new Float64Array(size);
  if (mask) for (let i = 0; i < size; i++) d[i] = mask[i];
  else d.fill(1);
  return d;
}

/** L · ε with 0 · ∞ = 0: a layer that cannot move its output stops even an overflowed radius. */
function scaled(bound: number, radius: number): number {
  return bound === 0 || radius === 0 ? 0 : bound * radius;
}

function closedForm(value: number, detail: string): Certificate {
  return { method: 'closed-form', detail, estimate: value };
}

/** Where a layer's certified norms come from: the conservative ‖A‖ (cached per model), the local one. */
interface LayerNorms {
  conservative(compute: () => CertifiedNorm): CertifiedNorm;
  local(compute: () => CertifiedNorm): CertifiedNorm;
}

/**
 * One layer run at ε. With `slopesAfter`, a run for the composed bound's slopes only (§56): every
 * layer's certified local norm is taken from that earlier run of the same ε, whose reaches and masks
 * contain this run's (ctx.prefixReach only narrows them), so no Lanczos run is repeated; the rows the
 * report shows stay the earlier run's, with the product's reach the paper uses.
 */
export function runEpsilon(ctx: RunContext, epsilon: number, slopesAfter?: RunOutcome): RunOutcome {
  let prefixFailureProbability = 0;
  let overflowedAt: string | undefined;
  let spectralOverflowedAt: string | undefined;
  let reachPastRangeAt: string | undefined;
  const { prepared, x0, nominal } = ctx;
  const states: TensorState[] = [];
  const inputState: TensorState = { radius: epsilon, spectralFactor: 1, mask: null };
  const stateOf = (ref: TensorRef): TensorState => (ref === NETWORK_INPUT ? inputState : states[ref]);
  const layers: LayerResult[] = [];
  const slopes: (SlopeUnits | null)[] = [];
  const applicationsBefore = prepared.counters.applications;
  let reusedApplications = 0;

  // Outputs a window or a product reads per coordinate (§66.3): there the first caps go to every unit
  // the ball's reach leaves uncertain, since a cap also bounds how far a unit the box settles moves.
  const readPerCoordinate = new Set<number>();
  for (const p of prepared.layers) if (PER_COORDINATE_READERS.has(p.op.kind)) for (const ref of p.layer.inputs) if (ref !== NETWORK_INPUT) readPerCoordinate.add(ref);
  const rangesForProducts = !slopesAfter && prepared.layers.some((l) => l.op.kind === 'mul' || l.op.kind === 'matMul');
  // The last layer reading each tensor: its interval (§69) is dropped after it, as no later layer reads it.
  const lastReader = new Map<number, number>();
  prepared.layers.forEach((p, index) => {
    for (const ref of p.layer.inputs) if (ref !== NETWORK_INPUT) lastReader.set(ref, index);
  });

  prepared.layers.forEach((p, index) => {
    throwIfCancelled(ctx.signal);
    ctx.onLayer?.(index);
    const started = performance.now();
    const stated = p.layer.inputs.map(stateOf);
    const options = (conservative: boolean): SpectralOptions => ({
      ...ctx.spectral,
      seed: layerSeed(ctx.spectral.seed, index, conservative),
      signal: ctx.signal,
    });
    const conservativeNorm = (compute: () => CertifiedNorm): CertifiedNorm => {
      let cached = ctx.spectralCache.get(index);
      if (cached) reusedApplications += cached.applications ?? 0;
      else {
        const before = prepared.counters.applications;
        const norm = compute();
        cached = { ...norm, applications: prepared.counters.applications - before };
        ctx.spectralCache.set(index, cached);
      }
      return cached;
    };
    // The reach caps of this layer's units from the composed prefix, for the units the product's reach
    // leaves uncertain (§56; a layer reading x0 has its exact reach already).
    const capsFor: CapsFor = (unitsWithin) => {
      if (!ctx.prefixReach || p.layer.inputs[0] === NETWORK_INPUT) return null;
      let rows = unitsWithin(null).uncertain;
      if (!rows.includes(1)) return null;
      let caps: Float64Array | null = null;
      // Each β covers the rows still uncertain under the caps before it: a norm over fewer rows is
      // smaller, and every unit keeps the smallest cap of a row set containing it (§66.2). The last is
      // kept as β_k; it covers every unit the final caps leave uncertain.
      let keep = true;
      for (;;) {
        const beta = ctx.prefixReach(index, rows, slopes, keep);
        if (!beta) return caps;
        prefixFailureProbability += beta.failureProbability;
        const cap = epsilon * beta.value * (1 + 4 * UNIT_ROUNDOFF);
        const next: Float64Array = caps ?? new Float64Array(rows.length).fill(Infinity);
        rows.forEach((u, i) => {
          if (u && cap < next[i]) next[i] = cap;
        });
        caps = next;
        const units = unitsWithin(caps);
        const before = count(rows);
        // Then the units whose window still holds a jump of σ' (§68): their norm is not β_k, since the
        // units it leaves out may stay uncertain.
        const left = keep && count(units.uncertain) <= before / 2 ? units.uncertain : units.jumping();
        if (left !== units.uncertain) keep = false;
        const after = count(left);
        if (after === 0 || after > before / 2) return caps;
        rows = left;
      }
    };
    // The reach of a whole-tensor slope layer's inputs from the composed prefix (§57), where given.
    const inputs = p.layer.inputs.some((ref) => ref === NETWORK_INPUT) || !ctx.inputReach || !SLOPE_LAYERS_READING_TENSORS.has(p.op.kind)
      ? stated
      : cappedInputs(stated, p.layer.inputs, p.inSizes, epsilon, (rows) => ctx.inputReach?.(index, rows, slopes) ?? null, (probability) => {
        prefixFailureProbability += probability;
      });
    // The slopes-only run also bounds every coordinate's reach on its own (§67), and each end of it (§69).
    const box = slopesAfter ? coordinateBox(ctx, p, index, inputs) : undefined;
    const within = slopesAfter ? p.layer.inputs.map((ref, k) => inputInterval(ctx, ref, inputs[k], p.inSizes[k])) : undefined;
    const interval = within ? layerInterval(prepared, p, within) : undefined;
    // The layer run keeps intervals only for the products of two computed tensors, which read their
    // factors' sizes from them (§70); its other rows stay the paper's, over the whole ε_in ball.
    const factorRanges = within ?? (rangesForProducts ? p.layer.inputs.map((ref, k) => inputInterval(ctx, ref, inputs[k], p.inSizes[k])) : undefined);
    const rangeStep = !within && factorRanges ? layerInterval(prepared, p, factorRanges) : undefined;
    const norms: LayerNorms = {
      conservative: conservativeNorm,
      local: (compute) => (slopesAfter ? earlierRunNorm(slopesAfter.layers[index]) : compute()),
    };
    let outcome: LayerOutcome;
    const op = p.op;
    switch (op.kind) {
      case 'affine': {
        const lop = p.layer.op;
        const activation = lop.kind === 'affine' ? lop.activation : undefined;
        const pre = nominal.preActivations[index];
        if (!pre) throw new Error(`layer ${index} '${p.layer.label}': the forward provider gave no pre-activation`);
        const tau = smallestBound(nominal.preActivationErrors?.[index], nominal.absoluteError);
        outcome = affineLayer(op.affine.linear, activation, pre, tau, inputs[0], options, norms, ctx.times, capsFor, box?.pre ?? undefined, readPerCoordinate.has(index), interval?.pre ?? undefined);
        break;
      }
      case 'activation': {
        const lop = p.layer.op;
        if (lop.kind !== 'activation') throw new Error('prepared activation without an activation op');
        // The network input x0 itself is exact; other tensors carry the provider's error bound.
        const ref = p.layer.inputs[0];
        const tau = outputTau(nominal, ref);
        // The reported run's row holds over the whole ε_in ball (§56), so it does not read per-coordinate reaches.
        const input = slopesAfter ? inputs[0] : { ...inputs[0], coordinates: undefined };
        outcome = loneActivation(lop.activation, tensorValue(nominal, x0, ref), tau, input, inputRange(prepared, ref), p.layer.nodes, capsFor, overflowedAt, readPerCoordinate.has(index), within?.[0]);
        break;
      }
      case 'maxPool': {
        const ref = p.layer.inputs[0];
        const tau = outputTau(nominal, ref);
        const reach = coordinateReach(inputs[0], p.inSizes[0]);
        const edges = op.pool.slopeEdges(tensorValue(nominal, x0, ref), tau, reach, inputs[0].radius, within?.[0]);
        const overlap = op.pool.maxOverlap(inputs[0].mask);
        const local = Math.sqrt(overlap);
        const conservative = conservativeNorm(() => {
          const value = Math.sqrt(op.pool.maxOverlap(null));
          return { value, certificate: closedForm(value, 'sqrt of the largest number of pooling windows sharing an input') };
        });
        outcome = {
          local,
          certificate: closedForm(local, `sqrt of the largest number (${overlap}) of pooling windows sharing a movable input`),
          conservative,
          mask: op.pool.outputMask(inputs[0].mask),
          slopes: edges,
        };
        break;
      }
      case 'linearPool':
        if (op.linear instanceof GlobalAvgPoolOperator) outcome = globalAvgPool(op.linear, inputs[0]);
        else if ((op.linear instanceof AvgPoolOperator && op.linear.disjointWindows) || (op.linear instanceof AxisMapOperator && op.linear.columnsDisjoint)) {
          outcome = orthogonalRows(op.linear, inputs[0], ctx.times);
        } else if (op.linear instanceof AxisMapOperator && op.linear.singleEntryRows) outcome = orthogonalColumns(op.linear, inputs[0], ctx.times);
        else outcome = loneLinear(op.linear, inputs[0], options, norms, ctx.times);
        break;
      case 'reshape':
        outcome = {
          local: 1,
          certificate: closedForm(1, 'values unchanged, only the shape'),
          conservative: { value: 1, certificate: closedForm(1, 'values unchanged, only the shape') },
          mask: inputs[0].mask,
        };
        break;
      case 'transpose': {
        const detail = 'a permutation of the coordinates is an isometry';
        outcome = {
          local: 1,
          certificate: closedForm(1, detail),
          conservative: { value: 1, certificate: closedForm(1, detail) },
          mask: inputs[0].mask && gatherPermuted(inputs[0].mask, op.source, new Uint8Array(p.outSize)),
        };
        break;
      }
      case 'add':
      case 'concat':
        outcome = combineLayer(p, inputs);
        break;
      case 'softmax': {
        const ref = p.layer.inputs[0];
        const tau = outputTau(nominal, ref);
        outcome = softmaxLayer(op.groups, tensorValue(nominal, x0, ref), tau, inputs[0]);
        const { mid, outputRadius } = softmaxSlopes(op.groups, tensorValue(nominal, x0, ref), tau, inputs[0].radius, inputs[0].mask);
        outcome.slopes = { mid, outputRadius, uncertain: Uint8Array.from(outputRadius, (r) => (r > 0 ? 1 : 0)), softmaxGroups: op.groups };
        break;
      }
      case 'matMul': {
        const [a, b] = p.layer.inputs;
        const factors = { a0: tensorValue(nominal, x0, a), b0: tensorValue(nominal, x0, b), tauA: outputTau(nominal, a), tauB: outputTau(nominal, b) };
        if (!Number.isFinite(factors.tauA) || !Number.isFinite(factors.tauB)) {
          throw new UnsupportedLayerError(
            p.layer.nodes,
            'the nominal values of its factors are known only to ±∞: the float64 forward pass\'s rounding bound (docs/derivations.md §14) overflowed in the layers before it, so no ε has a finite bound',
          );
        }
        outcome = bilinearLayer(op.geometry, factors, inputs[0], inputs[1], factorRanges?.[1], epsilon, options(false), ctx.times);
        if (outcome.rangeCapped) reachPastRangeAt ??= p.layer.label;
        outcome.slopes = matMulSlopes(op.geometry, factors.a0, factors.b0, factors.tauA, factors.tauB, inputs[0].mask, inputs[1].mask, inputs[0].radius, inputs[1].radius, factorRanges?.[1]);
        break;
      }
      case 'mul': {
        const [a, b] = p.layer.inputs;
        const producer = b === NETWORK_INPUT ? undefined : prepared.layers[b].layer.op;
        const activation = producer?.kind === 'affine' || producer?.kind === 'activation' ? producer.activation : undefined;
        const range = activation ? activationRange(activation) : ([-Infinity, Infinity] as [number, number]);
        const [a0, b0] = [tensorValue(nominal, x0, a), tensorValue(nominal, x0, b)];
        const [tauA, tauB] = [outputTau(nominal, a), outputTau(nominal, b)];
        outcome = productLayer(op.source, a0, b0, tauA, tauB, range, inputs[0], inputs[1], factorRanges?.[1], op.divide ? p.layer.nodes : undefined, overflowedAt);
        const [reachA, reachB] = [coordinateReach(inputs[0], a0.length), coordinateReach(inputs[1], b0.length)];
        outcome.slopes = op.divide ? quotientSlopes(op.source, a0, b0, tauA, tauB, reachA, reachB, range) : productSlopes(op.source, a0, b0, tauA, tauB, reachA, reachB, range, within?.[1]);
        break;
      }
      case 'reduceMax': {
        const ref = p.layer.inputs[0];
        const tau = outputTau(nominal, ref);
        outcome = reduceMaxLayer(op.window, op.width, inputs[0]);
        outcome.slopes = windowSlopes(reductionWindows(op.window, op.width), tensorValue(nominal, x0, ref), new Float64Array(p.inSizes[0]).fill(tau), coordinateReach(inputs[0], p.inSizes[0]), inputs[0].radius, within?.[0]);
        break;
      }
      case 'maximum': {
        const [a, b] = p.layer.inputs;
        const [a0, b0] = [tensorValue(nominal, x0, a), tensorValue(nominal, x0, b)];
        const [tauA, tauB] = [outputTau(nominal, a), outputTau(nominal, b)];
        outcome = maximumLayer(op.source, a0, b0, tauA, tauB, inputs[0], inputs[1]);
        // The two candidates of each output as one window over the concatenated inputs (a, then b).
        const tau = Float64Array.from({ length: a0.length + b0.length }, (_v, e) => (e < a0.length ? tauA : tauB));
        const reach = new Float64Array(a0.length + b0.length);
        reach.set(coordinateReach(inputs[0], a0.length));
        reach.set(coordinateReach(inputs[1], b0.length), a0.length);
        const values = new Float64Array(a0.length + b0.length);
        values.set(a0);
        values.set(b0, a0.length);
        outcome.slopes = windowSlopes(maximumWindows(op.source), values, tau, reach, null, within && concatenatedIntervals(within));
        break;
      }
      case 'layerNorm': {
        const ref = p.layer.inputs[0];
        const tau = outputTau(nominal, ref);
        outcome = layerNormLayer(op.spec, tensorValue(nominal, x0, ref), tau, inputs[0], p.layer.nodes, overflowedAt);
        outcome.slopes = normalisationSlopes(op.spec, tensorValue(nominal, x0, ref), tau, inputs[0].radius, inputs[0].mask);
        break;
      }
    }

    // hypot: the squares of radii from 1e154 on would overflow a plain sum of squares.
    const epsilonIn = Math.hypot(...inputs.map((t) => t.radius));
    const spectralIn = Math.hypot(...inputs.map((t) => t.spectralFactor));
    let state: TensorState;
    let localBound: number;
    let spectralNorm: number;
    if (outcome.combined) {
      state = { radius: outcome.combined.radius, spectralFactor: outcome.combined.spectralFactor, mask: outcome.mask };
      // ∞ out of ∞ in (an overflowed reach, §57): no finite ratio was computed, so none is reported.
      localBound = epsilonIn > 0 ? ratioOrInfinity(state.radius, epsilonIn) : 0;
      spectralNorm = spectralIn > 0 ? ratioOrInfinity(state.spectralFactor, spectralIn) : 0;
    } else {
      localBound = outcome.local;
      spectralNorm = outcome.conservative.value;
      state = {
        radius: scaled(localBound, inputs[0].radius),
        spectralFactor: scaled(spectralNorm, inputs[0].spectralFactor),
        mask: outcome.mask,
      };
    }
    // An overflow is carried, not thrown (§57): later layers take their bounds over their whole
    // reachable set, and the composed bound may still be finite.
    if (!Number.isFinite(state.radius)) {
      state.radius = Infinity;
      overflowedAt ??= p.layer.label;
    }
    if (!Number.isFinite(state.spectralFactor)) {
      state.spectralFactor = Infinity;
      spectralOverflowedAt ??= p.layer.label;
    }
    // An activation's own bound on each output's move (§66.3) joins the box's (§67): both hold.
    if (box) state.coordinates = outcome.outputMoves ? box.out.map((b, j) => Math.min(b, (outcome.outputMoves as Float64Array)[j])) : box.out;
    else if (outcome.outputMoves) state.coordinates = outcome.outputMoves;
    // The interval (§69) holds with the layer's own, and within the reach just found; its ends bound the reach in turn.
    if (interval) settleInterval(state, outcome.interval ? intersectInto(outcome.interval, interval.out) : interval.out, nominal.outputs[index], outputTau(nominal, index), p.outSize);
    else if (rangeStep) state.interval = layerRunInterval(p, rangeStep, nominal.outputs[index], outputTau(nominal, index), coordinateReach(state, p.outSize));
    for (const ref of p.layer.inputs) if (ref !== NETWORK_INPUT && lastReader.get(ref) === index) delete states[ref].interval;
    states.push(state);
    if (ctx.stopAtUnboundedSlopes && outcome.slopes && !slopesBounded(outcome.slopes)) throw new UnboundedSlopesError(p.layer.label);
    slopes.push(outcome.slopes ?? null);
    layers.push({
      index,
      label: p.layer.label,
      nodes: [...p.layer.nodes],
      kind: describeKind(p),
      epsilonIn,
      epsilonOut: state.radius,
      localBound,
      spectralNorm,
      ...(outcome.neurons ? { neurons: outcome.neurons } : {}),
      certificate: outcome.certificate,
      spectralCertificate: outcome.conservative.certificate,
      timeMs: performance.now() - started,
    });
    ctx.onLayerResult?.(layers[layers.length - 1]);
  });

  const out = stateOf(prepared.network.output);
  const failureProbability = layers.reduce(
    (sum, l) => sum + (l.certificate.failureProbability ?? 0) + (l.spectralCertificate.failureProbability ?? 0),
    prefixFailureProbability,
  );
  return {
    localBound: out.radius / epsilon,
    spectralBound: out.spectralFactor,
    failureProbability,
    layers,
    masks: states.map((t) => t.mask),
    slopes,
    operatorApplications: prepared.counters.applications - applicationsBefore,
    reusedApplications,
    ...(overflowedAt !== undefined ? { overflowedAt } : {}),
    ...(spectralOverflowedAt !== undefined ? { spectralOverflowedAt } : {}),
    ...(reachPastRangeAt !== undefined ? { reachPastRangeAt } : {}),
  };
}

function ratioOrInfinity(out: number, into: number): number {
  return Number.isFinite(into) ? out / into : out === 0 ? 0 : Infinity;
}

/** Slope layers whose units read their inputs' entries (not an affine map of them): their reach is the inputs' radius. */
const SLOPE_LAYERS_READING_TENSORS = new Set<PreparedLayer['op']['kind']>(['matMul', 'mul', 'softmax', 'layerNorm', 'maxPool', 'reduceMax', 'maximum']);

/**
 * The inputs with each radius capped by ε γ_i (§57, §61.4), γ_i the composed prefix norm read on input i's
 * movable entries of the concatenated inputs alone: its deviation is that part of the concatenated one.
 * A tensor read twice is asked once; nothing is asked for an input that cannot move. The failure
 * probabilities are counted by the caller.
 */
function cappedInputs(
  inputs: TensorState[],
  refs: TensorRef[],
  sizes: number[],
  epsilon: number,
  reach: (rows: Uint8Array) => { value: number; failureProbability: number } | null,
  count: (failureProbability: number) => void,
): TensorState[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const capped: TensorState[] = [];
  let offset = 0;
  inputs.forEach((t, i) => {
    const start = offset;
    offset += sizes[i];
    const earlier = refs.indexOf(refs[i]);
    if (earlier < i) {
      capped.push(capped[earlier]);
      return;
    }
    if (t.radius === 0) {
      capped.push(t);
      return;
    }
    const rows = new Uint8Array(total);
    if (t.mask) rows.set(t.mask, start);
    else rows.fill(1, start, start + sizes[i]);
    const gamma = reach(rows);
    if (gamma) count(gamma.failureProbability);
    const cap = gamma ? epsilon * gamma.value * (1 + 4 * UNIT_ROUNDOFF) : Infinity;
    capped.push(cap < t.radius ? { ...t, radius: cap } : t);
  });
  return capped;
}

interface LayerOutcome {
  local: number;
  certificate: Certificate;
  conservative: CertifiedNorm;
  mask: Uint8Array | null;
  neurons?: NeuronCounts;
  /** For multi-input layers: the output radius and spectral factor directly. */
  combined?: { radius: number; spectralFactor: number };
  /** A MatMul's factor was bounded by its interval, not by its reach (§70). */
  rangeCapped?: boolean;
  slopes?: SlopeUnits;
  /** An activation layer's bound on each output coordinate's move, from its units' capped reaches (§66.3). */
  outputMoves?: Float64Array;
  /** Where the layer bounds its output's ends itself (units' windows and their images, §69). */
  interval?: Interval;
}

function describeKind(p: PreparedLayer): string {
  const lop = p.layer.op;
  if (lop.kind === 'affine') return lop.activation ? `${lop.linear.kind}+${lop.activation.kind}` : lop.linear.kind;
  if (lop.kind === 'activation') return lop.activation.kind;
  return lop.kind;
}

function affineLayer(
  linear: LinearOperator,
  activation: Activation | undefined,
  pre: Float64Array,
  tau: number,
  input: TensorState,
  options: (conservative: boolean) => SpectralOptions,
  norms: LayerNorms,
  times: PhaseTimes | undefined,
  capsFor: CapsFor,
  /** Each pre-activation's own reach (§67), where known. */
  preReach?: Float64Array,
  /** Cap every unit the ball's reach leaves uncertain, not only those the box does (§66.3). */
  capBallUncertain = false,
  /** Each pre-activation's interval over the ball (§69), where known. */
  preInterval?: Interval,
): LayerOutcome {
  const rowSq = timed(times, 'rowNormsMs', () => linear.rowNormsSquared(maskToVector(input.mask, linear.inSize)));
  const conservativeLinear = norms.conservative(() => {
    const norm = timed(times, 'spectralMs', () => certifiedNorm(linear, null, null, options(true)));
    const slope = activation ? globalSlope(activation) : 1;
    return slope === 1
      ? norm
      : { value: norm.value * slope, certificate: { ...norm.certificate, detail: `${norm.certificate.detail}, times the activation's global slope ${slope}` } };
  });
  if (!activation) {
    const norm = norms.local(() => timed(times, 'spectralMs', () => certifiedNorm(linear, null, input.mask, options(false))));
    const mask = Uint8Array.from(rowSq, (s) => (s > 0 ? 1 : 0));
    // Each output moves at most ε_in ‖a_iᵀD‖ (§69: the ball's row reach cuts the interval of |A|'s box).
    const interval = preInterval && unitWindows(pre, tau, (i) => scaled(input.radius, Math.sqrt(rowSq[i])) * (1 + ROW_NORM_MARGIN), preInterval);
    return { local: norm.value, certificate: norm.certificate, conservative: conservativeLinear, mask, ...(interval ? { interval } : {}) };
  }
  const r = new Float64Array(linear.outSize);
  const lower = new Float64Array(linear.outSize);
  const upper = new Float64Array(linear.outSize);
  const mask = new Uint8Array(linear.outSize);
  const moves = new Float64Array(linear.outSize);
  const counts = { on: 0, unstable: 0, off: 0 };
  let hasStates = false;
  // scaled: a row that cannot move has reach 0 even behind an overflowed radius (∞ · 0).
  const ballReach = (i: number) => scaled(input.radius, Math.sqrt(rowSq[i])) * (1 + ROW_NORM_MARGIN);
  const unitReach = preReach ? (i: number) => Math.min(ballReach(i), preReach[i]) : ballReach;
  const firstReach = capBallUncertain ? ballReach : unitReach;
  // The first caps go to the units the ball leaves uncertain where a window reads them (§66.3), so the interval waits until then.
  const reachCap = capsFor((caps) => {
    const reach = (i: number) => (caps ? Math.min(unitReach(i), caps[i]) : firstReach(i));
    const within = caps || !capBallUncertain ? preInterval : undefined;
    const uncertain = uncertainUnits(activation, pre, tau, reach, undefined, within);
    return { uncertain, jumping: () => jumpUnits(activation, uncertain, pre, tau, reach) };
  });
  const finalReach = (i: number) => (reachCap ? Math.min(unitReach(i), reachCap[i]) : unitReach(i));
  for (let i = 0; i < r.length; i++) {
    const reach = finalReach(i);
    [lower[i], upper[i]] = unitSlopes(activation, pre[i], tau, reach, undefined, preInterval, i);
    r[i] = slopeBoundUncertain(activation, pre[i], tau, reach);
    // The interval's slopes bound the unit's too (§69); the ball's rule stands where they are not numbers (an overflowed reach).
    const narrowed = Math.max(Math.abs(lower[i]), Math.abs(upper[i]));
    if (preInterval && narrowed < r[i]) r[i] = narrowed;
    moves[i] = outputReach(reach, lower[i], upper[i]);
    mask[i] = r[i] > 0 ? 1 : 0;
    const state = uncertainState(activation, pre[i], tau, reach);
    if (state) {
      counts[state]++;
      hasStates = true;
    }
  }
  const norm = norms.local(() => timed(times, 'spectralMs', () => certifiedNorm(linear, r, input.mask, options(false))));
  return {
    local: norm.value,
    certificate: norm.certificate,
    conservative: conservativeLinear,
    mask,
    ...(hasStates ? { neurons: counts } : {}),
    slopes: intervalSlopes(lower, upper),
    outputMoves: moves,
    ...(preInterval ? { interval: activationImage(activation, unitWindows(pre, tau, finalReach, preInterval), [-Infinity, Infinity]) ?? undefined } : {}),
  };
}

/** Neuron state when y0 is known to ±tau: on/off only if so for every admissible y0. */
function uncertainState(activation: Activation, y0: number, tau: number, reach: number): ReturnType<typeof neuronState> {
  // A coordinate that cannot move keeps its nominal label (its slope bound is 0 whatever τ).
  if (tau === 0 || reach === 0) return neuronState(activation, y0 - reach, y0, y0 + reach);
  const low = neuronState(activation, y0 - tau - reach, y0 - tau, y0 - tau + reach);
  const high = neuronState(activation, y0 + tau - reach, y0 + tau, y0 + tau + reach);
  return low === high ? low : low === null ? null : 'unstable';
}

/**
 * A refused layer's input reach, for its message: the number, or, once the product's reach has left
 * float64 (§57), where that happened, in words rather than "Infinity".
 */
function reachText(name: string, radius: number, overflowedAt: string | undefined): string {
  if (Number.isFinite(radius) || overflowedAt === undefined) return `${name} = ${Number.isFinite(radius) ? radius.toPrecision(4) : '∞'}`;
  return `${name} unbounded: the reach of its input overflowed at layer '${overflowedAt}', where ε times the layer bounds before it left the float64 range, so that input may take any value`;
}

/** An end of a reachable interval, with ±∞ as symbols. */
function endText(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(6) : value > 0 ? '∞' : '−∞';
}

/** What the smooth maps cannot take (docs/derivations.md §24), for the refusal message. */
const SINGULARITY: Record<SmoothActivation['kind'], string> = {
  log: 'log has no finite slope at or below 0',
  sqrt: 'sqrt has no finite slope at or below 0',
  reciprocal: '1/y has no finite slope at 0',
  power: 'the power has no finite slope there (0 with a negative or fractional exponent, or a negative base with a fractional one)',
};

function loneActivation(
  activation: Activation,
  nominal: Float64Array,
  tau: number,
  input: TensorState,
  range: readonly [number, number],
  nodes: string[],
  capsFor: CapsFor,
  overflowedAt: string | undefined,
  /** As for an affine layer (§66.3). */
  capBallUncertain = false,
  /** Each input's interval over the ball (§69), where known. */
  within?: Interval,
): LayerOutcome {
  const smooth = isSmoothWithSingularity(activation);
  const reachIn = coordinateReach(input, nominal.length);
  const firstReach = (i: number) => (!capBallUncertain ? reachIn[i] : input.mask && !input.mask[i] ? 0 : input.radius);
  const reachCap = capsFor((caps) => {
    const reach = (i: number) => (caps ? Math.min(reachIn[i], caps[i]) : firstReach(i));
    const interval = caps || !capBallUncertain ? within : undefined;
    const uncertain = uncertainUnits(activation, nominal, tau, reach, range, interval);
    return { uncertain, jumping: () => jumpUnits(activation, uncertain, nominal, tau, reach) };
  });
  const finalReach = (i: number) => (reachCap ? Math.min(reachIn[i], reachCap[i]) : reachIn[i]);
  const mask = new Uint8Array(nominal.length);
  const counts = { on: 0, unstable: 0, off: 0 };
  let hasStates = false;
  const lower = new Float64Array(nominal.length);
  const upper = new Float64Array(nominal.length);
  const moves = new Float64Array(nominal.length);
  let local = 0;
  for (let i = 0; i < nominal.length; i++) {
    if (input.mask && !input.mask[i]) continue;
    const reach = finalReach(i);
    let r = slopeBoundUncertain(activation, nominal[i], tau, reach, range);
    if (smooth && !Number.isFinite(r)) {
      const width = tau + reach;
      throw new UnsupportedLayerError(
        nodes,
        `coordinate ${i} (nominal ${nominal[i].toPrecision(6)}) can reach [${endText(Math.max(range[0], nominal[i] - width))}, ${endText(Math.min(range[1], nominal[i] + width))}] inside the ball (${reachText('ε_in', input.radius, overflowedAt)}), where ${SINGULARITY[(activation as SmoothActivation).kind]}: no finite bound at this ε`,
      );
    }
    [lower[i], upper[i]] = unitSlopes(activation, nominal[i], tau, reach, range, within, i);
    const narrowed = Math.max(Math.abs(lower[i]), Math.abs(upper[i]));
    if (within && narrowed < r) r = narrowed;
    moves[i] = outputReach(reach, lower[i], upper[i]);
    if (r > 0) mask[i] = 1;
    if (r > local) local = r;
    const state = uncertainState(activation, nominal[i], tau, reach);
    if (state) {
      counts[state]++;
      hasStates = true;
    }
  }
  const slope = globalSlope(activation);
  return {
    local,
    certificate: closedForm(local, 'largest per-coordinate slope bound over [x_i − ε_in, x_i + ε_in] (each coordinate moves at most ε_in)'),
    conservative: Number.isFinite(slope)
      ? { value: slope, certificate: closedForm(slope, "the activation's global Lipschitz constant") }
      : { value: local, certificate: closedForm(local, 'no global constant exists (a singularity or an unbounded slope): the local rule') },
    mask,
    ...(hasStates ? { neurons: counts } : {}),
    slopes: intervalSlopes(lower, upper),
    outputMoves: moves,
    ...(within ? { interval: activationImage(activation, unitWindows(nominal, tau, finalReach, within), range) ?? undefined } : {}),
  };
}

function loneLinear(
  linear: LinearOperator,
  input: TensorState,
  options: (conservative: boolean) => SpectralOptions,
  norms: LayerNorms,
  times: PhaseTimes | undefined,
): LayerOutcome {
  const norm = norms.local(() => timed(times, 'spectralMs', () => certifiedNorm(linear, null, input.mask, options(false))));
  const rowSq = timed(times, 'rowNormsMs', () => linear.rowNormsSquared(maskToVector(input.mask, linear.inSize)));
  return {
    local: norm.value,
    certificate: norm.certificate,
    conservative: norms.conservative(() => timed(times, 'spectralMs', () => certifiedNorm(linear, null, null, options(true)))),
    mask: Uint8Array.from(rowSq, (s) => (s > 0 ? 1 : 0)),
  };
}

/**
 * A linear map whose rows have disjoint supports (average pooling without overlapping windows):
 * A D A^T is diagonal, so ‖A D‖ = the largest row norm ‖a_iᵀ D‖, computed exactly by the row-norm pass.
 */
function orthogonalRows(linear: LinearOperator, input: TensorState, times: PhaseTimes | undefined): LayerOutcome {
  const largestRow = (rowSq: Float64Array) => Math.sqrt(rowSq.reduce((m, v) => Math.max(m, v), 0));
  const rowSq = timed(times, 'rowNormsMs', () => linear.rowNormsSquared(maskToVector(input.mask, linear.inSize)));
  const local = largestRow(rowSq);
  const conservative = largestRow(timed(times, 'rowNormsMs', () => linear.rowNormsSquared(maskToVector(null, linear.inSize))));
  const detail = 'rows with disjoint supports are orthogonal: the norm is the largest row norm';
  return {
    local,
    certificate: closedForm(local, detail),
    conservative: { value: conservative, certificate: closedForm(conservative, detail) },
    mask: Uint8Array.from(rowSq, (v) => (v > 0 ? 1 : 0)),
  };
}

/**
 * A linear map whose rows each hold one entry (nearest upsampling, gathers with repeated indices):
 * (A D)ᵀ A D is diagonal with the squared column norms of the movable inputs, so ‖A D‖ = sqrt of the
 * largest of them (docs/derivations.md §18).
 */
function orthogonalColumns(linear: AxisMapOperator, input: TensorState, times: PhaseTimes | undefined): LayerOutcome {
  const columnSq = timed(times, 'rowNormsMs', () => linear.columnNormsSquared());
  let local = 0;
  let conservative = 0;
  for (let j = 0; j < columnSq.length; j++) {
    conservative = Math.max(conservative, columnSq[j]);
    if (!input.mask || input.mask[j]) local = Math.max(local, columnSq[j]);
  }
  local = Math.sqrt(local);
  conservative = Math.sqrt(conservative);
  const rowSq = timed(times, 'rowNormsMs', () => linear.rowNormsSquared(maskToVector(input.mask, linear.inSize)));
  const detail = 'one entry per row: the norm is the largest column norm over the movable inputs (sqrt of the most outputs reading one input)';
  return {
    local,
    certificate: closedForm(local, detail),
    conservative: { value: conservative, certificate: closedForm(conservative, detail) },
    mask: Uint8Array.from(rowSq, (v) => (v > 0 ? 1 : 0)),
  };
}

/**
 * Global average pooling: rows are disjoint, row c has entries 1/P on its channel's P positions, so
 * A D has orthogonal rows and ‖A D‖ = max_c sqrt(movable_c) / P (‖A‖ = 1/sqrt(P)).
 */
function globalAvgPool(op: GlobalAvgPoolOperator, input: TensorState): LayerOutcome {
  const plane = op.planeSize;
  const mask = new Uint8Array(op.outSize);
  let most = 0;
  for (let c = 0; c < op.outSize; c++) {
    let movable = 0;
    for (let k = 0; k < plane; k++) if (!input.mask || input.mask[c * plane + k]) movable++;
    if (movable > 0) mask[c] = 1;
    most = Math.max(most, movable);
  }
  const local = Math.sqrt(most) / plane;
  const conservative = 1 / Math.sqrt(plane);
  return {
    local,
    certificate: closedForm(local, `orthogonal rows: sqrt(largest number of movable inputs in a channel, ${most}) / ${plane}`),
    conservative: { value: conservative, certificate: closedForm(conservative, `orthogonal rows of norm 1/sqrt(${plane})`) },
    mask,
  };
}

/**
 * Softmax along an axis (docs/derivations.md §30): the largest per-group bound on ‖J‖ over the
 * probabilities reachable in the ball, min(max u_i, max 2m_i(1 − m_i), ½); globally ½.
 */
function softmaxLayer(groups: SoftmaxGroups, z0: Float64Array, tau: number, input: TensorState): LayerOutcome {
  const { local, mask } = softmaxBound(groups, z0, tau, input.radius, input.mask);
  const global = softmaxGlobalBound(groups);
  return {
    local,
    certificate: closedForm(local, 'largest softmax Jacobian norm over the reachable probabilities: min(max p_i, max 2p_i(1 − p_i), ½) per group'),
    conservative: { value: global, certificate: closedForm(global, 'the global bound ½ on the softmax Jacobian norm') },
    mask,
  };
}

/**
 * C = A B of two computed tensors (docs/derivations.md §31): ε_C = (β + ε_B) ε_A + α ε_B with
 * β = max_b ‖B*_b‖₂ and α = max_b ‖A*_b‖₂ certified on the nominal factors (plus their error τ).
 */
function bilinearLayer(
  geometry: MatMulGeometry,
  { a0, b0, tauA, tauB }: { a0: Float64Array; b0: Float64Array; tauA: number; tauB: number },
  a: TensorState,
  b: TensorState,
  /** Where B's exact entries lie over the ball (§70), where known. */
  bInterval: Interval | undefined,
  epsilon: number,
  options: SpectralOptions,
  times: PhaseTimes | undefined,
): LayerOutcome {
  const { batch, m, k, n } = geometry;
  const beta = timed(times, 'spectralMs', () => largestFactorNorm(b0, batch, k, n, tauB, options));
  const alpha = timed(times, 'spectralMs', () => largestFactorNorm(a0, batch, m, k, tauA, { ...options, seed: (options.seed + batch) >>> 0 }));
  const grow = 1 + PRODUCT_ROUNDING_MARGIN;
  // ‖B_b(x)‖ ≤ ‖B0_b‖ + ‖ΔB‖, and ≤ ‖B_b(x)‖_F, which B's interval bounds whatever ε_B is (§70).
  const largestB = Math.min(beta.value + b.radius, bInterval ? largestFrobenius(bInterval, batch, k * n) : Infinity);
  const radius = (scaled(largestB, a.radius) + scaled(alpha.value, b.radius)) * grow;
  const spectralFactor = (scaled(beta.value + b.spectralFactor * epsilon, a.spectralFactor) + scaled(alpha.value, b.spectralFactor)) * grow;
  const failureProbability = alpha.failureProbability + beta.failureProbability;
  const fromRange = largestB < beta.value + b.radius ? `, β + ε_B capped at ${largestB.toPrecision(4)} by the largest ‖B_b‖_F over B's interval (§70)` : '';
  const detail = `product of two computed matrices: (β + ε_B) ε_A + α ε_B with β = max ‖B_b‖ = ${beta.value.toPrecision(4)}, α = max ‖A_b‖ = ${alpha.value.toPrecision(4)}${fromRange} (certified; no global constant exists, the conservative column applies the same rule)`;
  const certificate: Certificate = { method: 'composition', detail, ...(failureProbability > 0 ? { failureProbability } : {}) };
  return {
    local: 0,
    certificate,
    conservative: { value: 0, certificate: { method: 'composition', detail } },
    mask: matMulMask(geometry, a.mask, b.mask),
    combined: { radius, spectralFactor },
    ...(fromRange ? { rangeCapped: true } : {}),
  };
}

/** max over the batch of sqrt(Σ_e max(low_e², high_e²)) over each slice's entries, rounded up: ≥ every ‖B_b(x)‖_F. */
function largestFrobenius({ low, high }: Interval, batch: number, entries: number): number {
  let largest = 0;
  for (let t = 0; t < batch; t++) {
    let sum = 0;
    for (let e = t * entries; e < (t + 1) * entries; e++) sum += Math.max(low[e] * low[e], high[e] * high[e]);
    largest = Math.max(largest, sum);
  }
  // A sum of `entries` nonnegative terms is within entries · u of its exact value, relative.
  return roundedUp(Math.sqrt(largest * (1 + (entries + 2) * UNIT_ROUNDOFF)));
}

/**
 * Relative allowance for the float64 rounding of β, α and the radius formula of a product (a few
 * sums of squares, a sqrt and three products: far below 1e-12 relative).
 */
const PRODUCT_ROUNDING_MARGIN = 1e-12;

/**
 * y = a ⊙ B b (docs/derivations.md §20): ‖Δy‖ ≤ β ‖Δa‖ + α ‖Δb‖ with β the largest |b| reachable at a's
 * movable coordinates ([b0 − τ_b − ε_b, b0 + τ_b + ε_b] within the range of b's activation and b's interval, §70) and α the
 * largest norm of (|a0| + τ_a) over the group replicating one movable coordinate of b.
 */
function productLayer(
  source: Int32Array,
  a0: Float64Array,
  b0: Float64Array,
  tauA: number,
  tauB: number,
  [low, high]: [number, number],
  a: TensorState,
  b: TensorState,
  /** Where b's exact entries lie over the ball (§70), where known. */
  bInterval: Interval | undefined,
  /** Set for a quotient a ⊘ B b (§28): the nodes, named when b can reach 0. */
  divisorNodes?: string[],
  overflowedAt?: string,
): LayerOutcome {
  const reachB = new Float64Array(b0.length);
  // For a quotient the factor is 1/b: its largest |value| is 1/m_j and its slope at most 1/m_j², m_j the
  // smallest |b_j| reachable; its radius is ε_b times the largest slope over b's movable coordinates.
  let divisorSlope = 0;
  for (let j = 0; j < b0.length; j++) {
    const width = tauB + b.radius;
    const slack = (Math.abs(b0[j]) + width) * 4.5e-16;
    const from = Math.max(low, b0[j] - width - (divisorNodes ? slack : 0), bInterval ? bInterval.low[j] : -Infinity);
    const to = Math.min(high, b0[j] + width + (divisorNodes ? slack : 0), bInterval ? bInterval.high[j] : Infinity);
    if (!divisorNodes) {
      reachB[j] = Math.max(Math.abs(from), Math.abs(to));
      continue;
    }
    if (!(from > 0 || to < 0)) {
      throw new UnsupportedLayerError(
        divisorNodes,
        `divisor coordinate ${j} (nominal ${b0[j].toPrecision(6)}) can reach [${endText(from)}, ${endText(to)}] inside the ball (${reachText('ε_b', b.radius, overflowedAt)}), which holds 0: no finite bound at this ε`,
      );
    }
    const smallest = Math.min(Math.abs(from), Math.abs(to));
    reachB[j] = (1 / smallest) * (1 + PRODUCT_ROUNDING_MARGIN);
    if (!b.mask || b.mask[j]) divisorSlope = Math.max(divisorSlope, (1 / (smallest * smallest)) * (1 + PRODUCT_ROUNDING_MARGIN));
  }
  let beta = 0;
  const groupSq = new Float64Array(b0.length);
  for (let i = 0; i < source.length; i++) {
    const j = source[i];
    if (!a.mask || a.mask[i]) beta = Math.max(beta, reachB[j]);
    const reach = Math.abs(a0[i]) + tauA;
    groupSq[j] += reach * reach;
  }
  let alphaSq = 0;
  for (let j = 0; j < groupSq.length; j++) if (!b.mask || b.mask[j]) alphaSq = Math.max(alphaSq, groupSq[j]);
  const alpha = Math.sqrt(alphaSq);
  const grow = 1 + PRODUCT_ROUNDING_MARGIN;
  const radiusB = divisorNodes ? scaled(divisorSlope, b.radius) : b.radius;
  const spectralB = divisorNodes ? scaled(divisorSlope, b.spectralFactor) : b.spectralFactor;
  const radius = (scaled(beta, a.radius) + scaled(alpha, radiusB)) * grow;
  const spectralFactor = (scaled(beta, a.spectralFactor) + scaled(alpha, spectralB)) * grow;
  let mask: Uint8Array | null = null;
  if (a.mask && b.mask) {
    mask = new Uint8Array(source.length);
    for (let i = 0; i < source.length; i++) mask[i] = a.mask[i] | b.mask[source[i]];
  }
  const detail = divisorNodes
    ? `quotient of two computed tensors: β ε_a + α s ε_b with β = ${beta.toPrecision(4)} (largest |1/b|), s = ${divisorSlope.toPrecision(4)} (largest 1/b²), α = ${alpha.toPrecision(4)}`
    : `product of two computed tensors: β ε_a + α ε_b with β = ${beta.toPrecision(4)}, α = ${alpha.toPrecision(4)} (no global constant exists; the conservative column applies the same rule)`;
  const certificate: Certificate = { method: 'composition', detail };
  return { local: 0, certificate, conservative: { value: 0, certificate }, mask, combined: { radius, spectralFactor } };
}

/**
 * ReduceMax (docs/derivations.md §26): the windows are disjoint and each maximum moves at most as much
 * as the largest move in its window, so ‖Δy‖² ≤ Σ_o max_j Δt_j² ≤ ‖Δt‖²: 1 when some window holds a
 * movable input, else 0. An output moves only if its window holds a movable input.
 */
function reduceMaxLayer(window: Int32Array, width: number, input: TensorState): LayerOutcome {
  const mask = new Uint8Array(window.length / width);
  for (let k = 0; k < window.length; k++) if (!input.mask || input.mask[window[k]]) mask[(k / width) | 0] = 1;
  const local = input.radius > 0 && mask.includes(1) ? 1 : 0;
  const detail = 'disjoint windows: each maximum moves at most as much as the largest move in its window';
  return { local, certificate: closedForm(local, detail), conservative: { value: 1, certificate: closedForm(1, detail) }, mask };
}

/**
 * y = max(a, B b) (docs/derivations.md §27): Δy_i lies between the changes of two candidates that win
 * somewhere in the ball, so Δy_i² ≤ [a may win at i] Δa_i² + [b may win at i] Δb_j², and
 * ‖Δy‖ ≤ sqrt(ε_a² + k ε_b²) with k the most coordinates of one group where a movable b_j may win
 * (ε_a dropped when no movable a_i may win). "May win" compares the reachable intervals
 * [v0 − τ − reach, v0 + τ + reach]. The conservative column: every coordinate of a group, k = group size.
 */
function maximumLayer(source: Int32Array, a0: Float64Array, b0: Float64Array, tauA: number, tauB: number, a: TensorState, b: TensorState): LayerOutcome {
  const reachA = (i: number) => (a.mask && !a.mask[i] ? 0 : a.radius);
  const reachB = (j: number) => (b.mask && !b.mask[j] ? 0 : b.radius);
  const slack = (v: number, width: number) => (Math.abs(v) + width) * 4.5e-16;
  const winsB = new Float64Array(b0.length);
  const groupSize = new Float64Array(b0.length);
  const mask = new Uint8Array(source.length);
  let aMayMove = false;
  for (let i = 0; i < source.length; i++) {
    const j = source[i];
    const wa = tauA + reachA(i);
    const wb = tauB + reachB(j);
    const aTop = a0[i] + wa + slack(a0[i], wa);
    const aBottom = a0[i] - wa - slack(a0[i], wa);
    const bTop = b0[j] + wb + slack(b0[j], wb);
    const bBottom = b0[j] - wb - slack(b0[j], wb);
    const aMayWin = aTop >= bBottom;
    const bMayWin = bTop >= aBottom;
    groupSize[j]++;
    if (aMayWin && reachA(i) > 0) {
      aMayMove = true;
      mask[i] = 1;
    }
    if (bMayWin && reachB(j) > 0) {
      winsB[j]++;
      mask[i] = 1;
    }
  }
  const k = winsB.reduce((m, v) => Math.max(m, v), 0);
  const kAll = groupSize.reduce((m, v) => Math.max(m, v), 0);
  const grow = 1 + PRODUCT_ROUNDING_MARGIN;
  const radius = Math.hypot(aMayMove ? a.radius : 0, Math.sqrt(k) * b.radius) * grow;
  const spectralFactor = Math.hypot(a.spectralFactor, Math.sqrt(kAll) * b.spectralFactor) * grow;
  const detail = `maximum of two computed tensors: sqrt(ε_a² + k ε_b²) with k = ${k} (the most outputs of one b value that b may win)`;
  const certificate: Certificate = { method: 'composition', detail };
  return { local: 0, certificate, conservative: { value: 0, certificate }, mask, combined: { radius, spectralFactor } };
}

/** Unit roundoff of float64. */
const UNIT_ROUNDOFF = 2 ** -53;

/**
 * Layer normalisation (docs/derivations.md §23). Per group of n values, the Jacobian's norm at x is
 * max|γ| / s(x), s = sqrt(‖P x‖²/n + e); along the segment from x0 to any x of the ball
 * ‖P x‖ ≥ ‖P x0*‖ − ε_in ≥ ‖ẑ0‖(1 − 2γ_{n+2}) − √n (τ + 2γ_{n+2} max|x0|) − ε_in, which gives s_min.
 * A group that cannot move has bound 0; one whose scale can reach 0 (e = 0) is refused.
 */
function layerNormLayer(spec: LayerNormSpec, x0: Float64Array, tau: number, input: TensorState, nodes: string[], overflowedAt: string | undefined): LayerOutcome {
  const n = spec.groupSize;
  const centring = (2 * n + 4) * UNIT_ROUNDOFF * (1 + 1e-6);
  let gammaMax = 1;
  if (spec.scale) gammaMax = spec.scale.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const mask = new Uint8Array(x0.length);
  let steepest = 0;
  let smallestScale = Infinity;
  for (let base = 0; base < x0.length; base += n) {
    let movable = !input.mask;
    for (let i = 0; i < n && !movable; i++) movable = input.mask![base + i] === 1;
    if (!movable || input.radius === 0) continue;
    let mean = 0;
    let largest = 0;
    for (let i = 0; i < n; i++) {
      mean += x0[base + i];
      largest = Math.max(largest, Math.abs(x0[base + i]));
    }
    mean /= n;
    let normSq = 0;
    for (let i = 0; i < n; i++) normSq += (x0[base + i] - mean) ** 2;
    const nearest = Math.sqrt(normSq) * (1 - centring) - Math.sqrt(n) * (tau + centring * largest) - input.radius;
    const reach = Math.max(0, nearest);
    const scale = Math.sqrt((reach * reach) / n + spec.epsilon) * (1 - 1e-12);
    if (!(scale > 0)) {
      throw new UnsupportedLayerError(
        nodes,
        `the variance of a normalised group can reach 0 inside the ball (${reachText('ε_in', input.radius, overflowedAt)}; the group's spread at x0 is ${Math.sqrt(normSq / n).toPrecision(4)}) and epsilon is ${spec.epsilon}: no finite bound`,
      );
    }
    smallestScale = Math.min(smallestScale, scale);
    steepest = Math.max(steepest, 1 / scale);
    for (let i = 0; i < n; i++) if (!spec.scale || spec.scale[i] !== 0) mask[base + i] = 1;
  }
  const local = gammaMax * steepest;
  const certificate = closedForm(local, `largest |scale| / smallest sqrt(variance + epsilon) reachable in the ball (${Number.isFinite(smallestScale) ? smallestScale.toPrecision(4) : 'no movable group'})`);
  const conservative =
    spec.epsilon > 0
      ? { value: gammaMax / Math.sqrt(spec.epsilon) * (1 + 1e-12), certificate: closedForm(gammaMax / Math.sqrt(spec.epsilon), 'largest |scale| / sqrt(epsilon): the global constant (variance 0)') }
      : { value: local, certificate: closedForm(local, 'epsilon 0: no global constant exists; the local rule') };
  return { local, certificate, conservative, mask };
}

function combineLayer(p: PreparedLayer, inputs: TensorState[]): LayerOutcome {
  const op = p.op;
  let radius: number;
  let spectralFactor: number;
  let mask: Uint8Array | null;
  let detail: string;
  if (op.kind === 'add') {
    radius = inputs.reduce((s, t) => s + t.radius, 0);
    spectralFactor = inputs.reduce((s, t) => s + t.spectralFactor, 0);
    detail = 'residual sum: output radius is the sum of the input radii (triangle inequality)';
    if (inputs.some((t) => t.mask === null)) mask = null;
    else {
      mask = new Uint8Array(p.outSize);
      for (const t of inputs) for (let i = 0; i < mask.length; i++) mask[i] |= (t.mask as Uint8Array)[i];
    }
  } else if (op.kind === 'concat') {
    radius = Math.hypot(...inputs.map((t) => t.radius));
    spectralFactor = Math.hypot(...inputs.map((t) => t.spectralFactor));
    detail = 'concatenation of disjoint coordinates: output radius is sqrt of the sum of squared input radii';
    mask = inputs.every((t) => t.mask === null)
      ? null
      : concatenate(
          inputs.map((t, k) => t.mask ?? new Uint8Array(p.inSizes[k]).fill(1)),
          op.outer,
          op.blocks,
          new Uint8Array(p.outSize),
        );
  } else {
    throw new Error(`combineLayer on a '${op.kind}' layer`);
  }
  const certificate: Certificate = { method: 'composition', detail };
  return { local: 0, certificate, conservative: { value: 0, certificate }, mask, combined: { radius, spectralFactor } };
}
