// Model file → analysis network → nominal input → bound engine → report. The worker and the CLI both
// run exactly this, so the editor and CI print the same numbers for the same model, input and ε.
import { basename } from 'node:path';
import type { Model, ValueInfo } from '../onnx/model';
import { readModel } from '../onnx/reader';
import { fallbackLabel } from '../shared/format';
import type { BoundReport, EngineOptions, InputChoice } from '../shared/protocol';
import { analyzeNetwork, type AnalyzeHooks, type SpectralCache } from './analyze';
import { allocateLarge, defaultBackend, fallbackReason, kernelsFor, type OperatorBackend } from './native/kernels';
import { estimateCost, largestParts } from './costEstimate';
import { BudgetError } from './errors';
import { NETWORK_INPUT } from './network';
import { resolveExampleInput, skippedInputNotes } from './exampleInput';
import { readNominalInputFile } from './inputFile';
import { matchInputShape, syntheticInput, type NominalInput } from './nominalInput';
import { onnxruntimeFidelity } from './fidelity';
import { ModelRuntime } from './runtime/modelRuntime';
import { loadAnalysisNetwork } from './loadNetwork';
import { analysedInput, hasOpenInputShape, shapeFromInput } from './normalise/normalise';

/** Parts of the memory estimate a refusal names. */
const REFUSAL_PARTS = 3;

/** 'auto': the model's bundled example input if there is one, else the synthetic input. */
export type InputRequest = InputChoice | { kind: 'auto' };

export interface ModelAnalysisRequest {
  modelPath: string;
  input: InputRequest;
  /**
   * Input shape without the batch axis, for models whose input declares symbolic dimensions. When
   * absent, such a model takes the shape of the nominal input file.
   */
  inputShape?: number[];
  /** The graph input the bounds are taken with respect to (default: the first float input). */
  inputName?: string;
  /** Files holding the values of other graph inputs, which are held fixed (an input not listed: zeros). */
  fixedInputs?: { name: string; path: string }[];
  /** Graph outputs to bound, flattened and concatenated (default: every output). */
  outputs?: string[];
  /** The first is the main run; the rest form the sweep. */
  epsilons: number[];
  options?: Partial<EngineOptions> & {
    seed?: number;
    /** Search for a witnessed lower bound per ε and per small layer (default true). */
    lowerBound?: boolean;
    /** Operators of conv and dense layers (default: the native kernels where built, else TypeScript). */
    backend?: OperatorBackend;
    /** Compare the analysed network with the model file on onnxruntime first (default true). */
    fidelity?: boolean;
    /** Refuse (BudgetError) an analysis whose estimated memory exceeds this many bytes; absent: no limit. */
    maxMemoryBytes?: number;
  };
}

/** The input file the request names (or the model's example input beside it), with notes on example candidates passed over; no input for a synthetic one. */
async function readRequestedInput(request: InputRequest, modelPath: string, model: Model, analysed: ValueInfo): Promise<{ input?: NominalInput; notes: string[] }> {
  if (request.kind === 'synthetic') return { notes: [] };
  if (request.kind === 'file') return { input: await readNominalInputFile(request.path), notes: [] };
  const { input, resolution } = await resolveExampleInput(modelPath, model, analysed.shape);
  return { input, notes: skippedInputNotes(resolution) };
}

/**
 * Whether the requested robustness radius means something for this output, and if not, why. It compares
 * the top entry with the runner-up, so it needs two entries of one output: the top entry of several
 * graph outputs stacked together (a detector's boxes and scores) is no class prediction.
 */
function radiusApplies(requested: boolean, outputSize: number, outputNames: readonly string[]): { computed: boolean; skipped?: string } {
  if (!requested) return { computed: false };
  if (outputNames.length > 1) {
    return {
      computed: false,
      skipped: `the bounded output stacks ${outputNames.length} graph outputs, whose largest entry is no class prediction; ` +
        'bound one output (--output NAME, or "Choose inputs and outputs…" in the editor) for its radius',
    };
  }
  if (outputSize < 2) return { computed: false, skipped: 'the output has a single value, and a radius compares the top class with the runner-up' };
  return { computed: true };
}

/**
 * ‖A_k‖ of recently analysed models, so a re-run with another input or ε (in the long-lived worker)
 * skips half the spectral work. Keyed by file identity, input shape and the options the norms depend on.
 */
const conservativeNorms = new Map<string, SpectralCache>();
const CONSERVATIVE_NORM_MODELS = 8;

function conservativeNormCache(key: string): SpectralCache {
  let cache = conservativeNorms.get(key);
  if (cache) {
    conservativeNorms.delete(key);
  } else {
    cache = new Map();
    if (conservativeNorms.size >= CONSERVATIVE_NORM_MODELS) conservativeNorms.delete(conservativeNorms.keys().next().value as string);
  }
  conservativeNorms.set(key, cache);
  return cache;
}

