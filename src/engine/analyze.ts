// Entry point of the bound engine: validate, run the nominal forward pass once, then one bound run per
// ε (sharing the forward pass and the ‖A‖ cache), and optionally the certified robustness radius.
import { formatNumber } from '../shared/format';
import { SETTING_DEFAULTS } from '../shared/settings';
import type { AnalysisResult, EngineStats, EpsilonRun, NetworkBounds, ProgressEvent, RadiusResult } from '../shared/results';
import { OverflowError, throwIfCancelled, type CancelSignal } from './errors';
import type { FidelityCheck } from './fidelity';
import { accurateForward } from './accurateForward';
import { tensorValue, type ForwardProvider, type NominalValues } from './forward';
import { composedBound, functionalBounds, layerRunPrefixReach, midpointDirection, PrefixNormOverflowError, type ComposedBound, type FunctionalBounds, type KnownPrefixNorm, type NormStarted } from './composed/composedBound';
import { runEpsilon, slopesBounded, UnboundedSlopesError, type PhaseTimes, type RunContext, type RunOutcome, type SpectralCache } from './layerBounds';
import type { SlopeUnits } from './composed/linearisedNetwork';
export type { SpectralCache } from './layerBounds';
import { LowerBoundSearch, type LowerBoundOptions, type OutputBatch } from './lowerBound';
import { kernelsFor, type OperatorBackend } from './native/kernels';
import { NETWORK_INPUT, type Network } from './network';
import { prepareNetwork, type PreparedNetwork } from './prepared';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from './spectral/certifiedNorm';
import { layerTightness, type LayerTightnessOptions } from './tightness/layerTightness';
import { NetworkTape } from './tightness/tape';

export interface AnalyzeOptions {
  epsilons: number[];
  /** Operators of conv and dense layers: the native float64 kernels (default where built) or the TypeScript reference. */
  backend?: OperatorBackend;
  /** Lanczos failure probability per spectral norm (default 1e-6). */
  failureProbability?: number;
  /** Exact dense path when the smaller active dimension is at most this (default 512). */
  exactCutoff?: number;
  /** …and the active block has at most this many entries (default 4e6). */
  maxExactEntries?: number;
  /** Lanczos steps for large operators (default 200). */
  lanczosSteps?: number;
  /** Lanczos stops once its certified bound is within this relative distance of λ (default 1e-4). */
  lanczosTolerance?: number;
  /** Base seed of the Lanczos start vectors (default 1); each layer's seed is derived and recorded. */
  seed?: number;
  /** Also compute the certified robustness radius (needs at least two outputs). */
  radius?: boolean;
  /** Most ε the radius search checks beyond the analysis's own runs (default 16; and the spectral radius where it ends below that). */
  radiusIterations?: number;
  /** Stop the search once its upper end is at most the certified radius · (1 + radiusTolerance) (default RADIUS_TOLERANCE, derivations §60.1). */
  radiusTolerance?: number;
  /**
   * The composed network bound (with its prefix-reach run) may use this many times the layer run's
   * operator applications (default COMPOSED_BUDGET_FACTOR); 0: not computed, the layer product stands.
   */
  composedBudget?: number;
  /** Nominal values provider (default: the double-double pass, accurateForward.ts). */
  forward?: ForwardProvider;
  /** Compares the network with the model file on a runtime before any bound is computed (fidelity.ts). */
  fidelity?: FidelityCheck;
  /**
   * The conservative norms ‖A_k‖ by layer index, shared with earlier runs on the same network and
   * spectral options (they depend on neither x0 nor ε); filled as they are computed.
   */
  spectralCache?: SpectralCache;
  /**
   * Also search for a witnessed lower bound per ε (lowerBound.ts), and with `layers`, per-layer
   * tightness for small single-input layers (tightness/layerTightness.ts).
   */
  lowerBound?: Omit<LowerBoundOptions, 'signal' | 'inputMask'> & { layers?: boolean | Omit<LayerTightnessOptions, 'signal' | 'nominalError'> };
  /**
   * The network output from a runtime (float32 onnxruntime on the model file, the one the fidelity
   * check compared), to rank the lower-bound search's candidates; null or absent: ranked on the engine.
   */
  runtimeOutputs?: () => Promise<OutputBatch | null>;
}

export interface AnalyzeHooks {
  onProgress?(event: ProgressEvent): void;
  signal?: CancelSignal;
}

