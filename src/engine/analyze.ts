// Entry point of the bound engine: validate, run the nominal forward pass once, then one bound run per
// ε (sharing the forward pass and the ‖A‖ cache), and optionally the certified robustness radius.
import { formatNumber } from '../shared/format';
import type { AnalysisResult, EngineStats, EpsilonRun, NetworkBounds, ProgressEvent, RadiusResult } from '../shared/results';
import { OverflowError, throwIfCancelled, type CancelSignal } from './errors';
import type { FidelityCheck } from './fidelity';
import { accurateForward } from './accurateForward';
import { tensorValue, type ForwardProvider, type NominalValues } from './forward';
import { composedBound, layerRunPrefixReach, midpointDirection, type ComposedBound, type KnownPrefixNorm } from './composed/composedBound';
import { runEpsilon, slopesBounded, UnboundedSlopesError, type PhaseTimes, type RunContext, type RunOutcome, type SpectralCache } from './layerBounds';
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
  /** Most bisection steps (geometric) for the radius (default 16). */
  radiusIterations?: number;
  /** Stop the bisection once hi ≤ lo · (1 + radiusTolerance) (default 1e-3). */
  radiusTolerance?: number;
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
    prepared, x0: x, nominal, spectralCache, spectral, signal: hooks.signal, onLayer, onLayerResult, times,
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
    const bound = networkBound(outcome, composedFor(context(), outcome, epsilon));
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
    const linearisedDirections = outcomes.map((outcome) => midpointDirection(prepared, outcome.slopes, spectral.seed, null, hooks.signal));
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
    result.radius = certifiedRadius(outputValues, logitError, runs[0].network.spectralBound, runs[0].epsilon, context(), {
      iterations: options.radiusIterations ?? 16,
      tolerance: options.radiusTolerance ?? 1e-3,
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
): { composed: ComposedBound; failureProbability: number } | { skipped: string } | null {
  if (ctx.prepared.network.output === NETWORK_INPUT || outcome.localBound === 0) return null;
  const started = performance.now();
  // Past an overflowed layer product the composed bound is the only finite one, so it may take longer.
  const factor = outcome.overflowedAt === undefined ? COMPOSED_BUDGET_FACTOR : COMPOSED_BUDGET_FACTOR_AFTER_OVERFLOW;
  let budget = factor * Math.max(outcome.operatorApplications, MINIMUM_COMPOSED_BUDGET);
  // With an ε, the slopes come from a second run taking each unit's reach from its composed prefix
  // (§56), sharing the budget; the first run's rows stay as the report shows them.
  let slopesRun = outcome;
  let certified: ReadonlyMap<number, KnownPrefixNorm> | undefined;
  if (prefixReachAt !== undefined) {
    const before = ctx.prepared.counters.applications;
    // Past an overflowed product the composed bound is the only finite one: it keeps its whole budget.
    const ahead = outcome.overflowedAt === undefined ? prefixNormLayers(ctx.prepared, outcome) : [];
    const prefix = layerRunPrefixReach(ctx.prepared, ctx.spectral, budget, ctx.signal, ahead);
    // After an overflowed product reach, the whole-tensor slope layers' inputs take their reach from
    // the composed prefix too (§57); elsewhere their product reach stays, as §56 measured it.
    const inputReach = outcome.overflowedAt !== undefined ? prefix.inputReach : undefined;
    try {
      slopesRun = runEpsilon({
        ...ctx, times: undefined, onLayer: undefined, onLayerResult: undefined, prefixReach: prefix.prefixReach, inputReach, stopAtUnboundedSlopes: true,
      }, prefixReachAt, outcome);
    } catch (error) {
      if (!(error instanceof UnboundedSlopesError)) throw error;
      if (ctx.times) ctx.times.composedMs += performance.now() - started;
      return { skipped: error.message };
    }
    if (prefix.foreseenOverBudget()) {
      if (ctx.times) ctx.times.composedMs += performance.now() - started;
      return { skipped: `the composed bound would need more than ${factor}× the layer run's operator applications (its prefix norms still to come, at the cost of the last ones, exceed what is left)` };
    }
    certified = prefix.certified;
    budget -= ctx.prepared.counters.applications - before;
  }
  const unbounded = slopesRun.slopes.findIndex((s) => s !== null && !slopesBounded(s));
  if (unbounded >= 0) return { skipped: new UnboundedSlopesError(ctx.prepared.layers[unbounded].layer.label).message };
  const composed = composedBound(ctx.prepared, slopesRun.slopes, ctx.spectral, Math.max(budget, 0), ctx.signal, certified);
  if (ctx.times) ctx.times.composedMs += performance.now() - started;
  if (!composed) return { skipped: `the composed bound needed more than ${factor}× the layer run's operator applications` };
  if (!Number.isFinite(composed.value)) return { skipped: 'its certified norms left the float64 range (docs/derivations.md §57)' };
  // It rests on both runs' certificates (the prefix norms counted with the second): the failure probabilities add.
  const failureProbability = outcome.failureProbability + (slopesRun === outcome ? 0 : slopesRun.failureProbability) + composed.failureProbability;
  return { composed, failureProbability };
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
 * The tighter of the two sound network bounds: the product of the layer bounds (with the graph
 * rules) and the composed bound of the linearised network (docs/derivations.md §22), whose slopes come
 * from a layer run that took each unit's reach from its composed prefix (§56) where it could.
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
  };
  if (!composedRun) return product;
  if ('skipped' in composedRun) return { ...product, composedSkipped: composedRun.skipped };
  const { composed, failureProbability } = composedRun;
  if (!(composed.value < outcome.localBound)) return product;
  return {
    ...product,
    localBound: composed.value,
    method: 'composed',
    failureProbability,
    composed: { midpointNorm: composed.midpointNorm, uncertainUnits: composed.uncertainUnits, norms: composed.norms },
  };
}

