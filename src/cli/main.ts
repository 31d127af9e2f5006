// `lipschitz-lens analyze MODEL.onnx …`: the command-line front of the bound engine, for CI and scripts.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { BudgetError, OverflowError } from '../engine/errors';
import { InputShapeNeededError } from '../engine/normalise/normalise';
import { analyzeModelFile, type InputRequest } from '../engine/pipeline';
import { escapeControlCharacters, formatNumber, progressMessage } from '../shared/format';
import { nonFiniteAsText } from '../shared/reportWriters';
import type { ProgressEvent } from '../shared/results';
import { parseAnalyzeArguments, USAGE, UsageError, type AnalyzeArguments } from './args';
import { formatReport } from './table';

/** Progress on stderr: rewritten in place on a terminal, one line a second at most otherwise. */
function progressReporter(show: boolean): { report(event: ProgressEvent): void; done(): void } {
  if (!show) return { report() {}, done() {} };
  const tty = process.stderr.isTTY;
  let lastWrite = 0;
  return {
    report(event) {
      const now = Date.now();
      if (tty) {
        // A network bound stays on its own line: the answer, while the lower bounds still run.
        process.stderr.write(`\r\x1b[K${progressMessage(event)}${event.kind === 'networkBound' ? '\n' : ''}`);
      } else if (now - lastWrite >= 1000 || event.kind === 'networkBound') {
        process.stderr.write(`${progressMessage(event)}\n`);
        lastWrite = now;
      }
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

async function analyze(args: AnalyzeArguments): Promise<void> {
  const input: InputRequest = args.inputPath
    ? { kind: 'file', path: args.inputPath }
    : args.syntheticInput
      ? { kind: 'synthetic' }
      : { kind: 'auto' };
  const progress = progressReporter(args.progress);
  // More threads than cores only adds contention; said in the report rather than done silently.
  const cores = availableParallelism();
  const threads = args.threads === undefined ? undefined : Math.min(args.threads, cores);
  const threadNotes = args.threads !== undefined && args.threads > cores ? [`--threads ${args.threads} was capped at ${cores}, the number of cores.`] : [];
  const report = await analyzeModelFile(
    {
      modelPath: args.modelPath,
      input,
      inputShape: args.inputShape,
      inputName: args.inputName,
      fixedInputs: args.fixedInputs,
      outputs: args.outputs,
      epsilons: args.epsilons,
      options: {
        computeRadius: args.radius,
        radiusTolerance: args.radiusTolerance,
        composedBudget: args.composedBudget,
        lowerBound: args.lowerBound,
        failureProbability: args.failureProbability,
        lanczosSteps: args.lanczosSteps,
        exactCutoff: args.exactCutoff,
        seed: args.seed,
        backend: args.backend,
        threads,
        maxMemoryBytes: args.maxMemoryGB * 2 ** 30,
      },
    },
    { onProgress: (event) => progress.report(event) },
  );
  progress.done();
  if (threadNotes.length > 0) report.notes = [...(report.notes ?? []), ...threadNotes];
  process.stdout.write(args.json ? `${JSON.stringify(report, nonFiniteAsText)}\n` : `${formatReport(report)}\n`);
}

/** The error as one line for the terminal, naming the option that would change the outcome. */
function failureMessage(error: unknown, modelPath: string): string {
  if (error instanceof OverflowError) return `--eps ${formatNumber(error.epsilon)}: ${error.message}`;
  if (error instanceof BudgetError) return `${basename(modelPath)}: ${error.message}; use --max-memory to raise it`;
  if (error instanceof InputShapeNeededError) return `${error.message} with --input-shape C,H,W (or an --input file)`;
  return error instanceof Error ? error.message : String(error);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: AnalyzeArguments | 'help';
  try {
    args = parseAnalyzeArguments(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`lipschitz-lens: ${escapeControlCharacters(error.message)}\n${USAGE.split('\n')[0]}\n`);
      return 2;
    }
    throw error;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    await analyze(args);
    return 0;
  } catch (error) {
    const lead = args.progress ? '\n' : '';
    process.stderr.write(`${lead}lipschitz-lens: ${escapeControlCharacters(failureMessage(error, args.modelPath), true)}\n`);
    if (process.env.LIPSCHITZ_LENS_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