function validate(network: Network, x0: Float32Array | Float64Array, options: AnalyzeOptions): void {
  if (options.epsilons.length === 0) throw new Error('no ε given: pass at least one radius');
  options.epsilons.forEach((e) => {
    if (!Number.isFinite(e) || e <= 0) throw new Error(`ε must be a finite number > 0, got ${e}`);
  });
  const expected = network.inputShape.reduce((a, b) => a * b, 1);
  if (x0.length !== expected) {
    throw new Error(`input '${network.inputName}': ${x0.length} values, shape [${network.inputShape.join(', ')}] needs ${expected}`);
  }
  for (let i = 0; i < x0.length; i++) {
    if (!Number.isFinite(x0[i])) throw new Error(`input '${network.inputName}': value ${x0[i]} at flat index ${i} is not finite`);
  }
  if (options.failureProbability !== undefined && !(options.failureProbability > 0 && options.failureProbability < 1)) {
    throw new Error(`failure probability must be in (0, 1), got ${options.failureProbability}`);
  }
  if (options.radiusTolerance !== undefined && !(options.radiusTolerance > 0 && options.radiusTolerance <= 1)) {
    throw new Error(`radius tolerance must be in (0, 1], got ${options.radiusTolerance}`);
  }
  if (options.composedBudget !== undefined && !(options.composedBudget >= 0 && Number.isFinite(options.composedBudget))) {
    throw new Error(`composed budget must be a finite number ≥ 0, got ${options.composedBudget}`);
  }
}

