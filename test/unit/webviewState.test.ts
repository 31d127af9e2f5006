// The webview's state reducer: what each host message changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyHostMessage, mainRun, restoreViewState } from '../../media/viewState';
import type { BoundReport, ModelOverview } from '../../src/shared/protocol';

const model: ModelOverview = {
  path: '/m/tiny.onnx',
  fileName: 'tiny.onnx',
  sizeBytes: 331,
  irVersion: 8,
  producerName: 'p',
  producerVersion: '1',
  opsets: [{ domain: '', version: 13 }],
  graphName: 'tiny',
  inputs: ['x: FLOAT[1,3]'],
  outputs: ['logits: FLOAT[1,2]'],
  rows: [],
};

const report: BoundReport = {
  model: 'tiny.onnx',
  input: { source: 'synthetic', origin: 'synthetic input', shape: [3] },
  outputSize: 2,
  runs: [
    { epsilon: 0.1, network: { localBound: 1, spectralBound: 2, failureProbability: 0 }, layers: [] },
    { epsilon: 2, network: { localBound: 3, spectralBound: 4, failureProbability: 0 }, layers: [] },
  ],
};

describe('webview state', () => {
  it('restores only objects', () => {
    assert.deepEqual(restoreViewState(undefined), {});
    assert.deepEqual(restoreViewState('junk'), {});
    assert.deepEqual(restoreViewState({ model }), { model });
  });

  it('a model replaces an earlier error and vice versa', () => {
    let state = applyHostMessage({}, { kind: 'modelError', fileName: 'tiny.onnx', message: 'bad' });
    assert.equal(state.modelError?.message, 'bad');
    state = applyHostMessage(state, { kind: 'model', model });
    assert.equal(state.modelError, undefined);
    assert.equal(state.model?.fileName, 'tiny.onnx');
    state = applyHostMessage(state, { kind: 'modelError', fileName: 'tiny.onnx', message: 'changed on disk' });
    assert.equal(state.model, undefined);
  });

  it('shows the run at the status ε, else the first run', () => {
    let state = applyHostMessage({}, { kind: 'analysisReport', report });
    state = applyHostMessage(state, { kind: 'analysisStatus', status: { phase: 'done', epsilon: 2, inputLabel: 'synthetic input' } });
    assert.equal(mainRun(state)?.epsilon, 2);
    state = applyHostMessage(state, { kind: 'analysisStatus', status: { phase: 'idle', epsilon: 0.5, inputLabel: 'synthetic input' } });
    assert.equal(mainRun(state)?.epsilon, 0.1);
  });

  it('leaves the state alone for replies, which belong to the request client', () => {
    const state = { model };
    assert.equal(applyHostMessage(state, { kind: 'response', id: 1, ok: true, result: null }), state);
  });
});
