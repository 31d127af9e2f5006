// The webview's state reducer: what each host message changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyHostMessage,
  comparedPin,
  dominantLayers,
  layerDeltas,
  mainRun,
  matchPinnedLayers,
  pinnedRunOf,
  restoreViewState,
  shownLayers,
  sortedPositions,
} from '../../media/viewState';
import type { BoundReport, ModelOverview } from '../../src/shared/protocol';
import type { LayerResult } from '../../src/shared/results';

/** A layer result with only the fields the view derives from. */
function layer(index: number, localBound: number, spectralNorm: number): LayerResult {
  const certificate = { method: 'closed-form' as const, detail: 'test' };
  return {
    index,
    label: `l${index}`,
    nodes: [`l${index}`],
    kind: 'dense',
    epsilonIn: 1,
    epsilonOut: localBound,
    localBound,
    spectralNorm,
    certificate,
    spectralCertificate: certificate,
    timeMs: 0,
  };
}

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
  inputNames: ['x'],
  outputNames: ['logits'],
  rowSource: 'layers',
  rows: [],
  unsupported: [],
  notes: [],
  graph: { nodes: [], edges: [], width: 0, height: 0 },
};

const report: BoundReport = {
  model: 'tiny.onnx',
  input: { source: 'synthetic', origin: 'synthetic input', shape: [3] },
  outputSize: 2,
  runs: [
    { epsilon: 0.1, network: { localBound: 1, layerProduct: 1, method: 'layer-product', spectralBound: 2, failureProbability: 0 }, layers: [] },
    { epsilon: 2, network: { localBound: 3, layerProduct: 3, method: 'layer-product', spectralBound: 4, failureProbability: 0 }, layers: [] },
  ],
};

