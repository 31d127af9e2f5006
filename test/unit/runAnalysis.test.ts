// The worker's analyze request end to end on the ONNX fixture: reader, normaliser, nominal input,
// engine, progress, the report, and cancellation through the request context.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AnalyzeParams, AnalyzeProgress } from '../../src/shared/protocol';
import { RequestError, type RequestContext } from '../../src/shared/rpc';
import { runAnalysis } from '../../src/worker/runAnalysis';

// test/fixtures/tiny.onnx is method.md §7's worked example (makeTinyFixture.mjs); tiny.input.json,
// beside it, holds that example's x0 = [0.5, 0.2, -0.1].
const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');
const folder = mkdtempSync(join(tmpdir(), 'lipschitz-lens-run-'));
const inputPath = join(folder, 'x0.json');
writeFileSync(inputPath, JSON.stringify([0.5, 0.2, -0.1]));

// method.md §7 table (6 decimals): the layer product L_net at ε = 0.1 and ε = 2, and Π‖A_k‖.
const L_NET = { 0.1: 10.688539, 2: 19.806664 };
const SPECTRAL_PRODUCT = 22.727412;
const TOLERANCE = 1e-6;

function params(overrides: Partial<AnalyzeParams> = {}): AnalyzeParams {
  return {
    modelPath: TINY,
    epsilon: 0.1,
    sweep: [2],
    input: { kind: 'file', path: inputPath },
    options: { failureProbability: 1e-6, exactCutoff: 512, lanczosSteps: 200, threads: 1, computeRadius: true, radiusTolerance: 0.02, composedBudget: 6 },
    ...overrides,
  };
}

function context(cancelled: () => boolean = () => false): RequestContext<AnalyzeProgress> & { seen: AnalyzeProgress[] } {
  const seen: AnalyzeProgress[] = [];
  return {
    seen,
    signal: new AbortController().signal,
    isCancelled: cancelled,
    progress: (progress) => seen.push(progress),
    checkpoint: async () => {
      if (cancelled()) {
        throw new RequestError('cancelled', 'cancelled');
      }
    },
  };
}

describe('worker analyze request', () => {
  it('reproduces method.md §7 from the ONNX file, main ε first, then the sweep', async () => {
    const ctx = context();
    const report = await runAnalysis(params(), ctx);
    assert.equal(report.model, 'tiny.onnx');
    assert.equal(report.input.source, 'json');
    assert.deepEqual(report.runs.map((run) => run.epsilon), [0.1, 2]);
    for (const run of report.runs) {
      const expected = L_NET[run.epsilon as 0.1 | 2];
      assert.ok(Math.abs(run.network.layerProduct - expected) <= TOLERANCE, `layer product L_net at ε = ${run.epsilon}: ${run.network.layerProduct}`);
      assert.ok(Math.abs(run.network.spectralBound - SPECTRAL_PRODUCT) <= TOLERANCE, `${run.network.spectralBound}`);
    }
    assert.deepEqual(report.runs[0].layers.map((layer) => layer.nodes), [['fc1', 'relu1'], ['fc2']]);
    // Logits [-3.4, 3.5] (method.md §7): class 1 wins by 6.9 (float32 weights: within 1e-6).
    assert.equal(report.radius?.predictedClass, 1);
    assert.ok(Math.abs((report.radius?.gap ?? 0) - 6.9) <= TOLERANCE);
    const layerSteps = ctx.seen.filter((progress) => progress.event.kind === 'layer');
    assert.deepEqual(
      layerSteps.map((progress) => [progress.completed, progress.total]),
      [[1, 4], [2, 4], [3, 4], [4, 4]],
      'two layers at two radii, counted across the sweep',
    );
  });

  it('does not run the main ε twice when the sweep contains it', async () => {
    const report = await runAnalysis(params({ sweep: [0.1, 2] }), context());
    assert.deepEqual(report.runs.map((run) => run.epsilon), [0.1, 2]);
  });

  it('picks up the example input bundled beside the model, or says the input is synthetic', async () => {
    const example = await runAnalysis(params({ input: { kind: 'auto' } }), context());
    assert.equal(example.input.source, 'example');
    assert.ok(Math.abs(example.runs[0].network.layerProduct - L_NET[0.1]) <= TOLERANCE, 'the bundled x0 is §7’s');
    const synthetic = await runAnalysis(params({ input: { kind: 'synthetic' } }), context());
    assert.equal(synthetic.input.source, 'synthetic');
    assert.match(synthetic.input.origin, /synthetic/);
  });

  it('turns an engine cancellation into a cancelled reply', async () => {
    let polls = 0;
    // Cancelled from the second poll on: after the checkpoint, inside the engine's layer loop.
    const error = await runAnalysis(params(), context(() => ++polls > 1)).then(
      () => assert.fail('expected a cancellation'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof RequestError);
    assert.equal(error.code, 'cancelled');
    assert.ok(polls > 1, 'the engine polled the flag');
  });

  it('names the input file when its shape does not fit the model', async () => {
    const wrong = join(folder, 'wrong.json');
    writeFileSync(wrong, JSON.stringify([1, 2]));
    await assert.rejects(runAnalysis(params({ input: { kind: 'file', path: wrong } }), context()), /wrong\.json/);
  });

  it('refuses an input that is neither .npy nor .json', async () => {
    await assert.rejects(runAnalysis(params({ input: { kind: 'file', path: join(folder, 'x0.txt') } }), context()), /x0\.txt/);
  });

  it('refuses an invalid ε before reading anything', async () => {
    await assert.rejects(runAnalysis(params({ sweep: [0.1, Number.NaN] }), context()), /Invalid perturbation radius NaN/);
  });

  it('an analysis over the memory budget is an overBudget reply the host can confirm, and runs without the budget', async () => {
    const tight = params({ options: { ...params().options, maxMemoryBytes: 1024 } });
    const error = await runAnalysis(tight, context()).then(
      () => assert.fail('expected an overBudget reply'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof RequestError);
    assert.equal(error.code, 'overBudget');
    assert.match(error.message, /^tiny\.onnx: the analysis needs about [\d.]+ MB of memory \(the largest parts: [^)]+\) and about [\d.]+ GFLOP of operator work; the limit is 1 KB$/);
    const confirmed = await runAnalysis(params(), context());
    assert.ok(Math.abs(confirmed.runs[0].network.layerProduct - L_NET[0.1]) <= TOLERANCE);
  });

  it('calls the heartbeat on every poll of the cancel flag, for the host\'s watchdog', async () => {
    let polls = 0;
    let beats = 0;
    await runAnalysis(params(), context(() => (polls++, false)), { heartbeat: () => beats++ });
    assert.ok(polls > 0);
    assert.equal(beats, polls - 1, 'every engine poll beats (the request\'s own checkpoint polls once before the engine starts)');
  });
});
