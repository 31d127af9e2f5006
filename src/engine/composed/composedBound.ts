// The network bound from certified norms of the linearised network (docs/derivations.md §22). With M the
// midpoint slopes, R_k the radius of layer k's deviation at its output, U_k its uncertain units, G the
// suffix and H the prefix maps of the linearised network, and any weights t_i > 0 summing to 1:
//   L ≤ ‖[ J(M)/√t_0 | β_1 G_1 R_1/√t_1 | … | β_K G_K R_K/√t_K ]‖,
//   β_k = ‖[ Π_{U_k} H_k(M)/√s_0 | β_j Π_{U_k} G_{j→k} R_j/√s_j (j < k) ]‖,
// each a single certified norm of a horizontally stacked operator, applied with one forward pass
// (all injections at once) and one backward pass (all cotangents read on the way). The weights come
// from power estimates per block for short stacks, Frobenius estimates of all blocks at once (a few
// random backward passes) for long ones; any positive weights are sound.
import { throwIfCancelled, type CancelSignal } from '../errors';
import { NETWORK_INPUT } from '../network';
import type { PreparedNetwork } from '../prepared';
import { SeededRandom } from '../random';
import { certifiedNorm, type NormOperator, type SpectralOptions } from '../spectral/certifiedNorm';
import { LinearisedNetwork, type ReadRows, type SlopeUnits } from './linearisedNetwork';

export interface ComposedBound {
  value: number;
  /** Certified ‖J(M)‖: the whole bound when no unit's slope is uncertain. */
  midpointNorm: number;
  /** Units whose slope is uncertain, over all slope layers. */
  uncertainUnits: number;
  /** Certified norms computed. */
  norms: number;
  /** Union bound over the Lanczos certificates among them. */
  failureProbability: number;
  /**
   * For one output functional u (e.g. a logit margin e_c − e_j): a bound on ‖J(S)ᵀu‖ over every slope
   * pattern of the ball, ‖J(M)ᵀu‖ + Σ_k β_k ‖R_k G_k(M)ᵀu‖, from one backward pass and the certified β_k
   * above (docs/derivations.md §44). Its certificates are those counted in failureProbability.
   */
  functionalBound(u: Float64Array): number;
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

  constructor(
    private readonly network: LinearisedNetwork,
    private readonly blocks: Block[],
    private readonly readAt: number | undefined,
    /** Where given, only these rows of z at readAt are computed and read (the norms read no others). */
    private readonly read: ReadRows | null = null,
  ) {
    this.sizes = blocks.map((b) => (b.layer === null ? network.prepared.inputSize : network.prepared.layers[b.layer].outSize));
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
    const injections = new Map<number, Float64Array>();
    let offset = 0;
    this.blocks.forEach((b, i) => {
      const part = x.subarray(offset, offset + this.sizes[i]);
      offset += this.sizes[i];
      const scaled = new Float64Array(part.length);
      if (b.layer === null) {
        for (let k = 0; k < part.length; k++) scaled[k] = part[k] * b.weight;
        input = scaled;
      } else {
        const r = this.radius(b.layer);
        for (let k = 0; k < part.length; k++) scaled[k] = part[k] * b.weight * r[k];
        injections.set(b.layer, scaled);
      }
    });
    return this.network.forward(input, injections, this.readAt, this.read);
  }

  applyTranspose(y: Float64Array): Float64Array {
    const layers = this.blocks.flatMap((b) => (b.layer === null ? [] : [b.layer]));
    const wantInput = this.blocks.some((b) => b.layer === null);
    const g = this.network.backward(y, wantInput, layers, this.readAt, this.read);
    const out = new Float64Array(this.inSize);
    let offset = 0;
    this.blocks.forEach((b, i) => {
      if (b.layer === null) {
        const gi = g.input as Float64Array;
        for (let k = 0; k < gi.length; k++) out[offset + k] = gi[k] * b.weight;
      } else {
        const gl = g.layers.get(b.layer) as Float64Array;
        const r = this.radius(b.layer);
        for (let k = 0; k < gl.length; k++) out[offset + k] = gl[k] * b.weight * r[k];
      }
      offset += this.sizes[i];
    });
    return out;
  }
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
 * search (it is not a bound); null when the network's output is its input or the direction vanishes.
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
    if (value === 0) return null;
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

function count(units: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < units.length; i++) n += units[i];
  return n;
}

/** Thrown inside a pass once the composed bound has used its share of operator applications. */
class BudgetExhausted extends Error {}

/**
 * A poll for the passes: cancellation, and BudgetExhausted once more than `budget` operator
 * applications have been counted from now (counted, so the limit does not depend on the machine's speed).
 */
function budgetCheck(prepared: PreparedNetwork, budget: number, signal?: CancelSignal): () => void {
  const limit = prepared.counters.applications + budget;
  return () => {
    throwIfCancelled(signal);
    if (prepared.counters.applications > limit) throw new BudgetExhausted();
  };
}

