// Times the whole engine (src/engine/pipeline.ts) on one benchmark model: one ε, then a 10-point
// sweep. Run in a child process with a time limit by bench/run.ts, so an unfinished or slow engine
// never holds up the benchmark. Prints a JSON line (OneEpsilonMeasurement) once the single ε is done,
// then the full AnalysisMeasurement, so a sweep cut off by the limit still leaves the first number.
//
//   tsx bench/analyze.ts <model name> <model path>

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchInput, benchModel, OUT_DIR } from './models';

export interface AnalysisMeasurement {
  model: string;
  oneEpsilonMs: number;
  sweepMs: number;
  sweepPoints: number;
  /** The network bounds at ε = 0.001, to spot a broken run at a glance. */
  localBound: number;
  spectralBound: number;
  peakRssMiB: number;
}

export interface OneEpsilonMeasurement {
  oneEpsilonMs: number;
  localBound: number;
  spectralBound: number;
}

export const SWEEP = Array.from({ length: 10 }, (_, i) => 1e-4 * 10 ** ((5 * i) / 9));

async function main(name: string, path: string): Promise<AnalysisMeasurement> {
  const spec = benchModel(name);
  const inputPath = join(OUT_DIR, `${name}.input.json`);
  await writeFile(inputPath, JSON.stringify({ shape: [1, ...spec.inputShape], data: Array.from(benchInput(spec)) }));
  // Loaded here, not imported at the top: while the engine is being written this import may fail,
  // and that failure is reported as this step's status.
  const { analyzeModelFile } = await import('../src/engine/pipeline');
  const input = { kind: 'file' as const, path: inputPath };
  let t = performance.now();
  const report = await analyzeModelFile({ modelPath: path, input, epsilons: [1e-3], options: { threads: Number(process.env.BENCH_THREADS ?? 2) } });
  const oneEpsilonMs = performance.now() - t;
  const first: OneEpsilonMeasurement = {
    oneEpsilonMs,
    localBound: report.runs[0].network.localBound,
    spectralBound: report.runs[0].network.spectralBound,
  };
  console.log(JSON.stringify(first));
  t = performance.now();
  await analyzeModelFile({ modelPath: path, input, epsilons: SWEEP, options: { threads: Number(process.env.BENCH_THREADS ?? 2) } });
  const sweepMs = performance.now() - t;
  return {
    model: name,
    oneEpsilonMs,
    sweepMs,
    sweepPoints: SWEEP.length,
    localBound: report.runs[0].network.localBound,
    spectralBound: report.runs[0].network.spectralBound,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

const [name, path] = process.argv.slice(2);
main(name, path).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