export async function analyzeNetwork(
  network: Network,
  x0: Float32Array | Float64Array,
  options: AnalyzeOptions,
  hooks: AnalyzeHooks = {},
): Promise<AnalysisResult> {
  validate(network, x0, options);
  const started = performance.now();
  const prepared = prepareNetwork(network, options.backend);
  const x = Float64Array.from(x0);
  hooks.onProgress?.({ kind: 'forward', done: false });
  const nominal = await (options.forward ?? accurateForward)(prepared, x, hooks.signal);
  checkNominal(nominal, prepared.layers.map((l) => l.outSize));
  hooks.onProgress?.({ kind: 'forward', done: true });
  const forwardMs = performance.now() - started;
  throwIfCancelled(hooks.signal);
  const fidelityStarted = performance.now();
  const fidelity = options.fidelity ? await options.fidelity(prepared, x) : undefined;
  const fidelityMs = fidelity ? performance.now() - fidelityStarted : 0;
  const times: PhaseTimes = { rowNormsMs: 0, spectralMs: 0, composedMs: 0 };
  throwIfCancelled(hooks.signal);

  const spectral: SpectralOptions = {
    exactCutoff: options.exactCutoff ?? DEFAULT_SPECTRAL_OPTIONS.exactCutoff,
    maxExactEntries: options.maxExactEntries ?? DEFAULT_SPECTRAL_OPTIONS.maxExactEntries,
    failureProbability: options.failureProbability ?? DEFAULT_SPECTRAL_OPTIONS.failureProbability,
    lanczosSteps: options.lanczosSteps ?? DEFAULT_SPECTRAL_OPTIONS.lanczosSteps,
    lanczosTolerance: options.lanczosTolerance ?? DEFAULT_SPECTRAL_OPTIONS.lanczosTolerance,
    seed: options.seed ?? DEFAULT_SPECTRAL_OPTIONS.seed,
    // The TypeScript backend is the reference all the way down, the dense exact path included.
    kernels: prepared.backend === 'typescript' ? null : kernelsFor(prepared.backend),
  };
  const spectralCache: SpectralCache = options.spectralCache ?? new Map();
  const context = (onLayer?: (i: number) => void, onLayerResult?: RunContext['onLayerResult']): RunContext => ({
    prepared, x0: x, nominal, spectralCache, spectral, signal: hooks.signal, onLayer, onLayerResult, times, composedBudget: options.composedBudget,
  });

  const tightnessRequest = options.lowerBound?.layers;
  const tightnessOptions: LayerTightnessOptions | null = tightnessRequest
    ? { ...(tightnessRequest === true ? {} : tightnessRequest), signal: hooks.signal, nominalError: nominal.absoluteError ?? 0 }
    : null;
  // The lower bounds re-evaluate the network in float64 from x0, whatever provided the nominal values.
  const exactOutputs = tightnessOptions ? new NetworkTape(prepared, hooks.signal).forward(x).outputs : null;

  // Every ε's layer rows and network bound first (each announced as soon as it is known), then the
  // lower-bound work, which only says how tight they are.
  const outcomes: RunOutcome[] = [];
  // Per ε, the slopes whose J(M) starts the lower-bound search: the composed bound's where it ran, as
  // its slopes run's reaches are the tighter ones (§66.4), else the layer run's.
  const directionSlopes: (SlopeUnits | null)[][] = [];
  // Each ε's functional bounds, for the radius: they certify margins on that ball at no further norm (§60.1).
  const runFunctionals: (FunctionalBounds | null)[] = [];
  // The smallest ε of this analysis where the composed bound could only be ∞, and why (§70.4).
  let composedInfinite: { epsilon: number; reason: string } | null = null;
  const runs: EpsilonRun[] = options.epsilons.map((epsilon, epsilonIndex) => {
    const outcome = runEpsilon(
      context((layerIndex) =>
        hooks.onProgress?.({
          kind: 'layer', epsilonIndex, epsilon, layerIndex,
          layerCount: prepared.layers.length, label: prepared.layers[layerIndex].layer.label,
        }),
        (layer) => hooks.onProgress?.({ kind: 'layerResult', epsilonIndex, epsilon, layerCount: prepared.layers.length, layer }),
      ),
      epsilon,
    );
    outcomes.push(outcome);
    // The composed work can take longer than the layer run: each norm it starts is announced.
    const composedContext = context();
    const composedStarted = prepared.counters.applications;
    const { budget } = composedBudget(composedContext, outcome);
    // Not attempted again at a larger ε: its reaches, and the slope intervals its prefix norms are taken
    // over, only widen (§70.4). Skipping is always sound: the layer product stands.
    const composedRun = composedInfinite && epsilon >= composedInfinite.epsilon
      ? { skipped: `not attempted: at the smaller ε = ${composedInfinite.epsilon} of this analysis ${composedInfinite.reason}, and a larger ε only widens the slope intervals (docs/derivations.md §70.4)` }
      : composedFor(composedContext, outcome, epsilon, (readAt) =>
        hooks.onProgress?.({
          kind: 'composedNorm', epsilonIndex, epsilon,
          readsLayer: readAt === null ? null : prepared.layers[readAt].layer.label,
          applications: prepared.counters.applications - composedStarted,
          budget,
        }),
      );
    if (composedRun && 'infinite' in composedRun && (!composedInfinite || epsilon < composedInfinite.epsilon)) composedInfinite = { epsilon, reason: composedRun.skipped };
    directionSlopes.push(composedRun && 'composed' in composedRun ? composedRun.slopes : outcome.slopes);
    runFunctionals.push(composedRun && 'composed' in composedRun ? composedRun.composed : null);
    const bound = networkBound(outcome, composedRun);
    // Neither bound finite: no number to report, so none is (§57); the layer where the reach overflowed is named.
    if (!Number.isFinite(bound.localBound)) throw new OverflowError(epsilon, outcome.overflowedAt ?? prepared.layers[prepared.layers.length - 1].layer.label, bound.composedSkipped);
    hooks.onProgress?.({ kind: 'networkBound', epsilonIndex, epsilon, network: bound });
    return { epsilon, network: bound, layers: outcome.layers };
  });

  const lowerBoundStarted = performance.now();
  if (tightnessOptions && exactOutputs) {
    outcomes.forEach((outcome) => {
      layerTightness(prepared, x, exactOutputs, outcome.layers, outcome.masks, tightnessOptions).forEach((entry, k) => {
        if (entry) outcome.layers[k].tightness = entry;
      });
    });
  }
  if (options.lowerBound) {
    // Per ε, the top direction of the linearised network J(M) the composed bound certifies: a start of the search.
    const linearisedDirections = directionSlopes.map((slopes) => midpointDirection(prepared, slopes, spectral.seed, null, hooks.signal));
    const search = new LowerBoundSearch(prepared, x, { ...options.lowerBound, signal: hooks.signal });
    const runtime = (await options.runtimeOutputs?.()) ?? null;
    // Ascending ε, so each search starts from the witnesses of the smaller balls inside it.
    const order = runs.map((_run, i) => i).sort((a, b) => runs[a].epsilon - runs[b].epsilon);
    for (const i of order) {
      const direction = linearisedDirections[i] ?? null;
      runs[i].lowerBound = runtime ? await search.runScreened(runs[i].epsilon, direction, runtime) : search.run(runs[i].epsilon, direction);
    }
  }

  // The per-layer tightness and the linearised directions are lower-bound work too.
  const lowerBoundMs = options.lowerBound ? performance.now() - lowerBoundStarted : 0;
  const outputValues = tensorValue(nominal, x, network.output);
  const result: AnalysisResult = { inputShape: [...network.inputShape], outputSize: outputValues.length, runs, ...(fidelity ? { fidelity } : {}) };
  const radiusStarted = performance.now();
  if (options.radius) {
    // Each logit may differ from its exact value by the provider's output error bound, where given.
    const logitError = network.output === NETWORK_INPUT ? 0 : (nominal.outputErrors?.[network.output] ?? 0);
    const checked = runs.map((run, i) => ({ epsilon: run.epsilon, network: run.network.localBound, functional: runFunctionals[i] }));
    result.radius = certifiedRadius(outputValues, logitError, runs[0].network.spectralBound, checked, context(), {
      iterations: options.radiusIterations ?? 16,
      tolerance: options.radiusTolerance ?? RADIUS_TOLERANCE,
    }, hooks);
  }
  result.stats = engineStats(prepared.backend, prepared.counters, {
    forwardMs, fidelityMs, ...times, lowerBoundMs, radiusMs: options.radius ? performance.now() - radiusStarted : 0, totalMs: performance.now() - started,
  });
  return result;
}

