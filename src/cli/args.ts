// Command-line arguments of `lipschitz-lens analyze`, parsed by node:util parseArgs (strict: unknown
// options and missing values are errors). Every error names the option it is about.
import { parseArgs } from 'node:util';
import { parseEpsilonInput, SETTING_DEFAULTS, SETTING_LIMITS } from '../shared/settings';

export interface AnalyzeArguments {
  modelPath: string;
  inputPath?: string;
  inputShape?: number[];
  /** The graph input the bounds are taken with respect to. */
  inputName?: string;
  /** Values for other graph inputs, held fixed. */
  fixedInputs: { name: string; path: string }[];
  /** Graph outputs to bound (empty: all). */
  outputs: string[];
  syntheticInput: boolean;
  epsilons: number[];
  radius: boolean;
  /** With radius: stop the radius search within this relative distance of its upper end. */
  radiusTolerance?: number;
  composedBudget?: number;
  lowerBound: boolean;
  json: boolean;
  failureProbability?: number;
  lanczosSteps?: number;
  exactCutoff?: number;
  seed?: number;
  backend?: 'native' | 'webassembly' | 'typescript';
  threads?: number;
  /** Refuse an analysis whose estimated memory exceeds this (GB). */
  maxMemoryGB: number;
  /** Progress lines on stderr. */
  progress: boolean;
}

export const USAGE = `Usage: lipschitz-lens analyze MODEL.onnx [options]

Bounds how much a ReLU network's output can move around a nominal input x0:
for every ε, the local Lipschitz bound of Avant & Morgansen per layer and for the
network, next to the spectral-norm product. Bounds are anchored at x0:
  ||f(x) - f(x0)|| <= L ||x - x0||   for all ||x - x0|| <= ε.

Options:
  --input FILE          nominal input x0 (.npy float32/float64, or .json array);
                        default: the model's example beside it (MODEL.npy, MODEL.input.npy,
                        MODEL.input.json, MODEL.json, then sample-input.json/.npy; the first
                        that fits the model's input shape), else a synthetic input
  --synthetic           use the deterministic synthetic input even if an example exists
  --input-shape C,H,W   input shape without the batch axis, for models whose input has
                        symbolic dimensions (default: the shape of the --input file)
  --input-name NAME     for models with several inputs: the input the bounds are taken
                        with respect to (default: the first float input)
  --fixed NAME=FILE     hold the other input NAME at the values in FILE (.npy or .json);
                        repeat per input; inputs not given are held at zeros
  --output NAME         bound this graph output; repeat for several, which are flattened
                        and concatenated (default: every output)
  --eps E               perturbation radius; repeat for a sweep (default 0.001)
  --radius              also compute the certified robustness radius
  --radius-tolerance T  stop the radius search once the radius is within T (relative)
                        of the largest radius the bounds could certify (default ${SETTING_DEFAULTS.radiusTolerance};
                        smaller costs more checks)
  --composed-budget F   the composed network bound may use at most F times the layer
                        run's operator applications (default ${SETTING_DEFAULTS.composedBudget}; 0: not computed, the
                        layer product stands; it is the slow phase on large models)
  --no-lower-bound      skip the search for a witnessed lower bound (the best ratio
                        ||f(x) - f(x0)|| / ||x - x0|| found in the ball)
  --json                print exactly one JSON object on stdout (no progress on stderr
                        unless --progress is given)
  --failure-probability P   Lanczos certificate failure probability (default 1e-6)
  --lanczos-steps K     Lanczos steps for large layers (default 200)
  --exact-cutoff N      exact dense decomposition up to this dimension (default 512)
  --seed S              seed of the Lanczos start vectors (default 1)
  --backend B           operators of conv and dense layers: native (float64 C++
                        kernels, the default where built), webassembly (the same
                        kernels as WebAssembly, one thread) or typescript (the reference)
  --threads N           threads of the native kernels (default: one per core; more
                        than the cores are capped, with a note)
  --max-memory GB       refuse an analysis whose estimated memory exceeds GB
                        (default ${SETTING_DEFAULTS.maxMemoryGB})
  --progress            progress on stderr (the default without --json)
  --quiet               no progress on stderr
  -h, --help            this text`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTIONS = {
  input: { type: 'string' },
  synthetic: { type: 'boolean' },
  'input-shape': { type: 'string' },
  'input-name': { type: 'string' },
  fixed: { type: 'string', multiple: true },
  output: { type: 'string', multiple: true },
  eps: { type: 'string', multiple: true },
  radius: { type: 'boolean' },
  'radius-tolerance': { type: 'string' },
  'composed-budget': { type: 'string' },
  'no-lower-bound': { type: 'boolean' },
  json: { type: 'boolean' },
  'failure-probability': { type: 'string' },
  'lanczos-steps': { type: 'string' },
  'exact-cutoff': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  'max-memory': { type: 'string' },
  progress: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An integer option in [min, max], written in plain digits (no 1e3, no 0x10). */
function integerOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\+?\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${shorten(text)}'`);
  }
  return value;
}

/** A decimal option in (exclusiveMin, max]. */
function decimalOption(name: string, text: string | undefined, min: number, max: number, minIncluded = false): number | undefined {
  if (text === undefined) return undefined;
  const value = DECIMAL.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!((minIncluded ? value >= min : value > min) && value <= max)) {
    throw new UsageError(`--${name} must be a number ${minIncluded ? 'from' : 'above'} ${min} ${minIncluded ? 'to' : 'and at most'} ${max}, got '${shorten(text)}'`);
  }
  return value;
}

