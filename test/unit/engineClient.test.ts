// The engine client against the real (bundled) worker: lazy start, errors as rejections, a crash
// mid-request rejecting every pending request with one sentence, and a restart on the next request;
// the same for a worker over its heap limit and for one that stops sending anything (the watchdog,
// whose timer the test trips by hand once the worker has announced its hang).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ENGINE_OUT_OF_MEMORY_MESSAGE,
  ENGINE_SHUT_DOWN_MESSAGE,
  ENGINE_STALLED_MESSAGE,
  ENGINE_STOPPED_MESSAGE,
  EngineClient,
  type EngineClientOptions,
  type EngineLog,
} from '../../src/host/engineClient';
import type { AnalyzeParams } from '../../src/shared/protocol';
import { RequestError } from '../../src/shared/rpc';
import { buildWorkerBundle } from './helpers/buildWorker';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');

function recordingLog(): EngineLog & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { lines, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => assert.fail('expected the request to reject'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof RequestError, `expected a RequestError, got ${String(error)}`);
  return error;
}

const analyzeParams: AnalyzeParams = {
  modelPath: TINY,
  epsilon: 0.1,
  sweep: [],
  input: { kind: 'synthetic' },
  options: { failureProbability: 1e-6, exactCutoff: 512, lanczosSteps: 200, threads: 1, computeRadius: false, radiusTolerance: 0.02, composedBudget: 6 },
};

