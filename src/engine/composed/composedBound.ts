// The network bound from certified norms of the linearised network (docs/derivations.md §22). With M the
// midpoint slopes, R_k the radius of layer k's deviation at its output, U_k its uncertain units, G the
// suffix and H the prefix maps of the linearised network, and any weights t_i > 0 summing to 1:
//   L ≤ ‖[ J(M)/√t_0 | β_1 G_1 R_1/√t_1 | … | β_K G_K R_K/√t_K ]‖,
//   β_k = ‖[ Π_{U_k} H_k(M)/√s_0 | β_j Π_{U_k} G_{j→k} R_j/√s_j (j < k) ]‖,
// each a single certified norm of a horizontally stacked operator, applied with one forward pass
// (all injections at once) and one backward pass (all cotangents read on the way). The weights come
// from power estimates per block for short stacks, Frobenius estimates of all blocks at once (a few
// random backward passes) for long ones; any positive weights are sound. For networks of few outputs
// the same corrections are also bounded in quadrature with J(M)'s own direction (§59.3), and the
// network bound is the smaller of the two.
import { throwIfCancelled, type CancelSignal } from '../errors';
import { NETWORK_INPUT } from '../network';
import type { PreparedNetwork } from '../prepared';
import { SeededRandom } from '../random';
import { certifiedNorm, type NormOperator, type SpectralOptions } from '../spectral/certifiedNorm';
import { count, LinearisedNetwork, type Injection, type ReadRows, type SlopeUnits } from './linearisedNetwork';

/** Bounds of single output functionals over every slope pattern of the ball (the logit margins, §44). */
export interface FunctionalBounds {
  /** Union bound over the Lanczos certificates among them. */
  failureProbability: number;
  /**
   * For one output functional u (e.g. a logit margin e_c − e_j): a bound on ‖J(S)ᵀu‖ over every slope
   * pattern of the ball, ‖J(M)ᵀu‖ + Σ_k β_k ‖R_k G_k(M)ᵀu‖ from one backward pass and the certified β_k
   * above (docs/derivations.md §44), or, where the quadrature bound's spreads were certified, its
   * quadrature form from K prefix passes more (§59.3), whichever is smaller. Its certificates are those
   * counted in failureProbability.
   */
  functionalBound(u: Float64Array): number;
}

export interface ComposedBound extends FunctionalBounds {
  value: number;
  /** Certified norms computed. */
  norms: number;
  /** Certified ‖J(M)‖: the whole bound when no unit's slope is uncertain. */
  midpointNorm: number;
  /** Units whose slope is uncertain, over all slope layers. */
  uncertainUnits: number;
}

/** One block of a stacked operator: the network input, or injections at layer `layer`'s output scaled by R. */
interface Block {
  layer: number | null;
  weight: number;
}

const UNIT_ROUNDOFF = Number.EPSILON / 2;

/** [c_0 B_0 | c_1 B_1 | …]: x is split by blocks; B_i maps the block's source to the common target. */
class StackedOperator implements NormOperator {
  readonly inSize: number;
  readonly outSize: number;
  private readonly sizes: number[];
  /** Per block, the entries where R is not 0: the only ones a pass reads or writes (the rest of R_j v is 0). */
  private readonly deviating: Int32Array[];

  constructor(
    private readonly network: LinearisedNetwork,
    private readonly blocks: Block[],
    private readonly readAt: number | undefined,
    /** Where given, only these rows of z at readAt are computed and read (the norms read no others). */
    private readonly read: ReadRows | null = null,
  ) {
    this.sizes = blocks.map((b) => (b.layer === null ? network.prepared.inputSize : network.prepared.layers[b.layer].outSize));
    this.deviating = blocks.map((b) => (b.layer === null ? new Int32Array(0) : nonZeroEntries(this.radius(b.layer))));
    this.inSize = this.sizes.reduce((a, b) => a + b, 0);
    this.outSize = readAt === undefined ? network.outputSize() : network.unitCount(readAt);
  }

  get blockCount(): number {
    return this.sizes.length;
  }

  /** The Euclidean norm of each block of an input-side vector. */
  blockNorms(x: Float64Array): number[] {
    let offset = 0;
    return this.sizes.map((size) => {
      const norm = euclidean(x.subarray(offset, offset + size));
      offset += size;
      return norm;
    });
  }

  private radius(layer: number): Float64Array {
    return (this.network.slopes[layer] as SlopeUnits).outputRadius;
  }

  apply(x: Float64Array): Float64Array {
    let input: Float64Array | null = null;
    const injections = new Map<number, Injection>();
    let offset = 0;
    this.blocks.forEach((b, i) => {
      const part = x.subarray(offset, offset + this.sizes[i]);
      offset += this.sizes[i];
      if (b.layer === null) {
        const scaled = new Float64Array(part.length);
        for (let k = 0; k < part.length; k++) scaled[k] = part[k] * b.weight;
        input = scaled;
      } else {
        // A non-finite weight has no finite norm (as c·R v computed whole would say).
        if (!(Math.abs(b.weight) < Infinity)) throw new NonFiniteOperatorError();
        injections.set(b.layer, { values: part, scale: b.weight, radius: this.radius(b.layer), entries: this.deviating[i] });
      }
    });
    const result = this.network.forward(input, injections, this.readAt, this.read);
    if (input !== result) this.network.recycle(input);
    return finiteOrThrow(result);
  }

  /** Into `out` when given (a Lanczos step's reused array), else a new array. */
  applyTranspose(y: Float64Array, out?: Float64Array): Float64Array {
    const layers = this.blocks.flatMap((b) => (b.layer === null ? [] : [b.layer]));
    const wantInput = this.blocks.some((b) => b.layer === null);
    const g = this.network.backward(y, wantInput, layers, this.readAt, this.read);
    const result = out ? out.fill(0) : new Float64Array(this.inSize);
    // Each written entry is checked as it is written (finiteOrThrow's test); the others are 0.
    const put = (index: number, value: number) => {
      if (!(Math.abs(value) <= LARGEST_PASS_VALUE)) throw new NonFiniteOperatorError();
      result[index] = value;
    };
    let offset = 0;
    this.blocks.forEach((b, i) => {
      if (b.layer === null) {
        const gi = g.input as Float64Array;
        for (let k = 0; k < gi.length; k++) put(offset + k, gi[k] * b.weight);
      } else {
        const gl = g.layers.get(b.layer) as Float64Array;
        // Where R is 0 the entry stays 0; a non-finite cotangent or weight fails the pass there as gl·c·0 would.
        if (!(Math.abs(b.weight) < Infinity)) throw new NonFiniteOperatorError();
        finiteOrThrow(gl);
        const r = this.radius(b.layer);
        const entries = this.deviating[i];
        for (let a = 0; a < entries.length; a++) {
          const k = entries[a];
          put(offset + k, gl[k] * b.weight * r[k]);
        }
      }
      offset += this.sizes[i];
    });
    this.network.recycle(g.input, ...g.layers.values());
    return result;
  }
}

/**
 * Thrown when a pass of a stacked operator leaves the float64 range, or comes close enough that the
 * Lanczos recurrence's squared norms or the exact path's Gram entries could (after an overflowed layer
 * product its slopes and coefficients can be astronomically large, §57): no finite norm is certified,
 * so the norm is taken as ∞, which is sound.
 */
class NonFiniteOperatorError extends Error {}

/** Largest |value| of a pass whose norm is still certified: its squares, summed, stay far inside float64. */
const LARGEST_PASS_VALUE = 1e100;

/** The indices of the entries that are not 0. */
function nonZeroEntries(v: Float64Array): Int32Array {
  let count = 0;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) count++;
  const out = new Int32Array(count);
  for (let i = 0, a = 0; i < v.length; i++) if (v[i] !== 0) out[a++] = i;
  return out;
}

function finiteOrThrow(v: Float64Array): Float64Array {
  for (let i = 0; i < v.length; i++) if (!(Math.abs(v[i]) <= LARGEST_PASS_VALUE)) throw new NonFiniteOperatorError();
  return v;
}

/** Random probes for the Frobenius weights (their accuracy only affects tightness). */
const WEIGHT_PROBES = 4;
/** Power steps per block for the spectral weights, used up to SPECTRAL_WEIGHT_BLOCKS blocks. */
const WEIGHT_POWER_STEPS = 3;
/**
 * Spectral estimates cost 2·WEIGHT_POWER_STEPS − 1 passes per block, Frobenius ones WEIGHT_PROBES passes
 * for the whole stack; spectral weights measured tighter (the example at ε = 1e-4: 19.1 against 21.2),
 * so they are used while the stack is short.
 */
