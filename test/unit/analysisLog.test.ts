// The engine log's lines for a finished analysis (src/host/analysisLog.ts), on reports from the real
// bundled worker: with the repository's native kernels, with none beside it (a worker bundled outside
// the repository), and with a kernels.node that does not load. The fallback must be a warning a user
// can act on, never a developer command.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  options: { failureProbability: 1e-6, exactCutoff: 512, lanczosSteps: 200, threads: 1, computeRadius: false },
};

const silent: EngineLog = { debug() {}, info() {}, warn() {}, error() {} };

const folders: string[] = [];
const engines: EngineClient[] = [];
after(() => {
  engines.forEach((engine) => engine.dispose());
  folders.forEach((folder) => rmSync(folder, { recursive: true, force: true }));
});

/** Analyses tiny.onnx in a real worker bundled under `parent` (default: the repository's out/). */
async function analyzeWithWorker(parent?: string, prepare?: (workerFolder: string) => void): Promise<BoundReport> {
  const workerPath = await buildWorkerBundle(parent);
  folders.push(dirname(workerPath));
  prepare?.(dirname(workerPath));
  const engine = new EngineClient({ workerPath, testMode: true, log: silent });
  engines.push(engine);
  return engine.request('analyze', params);
}

function outsideRepository(): string {
  const folder = mkdtempSync(join(tmpdir(), 'lipschitz-lens-log-'));
  folders.push(folder);
  return folder;
}

function assertUserFacingFallback(entries: LogEntry[], reason: RegExp): void {
  const kernels = entries.find((entry) => entry.message.startsWith('Kernels:'));
  assert.ok(kernels, `a kernels line: ${JSON.stringify(entries)}`);
  assert.equal(kernels.level, 'warn', 'a fallback is a warning');
  assert.match(kernels.message, /^Kernels: TypeScript operators, tens of times slower than the native kernels: /);
  assert.match(kernels.message, reason);
  assert.match(kernels.message, /The results are the same, only slower\./);
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
      /^Time: \d+\.\d\d s \(load \d+\.\d\d s, forward \d+\.\d\d s, fidelity \d+\.\d\d s, row norms \d+\.\d\d s, spectral norms \d+\.\d\d s, lower bounds \d+\.\d\d s\); \d+ operator applications, \d+\.\d GFLOP\.$/,
    );
  });

  it('warn, with a reason and what to do, when no kernels are installed for this platform', async () => {
    const report = await analyzeWithWorker(outsideRepository());
    assert.equal(report.stats?.backend, 'typescript');
    assertUserFacingFallback(analysisLogEntries(params, report), new RegExp(`no native kernels for ${process.platform}-${process.arch}\\. .*The linux-x64 package`));
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