describe('engine client with the real worker', () => {
  let workerPath: string;
  const clients: EngineClient[] = [];
  function client(testMode = true, limits: Pick<EngineClientOptions, 'maxHeapMb' | 'watchdogTimer'> = {}) {
    const log = recordingLog();
    const engine = new EngineClient({ workerPath, testMode, log, ...limits });
    clients.push(engine);
    return { engine, log };
  }

  before(async () => {
    workerPath = await buildWorkerBundle();
  });
  after(() => {
    clients.forEach((engine) => engine.dispose());
    rmSync(dirname(workerPath), { recursive: true, force: true });
  });

  it('starts the worker lazily, once, and describes the fixture model', async () => {
    const { engine } = client();
    assert.equal(engine.startCount, 0, 'no worker before the first request');
    const overview = await engine.request('describeModel', { path: TINY });
    await engine.request('describeModel', { path: TINY });
    assert.equal(engine.startCount, 1);
    // test/fixtures/makeTinyFixture.mjs writes these.
    assert.equal(overview.fileName, 'tiny.onnx');
    assert.equal(overview.producerName, 'lipschitz-lens makeTinyFixture');
    assert.deepEqual(overview.opsets, [{ domain: '', version: 13 }]);
    // One row per analysis layer: the Relu joins the Gemm before it.
    assert.deepEqual(overview.rows.map((row) => row.opTypes.join('+')), ['Gemm+Relu', 'Gemm']);
  });

  it('replies with a failure, as a rejection, for a file that is not ONNX', async () => {
    const { engine } = client();
    const error = await rejection(engine.request('describeModel', { path: join(import.meta.dirname, 'rpc.test.ts') }));
    assert.equal(error.code, 'failed');
    assert.match(error.message, /rpc\.test\.ts/, 'the message names the file');
    assert.equal(engine.isRunning, true, 'a failed request does not kill the worker');
  });

  it('rejects an invalid ε as data', async () => {
    const { engine } = client();
    const error = await rejection(engine.request('analyze', { ...analyzeParams, epsilon: -1 }));
    assert.equal(error.code, 'failed');
    assert.match(error.message, /Invalid perturbation radius -1/);
  });

  for (const how of ['exit', 'throw'] as const) {
    it(`a worker that dies mid-request (${how}) rejects every pending request with one sentence, then restarts`, async () => {
      const { engine, log } = client();
      let crashing = false;
      const crash = engine.request('crashForTest', { how }, { onProgress: () => (crashing = true) });
      // A second request that never answers on its own, so it is certainly pending at the crash.
      const bystander = engine.request('crashForTest', { how });
      const crashError = await rejection(crash);
      const bystanderError = await rejection(bystander);
      assert.equal(crashing, true, 'the worker was inside the request when it died');
      for (const error of [crashError, bystanderError]) {
        assert.equal(error.code, 'disconnected');
        assert.equal(error.message, ENGINE_STOPPED_MESSAGE);
        assert.match(error.detail ?? '', /exited with code/);
      }
      assert.ok(log.lines.some((line) => line.startsWith('error: Engine worker exited')), 'details went to the log');
      const overview = await engine.request('describeModel', { path: TINY });
      assert.equal(overview.fileName, 'tiny.onnx');
      assert.equal(engine.startCount, 2, 'the next request started a new worker');
    });
  }

  /** The watchdog's timer, tripped by the test: how long "too long" is does not matter here. */
  const manualTimer = () => {
    let pending: (() => void) | undefined;
    return { start: (onTimeout: () => void) => (pending = onTimeout), stop: () => (pending = undefined), trip: () => pending?.() };
  };
  const guards = [
    { how: 'allocate', message: ENGINE_OUT_OF_MEMORY_MESSAGE, logged: /^error: Engine worker exited .*ERR_WORKER_OUT_OF_MEMORY/s },
    { how: 'hang', message: ENGINE_STALLED_MESSAGE, logged: /^error: Engine worker sent nothing for 60000 ms with 2 request\(s\) pending; it was terminated\.$/ },
  ] as const;
  for (const { how, message, logged } of guards) {
    it(`a worker that ${how === 'allocate' ? 'exceeds its heap limit' : 'stops sending anything'} is stopped, every pending request rejected with one sentence, and restarted`, async () => {
      const timer = manualTimer();
      const { engine, log } = client(true, how === 'allocate' ? { maxHeapMb: 48 } : { watchdogTimer: timer });
      let started = false;
      const runaway = engine.request('crashForTest', { how }, {
        onProgress: () => {
          started = true;
          // The worker is about to spin without sending anything again: what the watchdog is for.
          if (how === 'hang') timer.trip();
        },
      });
      const bystander = engine.request('describeModel', { path: TINY });
      const errors = [await rejection(runaway), await rejection(bystander)];
      assert.equal(started, true, 'the worker was inside the request');
      for (const error of errors) {
        assert.equal(error.code, 'disconnected');
        assert.equal(error.message, message);
      }
      assert.ok(log.lines.some((line) => logged.test(line)), log.lines.join('\n'));
      const overview = await engine.request('describeModel', { path: TINY });
      assert.equal(overview.fileName, 'tiny.onnx');
      assert.equal(engine.startCount, 2, 'the next request started a new worker');
    });
  }

  it('refuses crashForTest outside test mode', async () => {
    const { engine } = client(false);
    const error = await rejection(engine.request('crashForTest', { how: 'exit' }));
    assert.equal(error.code, 'unknownMethod');
    assert.equal(engine.isRunning, true);
  });

  it('holds the next analysis after its first layer result until it is cancelled, then analyses again', async () => {
    const { engine, log } = client();
    assert.equal(await engine.request('holdNextAnalysisForTest', {}), null);
    const controller = new AbortController();
    let layerResults = 0;
    const held = engine.request('analyze', analyzeParams, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.event.kind === 'layerResult') {
          layerResults++;
          controller.abort();
        }
      },
    });
    assert.equal((await rejection(held)).code, 'cancelled');
    assert.equal(layerResults, 1);
    // The worker answers the next request only once the held run has let go of its thread, which
    // only the shared cancel flag can make it do.
    const report = await engine.request('analyze', analyzeParams);
    const holdLines = log.lines.filter((line) => line.includes('holdNextAnalysisForTest'));
    assert.deepEqual(holdLines.map((line) => line.replace(/:.*?: /, ': ')), [
      'warn: the analysis is held after its first layer result until it is cancelled.',
      'warn: the held analysis was cancelled.',
    ]);
    assert.equal(report.runs[0].layers.length, 2);
    assert.equal(engine.startCount, 1);
  });

  it('refuses holdNextAnalysisForTest outside test mode', async () => {
    const { engine } = client(false);
    assert.equal((await rejection(engine.request('holdNextAnalysisForTest', {}))).code, 'unknownMethod');
  });

  it('dispose rejects pending requests and every later one', async () => {
    const { engine } = client();
    const pending = engine.request('describeModel', { path: TINY });
    engine.dispose();
    assert.equal((await rejection(pending)).message, ENGINE_SHUT_DOWN_MESSAGE);
    assert.equal((await rejection(engine.request('describeModel', { path: TINY }))).message, ENGINE_SHUT_DOWN_MESSAGE);
  });
});