const SPECTRAL_WEIGHT_BLOCKS = 6;

/**
 * Largest small side materialised for the exact path: a path has no dense block, so each row or
 * column costs one pass through the network, against about two passes per Lanczos step (30–50 steps).
 */
const PATH_EXACT_CUTOFF = 64;

/**
 * Lanczos stops once its certified bound is within this relative distance of λ (the norm within half
 * of it). Every step is a pass through the whole prefix, not one layer, and a looser stop only loosens
 * the bound (it stays certified): measured on the CIFAR-10 bench model at ε = 1e-3, 1e-4 → 1e-2 took
 * 20 % fewer steps for a bound 0.3 % higher.
 */
const COMPOSED_LANCZOS_TOLERANCE = 1e-2;

function euclidean(v: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  return Math.sqrt(sum);
}

function estimateNorm(op: NormOperator, rows: Float64Array | null, seed: number): number {
  const random = new SeededRandom(seed);
  let v: Float64Array = Float64Array.from({ length: op.inSize }, () => random.gaussian());
  let estimate = 0;
  for (let step = 0; step < WEIGHT_POWER_STEPS; step++) {
    const norm = euclidean(v);
    if (norm === 0) return 0;
    v = v.map((x) => x / norm);
    const y = op.apply(v);
    if (rows) for (let i = 0; i < y.length; i++) y[i] *= rows[i];
    estimate = euclidean(y);
    // The last step's estimate is read from its forward product: no backward pass after it.
    if (step + 1 < WEIGHT_POWER_STEPS) v = op.applyTranspose(y);
  }
  return estimate;
}

/**
 * Frobenius-norm estimates of every block c_i B_i from a few Gaussian probes u on the output side:
 * E‖B_iᵀu‖² = ‖B_i‖_F², and one backward pass of the stack reads all blocks at once, so the cost does
 * not grow with the number of blocks. Any positive weights are sound; these only aim them.
 */
function blockEstimates(op: StackedOperator, rows: Float64Array | null, seed: number): number[] {
  const random = new SeededRandom(seed);
  const sums = new Float64Array(op.blockCount);
  for (let probe = 0; probe < WEIGHT_PROBES; probe++) {
    const u = Float64Array.from({ length: op.outSize }, (_v, i) => (rows && !rows[i] ? 0 : random.gaussian()));
    op.blockNorms(op.applyTranspose(u)).forEach((norm, i) => {
      sums[i] += norm * norm;
    });
  }
  return Array.from(sums, (sum) => Math.sqrt(sum / WEIGHT_PROBES));
}

/**
 * Relative floating-point allowance on every certified norm: the certificates bound the norm of the
 * operator as computed in float64, which differs from the exact one by rounding of order
 * u · (terms summed along the path) relative to products of absolute values; an engineering margin
 * like §10b's, not a proof (docs/derivations.md §22).
 */
function pathMargin(prepared: PreparedNetwork): number {
  let terms = 0;
  for (const p of prepared.layers) terms += p.inSizes.reduce((a, b) => a + b, 0);
  return 1e-9 + 64 * UNIT_ROUNDOFF * terms;
}

/** Most power steps for the midpoint direction, and the relative change of ‖J(M)ᵀJ(M) v‖ that stops them. */
const DIRECTION_STEPS = 20;
const DIRECTION_TOLERANCE = 1e-6;

/**
 * The top right-singular direction of J(M), the network at its midpoint slopes (a unit vector of the
 * input space, restricted to `inputMask`), by power iteration on J(M)ᵀJ(M): where the composed bound
 * is driven by ‖J(M)‖ the lower-bound search starts there (docs/derivations.md §11). Only aims the
 * search (it is not a bound); null when the network's output is its input, the direction vanishes or
 * the passes leave the float64 range.
 */
export function midpointDirection(
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  seed: number,
  inputMask: Uint8Array | null = null,
  signal?: CancelSignal,
): Float64Array | null {
  if (prepared.network.output === NETWORK_INPUT) return null;
  const network = new LinearisedNetwork(prepared, slopes, () => throwIfCancelled(signal));
  const random = new SeededRandom(seed);
  const masked = (v: Float64Array) => {
    if (inputMask) for (let i = 0; i < v.length; i++) if (!inputMask[i]) v[i] = 0;
    return v;
  };
  let v = masked(Float64Array.from({ length: prepared.inputSize }, () => random.gaussian()));
  let previous = 0;
  for (let step = 0; step < DIRECTION_STEPS; step++) {
    const norm = euclidean(v);
    if (norm === 0) return null;
    v = v.map((x) => x / norm);
    const w = masked(network.backward(network.forward(v, new Map()), true, []).input as Float64Array);
    const value = euclidean(w);
    // Beyond float64 (slopes after an overflowed layer product, §57) there is no direction to offer.
    if (value === 0 || !Number.isFinite(value)) return null;
    v = w;
    if (Math.abs(value - previous) <= DIRECTION_TOLERANCE * value) break;
    previous = value;
  }
  const norm = euclidean(v);
  return v.map((x) => x / norm);
}

/**
 * A prefix norm from the layer run is reused while it covers at most this many times the rows now
 * uncertain; past that it is recomputed over those rows (docs/derivations.md §56).
 */
const KNOWN_ROWS_FACTOR = 2;

/** Thrown inside a pass once the composed bound has used its share of operator applications. */
class BudgetExhausted extends Error {}

/**
 * A poll for the passes: cancellation, and BudgetExhausted once more than `budget` operator
 * applications have been counted from now (counted, so the limit does not depend on the machine's speed).
 */
function budgetCheck(prepared: PreparedNetwork, budget: number, signal?: CancelSignal): BudgetPoll {
  const limit = prepared.counters.applications + budget;
  const poll = () => {
    throwIfCancelled(signal);
    if (prepared.counters.applications > limit) throw new BudgetExhausted();
  };
  return Object.assign(poll, { remaining: () => limit - prepared.counters.applications });
}

/** The budget's poll, and how many operator applications are left before it throws. */
type BudgetPoll = (() => void) & { remaining(): number };

/** Told as each certified norm of the composed work starts, for progress: the layer whose rows it reads (null: the network output). */
export type NormStarted = (readAt: number | null) => void;

type Slopes = readonly (SlopeUnits | null)[];

/** Where a stacked norm reads: rows of z at a layer, each scaled by `scale` where given (0 off the rows). */
interface ReadAt {
  layer: number;
  rows: Uint8Array;
  scale?: Float64Array;
}

/**
 * The certified norms of stacked operators over one linearised network (docs/derivations.md §22): the
 * prefix norms β_k, kept as they are computed, and the network bound that reads them. The slopes may
 * still be growing — the layer run asks for β_k before layer k's slopes exist (§56) — since every norm
 * reads only layers before the one it reads at.
 */
class ComposedNorms {
  readonly beta = new Map<number, number>();
  norms = 0;
  failureProbability = 0;
  readonly network: LinearisedNetwork;
  readonly margin: number;

  constructor(
    private readonly prepared: PreparedNetwork,
    private readonly slopes: Slopes,
    private readonly spectral: SpectralOptions,
    private readonly checkBudget: BudgetPoll,
    private readonly signal?: CancelSignal,
    private readonly onNorm?: NormStarted,
  ) {
    this.network = new LinearisedNetwork(prepared, slopes as (SlopeUnits | null)[], checkBudget);
    this.margin = 1 + pathMargin(prepared);
  }

  /** Operator applications left in the budget. */
  remaining(): number {
    return this.checkBudget.remaining();
  }

  /** A seed for aiming work at layer k (not for certificates). */
  seedFor(k: number): number {
    return this.seedOf(100000 + k);
  }

  /**
   * Counts a norm that is not computed, so that the norms after it keep the seeds they have in the
   * whole composed bound (the margins' bounds alone are then the same numbers, §60.2).
   */
  skipNorm(): void {
    this.norms++;
  }

  private seedOf(n: number): number {
    return (Math.imul(this.spectral.seed >>> 0, 7919) + 104729 * (n + 1)) >>> 0;
  }

