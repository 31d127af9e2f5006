// The engine log's lines for a finished analysis (src/host/analysisLog.ts), on reports from the real
// bundled worker, along the fallback order native → WebAssembly → TypeScript: with the repository's
// native kernels; with only the WebAssembly build beside a worker bundled outside the repository (and
// with the native kernels switched off); with neither; with a kernels.node or kernels.wasm that does not
// load; and with the TypeScript operators asked for. A fallback must be a warning a user can act on,
// never a developer command.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analysisLogEntries, inputUsed, type LogEntry } from '../../src/host/analysisLog';
import { EngineClient, type EngineLog } from '../../src/host/engineClient';
import type { AnalyzeParams, BoundReport } from '../../src/shared/protocol';
import { buildWorkerBundle } from './helpers/buildWorker';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const TINY = join(FIXTURES, 'tiny.onnx');

const params: AnalyzeParams = {
  modelPath: TINY,
  epsilon: 0.1,
  sweep: [],
  input: { kind: 'auto' },
  options: { failureProbability: 1e-6, exactCutoff: 512, lanczosSteps: 200, threads: 1, computeRadius: false, radiusTolerance: 0.02, composedBudget: 6 },
};

const silent: EngineLog = { debug() {}, info() {}, warn() {}, error() {} };

const folders: string[] = [];
const engines: EngineClient[] = [];
after(() => {
  engines.forEach((engine) => engine.dispose());
  folders.forEach((folder) => rmSync(folder, { recursive: true, force: true }));
});

const BUILT_WASM = join(import.meta.dirname, '..', '..', 'dist', 'native', 'kernels.wasm');

/**
 * Analyses tiny.onnx in a real worker bundled under `parent` (default: the repository's out/), started
 * with LIPSCHITZ_LENS_KERNELS = `kernels` (unset when undefined; the worker copies the environment).
 */
async function analyzeWithWorker(parent?: string, prepare?: (workerFolder: string) => void, kernels?: string): Promise<BoundReport> {
  const workerPath = await buildWorkerBundle(parent);
  folders.push(dirname(workerPath));
  prepare?.(dirname(workerPath));
  const engine = new EngineClient({ workerPath, testMode: true, log: silent });
  engines.push(engine);
  const saved = process.env.LIPSCHITZ_LENS_KERNELS;
  if (kernels === undefined) delete process.env.LIPSCHITZ_LENS_KERNELS;
  else process.env.LIPSCHITZ_LENS_KERNELS = kernels;
  try {
    return await engine.request('analyze', params);
  } finally {
    if (saved === undefined) delete process.env.LIPSCHITZ_LENS_KERNELS;
    else process.env.LIPSCHITZ_LENS_KERNELS = saved;
  }
}

/** Puts the repository's built kernels.wasm beside a worker, as the universal package does. */
function withWasm(folder: string): void {
  mkdirSync(join(folder, 'native'), { recursive: true });
  copyFileSync(BUILT_WASM, join(folder, 'native', 'kernels.wasm'));
}

function outsideRepository(): string {
  const folder = mkdtempSync(join(tmpdir(), 'lipschitz-lens-log-'));
  folders.push(folder);
  return folder;
}

function assertUserFacingFallback(entries: LogEntry[], reason: RegExp, ran = /^Kernels: TypeScript operators, tens of times slower than the native kernels: /): void {
  const kernels = entries.find((entry) => entry.message.startsWith('Kernels:'));
  assert.ok(kernels, `a kernels line: ${JSON.stringify(entries)}`);
  assert.equal(kernels.level, 'warn', 'a fallback is a warning');
  assert.match(kernels.message, ran);
  assert.match(kernels.message, reason);
  assert.match(kernels.message, /The results are the same, only slower[.;]/);
  assert.doesNotMatch(kernels.message, /esbuild/, 'no developer command in a user-facing reason');
}

