// The PyTorch reference step of `npm run bench`: the paper's method as its authors run it
// (bench/pytorchReference.py: float32, 100 power iterations per norm, uncertified) next to the whole
// CLI with default options on the same model, input and ε, each in a fresh process, in the same run,
// so the ratio is not spoilt by the load of the machine changing between runs. It installs nothing:
// without Debian's python3-torch the step is skipped with the reason.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AnalysisResult, LayerResult } from '../src/shared/results';

/** Debian's interpreter, the one python3-torch installs for (another python3 may come first on PATH). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'pytorchReference.py');
const PROCESS_USAGE = join(import.meta.dirname, 'processUsage.cjs');
const USAGE_MARK = 'BENCH_PROCESS_USAGE ';

export const PYTORCH_TITLE = 'PyTorch (paper\'s method, float32, 100 power iterations, uncertified)';

/** Per-run time limits (ms): the issue-17 measurements were 3.9 s, 20 s and 193 s (PyTorch), 1.5 s, 16 s and 291 s (CLI, before the composed bound, which takes VGG-16's to tens of minutes). */
export const REFERENCE_LIMIT_MS: Record<string, number> = { cifar10: 120_000, alexnet: 300_000, vgg16: 3_600_000 };

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The whole process, start to exit. */
  wallMs: number;
}

function runProcess(command: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | null, error = '') => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr + error, timedOut, wallMs: performance.now() - started });
    };
    child.on('error', (error) => finish(null, error.message));
    child.on('close', (code) => finish(code));
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim());
  return lines[lines.length - 1] ?? '(no message)';
}

/** '' when /usr/bin/python3 can import torch, else why the step is skipped. */
export async function pytorchProblem(): Promise<string> {
  const probe = await runProcess(PYTHON, ['-c', 'import torch'], 120_000);
  if (probe.code === 0) return '';
  const cause = probe.timedOut ? 'importing torch took over 2 minutes' : lastLine(probe.stderr);
  return `${PYTHON} cannot import torch (${cause}); \`sudo apt-get install python3-torch\` adds the column`;
}

/** bench/pytorchReference.py's output (seconds, as Python measures them). */
export interface PytorchResult {
  model: string;
  epsilon: number;
  threads: number;
  torchVersion: string;
  powerIterations: number;
  importSeconds: number;
  loadSeconds: number;
  forwardSeconds: number;
  localSeconds: number;
  spectralSeconds: number;
  /** From the script's first line: the interpreter's own start-up is in the process wall time only. */
  totalSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  localBound: number;
  spectralBound: number;
  layers: { kind: string; epsilonIn: number; localBound: number; spectralNorm: number; localSeconds: number; spectralSeconds: number }[];
}

export type ReferenceRun<T> = { status: 'done'; result: T; processMs: number } | { status: 'timeout' | 'failed'; reason: string; processMs: number };

/** bench/processUsage.cjs's line: ms since the CLI process's time origin, CPU of all its threads, peak RSS. */
export interface CliProcessUsage {
  cpuMs: number;
  maxRssMiB: number;
  preloadAtMs: number;
  firstStdoutAtMs?: number;
  exitAtMs: number;
}

export type CliRun = ReferenceRun<AnalysisResult> & { usage?: CliProcessUsage };

export async function runPytorch(descriptionPath: string, epsilon: number, threads: number, limitMs: number): Promise<ReferenceRun<PytorchResult>> {
  const child = await runProcess(PYTHON, [SCRIPT, descriptionPath, String(epsilon)], limitMs, { ...process.env, BENCH_THREADS: String(threads) });
  if (child.timedOut) return { status: 'timeout', reason: `over ${limitMs / 1000} s`, processMs: child.wallMs };
  if (child.code !== 0) return { status: 'failed', reason: lastLine(child.stderr), processMs: child.wallMs };
  return { status: 'done', result: JSON.parse(lastLine(child.stdout)) as PytorchResult, processMs: child.wallMs };
}

/**
 * The CLI as a user runs it (default options: lower-bound search and fidelity check on), JSON report,
 * with a memory budget of 16 GB: VGG-16's analysis is estimated at about 7.7 GB (peak 7 150 MiB), above
 * the default 4 GB, which would refuse it before it starts.
 */
export async function runCli(cliBundle: string, modelPath: string, inputPath: string, epsilon: number, threads: number, limitMs: number): Promise<CliRun> {
  const args = ['--require', PROCESS_USAGE, cliBundle, 'analyze', modelPath, '--input', inputPath, '--eps', String(epsilon), '--threads', String(threads), '--max-memory', '16', '--json', '--quiet'];
  const child = await runProcess(process.execPath, args, limitMs);
  const usageLine = child.stderr.split('\n').find((l) => l.startsWith(USAGE_MARK));
  const usage = usageLine ? (JSON.parse(usageLine.slice(USAGE_MARK.length)) as CliProcessUsage) : undefined;
  const stderr = child.stderr.split('\n').filter((l) => !l.startsWith(USAGE_MARK)).join('\n');
  if (child.timedOut) return { status: 'timeout', reason: `over ${limitMs / 1000} s`, processMs: child.wallMs };
  if (child.code !== 0) return { status: 'failed', reason: lastLine(stderr), processMs: child.wallMs, usage };
  return { status: 'done', result: JSON.parse(lastLine(child.stdout)) as AnalysisResult, processMs: child.wallMs, usage };
}