  /** Layers before k, on its paths, with units whose slope is uncertain. */
  uncertainBefore(k: number): number[] {
    const ancestors = this.network.ancestors(k);
    const layers: number[] = [];
    for (let j = 0; j < k; j++) if (ancestors[j] && this.slopes[j]?.outputRadius.some((r) => r > 0)) layers.push(j);
    return layers;
  }

  /**
   * β_k ≥ ‖Π_rows H_k(S)‖ for every slope pattern S of the layers before k (rows: layer k's uncertain
   * units unless given), after any missing β_j of the uncertain layers before it.
   */
  prefixNorm(k: number, rows?: Uint8Array): number {
    const earlier = this.uncertainBefore(k);
    for (const j of earlier) if (!this.beta.has(j)) this.prefixNorm(j);
    const value = this.stackedNorm(
      [{ layer: null, coefficient: 1 }, ...earlier.map((j) => ({ layer: j, coefficient: this.beta.get(j) as number }))],
      { layer: k, rows: rows ?? (this.slopes[k] as SlopeUnits).uncertain },
    );
    this.beta.set(k, value);
    return value;
  }

  /**
   * The same stacked norm as β_k over rows it does not keep as β_k: layer k's inputs concatenated,
   * before layer k's slopes exist (γ_k, §57), or a subset of layer k's units that leaves out some the
   * slopes may still leave uncertain (§68).
   */
  rowsNorm(k: number, rows: Uint8Array): number {
    const earlier = this.uncertainBefore(k);
    for (const j of earlier) if (!this.beta.has(j)) this.prefixNorm(j);
    return this.stackedNorm(
      [{ layer: null, coefficient: 1 }, ...earlier.map((j) => ({ layer: j, coefficient: this.beta.get(j) as number }))],
      { layer: k, rows },
    );
  }

  /**
   * Certified norm of [c_i B_i] over the blocks (the input, or layer j's injections with coefficient
   * β_j), reading the network output or the given rows of z at a layer. The weights t_i sum to 1 and
   * follow the blocks' estimated norms (floored so that no block is dropped).
   */
  stackedNorm(sources: { layer: number | null; coefficient: number }[], read?: ReadAt): number {
    // An infinite coefficient, or a pass beyond float64, certifies nothing finite: ∞ is the sound answer (§57).
    if (!sources.every((s) => Number.isFinite(s.coefficient))) return Infinity;
    try {
      return this.finiteStackedNorm(sources, read);
    } catch (error) {
      if (!(error instanceof NonFiniteOperatorError)) throw error;
      return Infinity;
    }
  }

  private finiteStackedNorm(sources: { layer: number | null; coefficient: number }[], read?: ReadAt): number {
    throwIfCancelled(this.signal);
    const { network, prepared, slopes } = this;
    const readAt = read?.layer;
    this.onNorm?.(readAt ?? null);
    const rows = read ? (read.scale ?? Float64Array.from(read.rows)) : null;
    // The certified norm and the weights below read only these rows, so the passes compute only them.
    const readRows = read ? network.readRows(read.layer, read.rows) : null;
    const estimates = sources.length === 1
      ? [1]
      : sources.length <= SPECTRAL_WEIGHT_BLOCKS
        ? sources.map((s, i) => s.coefficient * estimateNorm(new StackedOperator(network, [{ layer: s.layer, weight: 1 }], readAt, readRows), rows, this.seedOf(1000 * this.norms + i)))
        : blockEstimates(new StackedOperator(network, sources.map((s) => ({ layer: s.layer, weight: s.coefficient })), readAt, readRows), rows, this.seedOf(1000 + this.norms));
    const floor = (1e-3 * estimates.reduce((a, b) => a + b, 0)) / sources.length || 1;
    const total = estimates.reduce((a, b) => a + b + floor, 0);
    const blocks = sources.map((s, i) => ({ layer: s.layer, weight: s.coefficient / Math.sqrt((estimates[i] + floor) / total) }));
    const op = new StackedOperator(network, blocks, readAt, readRows);
    const cols = new Uint8Array(op.inSize);
    let offset = 0;
    for (const b of blocks) {
      const size = b.layer === null ? prepared.inputSize : prepared.layers[b.layer].outSize;
      if (b.layer === null) cols.fill(1, offset, offset + size);
      else (slopes[b.layer] as SlopeUnits).outputRadius.forEach((r, k) => { if (r > 0) cols[offset + k] = 1; });
      offset += size;
    }
    const result = certifiedNorm(op, rows, cols, {
      ...this.spectral, exactCutoff: Math.min(this.spectral.exactCutoff, PATH_EXACT_CUTOFF), seed: this.seedOf(this.norms), signal: this.signal,
      lanczosTolerance: Math.max(this.spectral.lanczosTolerance, COMPOSED_LANCZOS_TOLERANCE),
    });
    this.norms++;
    this.failureProbability += result.certificate.failureProbability ?? 0;
    return result.value * this.margin;
  }

  /** Certified norm of an operator built from this network's passes (the same margin for their rounding). */
  denseNorm(op: NormOperator): number {
    throwIfCancelled(this.signal);
    const result = certifiedNorm(op, null, null, { ...this.spectral, seed: this.seedOf(this.norms), signal: this.signal });
    this.norms++;
    this.failureProbability += result.certificate.failureProbability ?? 0;
    return result.value * this.margin;
  }
}

/**
 * A prefix norm β_k of the slopes run is ∞ at a layer on the output's paths (§61.3): the composed bound,
 * which adds β_k times that layer's corrections, is ∞ too, so the run stops there.
 */
export class PrefixNormOverflowError extends Error {
  constructor(readonly layerLabel: string) {
    super(`the composed prefix norm into layer '${layerLabel}' left the float64 range, and the composed bound adds it on the way to the output (docs/derivations.md §61.3); the prefix norms grow with ε, so a smaller ε may keep them finite`);
    this.name = 'PrefixNormOverflowError';
  }
}

/** A prefix norm β_k the layer run certified, and the units of layer k it covers. */
export interface KnownPrefixNorm {
  value: number;
  rows: Uint8Array;
}

/** The prefix norms still to come are priced at the cheapest of this many last ones (docs/derivations.md §64). */
const RECENT_PREFIX_NORMS = 3;

/**
 * A prefix norm for the layer run (docs/derivations.md §56), or null once past its budget; kept as β_k
 * unless `keep` is false (§68).
 */
export type PrefixReach = (layer: number, rows: Uint8Array, slopes: Slopes, keep?: boolean) => { value: number; failureProbability: number } | null;

/**
 * Prefix norms for one layer run (§56) — on a layer's units, or on its inputs (§57) — and the β_k it certified (with their failure probability
 * already counted by the run) for the network bound after it. Together they may use `budget` operator
 * applications; past that, the run keeps the product's reach for the layers left. A β_k of ∞ on the
 * output's paths throws PrefixNormOverflowError: the composed bound could only be ∞ (§61.3). `ahead`
 * lists the layers the run will ask about (from the product-reach run): once the prefix norms still to
 * come, each priced at the cheapest of the last few, exceed what is left, it stops there too and
 * `foreseenOverBudget` says so (docs/derivations.md §64).
 */