/** The composed bound of one run, or why it was not computed (docs/derivations.md §22). */
function composedFor(
  ctx: RunContext,
  outcome: RunOutcome,
  prefixReachAt?: number,
  onNorm?: NormStarted,
): { composed: ComposedBound; failureProbability: number; slopes: (SlopeUnits | null)[] } | { skipped: string; infinite?: true } | null {
  if (ctx.prepared.network.output === NETWORK_INPUT || outcome.localBound === 0) return null;
  if (ctx.composedBudget === 0) return { skipped: 'it was turned off (a composed budget of 0)' };
  const started = performance.now();
  const { factor, budget: allowed } = composedBudget(ctx, outcome);
  let budget = allowed;
  // With an ε, the slopes come from a second run taking each unit's reach from its composed prefix
  // (§56), sharing the budget; the first run's rows stay as the report shows them.
  let slopesRun = outcome;
  let certified: ReadonlyMap<number, KnownPrefixNorm> | undefined;
  if (prefixReachAt !== undefined) {
    const before = ctx.prepared.counters.applications;
    // Past an overflowed product the composed bound is the only finite one, and past a reach beyond a
    // factor's range (§70.2) the only one the ball bounds: it keeps its whole budget.
    const ahead = productReachUsable(outcome) ? prefixNormLayers(ctx.prepared, outcome) : [];
    const prefix = layerRunPrefixReach(ctx.prepared, ctx.spectral, budget, ctx.signal, ahead, onNorm);
    // After an overflowed product reach (or one past a factor's range), the whole-tensor slope layers'
    // inputs take their reach from the composed prefix too (§57, §70.2); elsewhere their product reach
    // stays, as §56 measured it.
    const inputReach = productReachUsable(outcome) ? undefined : prefix.inputReach;
    try {
      slopesRun = runEpsilon({
        ...ctx, times: undefined, onLayer: undefined, onLayerResult: undefined, prefixReach: prefix.prefixReach, inputReach, stopAtUnboundedSlopes: true,
      }, prefixReachAt, outcome);
    } catch (error) {
      // Either makes the composed bound ∞, so it stops there (§57, §61.3).
      if (!(error instanceof UnboundedSlopesError || error instanceof PrefixNormOverflowError)) throw error;
      if (ctx.times) ctx.times.composedMs += performance.now() - started;
      return { skipped: error.message, infinite: true };
    }
    if (prefix.foreseenOverBudget()) {
      if (ctx.times) ctx.times.composedMs += performance.now() - started;
      return { skipped: `the composed bound would need more than ${factor}× the layer run's operator applications (its prefix norms still to come, at the cost of the last ones, exceed what is left)${RAISE_BUDGET}` };
    }
    certified = prefix.certified;
    budget -= ctx.prepared.counters.applications - before;
  }
  const unbounded = slopesRun.slopes.findIndex((s) => s !== null && !slopesBounded(s));
  if (unbounded >= 0) return { skipped: new UnboundedSlopesError(ctx.prepared.layers[unbounded].layer.label).message, infinite: true };
  const composed = composedBound(ctx.prepared, slopesRun.slopes, ctx.spectral, Math.max(budget, 0), ctx.signal, certified, onNorm);
  if (ctx.times) ctx.times.composedMs += performance.now() - started;
  if (!composed) return { skipped: `the composed bound needed more than ${factor}× the layer run's operator applications${RAISE_BUDGET}` };
  if (!Number.isFinite(composed.value)) return { skipped: 'its certified norms left the float64 range (docs/derivations.md §57)', infinite: true };
  // It rests on both runs' certificates (the prefix norms counted with the second): the failure probabilities add.
  const failureProbability = outcome.failureProbability + (slopesRun === outcome ? 0 : slopesRun.failureProbability) + composed.failureProbability;
  return { composed, failureProbability, slopes: slopesRun.slopes };
}