export async function analyzeModelFile(request: ModelAnalysisRequest, hooks: AnalyzeHooks = {}): Promise<BoundReport> {
  const loadStarted = performance.now();
  const model = await readModel(request.modelPath, { allocate: allocateLarge });
  const analysed = analysedInput(model, request.inputName);
  const { input: fileInput, notes: inputNotes } = await readRequestedInput(request.input, request.modelPath, model, analysed);
  const inputShape = request.inputShape ?? (fileInput && hasOpenInputShape(analysed) ? shapeFromInput(analysed, fileInput.shape) : undefined);
  const fixedInputs = new Map<string, NominalInput>();
  for (const { name, path } of request.fixedInputs ?? []) fixedInputs.set(name, await readNominalInputFile(path));
  const { network, notes } = loadAnalysisNetwork(model, { inputShape, input: analysed.name, fixedInputs, outputs: request.outputs });
  const outputShape = network.output === NETWORK_INPUT ? network.inputShape : network.layers[network.output].outputShape;
  const outputSize = outputShape.reduce((a, b) => a * b, 1);
  const options = request.options ?? {};
  const radius = radiusApplies(options.computeRadius ?? false, outputSize, network.outputNames ?? []);
  if (options.maxMemoryBytes !== undefined) {
    const cost = estimateCost(network, {
      epsilonCount: request.epsilons.length,
      radius: radius.computed,
      lowerBound: options.lowerBound !== false,
      lanczosSteps: options.lanczosSteps,
      exactCutoff: options.exactCutoff,
      composed: options.composedBudget !== 0,
      fidelity: options.fidelity !== false,
    });
    if (cost.bytes > options.maxMemoryBytes) throw new BudgetError(cost.bytes, options.maxMemoryBytes, cost.multiplyAdds, largestParts(cost, REFUSAL_PARTS));
  }
  const input = fileInput ?? syntheticInput(network.inputShape);
  const x0 = matchInputShape(input, network.inputShape, network.inputName);
  const loadMs = performance.now() - loadStarted;
  const backend = options.backend ?? defaultBackend();
  // Said in the report, so a slow run on a machine without the kernels explains itself.
  const nativeUnavailable = options.backend === undefined && backend !== 'native' ? fallbackReason() : '';
  const ran = backend === 'typescript' ? { backend } : { backend, ...kernelsFor(backend).describe() };
  const backendNotes = nativeUnavailable ? [`Operators: ${fallbackLabel(ran)}: ${nativeUnavailable}`] : [];
  if (backend !== 'typescript' && options.threads !== undefined) kernelsFor(backend).setThreads(options.threads);
  const spectralKey = JSON.stringify([
    request.modelPath, model.fileVersion, network.inputShape,
    options.failureProbability, options.exactCutoff, options.lanczosSteps, options.seed, backend,
  ]);
  // One onnxruntime session per analysis, shared by the fidelity check and the lower-bound search.
  const runtime = options.fidelity === false ? null : new ModelRuntime(request.modelPath, { intraOpNumThreads: options.threads });
  const result = await analyzeNetwork(
    network,
    x0,
    {
      epsilons: request.epsilons,
      backend,
      failureProbability: options.failureProbability,
      exactCutoff: options.exactCutoff,
      lanczosSteps: options.lanczosSteps,
      seed: options.seed,
      lowerBound: options.lowerBound === false ? undefined : { layers: true },
      fidelity: runtime
        ? onnxruntimeFidelity({
            modelPath: request.modelPath, epsilon: Math.max(...request.epsilons), threads: options.threads, signal: hooks.signal,
            // Without the search the session is released right after the check (its weights are a second copy of the model's).
            ...(options.lowerBound === false ? {} : { runtime }),
          })
        : undefined,
      runtimeOutputs: runtime && options.lowerBound !== false ? () => runtime.outputs(network) : undefined,
      spectralCache: conservativeNormCache(spectralKey),
      radius: radius.computed,
      radiusTolerance: options.radiusTolerance,
      composedBudget: options.composedBudget,
    },
    hooks,
  ).finally(() => runtime?.release());
  return {
    model: basename(request.modelPath),
    input: {
      name: network.inputName,
      source: input.source,
      origin: input.origin,
      shape: input.shape,
      norm: Math.sqrt(x0.reduce((sum, value) => sum + value * value, 0)),
    },
    ...(network.fixedInputs ? { fixedInputs: network.fixedInputs.map((f) => ({ name: f.name, shape: [...f.tensor.dims], source: f.source })) } : {}),
    ...(network.outputNames ? { outputs: network.outputNames } : {}),
    outputSize: result.outputSize,
    runs: result.runs,
    radius: result.radius,
    ...(result.fidelity ? { fidelity: result.fidelity } : {}),
    notes: [
      ...inputNotes,
      ...(notes ?? []),
      ...backendNotes,
      ...(result.fidelity && 'notChecked' in result.fidelity
        ? [`The network was not checked against the model file on onnxruntime: ${result.fidelity.notChecked}`]
        : []),
      ...(result.radius?.zeroBecause ? [`The certified robustness radius is 0: ${result.radius.zeroBecause}.`] : []),
      ...(radius.skipped ? [`No certified robustness radius: ${radius.skipped}.`] : []),
    ],
    ...(result.stats ? { stats: { ...result.stats, ...(nativeUnavailable ? { nativeUnavailable } : {}), phases: { ...result.stats.phases, loadMs } } } : {}),
  };
}