export function layerRunPrefixReach(
  prepared: PreparedNetwork,
  spectral: SpectralOptions,
  budget: number,
  signal?: CancelSignal,
  ahead: readonly number[] = [],
  onNorm?: NormStarted,
): { prefixReach: PrefixReach; inputReach: PrefixReach; certified: Map<number, KnownPrefixNorm>; foreseenOverBudget: () => boolean } {
  const checkBudget = budgetCheck(prepared, budget, signal);
  const certified = new Map<number, KnownPrefixNorm>();
  let exhausted = false;
  let foreseen = false;
  // Applications per layer asked about: its caps may take several norms, each over fewer rows (§66.2).
  const costs: number[] = [];
  let lastLayer: number | null = null;
  let norms: ComposedNorms | null = null;
  let outputAncestors: ReturnType<LinearisedNetwork['ancestors']> | null = null;
  const reach = (layer: number, rows: Uint8Array, slopes: Slopes, keep: boolean) => {
    if (exhausted) return null;
    norms ??= new ComposedNorms(prepared, slopes, spectral, checkBudget, signal, onNorm);
    const before = norms.failureProbability;
    const applications = prepared.counters.applications;
    try {
      const value = keep ? norms.prefixNorm(layer, rows) : norms.rowsNorm(layer, rows);
      // Every β this call completed is covered by the failure probability returned with it.
      for (const [k, value] of norms.beta) if (!certified.has(k) || (k === layer && keep)) certified.set(k, { value, rows: k === layer ? rows : (slopes[k] as SlopeUnits).uncertain });
      outputAncestors ??= norms.network.ancestors(prepared.network.output);
      const overflowed = [...norms.beta].filter(([k, beta]) => !Number.isFinite(beta) && outputAncestors?.[k]).map(([k]) => k);
      if (overflowed.length > 0) throw new PrefixNormOverflowError(prepared.layers[Math.min(...overflowed)].layer.label);
      // A later prefix runs through at least this one's layers, so its norms rarely cost less (§64).
      const cost = prepared.counters.applications - applications;
      if (layer === lastLayer) costs[costs.length - 1] += cost;
      else costs.push(cost);
      lastLayer = layer;
      const later = ahead.filter((k) => k > layer).length;
      if (later * Math.min(...costs.slice(-RECENT_PREFIX_NORMS)) > checkBudget.remaining()) exhausted = foreseen = true;
      return { value, failureProbability: norms.failureProbability - before };
    } catch (error) {
      if (!(error instanceof BudgetExhausted)) throw error;
      exhausted = true;
      return null;
    }
  };
  return {
    prefixReach: (layer, rows, slopes, keep = true) => reach(layer, rows, slopes, keep),
    inputReach: (layer, rows, slopes) => reach(layer, rows, slopes, false),
    certified,
    foreseenOverBudget: () => foreseen,
  };
}

/**
 * The composed bound, or null when it would need more than `budget` operator applications: on deep
 * networks with many layers of uncertain units its prefix terms grow with the square of their number.
 * `known` holds prefix norms the layer run already certified (§56) for these slopes.
 */
export function composedBound(
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  spectral: SpectralOptions,
  budget = Infinity,
  signal?: CancelSignal,
  known: ReadonlyMap<number, KnownPrefixNorm> = new Map(),
  onNorm?: NormStarted,
): ComposedBound | null {
  return splitBoundWithin(prepared, slopes, spectral, budget, signal, known, true, onNorm);
}

/**
 * The functional bounds alone (docs/derivations.md §60.2): the prefix norms β_k and the quadrature
 * spreads they read, without the network's own norms (‖J(M)‖, the stacked and the quadrature bound),
 * for a caller that bounds every margin on its own; split at the vertices (§62.1) like the composed
 * bound's. Null past `budget`, like the composed bound.
 */
export function functionalBounds(
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  spectral: SpectralOptions,
  budget = Infinity,
  signal?: CancelSignal,
): FunctionalBounds | null {
  const bound = splitBoundWithin(prepared, slopes, spectral, budget, signal, new Map(), false);
  return bound && { functionalBound: bound.functionalBound, failureProbability: bound.failureProbability };
}

/** The composed bound (or only its functional part) within `budget`, split at the vertices (§62.1); null past the budget. */
function splitBoundWithin(
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  spectral: SpectralOptions,
  budget: number,
  signal: CancelSignal | undefined,
  known: ReadonlyMap<number, KnownPrefixNorm>,
  networkNorm: boolean,
  onNorm?: NormStarted,
): ComposedBound | null {
  const checkBudget = budgetCheck(prepared, budget, signal);
  let whole: ComposedBound;
  try {
    whole = composedBoundWithin(new ComposedNorms(prepared, slopes, spectral, checkBudget, signal, onNorm), prepared, slopes, known, networkNorm, signal);
  } catch (error) {
    if (error instanceof BudgetExhausted) return null;
    throw error;
  }
  return splitAtVertices(whole, prepared, slopes, spectral, checkBudget, signal, onNorm);
}

/** Most units the vertex split enumerates (§62.1): 2^units composed bounds, each with fewer uncertain layers. */
const SPLIT_UNITS = 4;

/** A unit whose slope set is a segment: the slope-layer entries (unit or edge indices) it sets, and their values at either end. */
interface SegmentUnit {
  layer: number;
  entries: number[];
  ends: [number[], number[]];
}

const SELECTION_KINDS = new Set(['maxPool', 'reduceMax', 'maximum']);

/**
 * The uncertain units of layer k as segments (docs/derivations.md §62.1), or null when one is not: an
 * activation unit's interval [m − p, m + p] (rounded outward); a max window with one movable edge, the
 * interval of its weight; a max window of two candidates that both move, the segment of its weights
 * (they sum to 1) through the midpoint along (1, −1), half-length its radius.
 */
function segmentUnits(prepared: PreparedNetwork, k: number, s: SlopeUnits): SegmentUnit[] | null {
  if (s.normalised || s.softmaxGroups) return null;
  const outward = (v: number, r: number): [number, number] => {
    const slack = 4 * UNIT_ROUNDOFF * (Math.abs(v) + r);
    return [v - r - slack, v + r + slack];
  };
  if (!s.edges) {
    const units: SegmentUnit[] = [];
    s.outputRadius.forEach((r, i) => {
      if (r > 0) {
        const [lo, hi] = outward(s.mid[i], r);
        units.push({ layer: k, entries: [i], ends: [[lo], [hi]] });
      }
    });
    return units;
  }
  if (!SELECTION_KINDS.has(prepared.layers[k].op.kind)) return null;
  const edgesOf = new Map<number, number[]>();
  s.uncertain.forEach((u, e) => {
    if (!u) return;
    const o = (s.edges as NonNullable<SlopeUnits['edges']>).output[e];
    edgesOf.set(o, [...(edgesOf.get(o) ?? []), e]);
  });
  const units: SegmentUnit[] = [];
  for (const [o, entries] of edgesOf) {
    const r = s.outputRadius[o];
    if (entries.length === 1) {
      const [lo, hi] = outward(s.mid[entries[0]], r);
      units.push({ layer: k, entries, ends: [[lo], [hi]] });
    } else if (entries.length === 2 && s.edges.centred[o]) {
      const step = (r / Math.SQRT2) * (1 + 4 * UNIT_ROUNDOFF);
      const [a, b] = entries.map((e) => s.mid[e]);
      units.push({ layer: k, entries, ends: [[a + step, b - step], [a - step, b + step]] });
    } else return null;
  }
  return units;
}

/**
 * The vertex split (docs/derivations.md §62.1): J(S) is affine in each unit's slope, so ‖J(S)‖ is convex
 * along each unit's segment and its largest value over the slope sets is taken with every segment unit
 * at an end. With the units of the layers that have fewest (at most SPLIT_UNITS in all) set to each
 * combination of ends, those layers are exact and the composed bound of the rest is computed per
 * combination; the largest of them bounds L too, and the smaller of the two bounds is kept. Past the
 * budget the whole bound stands as it is.
 */
