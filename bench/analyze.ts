// Times one run of the whole engine (src/engine/pipeline.ts analyzeModelFile) on one benchmark model,
// in a process of its own: cold (no ‖A‖ cache, nothing compiled yet) and with its own peak RSS.
// bench/run.ts starts one child per run with a time limit, so a slow run never holds up the benchmark.
// The witnessed lower-bound search is switched off: it is not part of the engine time the targets
// (issue #5) are about.
//
// Prints a JSON line as each layer starts and finishes (EngineProgress), so a run cut off by its limit
// still says how far it got, where it was and what each finished layer cost; then one EngineRunMeasurement.
//
//   tsx bench/analyze.ts <run> <model name> <model path> [engine bundle]
//
// run: native-one | native-sweep | webassembly-one | typescript-one. The engine bundle (bench/run.ts builds it) is
// src/engine/pipeline.ts bundled as dist/ ships it; without it the sources are run through tsx, whose
// per-closure name wrappers make some hot paths (the forward pass) measurably slower.

import { resolve } from 'node:path';
import type { EngineStats } from '../src/shared/results';
import { benchModel, writeBenchInput } from './models';

const SWEEP = Array.from({ length: 10 }, (_, i) => 1e-4 * 10 ** ((5 * i) / 9));
export const ONE_EPSILON = 1e-3;

export const ENGINE_RUNS = {
  'native-one': { backend: 'native', epsilons: [ONE_EPSILON], title: 'native, one ε' },
  'native-sweep': { backend: 'native', epsilons: SWEEP, title: `native, ${SWEEP.length}-ε sweep` },
  'webassembly-one': { backend: 'webassembly', epsilons: [ONE_EPSILON], title: 'WebAssembly, one ε' },
  'typescript-one': { backend: 'typescript', epsilons: [ONE_EPSILON], title: 'TypeScript, one ε' },
} as const;
export type EngineRunKind = keyof typeof ENGINE_RUNS;

export interface LayerTime {
  label: string;
  kind: string;
  epsilonIndex: number;
  timeMs: number;
  /** Lanczos steps of the layer's norms (local, and conservative at the first ε); 0 on exact or closed-form paths. */
  lanczosSteps: number;
}

export interface EngineProgress {
  type: 'progress';
  /** Layer results so far, over all ε, out of layerCount × ε values. */
  layersDone: number;
  layersTotal: number;
  /** The layer just finished, or (null) the one just started. */
  finished: LayerTime | null;
  current: string;
  /** Into the analyzeModelFile call. */
  elapsedMs: number;
  /** So far: a run stopped by its limit still reports its memory. */
  peakRssMiB: number;
}

export interface EngineRunMeasurement {
  type: 'result';
  run: EngineRunKind;
  model: string;
  epsilons: number;
  /** analyzeModelFile from call to report: load (read + normalise + input) and engine. */
  wallMs: number;
  stats: EngineStats;
  /** The network bounds at the first ε, to spot a broken run at a glance. */
  localBound: number;
  spectralBound: number;
  layers: LayerTime[];
  peakRssMiB: number;
}

function isEngineRunKind(value: string): value is EngineRunKind {
  return Object.hasOwn(ENGINE_RUNS, value);
}

type Pipeline = typeof import('../src/engine/pipeline');

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function main(run: EngineRunKind, name: string, path: string, engineBundle: string | undefined): Promise<EngineRunMeasurement> {
  const spec = benchModel(name);
  const plan = ENGINE_RUNS[run];
  const inputPath = await writeBenchInput(spec);
  // Loaded here, not imported at the top: a failing engine import is reported as this run's status.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { analyzeModelFile } = engineBundle ? (require(engineBundle) as Pipeline) : await import('../src/engine/pipeline');
  const layers: LayerTime[] = [];
  const started = performance.now();
  const report = await analyzeModelFile(
    {
      modelPath: path,
      input: { kind: 'file', path: inputPath },
      epsilons: [...plan.epsilons],
      options: { backend: plan.backend, threads: Number(process.env.BENCH_THREADS ?? 2), lowerBound: false },
    },
    {
      onProgress: (event) => {
        if (event.kind !== 'layer' && event.kind !== 'layerResult') return;
        let finished: LayerTime | null = null;
        if (event.kind === 'layerResult') {
          const { label, kind, timeMs, certificate, spectralCertificate } = event.layer;
          // The conservative norm is computed at the first ε only and reused (with its certificate) after.
          const lanczosSteps = (event.epsilonIndex === 0 ? [certificate, spectralCertificate] : [certificate])
            .filter((c) => c.method === 'lanczos-random-start')
            .reduce((steps, c) => steps + (c.iterations ?? 0), 0);
          finished = { label, kind, epsilonIndex: event.epsilonIndex, timeMs, lanczosSteps };
          layers.push(finished);
        }
        const progress: EngineProgress = {
          type: 'progress',
          layersDone: layers.length,
          layersTotal: event.layerCount * plan.epsilons.length,
          finished,
          current: event.kind === 'layer' ? event.label : event.layer.label,
          elapsedMs: performance.now() - started,
          peakRssMiB: peakRssMiB(),
        };
        console.log(JSON.stringify(progress));
      },
    },
  );
  const wallMs = performance.now() - started;
  if (!report.stats) throw new Error('the engine returned no stats');
  return {
    type: 'result',
    run,
    model: name,
    epsilons: plan.epsilons.length,
    wallMs,
    stats: report.stats,
    localBound: report.runs[0].network.localBound,
    spectralBound: report.runs[0].network.spectralBound,
    layers,
    peakRssMiB: peakRssMiB(),
  };
}

// bench/run.ts imports the run table from this file; only a direct start runs the engine.
if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const [run, name, path, engineBundle] = process.argv.slice(2);
  if (!run || !isEngineRunKind(run) || !name || !path) {
    console.error(`usage: tsx bench/analyze.ts <${Object.keys(ENGINE_RUNS).join(' | ')}> <model name> <model path> [engine bundle]`);
    process.exitCode = 2;
  } else {
    main(run, name, path, engineBundle).then(
      (result) => console.log(JSON.stringify(result)),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
      },
    );
  }
}
