// npm run bench: generates the benchmark models (bench/out/, never committed), measures each in a
// process of its own (bench/measure.ts), times the whole engine where it runs (bench/analyze.ts, with a
// time limit), prints the tables, writes bench/out/results.json and compares with bench/baseline.json.
//
//   npm run bench [-- --models cifar10,alexnet] [--update-baseline] [--no-analysis]
//
// Environment: BENCH_THREADS (onnxruntime intra-op threads, default 2), BENCH_TS_BUDGET_MS (wall-time
// budget of the pure-TypeScript Gram pass per model, default 60000).

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { AnalysisMeasurement, OneEpsilonMeasurement } from './analyze';
import type { LanczosMeasurement } from './lanczos';
import type { ModelMeasurement } from './measure';
import { BENCH_MODELS, benchModel, modelPath, OUT_DIR } from './models';

const BENCH_DIR = import.meta.dirname;
const BASELINE = join(BENCH_DIR, 'baseline.json');
const RESULTS = join(OUT_DIR, 'results.json');
const LANCZOS_STEPS = 200;
const SWEEP_POINTS = 10;
/** Whole-engine runs are attempted on these models only, each with this time limit. */
const ANALYSIS_LIMITS_MS: Record<string, number> = { cifar10: 90_000, alexnet: 150_000 };

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runTsx(script: string, args: string[], timeoutMs: number, echo = false): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

function firstLine(text: string): string {
  return text.trim().split('\n').find((l) => l.trim()) ?? '(no message)';
}

type AnalysisOutcome =
  | { model: string; status: 'ok'; result: AnalysisMeasurement }
  | { model: string; status: 'failed' | 'timeout' | 'skipped'; reason: string; oneEpsilon?: OneEpsilonMeasurement };

/** Lanczos vectors per norm of the model: the smaller side of every conv/dense layer. */
function iterateLength(m: ModelMeasurement): number {
  return m.layers.reduce((s, l) => s + Math.min(l.inSize, l.outSize), 0);
}

/** JavaScript bookkeeping of one set of norms (one per layer), scaled from the measured size (∝ n·steps²). */
function bookkeepingMs(m: ModelMeasurement, lanczos: LanczosMeasurement): number {
  return (lanczos.ms * (iterateLength(m) / lanczos.n) * LANCZOS_STEPS ** 2) / lanczos.steps ** 2;
}

