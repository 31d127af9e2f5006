// `lipschitz-lens analyze MODEL.onnx …`: the command-line front of the bound engine, for CI and scripts.
import { analyzeModelFile, type InputRequest } from '../engine/pipeline';
import { progressMessage } from '../shared/format';
import type { ProgressEvent } from '../shared/results';
import { parseAnalyzeArguments, USAGE, UsageError, type AnalyzeArguments } from './args';
import { formatReport } from './table';

/** Progress on stderr: rewritten in place on a terminal, one line a second at most otherwise. */
function progressReporter(quiet: boolean): { report(event: ProgressEvent): void; done(): void } {
  if (quiet) return { report() {}, done() {} };
  const tty = process.stderr.isTTY;
  let lastWrite = 0;
  return {
    report(event) {
      const now = Date.now();
      if (tty) {
        process.stderr.write(`\r\x1b[K${progressMessage(event)}`);
      } else if (now - lastWrite >= 1000) {
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
  const progress = progressReporter(args.quiet);
  const report = await analyzeModelFile(
    {
      modelPath: args.modelPath,
      input,
      inputShape: args.inputShape,
      epsilons: args.epsilons,
      options: {
        computeRadius: args.radius,
        lowerBound: args.lowerBound,
        failureProbability: args.failureProbability,
        lanczosSteps: args.lanczosSteps,
        exactCutoff: args.exactCutoff,
        seed: args.seed,
        backend: args.backend,
        threads: args.threads,
      },
    },
    { onProgress: (event) => progress.report(event) },
  );
  progress.done();
  process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: AnalyzeArguments | 'help';
  try {
    args = parseAnalyzeArguments(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`lipschitz-lens: ${error.message}\n${USAGE.split('\n')[0]}\n`);
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
    process.stderr.write(`\nlipschitz-lens: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.LIPSCHITZ_LENS_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