export interface ReferenceComparison {
  model: string;
  pytorch: ReferenceRun<PytorchResult> | { status: 'skipped'; reason: string };
  cli: CliRun | { status: 'skipped'; reason: string };
  /** The engine alone (bench/analyze.ts's native one-ε run, lower-bound search off), ms. */
  engineMs?: number;
}

/** The affine layers of our report, in order: the ones PyTorch computes a power-iteration norm for. */
function affineLayers(report: AnalysisResult): LayerResult[] {
  return report.runs[0].layers.filter((l) => l.spectralCertificate.method !== 'closed-form');
}

const f = (value: number, digits: number) => value.toFixed(digits);
const s = (ms: number) => f(ms / 1000, 2);
const ratio = (value: number) => `${f(value, 2)}×`;

function statusText(run: ReferenceComparison['pytorch'] | ReferenceComparison['cli']): string {
  return run.status === 'done' ? '' : run.status === 'skipped' ? `skipped: ${run.reason}` : `${run.status}: ${run.reason}`;
}

export function referenceTable(comparisons: ReferenceComparison[]): string[][] {
  const rows = [[
    'model', 'PyTorch process s', 'CPU s', 'of it import torch s', 'local / spectral s', 'CLI process s', 'CPU s', 'CLI / PyTorch',
    'CPU ratio', 'engine s (lower bound off)', 'engine / PyTorch', 'layer product ours / PyTorch', 'spectral ours / PyTorch', 'our network bound / PyTorch',
  ]];
  for (const c of comparisons) {
    const torch = c.pytorch.status === 'done' ? c.pytorch : undefined;
    const cli = c.cli.status === 'done' ? c.cli : undefined;
    const ours = cli?.result.runs[0].network;
    const cliCpuMs = cli?.usage?.cpuMs;
    rows.push([
      c.model,
      torch ? s(torch.processMs) : statusText(c.pytorch),
      torch ? f(torch.result.cpuSeconds, 2) : '',
      torch ? f(torch.result.importSeconds, 2) : '',
      torch ? `${f(torch.result.localSeconds, 2)} / ${f(torch.result.spectralSeconds, 2)}` : '',
      cli ? s(cli.processMs) : statusText(c.cli),
      cliCpuMs === undefined ? '' : s(cliCpuMs),
      torch && cli ? ratio(cli.processMs / torch.processMs) : '',
      torch && cliCpuMs !== undefined ? ratio(cliCpuMs / 1000 / torch.result.cpuSeconds) : '',
      c.engineMs === undefined ? 'n/a' : s(c.engineMs),
      torch && c.engineMs !== undefined ? ratio(c.engineMs / torch.processMs) : '',
      torch && ours ? f(ours.layerProduct / torch.result.localBound, 4) : '',
      torch && ours ? f(ours.spectralBound / torch.result.spectralBound, 4) : '',
      torch && ours ? f(ours.localBound / torch.result.localBound, 4) : '',
    ]);
  }
  return rows;
}

/**
 * Where the CLI process's wall time goes: the report's phases, and the rest split by the preload's
 * timestamps (ms since the process's time origin): Node's start-up until the preload; module loading,
 * argument parsing and turning the report into JSON (the time to its stdout write, less the phases);
 * the event loop draining from that write until 'exit'; the exit itself plus spawning as the parent
 * sees them.
 */
export function cliProcessTable(comparisons: ReferenceComparison[]): string[][] {
  const rows = [[
    'model', 'process s', 'load s', 'analysis s', 'outside s', 'Node start s', 'modules, args, JSON s', 'stdout → exit s', 'exit + spawn s',
    'peak RSS MiB',
  ]];
  for (const c of comparisons) {
    if (c.cli.status !== 'done') continue;
    const phases = c.cli.result.stats?.phases;
    const loadMs = phases?.loadMs ?? 0;
    const analysisMs = phases?.totalMs ?? 0;
    const u = c.cli.usage;
    const reportAt = u?.firstStdoutAtMs;
    rows.push([
      c.model,
      s(c.cli.processMs),
      s(loadMs),
      s(analysisMs),
      s(c.cli.processMs - loadMs - analysisMs),
      u ? s(u.preloadAtMs) : '',
      u && reportAt !== undefined ? s(reportAt - loadMs - analysisMs - u.preloadAtMs) : '',
      u && reportAt !== undefined ? s(u.exitAtMs - reportAt) : '',
      u ? s(c.cli.processMs - u.exitAtMs) : '',
      u ? f(u.maxRssMiB, 0) : '',
    ]);
  }
  return rows;
}