/** Operator applications the composed work after a layer run may use, and its factor over the run's. */
function composedBudget(ctx: RunContext, outcome: RunOutcome): { factor: number; budget: number } {
  const chosen = ctx.composedBudget ?? COMPOSED_BUDGET_FACTOR;
  // Past an overflowed layer product the composed bound is the only finite one (past a reach beyond a
  // factor's range, the only one the ball bounds), so it may take longer.
  const factor = productReachUsable(outcome) ? chosen : Math.max(chosen, COMPOSED_BUDGET_FACTOR_AFTER_OVERFLOW);
  return { factor, budget: factor * Math.max(outcome.operatorApplications + outcome.reusedApplications, MINIMUM_COMPOSED_BUDGET) };
}

/** Whether the layer run's reach stayed finite and within its products' factor ranges (§57, §70.2). */
function productReachUsable(outcome: RunOutcome): boolean {
  return outcome.overflowedAt === undefined && outcome.reachPastRangeAt === undefined;
}

/**
 * The layers whose composed prefix norm the slopes-only run asks for (§56): the slope layers not reading
 * the input with units the product's reach leaves uncertain.
 */
function prefixNormLayers(prepared: PreparedNetwork, outcome: RunOutcome): number[] {
  return outcome.slopes.flatMap((s, k) => {
    const p = prepared.layers[k];
    const capped = (p.op.kind === 'affine' || p.op.kind === 'activation') && p.layer.inputs[0] !== NETWORK_INPUT;
    return capped && s?.uncertain.includes(1) ? [k] : [];
  });
}

/**
 * The margins' functional bounds of one layer run without the network's own composed norms (§60.2),
 * or null where the composed bound is unavailable (within the same budget).
 */
function functionalsFor(ctx: RunContext, outcome: RunOutcome): FunctionalBounds | null {
  if (ctx.prepared.network.output === NETWORK_INPUT || outcome.localBound === 0 || ctx.composedBudget === 0) return null;
  if (outcome.slopes.some((s) => s !== null && !slopesBounded(s))) return null;
  const started = performance.now();
  const bounds = functionalBounds(ctx.prepared, outcome.slopes, ctx.spectral, composedBudget(ctx, outcome).budget, ctx.signal);
  if (ctx.times) ctx.times.composedMs += performance.now() - started;
  return bounds;
}

/**
 * The tightest of the three sound network bounds: the product of the layer bounds (with the graph
 * rules), the composed bound of the linearised network (docs/derivations.md §22), whose slopes come
 * from a layer run that took each unit's reach from its composed prefix (§56) where it could, and the
 * spectral product, sound at every ε and sometimes the smallest at a large one (§61.1).
 */
function networkBound(outcome: RunOutcome, composedRun: ReturnType<typeof composedFor>): NetworkBounds {
  const product: NetworkBounds = {
    localBound: outcome.localBound,
    layerProduct: outcome.localBound,
    method: 'layer-product',
    spectralBound: outcome.spectralBound,
    failureProbability: outcome.failureProbability,
    ...(outcome.overflowedAt !== undefined ? { layerProductOverflowedAt: outcome.overflowedAt } : {}),
    ...(outcome.spectralOverflowedAt !== undefined ? { spectralOverflowedAt: outcome.spectralOverflowedAt } : {}),
    ...(composedRun && 'skipped' in composedRun ? { composedSkipped: composedRun.skipped } : {}),
  };
  let best = product;
  if (composedRun && 'composed' in composedRun && composedRun.composed.value < best.localBound) {
    const { composed, failureProbability } = composedRun;
    best = {
      ...product,
      localBound: composed.value,
      method: 'composed',
      failureProbability,
      composed: { midpointNorm: composed.midpointNorm, uncertainUnits: composed.uncertainUnits, norms: composed.norms },
    };
  }
  // The run's failure probability already counts the conservative norms the spectral product rests on.
  if (outcome.spectralBound < best.localBound) {
    return { ...product, localBound: outcome.spectralBound, method: 'spectral-product' };
  }
  return best;
}