function splitAtVertices(
  whole: ComposedBound,
  prepared: PreparedNetwork,
  slopes: Slopes,
  spectral: SpectralOptions,
  checkBudget: BudgetPoll,
  signal?: CancelSignal,
  onNorm?: NormStarted,
): ComposedBound {
  // Only where the quadrature bound applies (few outputs): on the stacked bound of a large head it was
  // measured to cost much and gain nothing (BlazeFace front, §62.1).
  const output = prepared.network.output;
  const outputs = output === NETWORK_INPUT ? prepared.inputSize : prepared.layers[output].outSize;
  if (whole.uncertainUnits === 0 || outputs > QUADRATURE_OUTPUTS) return whole;
  const candidates = slopes
    .flatMap((s, k) => (s && s.outputRadius.some((r) => r > 0) ? [segmentUnits(prepared, k, s)] : []))
    .filter((units): units is SegmentUnit[] => units !== null && units.length > 0)
    .sort((a, b) => a.length - b.length);
  const split: SegmentUnit[] = [];
  for (const units of candidates) {
    if (split.length + units.length > SPLIT_UNITS) break;
    split.push(...units);
  }
  if (split.length === 0) return whole;
  let largest = 0;
  let norms = whole.norms;
  let failureProbability = whole.failureProbability;
  // β_k reads only the layers before k: combinations that agree on the units there share it.
  const shared = new Map<string, KnownPrefixNorm>();
  const aimedWeights = new Map<number, Float64Array>();
  const functionals: ((u: Float64Array) => number)[] = [];
  const weightedBetas = new Map<string, number>();
  const keyOf = (k: number, combination: number) => `${k}:${split.reduce((key, unit, bit) => (unit.layer < k ? key | (combination & (1 << bit)) : key), 0)}`;
  try {
    for (let combination = 0; combination < 1 << split.length; combination++) {
      const fixed = slopes.map((s) => s && { ...s, mid: Float64Array.from(s.mid), outputRadius: Float64Array.from(s.outputRadius), uncertain: Uint8Array.from(s.uncertain) });
      split.forEach((unit, bit) => {
        const s = fixed[unit.layer] as SlopeUnits;
        const values = unit.ends[(combination >> bit) & 1];
        unit.entries.forEach((entry, i) => {
          s.mid[entry] = values[i];
          s.uncertain[entry] = 0;
          s.outputRadius[s.edges ? s.edges.output[entry] : entry] = 0;
        });
      });
      const known = new Map<number, KnownPrefixNorm>();
      fixed.forEach((_s, k) => {
        const given = shared.get(keyOf(k, combination));
        if (given) known.set(k, given);
      });
      const context = new ComposedNorms(prepared, fixed, spectral, checkBudget, signal, onNorm);
      const reuse: BlockWeightReuse = {
        weights: aimedWeights,
        beta: { get: (k) => weightedBetas.get(keyOf(k, combination)), set: (k, value) => weightedBetas.set(keyOf(k, combination), value) },
      };
      const part = combinationBound(context, prepared, fixed, known, reuse, signal);
      largest = Math.max(largest, part.value);
      functionals.push(part.functionalBound);
      for (const [k, value] of context.beta) shared.set(keyOf(k, combination), { value, rows: (fixed[k] as SlopeUnits).uncertain });
      norms += context.norms;
      failureProbability += context.failureProbability;
      // Further combinations can only raise the maximum: once it is no better, the whole bound stands.
      if (!(largest < whole.value)) return whole;
    }
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    return whole;
  }
  const value = largest;
  return {
    ...whole,
    value,
    norms,
    failureProbability,
    // ‖J(S)ᵀu‖ is convex along each segment too: the largest of the combinations' functional bounds holds.
    functionalBound: (u) => Math.min(whole.functionalBound(u), Math.max(...functionals.map((bound) => bound(u)))),
  };
}

function composedBoundWithin(
  context: ComposedNorms,
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  known: ReadonlyMap<number, KnownPrefixNorm>,
  /** Also the network's own bound; without it `value` and `midpointNorm` stay ∞ (never read). */
  networkNorm: boolean,
  signal?: CancelSignal,
): ComposedBound {
  const { beta } = context;
  const uncertain = uncertainLayers(context, prepared, slopes);
  const uncertainUnits = uncertain.reduce((sum, k) => sum + count((slopes[k] as SlopeUnits).uncertain), 0);
  let midpointNorm = Infinity;
  if (networkNorm) midpointNorm = context.stackedNorm([{ layer: null, coefficient: 1 }]);
  else context.skipNorm();
  // The prefix spreads of the quadrature bound (§59.3), once computed; the functional bound uses them too.
  let spread: number[][] | null = null;
  let value = midpointNorm;
  const functionalBound = functionalBoundOf(context, prepared, slopes, uncertain, () => spread, () => value, signal);
  const result = (): ComposedBound => ({
    value, midpointNorm, uncertainUnits, norms: context.norms, failureProbability: context.failureProbability, functionalBound,
  });
  if (uncertain.length === 0) return result();
  prefixNorms(context, uncertain, slopes, known);
  if (networkNorm) value = context.stackedNorm([{ layer: null, coefficient: 1 }, ...uncertain.map((k) => ({ layer: k, coefficient: beta.get(k) as number }))]);
  else context.skipNorm();
  if (context.network.outputSize() <= QUADRATURE_OUTPUTS) {
    try {
      const spreads = prefixSpreads(context, uncertain);
      spread = spreads;
      if (networkNorm) value = Math.min(value, quadratureBound(context, uncertain, spreads));
    } catch (error) {
      // Past the budget the stacked bound stands alone (its certificates, and any spread completed, are already counted).
      if (!(error instanceof BudgetExhausted)) throw error;
    }
  }
  return result();
}

/**
 * For one output functional u: a bound on ‖J(S)ᵀu‖ over the slope sets, ‖J(M)ᵀu‖ + Σ_k β_k ‖R_k G_k(M)ᵀu‖
 * (§44) or, once the spreads are certified, the quadrature form of §59.3, and ‖u‖ times the network
 * bound `value`, whichever is smallest.
 */
function functionalBoundOf(
  context: ComposedNorms,
  prepared: PreparedNetwork,
  slopes: Slopes,
  uncertain: number[],
  spreads: () => number[][] | null,
  value: () => number,
  signal?: CancelSignal,
): (u: Float64Array) => number {
  const { beta, margin } = context;
  // Outside the budget (one backward pass per call), but still cancellable.
  const functionalNetwork = new LinearisedNetwork(prepared, slopes as (SlopeUnits | null)[], () => throwIfCancelled(signal));
  const blocks: ReturnType<typeof deviationBlocks>[] = [];
  // Per uncertain layer, the rows its prefix passes compute (§58.4), built on first use.
  const selected = new Map<number, ReadRows | null>();
  return (u: Float64Array): number => {
    const spread = spreads();
    const g = functionalNetwork.backward(u, true, uncertain);
    const a = g.input as Float64Array;
    const midpoint = euclidean(a);
    // Σ_k β_k q_k and, with the spreads, the cross terms of §59.3.
    let deviation = 0;
    let cross = 0;
    const prefixLengths = [midpoint];
    uncertain.forEach((k, n) => {
      const s = slopes[k] as SlopeUnits;
      const cotangent = g.layers.get(k) as Float64Array;
      const q = euclidean(cotangent.map((v, i) => v * s.outputRadius[i]));
      deviation += (beta.get(k) as number) * q;
      if (!spread) return;
      // Σ_b ‖(Π_k H_k(M) a)_b‖ ‖q_b‖ over the blocks of B_k, then the spread of the prefix's change times q_k.
      const block = (blocks[n] ??= deviationBlocks(s));
      if (!selected.has(n)) selected.set(n, functionalNetwork.readRows(k, s.uncertain));
      const z = functionalNetwork.forward(a, new Map(), k, selected.get(n) ?? null);
      const rowSquares = new Float64Array(block.count);
      const deviationSquares = new Float64Array(block.count);
      let row = 0;
      s.uncertain.forEach((unit, e) => {
        if (unit) rowSquares[block.rows[row++]] += z[e] * z[e];
      });
      let output = 0;
      s.outputRadius.forEach((r, o) => {
        if (r > 0) deviationSquares[block.outputs[output++]] += (cotangent[o] * r) ** 2;
      });
      for (let b = 0; b < block.count; b++) cross += Math.sqrt(rowSquares[b] * deviationSquares[b]);
      cross += spread[n].reduce((sum, c, source) => sum + c * prefixLengths[source], 0) * q;
      prefixLengths.push(Math.sqrt(rowSquares.reduce((x, y) => x + y, 0)));
    });
    const quadrature = spread ? Math.sqrt(midpoint * midpoint + 2 * cross + deviation * deviation) : Infinity;
    return Math.min((midpoint + deviation) * margin, quadrature * margin, euclidean(u) * value());
  };
}

/** The slope layers the network output depends on with units whose slope is uncertain, in topological order. */
function uncertainLayers(context: ComposedNorms, prepared: PreparedNetwork, slopes: Slopes): number[] {
  const outputAncestors = context.network.ancestors(prepared.network.output);
  return prepared.layers
    .map((_p, k) => k)
    .filter((k) => outputAncestors[k] && (slopes[k]?.outputRadius.some((r) => r > 0) ?? false));
}

/**
 * β_k for every uncertain layer. A known β_k was certified over layer k's units uncertain under the
 * product's reach, a superset of the rows it must cover now (§56); where the caps left far fewer, a
 * norm over those is smaller.
 */
function prefixNorms(context: ComposedNorms, uncertain: number[], slopes: Slopes, known: ReadonlyMap<number, KnownPrefixNorm>): void {
  for (const k of uncertain) {
    const given = known.get(k);
    const rows = count((slopes[k] as SlopeUnits).uncertain);
    if (given && count(given.rows) <= KNOWN_ROWS_FACTOR * rows) context.beta.set(k, given.value);
    else context.prefixNorm(k);
  }
}

/**
 * One combination's bound for the vertex split (§62.1): only the value, from the quadrature bound where
 * the network has few outputs (§59.3) and the stacked one otherwise; ‖J(M)‖ when no unit is left uncertain.
 */