/**
 * Per affine layer: PyTorch's power-iteration ‖A‖ and local bound against our estimate and certified
 * value. Our certified ‖A‖ may not be below theirs beyond float32 rounding; where ours is exact their
 * estimate should agree to about 1e-3.
 */
export function layerNormTable(comparison: ReferenceComparison): string[][] | undefined {
  if (comparison.pytorch.status !== 'done' || comparison.cli.status !== 'done') return undefined;
  const theirs = comparison.pytorch.result.layers.filter((l) => l.kind === 'conv' || l.kind === 'fc');
  const ours = affineLayers(comparison.cli.result);
  if (theirs.length !== ours.length) return [[`layer counts differ: PyTorch ${theirs.length} affine layers, ours ${ours.length}`]];
  const rows = [[
    'layer', 'PyTorch ‖A‖', 'our ‖A‖ estimate', 'our certified ‖A‖', 'certificate', 'certified / PyTorch − 1',
    'PyTorch local', 'our local', 'ours / PyTorch − 1',
  ]];
  ours.forEach((layer, i) => {
    const t = theirs[i];
    const estimate = layer.spectralCertificate.estimate ?? layer.spectralNorm;
    rows.push([
      layer.label,
      t.spectralNorm.toPrecision(7),
      estimate.toPrecision(7),
      layer.spectralNorm.toPrecision(7),
      layer.spectralCertificate.method,
      (layer.spectralNorm / t.spectralNorm - 1).toExponential(2),
      t.localBound.toPrecision(7),
      layer.localBound.toPrecision(7),
      (layer.localBound / t.localBound - 1).toExponential(2),
    ]);
  });
  return rows;
}

/**
 * Models where our certified layer product (the paper's composition, which PyTorch computes) or
 * spectral product is below PyTorch's power-iteration estimate by more than float32 rounding could
 * explain: power iteration only underestimates, so that would point to a bug. Our network bound may
 * well be below it: the composed bound is another, tighter quantity.
 */
export function boundsBelowReference(comparisons: ReferenceComparison[]): string[] {
  const problems: string[] = [];
  for (const c of comparisons) {
    if (c.pytorch.status !== 'done' || c.cli.status !== 'done') continue;
    const ours = c.cli.result.runs[0].network;
    const theirs = c.pytorch.result;
    for (const [name, our, their] of [['layer product', ours.layerProduct, theirs.localBound], ['spectral', ours.spectralBound, theirs.spectralBound]] as const) {
      if (our < their * (1 - 1e-3)) problems.push(`${c.model}: our ${name} bound ${our.toPrecision(6)} is below PyTorch's estimate ${their.toPrecision(6)}`);
    }
  }
  return problems;
}

export interface Issue17Target {
  title: string;
  limit: string;
  measured?: string;
  result: 'met' | 'not met' | 'not run';
  note: string;
}

/** Issue 17's targets: AlexNet CLI ≤ 0.35× PyTorch, VGG-16 ≤ 0.5× PyTorch (same run), CIFAR-10 engine ≤ 0.3 s. */
export function issue17Targets(comparisons: ReferenceComparison[], cifarEngineMs: number | undefined, cifarNote: string): Issue17Target[] {
  const versus = (model: string, title: string, limit: number): Issue17Target => {
    const c = comparisons.find((x) => x.model === model);
    const base = { title, limit: `${limit}×` };
    if (!c) return { ...base, result: 'not run', note: 'model not benchmarked' };
    if (c.pytorch.status !== 'done') return { ...base, result: 'not run', note: `PyTorch ${statusText(c.pytorch)}` };
    if (c.cli.status !== 'done') return { ...base, result: c.cli.status === 'skipped' ? 'not run' : 'not met', note: `CLI ${statusText(c.cli)}` };
    const value = c.cli.processMs / c.pytorch.processMs;
    const cpu = c.cli.usage ? `; CPU time ${ratio(c.cli.usage.cpuMs / 1000 / c.pytorch.result.cpuSeconds)}` : '';
    return { ...base, measured: `${f(value, 2)}×`, result: value <= limit ? 'met' : 'not met', note: `wall ${s(c.cli.processMs)} s vs ${s(c.pytorch.processMs)} s${cpu}` };
  };
  const cifar: Issue17Target =
    cifarEngineMs === undefined
      ? { title: 'CIFAR-10 one ε, engine time', limit: '0.3 s', result: 'not run', note: cifarNote }
      : { title: 'CIFAR-10 one ε, engine time', limit: '0.3 s', measured: `${s(cifarEngineMs)} s`, result: cifarEngineMs <= 300 ? 'met' : 'not met', note: 'lower-bound search off' };
  return [
    versus('alexnet', 'AlexNet one ε, whole CLI (default options) / PyTorch', 0.35),
    versus('vgg16', 'VGG-16 one ε, whole CLI (default options) / PyTorch', 0.5),
    cifar,
  ];
}