/** Why no ε checked certified: the smallest one, its network bound and the threshold it had to stay below. */
function noRadiusReason(checks: RadiusCheck[], threshold: number): string {
  const smallest = checks.reduce((a, b) => (b.epsilon < a.epsilon ? b : a));
  const reach = Number.isFinite(smallest.network)
    ? `the network bound there is ${formatNumber(smallest.network)}, so ε·L = ${formatNumber(smallest.epsilon * smallest.network)}`
    : 'the deviation overflows there';
  return `no ε checked certifies: at the smallest, ε = ${formatNumber(smallest.epsilon)}, ${reach}, not below (gap − 2·logit error)/√2 = ${formatNumber(threshold)}`;
}

/**
 * The prefix-reach run and the composed bound together may use this many times the layer run's
 * operator applications; beyond that the layer product stands. Measured (docs/derivations.md §56):
 * 0.4–1.6× on the example, the CIFAR-10 bench model and the ResNet- and MobileNetV2-style fixtures,
 * about 4.3× on BlazeFace front at ε = 1e-5; BlazeFace front at ε = 1e-3 needs far more.
 */
const COMPOSED_BUDGET_FACTOR = SETTING_DEFAULTS.composedBudget;
/**
 * The same (or the chosen factor where larger) after the layer product overflowed (§57), when the composed bound is the only finite one:
 * PP-OCRv4 rec at ε = 1e-6 needed about 25× (350 000 applications against the layer run's 14 000).
 */
const COMPOSED_BUDGET_FACTOR_AFTER_OVERFLOW = 40;
/** The way forward a budget refusal names. */
const RAISE_BUDGET = '; a larger composed budget (--composed-budget, lipschitzLens.composedBudget) allows more';
/** A floor for runs whose layer norms were all cached or closed-form. */
const MINIMUM_COMPOSED_BUDGET = 200;

function engineStats(backend: OperatorBackend, counters: { applications: number; multiplyAdds: number }, phases: EngineStats['phases']): EngineStats {
  const kernels = backend === 'typescript' ? null : kernelsFor(backend);
  const described = kernels?.describe();
  return {
    backend,
    ...(described ? { isa: described.isa, threads: described.threads } : {}),
    phases,
    operatorApplications: counters.applications,
    multiplyAdds: counters.multiplyAdds,
  };
}

function checkNominal(nominal: NominalValues, sizes: number[]): void {
  if (nominal.outputs.length !== sizes.length) {
    throw new Error(`forward provider gave ${nominal.outputs.length} layer outputs, the network has ${sizes.length} layers`);
  }
  nominal.outputs.forEach((v, i) => {
    if (v.length !== sizes[i]) throw new Error(`forward provider: layer ${i} output has ${v.length} values, expected ${sizes[i]}`);
    for (let k = 0; k < v.length; k++) {
      if (!Number.isFinite(v[k])) throw new Error(`nominal forward pass: layer ${i} value ${k} is ${v[k]} (not finite)`);
    }
  });
}

/**
 * Margins bounded on their own per checked ε, one backward pass each: all of them for up to 17 classes;
 * with more classes (ImageNet's 1000) only the closest, the others keep √2 · L_net (sound, and their
 * room is the larger).
 */
const MARGIN_CLASSES = 16;

/** Bounds that hold on the whole ball of radius ε: the network's, and each margin's where the composed bound gave them. */
interface RadiusCheck {
  epsilon: number;
  network: number;
  /** L_j per margin (in the order of the margins, least room first), or null where no composed bound was available. */
  margins: number[] | null;
}

/** A run of the analysis, whose bounds the radius reads before it checks any ε of its own. */
interface CheckedRun {
  epsilon: number;
  network: number;
  functional: FunctionalBounds | null;
}

/**
 * The radius search stops once its upper end is within this factor of the certified radius. Each
 * check's ρ(ε) is itself only known to about 1 % (its composed norms stop within 1e-2 of their Ritz
 * values, §22) and jumps where a unit becomes uncertain, so a finer default chases that noise with
 * more checks (derivations §60.1 measures 1e-3, 1e-2 and 2e-2).
 */
const RADIUS_TOLERANCE = SETTING_DEFAULTS.radiusTolerance;

/**
 * d ln L / d ln ε assumed when the search has a single usable check to aim from: its next ε is then the
 * geometric mean of ε and ρ(ε), the middle of the bracket that check gives (it only aims; §60.1).
 */
const ASSUMED_ELASTICITY = 1;