describe('webview state', () => {
  it('restores only objects', () => {
    assert.deepEqual(restoreViewState(undefined), {});
    assert.deepEqual(restoreViewState('junk'), {});
    assert.deepEqual(restoreViewState({ model }), { model });
    const withoutGraph: Partial<ModelOverview> = { ...model };
    delete withoutGraph.graph;
    assert.deepEqual(restoreViewState({ model: withoutGraph, sort: 'ratio' }), { model: undefined, sort: 'ratio' }, 'a model saved before the graph view');
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

  it('streams layer results of a run into the table and drops them when the run ends', () => {
    let state = applyHostMessage({}, { kind: 'analysisStatus', status: { phase: 'running', task: 'analyze', epsilon: 0.1, inputLabel: 'x' } });
    assert.equal(shownLayers(state), undefined, 'nothing to show before the first layer');
    state = applyHostMessage(state, { kind: 'layerResults', runId: 1, epsilon: 0.1, layers: [layer(0, 2, 3)] });
    state = applyHostMessage(state, { kind: 'layerResults', runId: 1, epsilon: 0.1, layers: [layer(1, 1, 1)] });
    assert.deepEqual(shownLayers(state)?.layers.map((l) => l.index), [0, 1]);
    assert.equal(shownLayers(state)?.streaming, true);
    state = applyHostMessage(state, { kind: 'layerResults', runId: 2, epsilon: 0.1, layers: [layer(0, 5, 6)] });
    assert.deepEqual(shownLayers(state)?.layers.map((l) => l.localBound), [5], 'a new run starts a new list');
    state = applyHostMessage(state, { kind: 'analysisStatus', status: { phase: 'cancelled', task: 'analyze', epsilon: 0.1, inputLabel: 'x' } });
    assert.equal(state.partial, undefined);
  });

  it('a running sweep keeps showing the main run', () => {
    let state = applyHostMessage({}, { kind: 'analysisReport', report });
    state = applyHostMessage(state, { kind: 'analysisStatus', status: { phase: 'running', task: 'sweep', epsilon: 2, inputLabel: 'x' } });
    assert.equal(shownLayers(state)?.epsilon, 2);
  });

  it('marks only the layers that stand out in log L, and sorts by ratio or bound', () => {
    // Bounds 4, 0.5, 9, 2 and 1.5: logs 1.386, —, 2.197, 0.693, 0.405, mean 1.170 over the four that
    // grow the product; only 2.197 reaches 1.5 × 1.170 = 1.756.
    const layers = [layer(0, 4, 8), layer(1, 0.5, 1), layer(2, 9, 9), layer(3, 2, 20), layer(4, 1.5, 1.5)];
    assert.deepEqual([...dominantLayers(layers)], [2]);
    // The nearly equal shares, 21/19/19/16/15 %: bounds e^21, e^19, … mark none.
    const even = [21, 19, 19, 16, 15].map((share, index) => layer(index, Math.exp(share), Math.exp(share)));
    assert.equal(dominantLayers(even).size, 0, 'nearly equal shares mark no layer');
    // Three layers of logs 6, 3, 1 (60/30/10 %): mean 3.33, threshold 5, the 60 % layer stands out.
    assert.deepEqual([...dominantLayers([layer(0, Math.exp(6), 1), layer(1, Math.exp(3), 1), layer(2, Math.exp(1), 1)])], [0]);
    assert.deepEqual(dominantLayers([layer(0, 1, 2), layer(1, 0.5, 1)]).size, 0, 'no layer grows the product');
    // Ratios ‖A‖/L: 2, 2, 1, 10, 1 → 3 first, then 0 and 1 (tie, graph order), then 2 and 4.
    assert.deepEqual(sortedPositions(layers, 'ratio'), [3, 0, 1, 2, 4]);
    assert.deepEqual(sortedPositions(layers, 'bound'), [2, 0, 3, 4, 1]);
    assert.deepEqual(sortedPositions(layers, 'order'), [0, 1, 2, 3, 4]);
  });

  it('pins the main run with where it came from, and gives each layer’s change against it by label', () => {
    assert.equal(pinnedRunOf({}), undefined, 'nothing to pin without a report');
    const withLayers: BoundReport = { ...report, runs: [{ ...report.runs[0], layers: [layer(0, 2, 4), layer(1, 3, 3)] }] };
    // The status's label may name what the next run would use; the pin names what this run used.
    const state = { report: withLayers, status: { phase: 'done' as const, epsilon: 0.1, inputLabel: 'bundled example, else synthetic' } };
    const pinned = pinnedRunOf(state)!;
    assert.deepEqual(
      { model: pinned.model, inputLabel: pinned.inputLabel, epsilon: pinned.epsilon, localBound: pinned.localBound },
      { model: 'tiny.onnx', inputLabel: 'synthetic input', epsilon: 0.1, localBound: 1 },
    );
    // Now: l0 doubled, l1 unchanged in ‖A‖ but 3 → 1.5 locally, l2 new.
    const deltas = layerDeltas(pinned, [layer(0, 4, 4), layer(1, 1.5, 3), layer(2, 1, 1)]);
    assert.deepEqual(deltas.get(0), { localBound: 1, spectralNorm: 0 });
    assert.deepEqual(deltas.get(1), { localBound: -0.5, spectralNorm: 0 });
    assert.equal(deltas.has(2), false, 'a layer the pinned run does not have');
  });

  it('matches another model’s layers by label, else by a shared ONNX node name, and leaves the rest unmatched', () => {
    const then = (label: string, nodes: string[], localBound: number) => ({ label, nodes, localBound, spectralNorm: 1 });
    const pinned = {
      model: 'a.onnx', modelPath: '/m/a.onnx', inputLabel: 'x', epsilon: 0.1, localBound: 1, spectralBound: 1,
      layers: [then('conv1+relu1', ['conv1', 'relu1'], 2), then('conv2', ['conv2'], 4), then('fc', ['fc'], 8)],
    };
    const now = (index: number, label: string, nodes: string[]) => ({ ...layer(index, 1, 1), label, nodes });
    // conv1+relu1 by label; conv2+relu2 (fused differently here) by its node conv2; head matches nothing.
    const matches = matchPinnedLayers(pinned, [now(0, 'conv1+relu1', ['conv1', 'relu1']), now(1, 'conv2+relu2', ['conv2', 'relu2']), now(2, 'head', ['head'])]);
    assert.deepEqual([...matches].map(([index, match]) => [index, match.label]), [[0, 'conv1+relu1'], [1, 'conv2']]);
    // A pinned layer is matched once: a second layer sharing its label finds it taken.
    assert.equal(matchPinnedLayers(pinned, [now(0, 'fc', ['fc']), now(1, 'fc', ['fc'])]).size, 1);
  });

  it('takes the window’s pin from the host; compares another model’s only when asked, and asks again for a new pin', () => {
    const pin = (modelPath: string, epsilon: number) => ({ model: modelPath.split('/').pop()!, modelPath, inputLabel: 'x', epsilon, localBound: 1, spectralBound: 1, layers: [] });
    const own = applyHostMessage({ model }, { kind: 'pinnedRun', pinned: pin('/m/tiny.onnx', 0.1) });
    assert.equal(comparedPin(own)?.modelPath, '/m/tiny.onnx', 'this model’s pin is compared at once');
    const other = applyHostMessage({ model }, { kind: 'pinnedRun', pinned: pin('/m/a.onnx', 0.1) });
    assert.equal(comparedPin(other), undefined, 'another model’s pin waits for the user');
    const comparing = { ...other, compareWithPinned: true, metric: 'change' as const };
    assert.equal(comparedPin(comparing)?.modelPath, '/m/a.onnx');
    assert.equal(applyHostMessage(comparing, { kind: 'pinnedRun', pinned: pin('/m/a.onnx', 0.1) }).compareWithPinned, true, 'the same pin again');
    assert.equal(applyHostMessage(comparing, { kind: 'pinnedRun', pinned: pin('/m/a.onnx', 0.2) }).compareWithPinned, false, 'a new pin');
    const unpinned = applyHostMessage(comparing, { kind: 'pinnedRun', pinned: undefined });
    assert.equal(unpinned.pinned, undefined);
    assert.equal(unpinned.metric, undefined, 'no colouring by the change of nothing');
    // A pin saved before pins spanned editors (no node names) is dropped; the host's replay brings the pin.
    const old = { model: 'tiny.onnx', inputLabel: 'x', epsilon: 0.1, localBound: 1, spectralBound: 1, layers: [{ label: 'l0', localBound: 1, spectralNorm: 1 }] };
    assert.equal(restoreViewState({ pinned: old }).pinned, undefined);
  });
});