describe('engine log lines of an analysis', () => {
  it('name the native kernels, the example input beside the model and the time per phase', async () => {
    const report = await analyzeWithWorker();
    const entries = analysisLogEntries(params, report);
    assert.deepEqual(entries.map((entry) => entry.level), ['info', 'info', 'info']);
    assert.equal(entries[0].message, `Input: ${join(FIXTURES, 'tiny.input.json')}, shape [${report.input.shape.join(', ')}].`);
    assert.match(entries[1].message, /^Kernels: native kernels \((avx512|avx2|generic), 1 threads\)\.$/);
    assert.match(
      entries[2].message,
      /^Time: \d[\d.e-]* s \(load \d[\d.e-]* s, forward \d[\d.e-]* s, fidelity \d[\d.e-]* s, row norms \d[\d.e-]* s, spectral norms \d[\d.e-]* s(?:, composed bound \d[\d.e-]* s)?, lower bounds \d[\d.e-]* s\); \d+ operator applications, \d[\d.e-]* GFLOP\.$/,
    );
  });

  it('warn, naming the WebAssembly kernels and why, where only they are installed (the universal package off linux-x64)', async () => {
    const report = await analyzeWithWorker(outsideRepository(), withWasm);
    assert.equal(report.stats?.backend, 'webassembly');
    assert.equal(report.stats?.threads, 1);
    assertUserFacingFallback(
      analysisLogEntries(params, report),
      new RegExp(`no native kernels for ${process.platform}-${process.arch}\\. .*The linux-x64 package`),
      /^Kernels: WebAssembly SIMD128, 1 thread, slower than the native kernels on all cores: /,
    );
    assert.ok((report.notes ?? []).some((note) => note.startsWith('Operators: WebAssembly SIMD128, 1 thread')), JSON.stringify(report.notes));
  });

  it('warn, naming the WebAssembly kernels, when LIPSCHITZ_LENS_KERNELS=webassembly switches the native ones off', async () => {
    const report = await analyzeWithWorker(undefined, undefined, 'webassembly');
    assert.equal(report.stats?.backend, 'webassembly');
    assertUserFacingFallback(
      analysisLogEntries(params, report),
      /LIPSCHITZ_LENS_KERNELS=webassembly asks for the WebAssembly kernels\. The results are the same, only slower; unset it to use the native kernels\.$/,
      /^Kernels: WebAssembly SIMD128, 1 thread, slower than the native kernels on all cores: /,
    );
  });

  it('warn, with both reasons and what to do, when no kernels at all are installed for this platform', async () => {
    const report = await analyzeWithWorker(outsideRepository());
    assert.equal(report.stats?.backend, 'typescript');
    assertUserFacingFallback(
      analysisLogEntries(params, report),
      new RegExp(`no native kernels for ${process.platform}-${process.arch}\\. .*The linux-x64 package.*The WebAssembly kernels are missing from this installation too: reinstall the extension`),
    );
  });

  it('warn, with the loader error, when the WebAssembly kernels beside the worker are broken', async () => {
    const report = await analyzeWithWorker(outsideRepository(), (folder) => {
      mkdirSync(join(folder, 'native'));
      writeFileSync(join(folder, 'native', 'kernels.wasm'), 'not a WebAssembly module');
    });
    assert.equal(report.stats?.backend, 'typescript');
    assertUserFacingFallback(analysisLogEntries(params, report), /The WebAssembly kernels at .*kernels\.wasm do not load either \(.+\): reinstall the extension\.$/);
  });

  it('warn when LIPSCHITZ_LENS_KERNELS=typescript asks for the reference operators', async () => {
    const report = await analyzeWithWorker(undefined, undefined, 'typescript');
    assert.equal(report.stats?.backend, 'typescript');
    const kernels = analysisLogEntries(params, report).find((entry) => entry.message.startsWith('Kernels:'));
    assert.equal(kernels?.level, 'warn');
    assert.match(kernels?.message ?? '', /^Kernels: TypeScript operators, tens of times slower than the native kernels: LIPSCHITZ_LENS_KERNELS=typescript asks for the TypeScript operators\. The results are the same, only slower; unset it/);
  });

  it('warn, with the loader error, when the kernels do not load on this system', async () => {
    const report = await analyzeWithWorker(outsideRepository(), (folder) => {
      mkdirSync(join(folder, 'native'));
      writeFileSync(join(folder, 'native', 'kernels.node'), 'not a shared object');
    });
    assertUserFacingFallback(analysisLogEntries(params, report), /the native kernels do not load on this system \(.*kernels\.node.*\)\. .*glibc 2\.28 or newer/);
  });

  it('say which file or synthetic input was used', () => {
    const shape = { shape: [1, 2] };
    assert.equal(inputUsed({ modelPath: '/m/a.onnx', input: { kind: 'file', path: '/data/x0.npy' } }, { input: { source: 'npy', origin: 'x0.npy', ...shape } }), '/data/x0.npy');
    assert.equal(inputUsed({ modelPath: '/m/a.onnx', input: { kind: 'auto' } }, { input: { source: 'example', origin: 'a.input.json', ...shape } }), join('/m', 'a.input.json'));
    assert.equal(
      inputUsed({ modelPath: '/m/a.onnx', input: { kind: 'synthetic' } }, { input: { source: 'synthetic', origin: 'synthetic input (a pattern)', ...shape } }),
      'synthetic input (a pattern)',
    );
  });
});