/** What one ε and a 10-point sweep would cost with 200 Lanczos steps per norm on the measured operators. */
function projection(m: ModelMeasurement) {
  const setup = m.readMs + m.normaliseMs + m.ortOperatorSessionsMs + m.ortForwardMs;
  // One ε: ‖A‖ and ‖RAD‖ of every layer (two Lanczos runs), plus one row-norm pass.
  const oneEpsilonMs = setup + m.ortRowNormsPassMs + 2 * LANCZOS_STEPS * m.ortGramPassMs;
  // Sweep: ‖A‖ once, then the ε values one after another, or iterated in lockstep as one batch on the
  // layers where a batch is faster per vector (dense layers; onnxruntime's conv gains nothing from it).
  const perEpsilonMs = m.ortRowNormsPassMs + LANCZOS_STEPS * m.ortGramPassMs;
  const sweepSequentialMs = setup + LANCZOS_STEPS * m.ortGramPassMs + SWEEP_POINTS * perEpsilonMs;
  const bestPerVectorMs = m.layers.reduce((s, l) => s + Math.min(l.ortGramMs, l.ortBatchedGramMs), 0);
  const sweepLockstepMs =
    setup + LANCZOS_STEPS * m.ortGramPassMs + SWEEP_POINTS * m.ortRowNormsPassMs + LANCZOS_STEPS * SWEEP_POINTS * bestPerVectorMs;
  return { oneEpsilonMs, sweepSequentialMs, sweepLockstepMs };
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

const f = (value: number, digits = 1) => value.toFixed(digits);

function summaryTable(measurements: ModelMeasurement[]): string {
  const rows = [['model', 'params', 'file MB', 'read s', 'normalise s', 'ORT fwd ms', 'GFLOP/s', 'ORT Gram pass ms', 'GFLOP/s', 'batch-10 ms/vec', 'row norms ms', 'TS Gram ms', 'TS/ORT', 'max rel err', 'peak RSS MiB']];
  for (const m of measurements) {
    rows.push([
      m.model,
      `${f(m.parameters / 1e6, 2)} M`,
      f(m.fileBytes / 2 ** 20),
      f(m.readMs / 1000, 2),
      f(m.normaliseMs / 1000, 2),
      f(m.ortForwardMs, 2),
      f(gflops(m.forwardFlops, m.ortForwardMs)),
      f(m.ortGramPassMs, 2),
      f(gflops(m.gramFlops, m.ortGramPassMs)),
      f(m.ortBatchedGramPassMs, 2),
      f(m.ortRowNormsPassMs, 2),
      m.tsSkipped.length ? `${f(m.tsGramMs, 0)}*` : f(m.tsGramMs, 0),
      `${f(m.tsGramMs / m.ortGramMsSameLayers, 0)}×`,
      m.maxRelativeError.toExponential(1),
      `${f(m.peakRssOrtMiB, 0)} / ${f(m.peakRssMiB, 0)}`,
    ]);
  }
  return table(rows);
}

function layerTable(m: ModelMeasurement): string {
  const rows = [['layer', 'in → out', 'MFLOP', 'ORT ms', 'GFLOP/s', 'batch-10 ms/vec', 'TS ms', 'GFLOP/s', 'TS/ORT', 'rel err']];
  for (const l of m.layers) {
    const ts = l.tsGramMs;
    rows.push([
      l.label,
      `${l.inSize} → ${l.outSize}`,
      f(l.gramFlops / 1e6),
      f(l.ortGramMs, 3),
      f(gflops(l.gramFlops, l.ortGramMs)),
      f(l.ortBatchedGramMs, 3),
      ts === undefined ? 'skipped' : f(ts, 1),
      ts === undefined ? '' : f(gflops(l.gramFlops, ts), 2),
      ts === undefined ? '' : `${f(ts / l.ortGramMs, 0)}×`,
      l.relativeError === undefined ? '' : l.relativeError.toExponential(1),
    ]);
  }
  return table(rows);
}

type Metrics = Record<string, Record<string, number>>;

function metricsOf(measurements: ModelMeasurement[], analyses: AnalysisOutcome[]): Metrics {
  const metrics: Metrics = {};
  for (const m of measurements) {
    const p = projection(m);
    metrics[m.model] = {
      readMs: m.readMs,
      normaliseMs: m.normaliseMs,
      ortForwardMs: m.ortForwardMs,
      ortOperatorSessionsMs: m.ortOperatorSessionsMs,
      ortGramPassMs: m.ortGramPassMs,
      ortBatchedGramPassMs: m.ortBatchedGramPassMs,
      ortRowNormsPassMs: m.ortRowNormsPassMs,
      tsGramMs: m.tsGramMs,
      projectedOneEpsilonMs: p.oneEpsilonMs,
      projectedSweepLockstepMs: p.sweepLockstepMs,
      peakRssOrtMiB: m.peakRssOrtMiB,
    };
  }
  for (const a of analyses) {
    if (a.status !== 'ok') {
      if (a.status !== 'skipped' && a.oneEpsilon) metrics[a.model] = { ...metrics[a.model], analysisOneEpsilonMs: a.oneEpsilon.oneEpsilonMs };
      continue;
    }
    metrics[a.model] = { ...metrics[a.model], analysisOneEpsilonMs: a.result.oneEpsilonMs, analysisSweepMs: a.result.sweepMs };
  }
  return metrics;
}

function comparison(current: Metrics, baseline: Metrics): string {
  const rows = [['model', 'metric', 'baseline', 'current', 'current/baseline']];
  for (const [model, values] of Object.entries(current)) {
    for (const [metric, value] of Object.entries(values)) {
      const before = baseline[model]?.[metric];
      if (before === undefined) continue;
      rows.push([model, metric, f(before, 2), f(value, 2), before > 0 ? f(value / before, 2) : '—']);
    }
  }
  return rows.length > 1 ? table(rows) : '(no metric in common with the baseline)';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const modelsArg = args.indexOf('--models');
  const names = modelsArg >= 0 ? args[modelsArg + 1].split(',') : BENCH_MODELS.map((m) => m.name);
  const specs = names.map(benchModel);
  const started = performance.now();
  console.log(`Lipschitz Lens benchmark — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${f(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`);

  console.log('\nGenerating models (cached in bench/out by content key)…');
  const generated = await runTsx('models.ts', names, 600_000, true);
  if (generated.code !== 0) throw new Error(`model generation failed: ${generated.stderr}`);

  const measurements: ModelMeasurement[] = [];
  for (const spec of specs) {
    process.stdout.write(`Measuring ${spec.name}… `);
    const t = performance.now();
    const result = await runTsx('measure.ts', [spec.name, modelPath(spec)], 600_000);
    if (result.code !== 0) throw new Error(`measuring ${spec.name} failed: ${result.stderr}`);
    measurements.push(lastJsonLine<ModelMeasurement>(result.stdout));
    console.log(`${f((performance.now() - t) / 1000)} s`);
  }

  process.stdout.write('Measuring the Lanczos bookkeeping… ');
  const lanczosRun = await runTsx('lanczos.ts', ['20000', String(LANCZOS_STEPS)], 120_000);
  const lanczos = lanczosRun.code === 0 ? lastJsonLine<LanczosMeasurement>(lanczosRun.stdout) : null;
  console.log(lanczos ? `${f(lanczos.ms / 1000, 2)} s` : `failed: ${firstLine(lanczosRun.stderr)}`);

  const analyses: AnalysisOutcome[] = [];
  for (const spec of specs) {
    const limit = ANALYSIS_LIMITS_MS[spec.name];
    if (args.includes('--no-analysis') || limit === undefined) {
      analyses.push({ model: spec.name, status: 'skipped', reason: limit === undefined ? 'not attempted on this model' : '--no-analysis' });
      continue;
    }
    process.stdout.write(`Whole-engine analysis of ${spec.name} (limit ${limit / 1000} s)… `);
    const result = await runTsx('analyze.ts', [spec.name, modelPath(spec)], limit);
    const oneEpsilon = result.stdout.trim() ? lastJsonLine<OneEpsilonMeasurement>(result.stdout.trim().split('\n')[0]) : undefined;
    if (result.timedOut) analyses.push({ model: spec.name, status: 'timeout', reason: `over ${limit / 1000} s`, oneEpsilon });
    else if (result.code !== 0) analyses.push({ model: spec.name, status: 'failed', reason: firstLine(result.stderr), oneEpsilon });
    else analyses.push({ model: spec.name, status: 'ok', result: lastJsonLine<AnalysisMeasurement>(result.stdout) });
    const outcome = analyses[analyses.length - 1];
    console.log(outcome.status === 'ok' ? 'done' : `${outcome.status}: ${outcome.reason}`);
  }

  console.log(`\n== Summary (${measurements[0]?.threads ?? 2} onnxruntime threads; pass = one product per conv/dense layer) ==`);
  console.log(summaryTable(measurements));
  console.log(
    'Gram pass: D Aᵀ R² A D x on every conv/dense layer. TS = pure TypeScript operators (float64); TS/ORT compares the same layers;' +
      ' * = some layers skipped (time budget). Peak RSS: after the onnxruntime phases / at the end (with TS operators).',
  );
  for (const m of measurements) {
    console.log(`\n-- ${m.model}: per layer --`);
    console.log(layerTable(m));
    if (m.tsSkipped.length) console.log(`pure TS skipped (budget): ${m.tsSkipped.join(', ')}`);
  }

  console.log(`\n== Projection: ${LANCZOS_STEPS} Lanczos steps per norm on the measured ORT operators ==`);
  const rows = [['model', 'one ε s', '10-ε sweep s (sequential)', '10-ε sweep s (lockstep batch)', 'Σ n', 'JS Lanczos bookkeeping per ε s', 'TS operators per ε s']];
  for (const m of measurements) {
    const p = projection(m);
    const tsPerEpsilon = m.tsSkipped.length ? 'n/a' : f((2 * LANCZOS_STEPS * m.tsGramMs) / 1000, 1);
    rows.push([
      m.model,
      f(p.oneEpsilonMs / 1000, 2),
      f(p.sweepSequentialMs / 1000, 2),
      f(p.sweepLockstepMs / 1000, 2),
      String(iterateLength(m)),
      lanczos ? f((2 * bookkeepingMs(m, lanczos)) / 1000, 1) : 'n/a',
      tsPerEpsilon,
    ]);
  }
  console.log(table(rows));
  console.log('one ε = read + normalise + sessions + forward + row norms + 2 × steps × Gram pass (‖A‖ and ‖RAD‖ of every layer);');
  console.log('lockstep = the 10 ε values iterated together, batched on the layers where a batch is faster per vector.');
  console.log('The ε columns leave out the engine\'s JavaScript Lanczos bookkeeping (full reorthogonalisation in float64), projected');
  console.log(
    lanczos
      ? `apart from certifiedNorm on a free operator (n = ${lanczos.n}, ${lanczos.steps} steps: ${f(lanczos.ms / 1000, 2)} s), for the 2 norms of every layer per ε.`
      : 'apart: its measurement failed.',
  );

  console.log('\n== Whole engine (src/engine/pipeline.ts analyzeModelFile) ==');
  for (const a of analyses) {
    if (a.status === 'ok') {
      const r = a.result;
      console.log(`${a.model}: one ε ${f(r.oneEpsilonMs / 1000, 2)} s, ${r.sweepPoints}-point sweep ${f(r.sweepMs / 1000, 2)} s, local ${r.localBound.toPrecision(4)} vs spectral ${r.spectralBound.toPrecision(4)}, peak RSS ${f(r.peakRssMiB, 0)} MiB`);
    } else {
      const first = a.status !== 'skipped' && a.oneEpsilon;
      const done = first ? `; one ε finished in ${f(first.oneEpsilonMs / 1000, 2)} s (local ${first.localBound.toPrecision(4)} vs spectral ${first.spectralBound.toPrecision(4)})` : '';
      console.log(`${a.model}: ${a.status} (${a.reason})${done}`);
    }
  }

  const current = metricsOf(measurements, analyses);
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const date = new Date().toISOString();
  if (lanczos) current.lanczosBookkeeping = { n: lanczos.n, steps: lanczos.steps, ms: lanczos.ms };
  await writeFile(RESULTS, JSON.stringify({ date, machine, measurements, lanczos, analyses, metrics: current }, null, 2));
  console.log(`\nResults: ${RESULTS}`);

  if (existsSync(BASELINE) && !args.includes('--update-baseline')) {
    const baseline = JSON.parse(readFileSync(BASELINE, 'utf8')) as { date: string; metrics: Metrics };
    console.log(`\n== Compared with bench/baseline.json (${baseline.date}) ==`);
    console.log(comparison(current, baseline.metrics));
  } else {
    await writeFile(BASELINE, JSON.stringify({ date, machine, metrics: current }, null, 2) + '\n');
    console.log(`Baseline written: ${BASELINE}`);
  }
  console.log(`\nTotal ${f((performance.now() - started) / 1000)} s`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