type Slopes = readonly (SlopeUnits | null)[];

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
    checkBudget: () => void,
    private readonly signal?: CancelSignal,
  ) {
    this.network = new LinearisedNetwork(prepared, slopes as (SlopeUnits | null)[], checkBudget);
    this.margin = 1 + pathMargin(prepared);
  }

  private seedOf(n: number): number {
    return (Math.imul(this.spectral.seed >>> 0, 7919) + 104729 * (n + 1)) >>> 0;
  }

  /** Layers before k, on its paths, with units whose slope is uncertain. */
  private uncertainBefore(k: number): number[] {
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
   * Certified norm of [c_i B_i] over the blocks (the input, or layer j's injections with coefficient
   * β_j), reading the network output or the given rows of z at a layer. The weights t_i sum to 1 and
   * follow the blocks' estimated norms (floored so that no block is dropped).
   */
  stackedNorm(sources: { layer: number | null; coefficient: number }[], read?: { layer: number; rows: Uint8Array }): number {
    throwIfCancelled(this.signal);
    const { network, prepared, slopes } = this;
    const readAt = read?.layer;
    const rows = read ? Float64Array.from(read.rows) : null;
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
}

/** A prefix norm β_k the layer run certified, and the units of layer k it covers. */
export interface KnownPrefixNorm {
  value: number;
  rows: Uint8Array;
}

/** A prefix norm for the layer run (docs/derivations.md §56), or null once past its budget. */
export type PrefixReach = (layer: number, rows: Uint8Array, slopes: Slopes) => { value: number; failureProbability: number } | null;

/**
 * Prefix norms for one layer run (§56), and the β_k it certified (with their failure probability
 * already counted by the run) for the network bound after it. Together they may use `budget` operator
 * applications; past that, the run keeps the product's reach for the layers left.
 */
export function layerRunPrefixReach(
  prepared: PreparedNetwork,
  spectral: SpectralOptions,
  budget: number,
  signal?: CancelSignal,
): { prefixReach: PrefixReach; certified: Map<number, KnownPrefixNorm> } {
  const checkBudget = budgetCheck(prepared, budget, signal);
  const certified = new Map<number, KnownPrefixNorm>();
  let exhausted = false;
  let norms: ComposedNorms | null = null;
  const prefixReach: PrefixReach = (layer, rows, slopes) => {
    if (exhausted) return null;
    norms ??= new ComposedNorms(prepared, slopes, spectral, checkBudget, signal);
    const before = norms.failureProbability;
    try {
      const value = norms.prefixNorm(layer, rows);
      // Every β this call completed is covered by the failure probability returned with it.
      for (const [k, value] of norms.beta) if (!certified.has(k)) certified.set(k, { value, rows: k === layer ? rows : (slopes[k] as SlopeUnits).uncertain });
      return { value, failureProbability: norms.failureProbability - before };
    } catch (error) {
      if (!(error instanceof BudgetExhausted)) throw error;
      exhausted = true;
      return null;
    }
  };
  return { prefixReach, certified };
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
): ComposedBound | null {
  try {
    return composedBoundWithin(new ComposedNorms(prepared, slopes, spectral, budgetCheck(prepared, budget, signal), signal), prepared, slopes, known, signal);
  } catch (error) {
    if (error instanceof BudgetExhausted) return null;
    throw error;
  }
}

function composedBoundWithin(
  context: ComposedNorms,
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  known: ReadonlyMap<number, KnownPrefixNorm>,
  signal?: CancelSignal,
): ComposedBound {
  const outputAncestors = context.network.ancestors(prepared.network.output);
  const { beta, margin } = context;
  const uncertain = prepared.layers
    .map((_p, k) => k)
    .filter((k) => outputAncestors[k] && (slopes[k]?.outputRadius.some((r) => r > 0) ?? false));
  const uncertainUnits = uncertain.reduce((sum, k) => sum + count((slopes[k] as SlopeUnits).uncertain), 0);
  const midpointNorm = context.stackedNorm([{ layer: null, coefficient: 1 }]);
  // Outside the budget (one backward pass per call), but still cancellable.
  const functionalNetwork = new LinearisedNetwork(prepared, slopes, () => throwIfCancelled(signal));
  const functionalBound = (u: Float64Array): number => {
    const g = functionalNetwork.backward(u, true, uncertain);
    let bound = euclidean(g.input as Float64Array);
    for (const k of uncertain) {
      const r = (slopes[k] as SlopeUnits).outputRadius;
      bound += (beta.get(k) as number) * euclidean((g.layers.get(k) as Float64Array).map((v, i) => v * r[i]));
    }
    return bound * margin;
  };
  const result = (value: number): ComposedBound => ({
    value, midpointNorm, uncertainUnits, norms: context.norms, failureProbability: context.failureProbability, functionalBound,
  });
  if (uncertain.length === 0) return result(midpointNorm);
  // A known β_k was certified over layer k's units uncertain under the product's reach, a superset of
  // the rows it must cover now (§56); where the caps left far fewer, a norm over those is smaller.
  for (const k of uncertain) {
    const given = known.get(k);
    const rows = count((slopes[k] as SlopeUnits).uncertain);
    if (given && count(given.rows) <= KNOWN_ROWS_FACTOR * rows) beta.set(k, given.value);
    else context.prefixNorm(k);
  }
  return result(context.stackedNorm([{ layer: null, coefficient: 1 }, ...uncertain.map((k) => ({ layer: k, coefficient: beta.get(k) as number }))]));
}
