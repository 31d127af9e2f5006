// The engine streams each layer's result as soon as it is computed, so the editor fills its rows
// while the analysis runs; the streamed results are the report's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeModelFile } from '../../src/engine/pipeline';
import type { LayerResult, ProgressEvent } from '../../src/shared/results';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');
const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'mnist', 'mnist-cnn.onnx');

describe('layer result events', () => {
  it('sends one layerResult per layer and ε, after that layer started and equal to the report’s row', async () => {
    const events: ProgressEvent[] = [];
    const report = await analyzeModelFile(
      { modelPath: TINY, input: { kind: 'auto' }, epsilons: [0.001, 0.1], options: { lowerBound: false } },
      { onProgress: (event) => events.push(event) },
    );
    const streamed = events.filter((event) => event.kind === 'layerResult');
    // tiny.onnx has two layers (fc1+relu1, fc2; test/fixtures/makeTinyFixture.mjs), analyzed at two radii.
    assert.equal(streamed.length, 2 * 2);
    for (const event of streamed) {
      const started = events.findIndex((e) => e.kind === 'layer' && e.epsilonIndex === event.epsilonIndex && e.layerIndex === event.layer.index);
      assert.ok(started >= 0 && started < events.indexOf(event), 'the result follows the layer’s start');
      assert.equal(event.layerCount, 2);
      assert.equal(event.epsilon, report.runs[event.epsilonIndex].epsilon);
      const row: LayerResult = report.runs[event.epsilonIndex].layers[event.layer.index];
      assert.deepEqual(event.layer, row);
    }
  });

  it('sends each ε’s network bound once its layers are done, equal to the report’s; cancelling there stops the analysis', async () => {
    const events: ProgressEvent[] = [];
    let cancelled = false;
    // The lower bounds still to come check the signal: cancelling at the last network bound stops them.
    const signal = { get aborted() { return cancelled; } };
    await assert.rejects(
      analyzeModelFile(
        { modelPath: TINY, input: { kind: 'auto' }, epsilons: [0.001, 0.1], options: { lowerBound: true } },
        { signal, onProgress: (event) => (events.push(event), (cancelled ||= event.kind === 'networkBound' && event.epsilonIndex === 1)) },
      ),
      /cancel/i,
    );
    const bounds = events.filter((event) => event.kind === 'networkBound');
    assert.deepEqual(bounds.map((event) => event.epsilonIndex), [0, 1]);
    const report = await analyzeModelFile({ modelPath: TINY, input: { kind: 'auto' }, epsilons: [0.001, 0.1], options: { lowerBound: true } });
    for (const event of bounds) {
      const lastRow = events.findIndex((e) => e.kind === 'layerResult' && e.epsilonIndex === event.epsilonIndex && e.layer.index === 1);
      assert.ok(lastRow >= 0 && lastRow < events.indexOf(event), 'the network bound follows its ε’s rows');
      assert.deepEqual(event.network, report.runs[event.epsilonIndex].network);
      assert.ok(report.runs[event.epsilonIndex].lowerBound, 'the full run has the lower bound the cancelled one did not finish');
    }
  });

  it('announces each norm of the composed network bound between the ε’s rows and its bound, within the budget it states', async () => {
    const events: ProgressEvent[] = [];
    const report = await analyzeModelFile(
      { modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [0.001], options: { lowerBound: false } },
      { onProgress: (event) => events.push(event) },
    );
    const run = report.runs[0];
    assert.equal(run.network.method, 'composed');
    const norms = events.filter((event) => event.kind === 'composedNorm');
    // The slopes run's prefix norms and the bound's own: at least the whole network's, read at the output.
    assert.ok(norms.length >= (run.network.composed?.norms ?? 1), `${norms.length} norms announced`);
    assert.ok(norms.some((event) => event.readsLayer === null), 'the whole network’s norm');
    const labels = new Set(run.layers.map((layer) => layer.label));
    const lastRow = events.findIndex((event) => event.kind === 'layerResult' && event.layer.index === run.layers.length - 1);
    const bound = events.findIndex((event) => event.kind === 'networkBound');
    let used = 0;
    for (const event of norms) {
      assert.ok(event.readsLayer === null || labels.has(event.readsLayer), `reads '${event.readsLayer}'`);
      assert.ok(events.indexOf(event) > lastRow && events.indexOf(event) < bound, 'after the rows, before the bound');
      assert.ok(event.applications >= used && event.applications <= event.budget, `${event.applications} of ${event.budget}`);
      used = event.applications;
    }
    assert.ok(used > 0, 'the later norms count the earlier ones’ applications');
  });
});