function combinationBound(
  context: ComposedNorms, prepared: PreparedNetwork, slopes: Slopes, known: ReadonlyMap<number, KnownPrefixNorm>, reuse: BlockWeightReuse, signal?: CancelSignal,
): { value: number; functionalBound: (u: Float64Array) => number } {
  const uncertain = uncertainLayers(context, prepared, slopes);
  let spread: number[][] | null = null;
  let value: number;
  if (uncertain.length === 0) value = context.stackedNorm([{ layer: null, coefficient: 1 }]);
  else {
    prefixNorms(context, uncertain, slopes, known);
    if (context.network.outputSize() <= QUADRATURE_OUTPUTS) {
      spread = prefixSpreads(context, uncertain);
      value = quadratureBound(context, uncertain, spread, reuse);
    } else value = context.stackedNorm([{ layer: null, coefficient: 1 }, ...uncertain.map((k) => ({ layer: k, coefficient: context.beta.get(k) as number }))]);
  }
  return { value, functionalBound: functionalBoundOf(context, prepared, slopes, uncertain, () => spread, () => value, signal) };
}

/** Networks with at most this many outputs also get the quadrature bound (§59.3): it materialises m rows per term. */
const QUADRATURE_OUTPUTS = 64;
/** Rounds of the alternating choice of the quadrature bound's weights (any positive weights are sound). */
const QUADRATURE_ROUNDS = 30;

/** A dense m × n operator from its rows (row-major). */
class DenseRows implements NormOperator {
  constructor(private readonly rows: Float64Array, readonly outSize: number, readonly inSize: number) {}

  apply(x: Float64Array): Float64Array {
    const y = new Float64Array(this.outSize);
    for (let i = 0; i < this.outSize; i++) {
      let sum = 0;
      for (let j = 0, r = i * this.inSize; j < this.inSize; j++) sum += this.rows[r + j] * x[j];
      y[i] = sum;
    }
    return y;
  }

  applyTranspose(y: Float64Array): Float64Array {
    const x = new Float64Array(this.inSize);
    for (let i = 0; i < this.outSize; i++) for (let j = 0, r = i * this.inSize; j < this.inSize; j++) x[j] += this.rows[r + j] * y[i];
    return x;
  }
}

/** Gram matrix (m × m, row-major) of m vectors. */
function gramOf(vectors: Float64Array[]): Float64Array {
  const m = vectors.length;
  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let t = 0; t < vectors[i].length; t++) sum += vectors[i][t] * vectors[j][t];
      gram[i * m + j] = sum;
      gram[j * m + i] = sum;
    }
  }
  return gram;
}

/** uᵀ G u for a row-major m × m matrix. */
function quadraticForm(gram: Float64Array, u: Float64Array): number {
  const m = u.length;
  let sum = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) sum += u[i] * gram[i * m + j] * u[j];
  return Math.max(sum, 0);
}

/**
 * The top eigenpair of a symmetric m × m matrix (row-major) by cyclic Jacobi rotations: accurate even
 * where the top eigenvalues cluster (a power iteration then stalls short of λ_max, and the choice of
 * the best weights would follow its error). Only aims the weights; the bound is certified afterwards.
 */
function topEigen(matrix: Float64Array, m: number): { value: number; vector: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let i = 0; i < m; i++) {
      diagonal += a[i * m + i] * a[i * m + i];
      for (let j = i + 1; j < m; j++) off += a[i * m + j] * a[i * m + j];
    }
    if (off <= 1e-30 * diagonal) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (apq === 0) continue;
        const theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const [akp, akq] = [a[k * m + p], a[k * m + q]];
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const [apk, aqk] = [a[p * m + k], a[q * m + k]];
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const [vkp, vkq] = [v[k * m + p], v[k * m + q]];
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let top = 0;
  for (let i = 1; i < m; i++) if (a[i * m + i] > a[top * m + top]) top = i;
  return { value: a[top * m + top], vector: Float64Array.from({ length: m }, (_x, k) => v[k * m + top]) };
}

/** Uncertain layers with at most this many uncertain layers before them get pairwise norms η_jk (§59.3); the others one γ_k. */
const PAIR_NORMS = 3;

/**
 * Per uncertain layer k (index n in `uncertain`), coefficients c over the sources (‖a‖, ‖y_1‖, …, ‖y_n‖)
 * such that ‖Π_k (H_k(S) − H_k(M)) a‖ ≤ Σ c_source x_source for every slope pattern S, a = J(M)ᵀu and
 * y_j = Π_j H_j(M) a (derivations §59.3): with few uncertain layers j before k, Σ_j η_jk π_j with the
 * certified η_jk ≥ ‖Π_k G_{j→k}(M) R_j‖ and π_j ≤ ‖y_j‖ + (j's own sum); otherwise γ_k ‖a‖ with γ_k the
 * stack of β_j Π_k G_{j→k} R_j. No uncertain layer before k: all 0.
 */
function prefixSpreads(context: ComposedNorms, uncertain: number[]): number[][] {
  const slopes = context.network.slopes as SlopeUnits[];
  const spreads: number[][] = [];
  uncertain.forEach((k, n) => {
    const earlier = context.uncertainBefore(k);
    const spread = new Array<number>(n + 1).fill(0);
    const rows = slopes[k].uncertain;
    if (earlier.length > PAIR_NORMS) {
      spread[0] = context.stackedNorm(earlier.map((j) => ({ layer: j, coefficient: context.beta.get(j) as number })), { layer: k, rows });
    } else {
      for (const j of earlier) {
        const source = uncertain.indexOf(j);
        const eta = context.stackedNorm([{ layer: j, coefficient: 1 }], { layer: k, rows });
        spread[1 + source] += eta;
        spreads[source].forEach((c, from) => {
          spread[from] += eta * c;
        });
      }
    }
    spreads.push(spread);
  });
  return spreads;
}

/**
 * The blocks of a layer's deviation map B_k (derivations §59.3): its rows act on disjoint sets of the
 * rows the layer reads, one output each — an activation unit, or a window or product output with its
 * edges — except slope matrices (layer normalisation, softmax), taken whole. For each uncertain row and
 * each output with a radius (both in index order), its block.
 */
function deviationBlocks(s: SlopeUnits): { rows: Int32Array; outputs: Int32Array; count: number } {
  const deviating = Array.from(s.outputRadius).flatMap((r, o) => (r > 0 ? [o] : []));
  const uncertainRows = Array.from(s.uncertain).flatMap((u, e) => (u ? [e] : []));
  const whole = { rows: new Int32Array(uncertainRows.length), outputs: new Int32Array(deviating.length), count: 1 };
  if (s.normalised || s.softmaxGroups) return whole;
  const blockOf = new Int32Array(s.outputRadius.length).fill(-1);
  deviating.forEach((o, b) => {
    blockOf[o] = b;
  });
  const rows = Int32Array.from(uncertainRows, (e) => blockOf[s.edges ? s.edges.output[e] : e]);
  // Every uncertain row belongs to an output with a radius; were one not to, the whole layer is one block.
  if (rows.some((b) => b < 0)) return whole;
  return { rows, outputs: Int32Array.from(deviating, (_o, b) => b), count: deviating.length };
}

/**
 * Per block, the Gram matrix (m × m) of the m vectors restricted to the block's columns, its lower
 * triangle packed (entry (i, j ≤ i) at i(i+1)/2 + j) and all blocks in one array (block b's at b · that
 * size), so that the weights' rounds below run over contiguous memory.
 */
function blockGrams(vectors: Float64Array[], blockOf: Int32Array, count: number): Float64Array {
  const m = vectors.length;
  const size = (m * (m + 1)) / 2;
  const grams = new Float64Array(count * size);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const [vi, vj, entry] = [vectors[i], vectors[j], (i * (i + 1)) / 2 + j];
      for (let c = 0; c < vi.length; c++) grams[blockOf[c] * size + entry] += vi[c] * vj[c];
    }
  }
  return grams;
}

/** √(uᵀ G_b u) for every block b: the norm of the block's columns of Σ_i u_i v_i. */
function blockNorms(vectors: Float64Array[], blockOf: Int32Array, count: number, u: Float64Array): Float64Array {
  const projected = new Float64Array(vectors[0].length);
  vectors.forEach((v, i) => {
    const ui = u[i];
    for (let c = 0; c < v.length; c++) projected[c] += ui * v[c];
  });
  const squares = new Float64Array(count);
  for (let c = 0; c < projected.length; c++) squares[blockOf[c]] += projected[c] * projected[c];
  return squares.map(Math.sqrt);
}