/** Echoed values are cut short: a 300-digit argument does not belong in an error line. */
function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** parseArgs' own errors, reduced to their first sentence (they already name the option). */
function usageErrorOf(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  return new UsageError(message.split(/\.\s/)[0].replace(/\.$/, ''));
}

export function parseAnalyzeArguments(argv: readonly string[]): AnalyzeArguments | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageErrorOf(error);
  }
  const { values, positionals } = parsed;
  if (values.help || argv.length === 0) return 'help';
  const [command, ...models] = positionals;
  if (command !== 'analyze') throw new UsageError(`unknown command '${shorten(command ?? '')}'; expected 'analyze'`);
  if (models.length === 0) throw new UsageError('no model given');
  if (models.length > 1) throw new UsageError(`one model at a time: got '${shorten(models[0])}' and '${shorten(models[1])}'`);
  if (values.input !== undefined && values.synthetic) throw new UsageError('--input and --synthetic exclude each other');
  if (values.progress && values.quiet) throw new UsageError('--progress and --quiet exclude each other');

  let inputShape: number[] | undefined;
  if (values['input-shape'] !== undefined) {
    const text = values['input-shape'];
    inputShape = text.split(/[,x×]/).map((d) => (/^\s*\d+\s*$/.test(d) ? Number(d) : Number.NaN));
    if (inputShape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new UsageError(`--input-shape takes positive integers separated by commas, got '${shorten(text)}'`);
    }
  }
  const fixedInputs = (values.fixed ?? []).map((text) => {
    const split = text.indexOf('=');
    if (split <= 0 || split === text.length - 1) throw new UsageError(`--fixed takes NAME=FILE, got '${shorten(text)}'`);
    return { name: text.slice(0, split), path: text.slice(split + 1) };
  });
  const fixedNames = fixedInputs.map((f) => f.name);
  const repeated = fixedNames.find((name, i) => fixedNames.indexOf(name) !== i);
  if (repeated !== undefined) throw new UsageError(`--fixed gives input '${shorten(repeated)}' twice`);
  if (values['input-name'] !== undefined && fixedNames.includes(values['input-name'])) {
    throw new UsageError(`input '${shorten(values['input-name'])}' is both --input-name and --fixed`);
  }
  const epsilons = (values.eps ?? ['0.001']).map((text) => {
    const epsilon = parseEpsilonInput(text);
    if ('error' in epsilon) throw new UsageError(`--eps: ${epsilon.error}`);
    return epsilon.value;
  });
  const backend = values.backend;
  if (backend !== undefined && backend !== 'native' && backend !== 'webassembly' && backend !== 'typescript') {
    throw new UsageError(`--backend takes native, webassembly or typescript, got '${shorten(backend)}'`);
  }
  const failureProbability = decimalOption('failure-probability', values['failure-probability'], 0, SETTING_LIMITS.failureProbability.maximum);
  const radiusTolerance = decimalOption('radius-tolerance', values['radius-tolerance'], 0, SETTING_LIMITS.radiusTolerance.maximum);
  if (radiusTolerance !== undefined && !values.radius) throw new UsageError('--radius-tolerance applies to the certified radius: add --radius');
  const composedBudget = decimalOption('composed-budget', values['composed-budget'], SETTING_LIMITS.composedBudget.minimum, SETTING_LIMITS.composedBudget.maximum, true);
  const lanczosSteps = integerOption('lanczos-steps', values['lanczos-steps'], 1, SETTING_LIMITS.lanczosSteps.maximum);
  const exactCutoff = integerOption('exact-cutoff', values['exact-cutoff'], SETTING_LIMITS.maxExactDimension.minimum, SETTING_LIMITS.maxExactDimension.maximum);
  // The engine's generators take 32-bit seeds: a wider range would make distinct seeds run alike.
  const seed = integerOption('seed', values.seed, 0, 2 ** 32 - 1);
  const threads = integerOption('threads', values.threads, SETTING_LIMITS.workerThreads.minimum, SETTING_LIMITS.workerThreads.maximum);
  const maxMemoryGB =
    decimalOption('max-memory', values['max-memory'], 0, SETTING_LIMITS.maxMemoryGB.maximum) ?? SETTING_DEFAULTS.maxMemoryGB;
  const json = values.json ?? false;
  return {
    modelPath: models[0],
    ...(values.input !== undefined ? { inputPath: values.input } : {}),
    ...(inputShape ? { inputShape } : {}),
    ...(values['input-name'] !== undefined ? { inputName: values['input-name'] } : {}),
    fixedInputs,
    outputs: values.output ?? [],
    syntheticInput: values.synthetic ?? false,
    epsilons,
    radius: values.radius ?? false,
    ...(radiusTolerance !== undefined ? { radiusTolerance } : {}),
    ...(composedBudget !== undefined ? { composedBudget } : {}),
    lowerBound: !values['no-lower-bound'],
    json,
    ...(failureProbability !== undefined ? { failureProbability } : {}),
    ...(lanczosSteps !== undefined ? { lanczosSteps } : {}),
    ...(exactCutoff !== undefined ? { exactCutoff } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(backend !== undefined ? { backend } : {}),
    ...(threads !== undefined ? { threads } : {}),
    maxMemoryGB,
    progress: values.progress ?? (!json && !values.quiet),
  };
}
