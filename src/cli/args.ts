// Command-line arguments of `lipschitz-lens analyze`, parsed without a library: the grammar is small.
import { parseEpsilonInput } from '../shared/settings';

export interface AnalyzeArguments {
  modelPath: string;
  inputPath?: string;
  inputShape?: number[];
  syntheticInput: boolean;
  epsilons: number[];
  radius: boolean;
  lowerBound: boolean;
  json: boolean;
  failureProbability?: number;
  lanczosSteps?: number;
  exactCutoff?: number;
  seed?: number;
  backend?: 'native' | 'typescript';
  threads?: number;
  quiet: boolean;
}

export const USAGE = `Usage: lipschitz-lens analyze MODEL.onnx [options]

Bounds how much a ReLU network's output can move around a nominal input x0:
for every ε, the local Lipschitz bound of Avant & Morgansen per layer and for the
network, next to the spectral-norm product. Bounds are anchored at x0:
  ||f(x) - f(x0)|| <= L ||x - x0||   for all ||x - x0|| <= ε.

Options:
  --input FILE          nominal input x0 (.npy float32/float64, or .json array);
                        default: the model's bundled example (MODEL.input.json/.npy or
                        sample-input.json/.npy beside it), else a synthetic input
  --synthetic           use the deterministic synthetic input even if an example exists
  --input-shape C,H,W   input shape without the batch axis, for models whose input has
                        symbolic dimensions (default: the shape of the --input file)
  --eps E               perturbation radius; repeat for a sweep (default 0.001)
  --radius              also compute the certified robustness radius
  --no-lower-bound      skip the search for a witnessed lower bound (the best ratio
                        ||f(x) - f(x0)|| / ||x - x0|| found in the ball)
  --json                print exactly one JSON object on stdout
  --failure-probability P   Lanczos certificate failure probability (default 1e-6)
  --lanczos-steps K     Lanczos steps for large layers (default 200)
  --exact-cutoff N      exact dense decomposition up to this dimension (default 512)
  --seed S              seed of the Lanczos start vectors (default 1)
  --backend B           operators of conv and dense layers: native (float64 C++
                        kernels, the default where built) or typescript (the reference)
  --threads N           threads of the native kernels (default: one per core)
  --quiet               no progress on stderr
  -h, --help            this text`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseAnalyzeArguments(argv: readonly string[]): AnalyzeArguments | 'help' {
  const args = [...argv];
  if (args.length === 0 || args.includes('-h') || args.includes('--help')) return 'help';
  const command = args.shift();
  if (command !== 'analyze') throw new UsageError(`unknown command '${command}'; expected 'analyze'`);
  const result: AnalyzeArguments = { modelPath: '', syntheticInput: false, epsilons: [], radius: false, lowerBound: true, json: false, quiet: false };
  const value = (flag: string): string => {
    const next = args.shift();
    if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return next;
  };
  const positiveNumber = (flag: string, integer: boolean): number => {
    const text = value(flag);
    const parsed = Number(text);
    if (!Number.isFinite(parsed) || parsed <= 0 || (integer && !Number.isInteger(parsed))) {
      throw new UsageError(`${flag} takes a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
    }
    return parsed;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    switch (arg) {
      case '--input':
        result.inputPath = value(arg);
        break;
      case '--input-shape': {
        const text = value(arg);
        const dims = text.split(/[,x×]/).map((d) => Number(d.trim()));
        if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
          throw new UsageError(`--input-shape takes positive integers separated by commas, got '${text}'`);
        }
        result.inputShape = dims;
        break;
      }
      case '--synthetic':
        result.syntheticInput = true;
        break;
      case '--eps': {
        const parsed = parseEpsilonInput(value(arg));
        if ('error' in parsed) throw new UsageError(`--eps: ${parsed.error}`);
        result.epsilons.push(parsed.value);
        break;
      }
      case '--radius':
        result.radius = true;
        break;
      case '--no-lower-bound':
        result.lowerBound = false;
        break;
      case '--json':
        result.json = true;
        break;
      case '--quiet':
        result.quiet = true;
        break;
      case '--failure-probability': {
        const p = positiveNumber(arg, false);
        if (p >= 1) throw new UsageError(`--failure-probability must be below 1, got ${p}`);
        result.failureProbability = p;
        break;
      }
      case '--lanczos-steps':
        result.lanczosSteps = positiveNumber(arg, true);
        break;
      case '--exact-cutoff':
        result.exactCutoff = positiveNumber(arg, true);
        break;
      case '--seed':
        result.seed = positiveNumber(arg, true);
        break;
      case '--backend': {
        const backend = value(arg);
        if (backend !== 'native' && backend !== 'typescript') throw new UsageError(`--backend takes native or typescript, got '${backend}'`);
        result.backend = backend;
        break;
      }
      case '--threads':
        result.threads = positiveNumber(arg, true);
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        if (result.modelPath) throw new UsageError(`one model at a time: got '${result.modelPath}' and '${arg}'`);
        result.modelPath = arg;
    }
  }
  if (!result.modelPath) throw new UsageError('no model given');
  if (result.inputPath && result.syntheticInput) throw new UsageError('--input and --synthetic exclude each other');
  if (result.epsilons.length === 0) result.epsilons.push(0.001);
  return result;
}