/** Σ_i ‖v_i‖² over the columns of every block b: the trace of its Gram matrix. */
function blockSquares(vectors: Float64Array[], blockOf: Int32Array, count: number): Float64Array {
  const squares = new Float64Array(count);
  for (const v of vectors) for (let c = 0; c < v.length; c++) squares[blockOf[c]] += v[c] * v[c];
  return squares;
}

/** Block weights aimed once and certified per prefix (§62.2): combinations of the vertex split that agree on the layers before k share them. */
interface BlockWeightReuse {
  /** The weights aimed for the layer (any are sound, so every combination may take them). */
  weights: Map<number, Float64Array>;
  /** β_k^W certified for these weights where the layers before k are as now. */
  beta: { get(layer: number): number | undefined; set(layer: number, value: number): void };
}

/** Rounds of the search for a layer's block weights, and power steps per round (warm-started): only aims them. */
const BLOCK_WEIGHT_ROUNDS = 15;
const BLOCK_WEIGHT_POWER_STEPS = 4;
const BLOCK_WEIGHT_FIRST_STEPS = 10;
/** Step of the multiplicative update of the squared block weights, in units of the mean share, and its largest log change per round. */
const BLOCK_WEIGHT_STEP = 0.04;
const BLOCK_WEIGHT_LARGEST_STEP = 0.5;
/** The weights are aimed only while their estimated passes, times this, fit in the budget left. */
const BLOCK_WEIGHT_RESERVE = 2;

/**
 * Weights w_b > 0 on the blocks of uncertain layer k (no uncertain layer before it) and the certified
 * β_k^W ≥ ‖W Π_k H_k‖, so that ‖e_k‖ ≤ β_k^W ‖W⁻¹ q_k‖ (docs/derivations.md §62.2). Aimed at each
 * block's deviation over all output directions, q_b² = tr Q_b (the bracket must hold for every u, and
 * weights aimed at one u measured worse at the others): a damped descent on log w_b² of
 * λ_max(W Π H Hᵀ Π W) · Σ_b q_b²/w_b², whose gradient is the block's share of the top singular vector
 * of WΠH minus its share of the sum (power steps through the prefix). Any positive weights are sound;
 * null when the prefix has no uncertain row.
 */
function weightedBlocks(
  context: ComposedNorms,
  k: number,
  block: { rows: Int32Array; count: number },
  deviation: number[],
  reuse?: BlockWeightReuse,
): { weights: Float64Array; beta: number } | null {
  const s = context.network.slopes[k] as SlopeUnits;
  const rows = Int32Array.from(Array.from(s.uncertain).flatMap((u, e) => (u ? [e] : [])));
  if (rows.length === 0) return null;
  const scaleOf = (squared: Float64Array) => {
    const scale = new Float64Array(s.uncertain.length);
    rows.forEach((e, r) => {
      scale[e] = Math.sqrt(squared[block.rows[r]]);
    });
    return scale;
  };
  const aimed = reuse?.weights.get(k);
  const squared = aimed ? aimed.map((w) => w * w) : aimBlockWeights(context, k, block, rows, deviation, scaleOf);
  if (!squared) return null;
  const beta = reuse?.beta.get(k) ?? context.stackedNorm([{ layer: null, coefficient: 1 }], { layer: k, rows: s.uncertain, scale: scaleOf(squared) });
  const weights = squared.map(Math.sqrt);
  reuse?.weights.set(k, weights);
  reuse?.beta.set(k, beta);
  return { weights, beta };
}

/** The squared block weights of weightedBlocks, by the damped descent it describes; null when the prefix vanishes. */
function aimBlockWeights(
  context: ComposedNorms,
  k: number,
  block: { rows: Int32Array; count: number },
  rows: Int32Array,
  deviation: number[],
  scaleOf: (squared: Float64Array) => Float64Array,
): Float64Array | null {
  const s = context.network.slopes[k] as SlopeUnits;
  const readRows = context.network.readRows(k, s.uncertain);
  const op = new StackedOperator(context.network, [{ layer: null, weight: 1 }], k, readRows);
  const squared = new Float64Array(block.count).fill(1);
  const random = new SeededRandom(context.seedFor(k));
  let x = new Float64Array(s.uncertain.length);
  for (const e of rows) x[e] = random.gaussian();
  let bestValue = Infinity;
  let bestSquared = Float64Array.from(squared);
  const counters = context.network.prepared.counters;
  for (let round = 0; round < BLOCK_WEIGHT_ROUNDS; round++) {
    const scale = scaleOf(squared);
    let lambda = 0;
    for (let step = 0; step < (round === 0 ? BLOCK_WEIGHT_FIRST_STEPS : BLOCK_WEIGHT_POWER_STEPS); step++) {
      const norm = euclidean(x);
      if (norm === 0) return null;
      const before = counters.applications;
      const y = op.apply(op.applyTranspose(x.map((v, e) => (v / norm) * scale[e])));
      x = y.map((v, e) => v * scale[e]);
      lambda = euclidean(x);
      // The weights are a refinement: where their passes (and β^W's, about as many again) would take
      // more than half of what is left, the composed bound keeps its budget for the rest.
      const passes = 2 * (BLOCK_WEIGHT_FIRST_STEPS + BLOCK_WEIGHT_ROUNDS * BLOCK_WEIGHT_POWER_STEPS);
      if (round === 0 && step === 0 && (counters.applications - before) * passes * BLOCK_WEIGHT_RESERVE > context.remaining()) return null;
    }
    const sum = deviation.reduce((total, q, b) => total + (q * q) / squared[b], 0);
    if (lambda * sum < bestValue) {
      bestValue = lambda * sum;
      bestSquared = Float64Array.from(squared);
    }
    if (!(lambda > 0 && sum > 0)) break;
    const onBlocks = new Float64Array(block.count);
    rows.forEach((e, r) => {
      onBlocks[block.rows[r]] += (x[e] / lambda) ** 2;
    });
    squared.forEach((w, b) => {
      const exponent = -BLOCK_WEIGHT_STEP * block.count * (onBlocks[b] - (deviation[b] * deviation[b]) / w / sum);
      squared[b] = w * Math.exp(Math.max(-BLOCK_WEIGHT_LARGEST_STEP, Math.min(BLOCK_WEIGHT_LARGEST_STEP, exponent)));
    });
  }
  return bestSquared;
}

/**
 * The quadrature bound (docs/derivations.md §59.3) for a network of few outputs: for every unit output
 * direction u, with a = J(M)ᵀu, y_k = Π_k H_k(M) a, q_k = R_k G_k(M)ᵀu, β_k and γ_k ≥ ‖Π_k (H_k(S) − H_k(M))‖,
 *   ‖J(S)ᵀu‖² ≤ ‖a‖² + 2 Σ_k (Σ_b ‖y_kb‖ ‖q_kb‖ + γ_k ‖a‖ ‖q_k‖) + (Σ_k β_k ‖q_k‖)²
 * over the blocks b of each B_k, ≤ uᵀ [bracket] u with weights s_b, σ_k, t_k (2xy ≤ x²/s + s y²,
 * Cauchy–Schwarz): one certified norm of m materialised rows. The midpoint term and the deviations add
 * in quadrature where they are orthogonal instead of in sum.
 */