/**
 * Largest radius found that certifies the predicted class c (method.md §4, docs/derivations.md §44,
 * §60): bounds computed on the ball of radius ε hold on every smaller ball, so a check at ε certifies
 * min(ε, ρ(ε)), with ρ(ε) the radius at which its own bounds reach the threshold — ε · L_net < gap/√2,
 * or ε · L_j < gap_j for every margin f_c − f_j (L_j the composed bound of that one functional, never
 * above √2 · L_net). The analysis's own runs are checks already; the search then aims each new ε at the
 * fixed point ε = ρ(ε) (a secant in log ε) and stops once the certified radius is within the tolerance
 * of the smallest upper end max(ε, ρ(ε)) seen. Only that upper end assumes the bounds grow with ε; the
 * radius reported is certified whatever they do.
 */
function certifiedRadius(
  logits: Float64Array,
  logitError: number,
  spectralBound: number,
  runs: CheckedRun[],
  ctx: RunContext,
  search: { iterations: number; tolerance: number },
  hooks: AnalyzeHooks,
): RadiusResult {
  if (logits.length < 2) throw new Error(`robustness radius needs at least two outputs, the network has ${logits.length}`);
  let predictedClass = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[predictedClass]) predictedClass = i;
  let runnerUp = -Infinity;
  for (let i = 0; i < logits.length; i++) if (i !== predictedClass) runnerUp = Math.max(runnerUp, logits[i]);
  const gap = logits[predictedClass] - runnerUp;
  // The exact gap is at least gap − 2·logitError (the top logit lower, the runner-up higher).
  if (gap - 2 * logitError <= 0) {
    const zeroBecause =
      gap === 0
        ? `the top two logits are equal at x0 (class ${predictedClass} ties with another), so no class is certified`
        : `the forward pass's rounding bound on each logit (±${formatNumber(logitError)}) is at least half the gap ` +
          `between the top two logits (${formatNumber(gap)}), so class ${predictedClass} is not certified even at x0`;
    return { local: 0, spectral: 0, gap, predictedClass, method: 'network-bound', zeroBecause };
  }
  const threshold = (gap - 2 * logitError) / Math.SQRT2;
  // A constant network (every path cut) keeps its class everywhere.
  if (spectralBound === 0) return { local: Infinity, spectral: Infinity, gap, predictedClass, method: 'network-bound' };
  const spectral = threshold / spectralBound;

  // The margins f_c − f_j: the functional u = e_c − e_j and how far its exact value is certainly above 0;
  // the MARGIN_CLASSES closest ones (least room) get their own bound, the rest keep √2 · L_net.
  const margins = Array.from(logits.keys())
    .filter((j) => j !== predictedClass)
    .map((j) => {
      const u = new Float64Array(logits.length);
      u[predictedClass] = 1;
      u[j] = -1;
      return { j, u, room: logits[predictedClass] - logits[j] - 2 * logitError };
    })
    .sort((a, b) => a.room - b.room);
  const marginBounds = (functional: FunctionalBounds | null, network: number): number[] | null =>
    functional ? margins.map((m, i) => (i < MARGIN_CLASSES ? Math.min(Math.SQRT2 * network, functional.functionalBound(m.u)) : Math.SQRT2 * network)) : null;
  const quotient = (room: number, bound: number) => (bound > 0 ? room / bound : Infinity);
  // ρ(ε): where the check's bounds reach the threshold (0 where they overflowed, ∞ where nothing moves).
  const reachOf = (check: RadiusCheck) => Math.max(
    quotient(threshold, check.network),
    check.margins ? Math.min(...check.margins.map((bound, i) => quotient(margins[i].room, bound))) : 0,
  );
  const byNetwork = (check: RadiusCheck, r: number) => r * check.network < threshold;
  const holds = (check: RadiusCheck, r: number) => byNetwork(check, r) || (check.margins?.every((bound, i) => r * bound < margins[i].room) ?? false);
  // The radius one check certifies, its strict inequalities checked as computed.
  const radiusOf = (check: RadiusCheck): number => {
    const r = Math.min(check.epsilon, reachOf(check));
    if (holds(check, r)) return r;
    const below = r * (1 - 4 * Number.EPSILON);
    return holds(check, below) ? below : 0;
  };

  const checks: RadiusCheck[] = [];
  const evaluate = (epsilon: number): void => {
    // An ε whose bounds overflow (∞, §57) certifies nothing; the search only aims with it.
    const outcome = runEpsilon(ctx, epsilon);
    let check: RadiusCheck;
    if (margins.length > MARGIN_CLASSES) {
      // Some margins keep √2 · L_net: the network's own composed bound is needed too.
      const composedRun = composedFor(ctx, outcome);
      const network = networkBound(outcome, composedRun).localBound;
      check = { epsilon, network, margins: marginBounds(composedRun && 'composed' in composedRun ? composedRun.composed : null, network) };
    } else {
      // Every margin has its own bound, which certifies wherever the network bound does (§60.2).
      check = { epsilon, network: outcome.localBound, margins: marginBounds(functionalsFor(ctx, outcome), outcome.localBound) };
    }
    checks.push(check);
  };

  // The runs' bounds hold on their balls already. Their margins cost a backward pass each, so only
  // those the search can use are read: upwards from the largest ε the network bound certifies, up to
  // the first the margins do not.
  const sorted = [...runs].sort((a, b) => a.epsilon - b.epsilon);
  let start = 0;
  sorted.forEach((run, i) => { if (run.epsilon * run.network < threshold) start = i; });
  for (const run of sorted.slice(start)) {
    const check: RadiusCheck = { epsilon: run.epsilon, network: run.network, margins: marginBounds(run.functional, run.network) };
    checks.push(check);
    if (!holds(check, run.epsilon)) break;
  }

  let lo = 0;
  let hi = Infinity;
  const bracket = () => {
    lo = Math.max(...checks.map(radiusOf));
    hi = Math.min(...checks.map((check) => Math.max(check.epsilon, reachOf(check))));
  };
  bracket();
  // The next ε: the secant of g = ln ρ(ε) − ln ε through the two checks nearest its root (or one, with
  // the assumed slope), a little above it, where a miss costs least.
  const aim = (): number => {
    const points = checks
      .map((check) => ({ t: Math.log(check.epsilon), g: Math.log(reachOf(check)) - Math.log(check.epsilon) }))
      .filter((p) => Number.isFinite(p.g))
      .sort((a, b) => Math.abs(a.g) - Math.abs(b.g));
    const [p, q] = points;
    let t = NaN;
    if (p && q && (q.g - p.g) / (q.t - p.t) < 0) t = q.t - (q.g * (q.t - p.t)) / (q.g - p.g);
    else if (p) t = p.t + p.g / (1 + ASSUMED_ELASTICITY);
    const target = Math.exp(t) * (1 + search.tolerance / 4);
    if (target > lo && target < hi) return target;
    // Aimed past the upper end: check at it, unless it is an ε checked already (then it failed there).
    if (target >= hi && Number.isFinite(hi) && !checks.some((check) => check.epsilon === hi)) return hi;
    // No usable aim inside the bracket: bisect it (geometrically), or grow past an unbounded one.
    if (!Number.isFinite(hi)) return Math.max(lo, ...checks.map((check) => check.epsilon)) * 16;
    return lo > 0 ? Math.sqrt(lo * hi) : hi / 2;
  };
  for (let i = 0; i < search.iterations && !(lo > 0 && hi <= lo * (1 + search.tolerance)); i++) {
    throwIfCancelled(hooks.signal);
    hooks.onProgress?.({ kind: 'radius', iteration: i, iterations: search.iterations, lo, hi });
    evaluate(aim());
    bracket();
  }
  // The local bounds never exceed the spectral ones, so the spectral radius certifies; it is the floor.
  if (lo < spectral) {
    evaluate(spectral);
    bracket();
  }
  if (lo === 0) return { local: 0, spectral, gap, predictedClass, method: 'network-bound', zeroBecause: noRadiusReason(checks, threshold) };
  // Where the search stood when it stopped: said in the report, so a user can ask for a finer one.
  const stopped = { tolerance: search.tolerance, ...(Number.isFinite(hi) ? { upperEnd: Math.max(hi, lo) } : {}) };
  const best = checks.find((check) => radiusOf(check) === lo) as RadiusCheck;
  if (byNetwork(best, lo)) return { local: lo, spectral, gap, predictedClass, method: 'network-bound', search: stopped };
  // Certified by the margins alone: name the one with the least room left, and its bound.
  const bounds = best.margins as number[];
  let binding = 0;
  bounds.forEach((bound, i) => { if (bound * lo - margins[i].room > bounds[binding] * lo - margins[binding].room) binding = i; });
  return { local: lo, spectral, gap, predictedClass, method: 'margins', bindingClass: margins[binding].j, marginBound: bounds[binding], search: stopped };
}