/** Why no ε checked certified: the smallest one, its network bound and the threshold it had to stay below. */
function noRadiusReason(evaluated: Map<number, { network: number }>, threshold: number): string {
  const smallest = Math.min(...evaluated.keys());
  const bound = evaluated.get(smallest)?.network ?? Infinity;
  const reach = Number.isFinite(bound)
    ? `the network bound there is ${formatNumber(bound)}, so ε·L = ${formatNumber(smallest * bound)}`
    : 'the deviation overflows there';
  return `no ε checked certifies: at the smallest, ε = ${formatNumber(smallest)}, ${reach}, not below (gap − 2·logit error)/√2 = ${formatNumber(threshold)}`;
}

/**
 * The prefix-reach run and the composed bound together may use this many times the layer run's
 * operator applications; beyond that the layer product stands. Measured (docs/derivations.md §56):
 * 0.4–1.6× on the example, the CIFAR-10 bench model and the ResNet- and MobileNetV2-style fixtures,
 * about 4.3× on BlazeFace front at ε = 1e-5; BlazeFace front at ε = 1e-3 needs far more.
 */
const COMPOSED_BUDGET_FACTOR = 6;
/**
 * The same after the layer product overflowed (§57), when the composed bound is the only finite one:
 * PP-OCRv4 rec at ε = 1e-6 needed about 25× (350 000 applications against the layer run's 14 000).
 */
const COMPOSED_BUDGET_FACTOR_AFTER_OVERFLOW = 40;
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

/**
 * Largest ε found that certifies the predicted class c (method.md §4, docs/derivations.md §44): either
 * ε · L_net(x0, ε) < gap/√2, or every margin f_c − f_j satisfies ε · L_j(x0, ε) < gap_j, with L_j the
 * composed bound of that one functional (never above √2 · L_net). Both only hold inside the ε ball, so
 * only ε values actually checked are reported: the answer is certified even if the computed bounds
 * were not monotone; the bracket uses their monotonicity in ε only to aim the bisection.
 */