function quadratureBound(context: ComposedNorms, uncertain: number[], spread: number[][], reuse?: BlockWeightReuse): number {
  const { network, beta } = context;
  const m = network.outputSize();
  const slopes = network.slopes as SlopeUnits[];
  // Per output i: a_i = J(M)ᵀe_i, and per uncertain layer its q and p rows restricted to the columns that count.
  const deviating = uncertain.map((k) => Int32Array.from(Array.from(slopes[k].outputRadius).flatMap((r, o) => (r > 0 ? [o] : []))));
  const uncertainRows = uncertain.map((k) => Int32Array.from(Array.from(slopes[k].uncertain).flatMap((r, e) => (r ? [e] : []))));
  // The prefix passes compute only the rows they read where the layer allows it (§58.4).
  const selected = uncertain.map((k) => network.readRows(k, slopes[k].uncertain));
  const midpoint: Float64Array[] = [];
  const deviations: Float64Array[][] = uncertain.map(() => []);
  const prefixes: Float64Array[][] = uncertain.map(() => []);
  for (let i = 0; i < m; i++) {
    const unit = new Float64Array(m);
    unit[i] = 1;
    const g = network.backward(unit, true, uncertain);
    const a = g.input as Float64Array;
    midpoint.push(a);
    uncertain.forEach((k, n) => {
      const radius = slopes[k].outputRadius;
      const cotangent = g.layers.get(k) as Float64Array;
      deviations[n].push(Float64Array.from(deviating[n], (o) => cotangent[o] * radius[o]));
      const z = network.forward(a, new Map(), k, selected[n]);
      prefixes[n].push(Float64Array.from(uncertainRows[n], (e) => z[e]));
    });
  }
  const A = gramOf(midpoint);
  const blocks = uncertain.map((k) => deviationBlocks(slopes[k]));
  // Per layer and block b: the Gram matrices of its prefix rows (P_b) and of its deviation columns (Q_b).
  const P = blocks.map((block, n) => blockGrams(prefixes[n], block.rows, block.count));
  const Q = blocks.map((block, n) => blockGrams(deviations[n], block.outputs, block.count));
  const plainBetas = uncertain.map((k) => beta.get(k) as number);
  // Per uncertain layer, the weights w_b of its blocks in ‖Σ e_k‖ (§62.2), null for none (all 1), and the β_k they go with.
  let blockWeights: (Float64Array | null)[] = uncertain.map(() => null);
  let betas = plainBetas;
  // Weights for one direction u: the ones that make each split exact there (floored, so none is 0 or ∞).
  const weightsAt = (u: Float64Array) => {
    const p = prefixes.map((vectors, n) => blockNorms(vectors, blocks[n].rows, blocks[n].count, u));
    const q = deviations.map((vectors, n) => blockNorms(vectors, blocks[n].outputs, blocks[n].count, u));
    // ‖a‖ and the whole layers' ‖y_j‖, for the spreads' terms ‖y_j‖ ‖q_k‖.
    const sources = [Math.sqrt(quadraticForm(A, u)), ...p.map(euclidean)];
    const layerQ = q.map(euclidean);
    const tiny = 1e-12 * (sources[0] + layerQ.reduce((x, y) => x + y, 0)) || 1;
    // ‖W_k⁻¹ q_k‖: the deviation's length with its blocks' weights.
    const weightedQ = q.map((parts, n) => Math.hypot(...parts.map((qb, b) => qb / (blockWeights[n]?.[b] ?? 1))));
    const shares = weightedQ.map((qk, n) => betas[n] * qk + tiny);
    const total = shares.reduce((x, y) => x + y, 0);
    return {
      s: p.map((parts, n) => parts.map((pb, b) => (pb + tiny) / (q[n][b] + tiny))),
      sigma: spread.map((row, n) => row.map((_c, source) => (sources[source] + tiny) / (layerQ[n] + tiny))),
      t: shares.map((x) => x / total),
    };
  };
  type Weights = ReturnType<typeof weightsAt>;
  // Halfway (geometrically) towards the weights of the new direction: the plain alternation oscillates.
  const blend = (from: Weights, to: Weights): Weights => {
    const mean = (x: number, y: number) => Math.sqrt(x * y);
    const t = from.t.map((x, n) => mean(x, to.t[n]));
    const total = t.reduce((x, y) => x + y, 0);
    return {
      s: from.s.map((parts, n) => parts.map((x, b) => mean(x, to.s[n][b]))),
      sigma: from.sigma.map((row, n) => row.map((x, source) => mean(x, to.sigma[n][source]))),
      t: t.map((x) => x / total),
    };
  };
  // The bracket's coefficients: on A, 1 + Σ_k c_k0/σ_k0; on each P_jb, 1/s_jb + Σ_k c_kj/σ_kj; on each Q_kb,
  // s_kb + Σ_source c_k,source σ_k,source + β_k²/t_k (c: the spreads).
  const coefficients = (w: Weights) => {
    const onSource = new Float64Array(uncertain.length + 1);
    spread.forEach((row, n) => row.forEach((c, source) => {
      if (c > 0) onSource[source] += c / w.sigma[n][source];
    }));
    return {
      midpoint: 1 + onSource[0],
      prefix: w.s.map((parts, n) => parts.map((sb) => 1 / sb + onSource[n + 1])),
      deviation: w.s.map((parts, n) => {
        const fromSpread = spread[n].reduce((sum, c, source) => sum + (c > 0 ? c * w.sigma[n][source] : 0), 0);
        return parts.map((sb, b) => sb + fromSpread + (betas[n] / (blockWeights[n]?.[b] ?? 1)) ** 2 / w.t[n]);
      }),
    };
  };
  const combined = (w: Weights) => {
    const c = coefficients(w);
    const size = (m * (m + 1)) / 2;
    const packed = new Float64Array(size);
    blocks.forEach((block, n) => {
      const [pGrams, qGrams, onP, onQ] = [P[n], Q[n], c.prefix[n], c.deviation[n]];
      for (let b = 0, base = 0; b < block.count; b++, base += size) {
        const [cp, cq] = [onP[b], onQ[b]];
        for (let e = 0; e < size; e++) packed[e] += cp * pGrams[base + e] + cq * qGrams[base + e];
      }
    });
    const matrix = A.map((x) => x * c.midpoint);
    for (let i = 0, e = 0; i < m; i++) {
      for (let j = 0; j <= i; j++, e++) {
        matrix[i * m + j] += packed[e];
        if (j < i) matrix[j * m + i] += packed[e];
      }
    }
    return matrix;
  };  const aim = () => {
    let u: Float64Array = Float64Array.from({ length: m }, () => 1 / Math.sqrt(m));
    let best: { value: number; weights: Weights } | null = null;
    let previous: Weights | null = null;
    for (let round = 0; round < QUADRATURE_ROUNDS; round++) {
      const target = weightsAt(u);
      const weights: Weights = previous ? blend(previous, target) : target;
      previous = weights;
      const top = topEigen(combined(weights), m);
      if (!best || top.value < best.value) best = { value: top.value, weights };
      u = top.vector;
    }
    return best as { value: number; weights: Weights };
  };
  let best = aim();
  // One uncertain layer of several blocks: weights on its blocks, aimed at each block's deviation over all output directions (§62.2).
  if (uncertain.length === 1 && blocks[0].count > 1) {
    try {
      const weighted = weightedBlocks(context, uncertain[0], blocks[0], Array.from(blockSquares(deviations[0], blocks[0].outputs, blocks[0].count), Math.sqrt), reuse);
      if (weighted) {
        const plain = best;
        [blockWeights, betas] = [[weighted.weights], [weighted.beta]];
        best = aim();
        if (!(best.value < plain.value)) {
          [blockWeights, betas, best] = [[null], plainBetas, plain];
        }
      }
    } catch (error) {
      // Past the budget the unweighted bracket stands (its certificates are counted already).
      if (!(error instanceof BudgetExhausted)) throw error;
    }
  }
  const c = coefficients(best.weights);
  // The certified norm of X = [√c_A J(M) | P_kᵀ scaled by 1/√s_b | Q_kᵀ scaled by √d_b], whose XXᵀ is the bracket.
  const width = midpoint[0].length + prefixes.reduce((sum, rows) => sum + rows[0].length, 0) + deviations.reduce((sum, rows) => sum + rows[0].length, 0);
  const rows = new Float64Array(m * width);
  for (let i = 0; i < m; i++) {
    let offset = i * width;
    const put = (v: Float64Array, scale: (j: number) => number) => {
      for (let j = 0; j < v.length; j++) rows[offset + j] = v[j] * scale(j);
      offset += v.length;
    };
    const rootMidpoint = Math.sqrt(c.midpoint);
    put(midpoint[i], () => rootMidpoint);
    blocks.forEach((block, n) => {
      put(prefixes[n][i], (j) => Math.sqrt(c.prefix[n][block.rows[j]]));
      put(deviations[n][i], (j) => Math.sqrt(c.deviation[n][block.outputs[j]]));
    });
  }
  // Rows beyond float64's safe range (after an overflowed layer product, §57) certify nothing finite: ∞ is sound.
  if (!rows.every((v) => Math.abs(v) <= LARGEST_PASS_VALUE)) return Infinity;
  return context.denseNorm(new DenseRows(rows, m, width));
}