function certifiedRadius(
  logits: Float64Array,
  logitError: number,
  spectralBound: number,
  firstEpsilon: number,
  ctx: RunContext,
  bisection: { iterations: number; tolerance: number },
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
  interface Check {
    network: number;
    /** L_j per margin, or null where not needed (the layer product certifies) or unavailable (no composed bound). */
    margins: number[] | null;
  }
  // Without the layer run's prefix reach (§56) here: its prefix norms would add to every bisection
  // step for a bound a little tighter; bounds with the product's reach are sound too.
  const full = (outcome: RunOutcome): Check => {
    const composedRun = composedFor(ctx, outcome);
    const network = networkBound(outcome, composedRun).localBound;
    const composed = composedRun && 'composed' in composedRun ? composedRun.composed : null;
    return {
      network,
      margins: composed
        ? margins.map((m, i) => (i < MARGIN_CLASSES ? Math.min(Math.SQRT2 * network, composed.functionalBound(m.u)) : Math.SQRT2 * network))
        : null,
    };
  };
  const evaluated = new Map<number, Check>();
  // Where the layer product certifies on its own, the composed bounds (never larger) cannot change the answer.
  const check = (epsilon: number): Check => {
    let value = evaluated.get(epsilon);
    if (value === undefined) {
      // An ε whose bounds overflow (∞, §57) certifies nothing; the bisection only aims with it.
      const outcome = runEpsilon(ctx, epsilon);
      value = epsilon * outcome.localBound < threshold ? { network: outcome.localBound, margins: null } : full(outcome);
      evaluated.set(epsilon, value);
    }
    return value;
  };
  const byNetwork = (epsilon: number) => epsilon * check(epsilon).network < threshold;
  const byMargins = (epsilon: number) => check(epsilon).margins?.every((bound, i) => epsilon * bound < margins[i].room) ?? false;
  const certifies = (epsilon: number) => byNetwork(epsilon) || byMargins(epsilon);
  // An overflowed spectral product (∞, §57) gives the spectral radius 0: the bisection aims from the first ε analysed instead.
  const scale = spectral > 0 ? spectral : firstEpsilon;
  let lo = spectral > 0 && certifies(spectral) ? spectral : 0;
  // The bracket needs the full bounds at its lower end (the product alone may be larger and aim too low).
  const bracketAt = lo > 0 ? lo : scale * 1e-6;
  const bracket = full(runEpsilon(ctx, bracketAt));
  const floor = bracket.network;
  const reach = Math.max(
    floor > 0 ? threshold / floor : scale * 1e6,
    ...(bracket.margins ? [Math.min(...bracket.margins.map((bound, i) => (bound > 0 ? margins[i].room / bound : scale * 1e6)))] : []),
  );
  let hi = reach;
  if (hi <= lo) hi = lo * 2;
  for (let i = 0; i < bisection.iterations && !(lo > 0 && hi <= lo * (1 + bisection.tolerance)); i++) {
    throwIfCancelled(hooks.signal);
    hooks.onProgress?.({ kind: 'radius', iteration: i, iterations: bisection.iterations, lo, hi });
    const mid = lo > 0 ? Math.sqrt(lo * hi) : hi / 2;
    if (certifies(mid)) lo = mid;
    else hi = mid;
  }
  if (lo === 0) return { local: 0, spectral, gap, predictedClass, method: 'network-bound', zeroBecause: noRadiusReason(evaluated, threshold) };
  if (byNetwork(lo)) return { local: lo, spectral, gap, predictedClass, method: 'network-bound' };
  // Certified by the margins alone: name the one with the least room left, and its bound.
  const bounds = check(lo).margins as number[];
  let binding = 0;
  bounds.forEach((bound, i) => { if (bound * lo - margins[i].room > bounds[binding] * lo - margins[binding].room) binding = i; });
  return { local: lo, spectral, gap, predictedClass, method: 'margins', bindingClass: margins[binding].j, marginBound: bounds[binding] };
}
