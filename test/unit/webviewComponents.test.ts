// The webview's components rendered to HTML without VS Code or a browser (preact-render-to-string):
// the table's names, columns and ranks, the pop-over's words, the analysis card's ε scale and bound
// gap, the sweep card's fixed plot box, the graph's fused layers, and the store.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { h, type ComponentChild } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { App } from '../../media/app';
import { GraphView } from '../../media/graphView';
import { LayerDetails, LayerTable, formatChange } from '../../media/layerTable';
import { NodePanel } from '../../media/nodePanel';
import { formatReport } from '../../src/cli/table';
import { createStore, ViewContext, type ViewActions } from '../../media/store';
import { Summary, boundGap } from '../../media/summary';
import { SweepChart } from '../../media/sweepChart';
import { formulaFor, statusText } from '../../media/viewText';
import type { ViewState } from '../../media/viewState';
import type { BoundReport, GraphNodeInfo, ModelOverview } from '../../src/shared/protocol';
import type { EpsilonRun, LayerResult } from '../../src/shared/results';

const noActions: ViewActions = {
  analyze: () => undefined,
  cancel: () => undefined,
  runSweep: () => undefined,
  chooseInput: () => undefined,
  exportReport: () => undefined,
  exportChart: () => undefined,
  pin: () => undefined,
};

function render(child: ComponentChild, state: ViewState = {}): string {
  const store = createStore(state, () => undefined);
  return renderToString(h(ViewContext.Provider, { value: { store, actions: noActions } }, child));
}

/** The text of rendered HTML: tags dropped, entities of the characters Preact escapes decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

function graphNode(id: string, opType: string, label: string, layer: number | undefined, y: number): GraphNodeInfo {
  return { id, kind: 'node', label, opType, domain: '', inputs: [], outputs: [], attributes: [], parameterCount: 0, ...(layer === undefined ? {} : { layer }), x: 100, y, width: 80, height: 42 };
}

// conv1 → relu1 is one fused layer (0), fc is layer 1.
const model: ModelOverview = {
  path: '/m/net.onnx',
  fileName: 'net.onnx',
  sizeBytes: 1000,
  irVersion: 8,
  producerName: '',
  producerVersion: '',
  opsets: [{ domain: '', version: 13 }],
  graphName: 'net',
  inputs: ['x: FLOAT[1,1,4,4]'],
  outputs: ['y: FLOAT[1,2]'],
  inputNames: ['x'],
  outputNames: ['y'],
  rowSource: 'layers',
  rows: [
    { label: 'conv1+relu1', opTypes: ['Conv', 'Relu'], nodes: ['conv1', 'relu1'], inputs: ['[1,4,4]'], outputs: ['[2,4,4]'], parameterCount: 20, attributes: [] },
    { label: 'fc', opTypes: ['Gemm'], nodes: ['fc'], inputs: ['[32]'], outputs: ['[2]'], parameterCount: 66, attributes: [] },
  ],
  unsupported: [],
  notes: [],
  graph: {
    nodes: [graphNode('node0', 'Conv', 'conv1', 0, 50), graphNode('node1', 'Relu', 'relu1', 0, 120), graphNode('node2', 'Gemm', 'fc', 1, 190)],
    edges: [
      { from: 'node0', to: 'node1', tensor: 'c', shape: '[1,2,4,4]', points: [{ x: 100, y: 71 }, { x: 100, y: 99 }], labelX: 120, labelY: 85 },
      { from: 'node1', to: 'node2', tensor: 'r', shape: '[1,32]', points: [{ x: 100, y: 141 }, { x: 100, y: 169 }], labelX: 120, labelY: 155 },
    ],
    groups: [{ layer: 0, nodes: ['node0', 'node1'], x: 100, y: 78, width: 96, height: 128 }],
    width: 200,
    height: 230,
  },
};

function layer(index: number, label: string, kind: string, localBound: number, spectralNorm: number, extra: Partial<LayerResult> = {}): LayerResult {
  const certificate = { method: 'closed-form' as const, detail: 'test' };
  return { index, label, nodes: label.split('+'), kind, epsilonIn: 0.01, epsilonOut: 0.01 * localBound, localBound, spectralNorm, certificate, spectralCertificate: certificate, timeMs: 1, ...extra };
}

// log 8 of log 8 + log 1.5: conv1+relu1 stands out (84 %).
const layers = [layer(0, 'conv1+relu1', 'conv+relu', 8, 12), layer(1, 'fc', 'dense', 1.5, 2)];

const tableProps = { model, streaming: false, sort: 'order' as const, onSort: () => undefined, onSelectRow: () => undefined };

/** The cell texts of each body row. */
function rows(html: string): string[][] {
  const body = html.slice(html.indexOf('<tbody'));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((cell) => text(cell[1]).trim()));
}

describe('layer table', () => {
  it('names layers and ops as the model table does, and keeps the Parameters column after the analysis', () => {
    const before = rows(render(h(LayerTable, tableProps)));
    const after = rows(render(h(LayerTable, { ...tableProps, layers })));
    assert.deepEqual(before[0].slice(0, 3), ['0', 'conv1+relu1', 'Conv+Relu']);
    assert.deepEqual(after[0].slice(0, 3), ['0', 'conv1+relu1', 'Conv+Relu']);
    assert.equal(before[1][5], '66');
    assert.equal(after[1][11], '66', 'Parameters is the last column after analysis');
    assert.equal(after[0][5], '8', 'local bound');
  });

  it('ranks no row while the rows stream in, and marks the layer that stands out once all are done', () => {
    const streaming = render(h(LayerTable, { ...tableProps, layers: layers.slice(0, 1), streaming: true }));
    assert.doesNotMatch(streaming, /#1/);
    assert.doesNotMatch(streaming, /100\.0%/);
    assert.doesNotMatch(streaming, /class="dominant/);
    assert.match(text(streaming), /Layers \(1 done so far\)/);
    const done = render(h(LayerTable, { ...tableProps, layers }));
    assert.equal(rows(done)[0][10], '#1 83.68%');
    assert.equal(rows(done)[1][10], '16.32%');
  });

  it('adds the change against a pinned run as delta columns', () => {
    const html = render(h(LayerTable, { ...tableProps, layers, deltas: new Map([[0, { localBound: -0.5, spectralNorm: 0 }]]) }));
    assert.match(html, /Δ local bound/);
    assert.deepEqual(rows(html)[0].slice(12), ['−50%', '±0%']);
    assert.deepEqual(rows(html)[1].slice(12), ['no match', 'no match'], 'a layer the pinned run does not have');
    assert.equal(formatChange(0.1234), '+12.34%');
    assert.equal(formatChange(-0.0000001), '−1e-5%');
  });

  it('explains a ratio below 1 on a merge row', () => {
    const add = layer(1, 'add', 'add', 1.4, 1.2, { certificate: { method: 'composition', detail: 'residual sum' } });
    const html = render(h(LayerTable, { ...tableProps, layers: [layers[0], add] }));
    assert.equal(rows(html)[1][7], '0.8571× ⁽ʳ⁾');
    assert.match(text(html), /ratio can fall below 1 there/);
  });

  it('says in the pop-over how a bound was certified in a reader’s words, without source-file names', () => {
    const lanczos = layer(0, 'conv1+relu1', 'conv+relu', 8, 12, {
      certificate: {
        method: 'lanczos-random-start',
        detail: 'largest Ritz value after 40 Lanczos steps from a seeded Gaussian start, raised by the a-posteriori bound of the run’s Lanczos polynomial (see aposterioriBound.ts): below λ_max with probability ≤ 1e-6',
        iterations: 40,
        dimension: 784,
      },
    });
    const details = text(render(h(LayerDetails, { layer: lanczos, row: model.rows[0] })));
    assert.match(details, /Lanczos iteration from a random start: largest Ritz value/);
    assert.doesNotMatch(details, /\.ts\b/);
    assert.doesNotMatch(details, /lanczos-random-start/);
    assert.match(details, /Conv\+Relu \(bound rule conv\+relu\)/);
    assert.match(details, /40 iterations, dimension 784/);
  });

  it('names the linear map’s formula for lone 3-D convolutions and their transposes, as for 2-D ones', () => {
    for (const kind of ['conv', 'conv3d', 'convTranspose', 'convTranspose3d']) {
      assert.equal(formulaFor(layer(0, 'c', kind, 2, 2)), `‖A D‖: the lone ${kind} map A, columns restricted to inputs that can move (D)`, kind);
    }
  });
});

describe('one number rule', () => {
  // Values with more digits than are shown, one in exponent range: each place must print them alike.
  const precise = layer(1, 'fc', 'dense', 10.6885391234, 123456.789, { epsilonIn: 1.23456e-5, epsilonOut: 1.23456e-5 * 10.6885391234 });
  const expected = ['10.69', '1.235e5', '1.235e-5', '1.155e4×'];

  it('prints a layer’s numbers identically in the table, its pop-over, the graph’s node panel and the CLI table', () => {
    const places = {
      table: rows(render(h(LayerTable, { ...tableProps, layers: [layers[0], precise] })))[1].join(' | '),
      popOver: text(render(h(LayerDetails, { layer: precise, row: model.rows[1] }))),
      nodePanel: text(render(h(NodePanel, { model, layers: [layers[0], precise], nodeId: 'node2', expanded: new Set<number>(), onToggleLayer: () => undefined }))),
      cli: formatReport({ model: 'net.onnx', input: { source: 'npy', origin: 'x.npy', shape: [16] }, outputSize: 2, runs: [{ epsilon: 0.01, network: { localBound: 27.4, layerProduct: 67.6, method: 'layer-product', spectralBound: 100, failureProbability: 0 }, layers: [layers[0], precise] }] }).split('\n').find((line) => line.includes(' fc ')) ?? '',
    };
    for (const [place, shown] of Object.entries(places)) {
      for (const number of expected.slice(0, 3)) assert.ok(shown.includes(number), `${place} shows ${number}: ${shown}`);
      assert.ok(!/10\.688|123456|1\.2345/.test(shown), `${place} shows no more than four significant digits: ${shown}`);
    }
    for (const place of ['table', 'nodePanel', 'cli'] as const) assert.ok(places[place].includes(expected[3]), `${place} shows the ratio ${expected[3]}: ${places[place]}`);
  });
});

describe('analysis card', () => {
  const run: EpsilonRun = {
    epsilon: 0.01,
    network: { localBound: 27.4, layerProduct: 67.6, method: 'composed', spectralBound: 100, failureProbability: 0 },
    lowerBound: { value: 12.28, method: 'gradient-ascent', samples: 10, steps: 5, evaluations: 20, witnessNorm: 0.01, seed: 1 },
    layers,
  };
  const report: BoundReport = { model: 'net.onnx', input: { source: 'npy', origin: 'digit.npy', shape: [1, 1, 4, 4], norm: 2 }, outputSize: 2, runs: [run] };
  const status = { phase: 'done' as const, epsilon: 0.01, inputLabel: 'digit.npy' };

  it('puts ε against the input: a share of ‖x0‖ and the per-value change of an even spread', () => {
    const html = text(render(h(Summary, { canAnalyze: true, status, phaseLabel: 'done', report, run, exportable: true })));
    // 0.01 / 2 = 0.5 % of ‖x0‖; 0.01 / √16 = 0.0025 per value.
    assert.match(html, /ε = 0\.01 is 0\.5% of ‖x0‖ = 2; ≈ 0\.0025 per input value if spread evenly over all 16/);
  });

  it('states the gap between the upper and the witnessed lower bound', () => {
    const html = text(render(h(Summary, { canAnalyze: true, status, phaseLabel: 'done', report, run, exportable: true })));
    assert.match(html, /the true value lies between 12\.28 and 27\.4; the upper bound is at most 2\.231× too high/);
    assert.equal(boundGap(5, 5), 'the upper bound is attained: it is the true local constant');
  });

  it('shows an overflowed layer and spectral product as ∞, says where they overflowed, and never prints Infinity or NaN (derivations §57)', () => {
    const overflowed: EpsilonRun = {
      ...run,
      network: { ...run.network, layerProduct: Infinity, spectralBound: Infinity, layerProductOverflowedAt: 'p2o.MatMul.16', spectralOverflowedAt: 'p2o.MatMul.14' },
    };
    const html = text(render(h(Summary, { canAnalyze: true, status, phaseLabel: 'done', report: { ...report, runs: [overflowed] }, run: overflowed, exportable: true })));
    assert.match(html, /Layer product\s+∞/);
    assert.match(html, /Spectral product\s+∞/);
    assert.match(html, /the layer product overflowed at layer 'p2o\.MatMul\.16' \(∞\); network bound from the composed network; the spectral product overflowed at layer 'p2o\.MatMul\.14' \(∞\)\./);
    assert.doesNotMatch(html, /Infinity|NaN/);
  });
});

describe('the whole view', () => {
  const run: EpsilonRun = { epsilon: 0.01, network: { localBound: 27.4, layerProduct: 67.6, method: 'layer-product', spectralBound: 100, failureProbability: 0 }, layers };
  const report: BoundReport = { model: 'net.onnx', input: { source: 'npy', origin: 'x.npy', shape: [16] }, outputSize: 2, runs: [run] };
  const running = (task: 'analyze' | 'sweep'): ViewState => ({ model, report, status: { phase: 'running', task, epsilon: 0.01, inputLabel: 'x.npy' } });

  it('keeps the main run’s numbers while a sweep runs (nothing below them moves), not while the main analysis reruns', () => {
    assert.match(text(render(h(App, {}), running('sweep'))), /Network local bound 27\.4/);
    assert.doesNotMatch(text(render(h(App, {}), running('analyze'))), /Network local bound/);
  });

  it('shows the graph first, with the table one click away', () => {
    const html = render(h(App, {}), { model });
    assert.match(html, /id="view-graph"[^>]*aria-selected="true"|aria-selected="true"[^>]*id="view-graph"/);
    assert.match(html, /id="graph-canvas"/);
    assert.doesNotMatch(html, /<table/);
    assert.match(render(h(App, {}), { model, view: 'table' }), /<table class="layer-table"/);
  });

  it('offers to compare with another model’s pin, then shows the change of each matched layer and names the unmatched', () => {
    // Pinned in a.onnx: conv1+relu1 with bound 4 (now 8: +100%), and a layer this model lacks.
    const pinned = {
      model: 'a.onnx', modelPath: '/m/a.onnx', inputLabel: 'x.npy', epsilon: 0.01, localBound: 20, spectralBound: 100,
      layers: [{ label: 'conv1+relu1', nodes: ['conv1', 'relu1'], localBound: 4, spectralNorm: 12 }, { label: 'extra', nodes: ['extra'], localBound: 1, spectralNorm: 1 }],
    };
    const done: ViewState = { model, report, view: 'table', pinned, status: { phase: 'done', epsilon: 0.01, inputLabel: 'x.npy' } };
    const offered = render(h(App, {}), done);
    assert.match(text(offered), /Compare with pinned run \(a\.onnx, ε = 0\.01\)/);
    assert.doesNotMatch(offered, /Δ local bound/, 'not compared before the user asks');
    const compared = render(h(App, {}), { ...done, compareWithPinned: true });
    assert.match(compared, /Δ local bound/);
    assert.deepEqual(rows(compared)[0].slice(12), ['+100%', '±0%']);
    assert.deepEqual(rows(compared)[1].slice(12), ['no match', 'no match']);
    assert.match(text(compared), /1 of 2 layers matched by name; not in the pinned run: fc; only in the pinned run: extra\./);
    assert.match(text(compared), /Stop comparing/);
  });
});

describe('status line', () => {
  it('shows the engine’s progress message once, with its ε and step count once', () => {
    const state: ViewState = {
      status: {
        phase: 'running',
        task: 'analyze',
        epsilon: 0.001,
        inputLabel: 'x.npy',
        progress: { message: 'ε = 0.001: conv2 done (3/7)', completed: 5, total: 12, event: { kind: 'forward', done: true } },
      },
    };
    assert.equal(statusText(state), 'Analyzing at ε = 0.001: conv2 done (3/7)…');
  });
});

describe('sweep card', () => {
  const props = { mainEpsilon: 0.001, running: false, sweepRunning: false };

  it('keeps the plot’s box while no sweep is shown, running or not, so nothing below moves', () => {
    for (const html of [render(h(SweepChart, props)), render(h(SweepChart, { ...props, running: true, sweepRunning: true }))]) {
      assert.match(html, /class="chart-plot chart-empty"/);
      assert.match(html, /id="export-svg"[^>]*disabled/);
    }
    assert.match(text(render(h(SweepChart, { ...props, running: true, sweepRunning: true }))), /The sweep is running/);
  });

  it('draws the chart with a focusable overlay of the same geometry once a sweep is there', () => {
    const sweep: BoundReport = {
      model: 'net.onnx',
      input: { source: 'npy', origin: 'x.npy', shape: [4] },
      outputSize: 2,
      runs: [0.001, 0.1].map((epsilon) => ({ epsilon, network: { localBound: 10, layerProduct: 10, method: 'layer-product', spectralBound: 20, failureProbability: 0 }, layers: [] })),
    };
    const html = render(h(SweepChart, { ...props, sweep }));
    const overlay = html.match(/<svg[^>]*id="chart-overlay"[^>]*>/)?.[0] ?? '';
    assert.match(overlay, /viewBox="0 0 800 340"/);
    assert.match(overlay, /tabindex="0"/, 'reachable by keyboard (lower case: SVG attributes are case-sensitive)');
    assert.equal((html.match(/class="marker-local"/g) ?? []).length, 2);
  });
});

describe('graph view', () => {
  const graphProps = { model, metric: 'share' as const, shown: true, onSelect: () => undefined, onMetric: () => undefined, onExpand: () => undefined };

  it('draws a fused layer as one box named as in the table until it is expanded', () => {
    const collapsed = render(h(GraphView, { ...graphProps, expanded: [] }));
    const box = collapsed.match(/<g[^>]*data-id="node0"[^>]*>/)?.[0] ?? '';
    assert.match(box, /class="graph-node kind-node group"/);
    assert.match(box, /data-group="0"/);
    assert.match(box, /tabindex="0"/);
    assert.doesNotMatch(collapsed, /data-id="node1"/, 'relu1 is inside the collapsed box');
    assert.match(text(collapsed), /Conv\+Relu conv1\+relu1/);
    assert.doesNotMatch(collapsed, /\[1,2,4,4\]/, 'the edge inside the layer is hidden with it');
    assert.match(collapsed, /\[1,32\]/);
    const expanded = render(h(GraphView, { ...graphProps, expanded: [0] }));
    assert.match(expanded, /data-id="node0"/);
    assert.match(expanded, /data-id="node1"/);
    assert.match(expanded, /class="layer-frame"/);
    assert.match(expanded, /\[1,2,4,4\]/);
  });

  it('colours boxes by the chosen metric and offers the change only against a compared pin', () => {
    const html = render(h(GraphView, { ...graphProps, expanded: [], layers, metric: 'bound' }));
    assert.match(html, /data-id="node0"/);
    assert.match(html, /class="graph-node kind-node group heat-4"/, 'the larger bound, in the top class');
    assert.doesNotMatch(html, /value="change"/);
    const pinned = { model: 'net.onnx', modelPath: '/m/net.onnx', inputLabel: 'x', epsilon: 0.01, localBound: 10, spectralBound: 20, layers: [{ label: 'fc', nodes: ['fc'], localBound: 1, spectralNorm: 2 }] };
    assert.match(render(h(GraphView, { ...graphProps, expanded: [], layers, pinned })), /value="change"/);
  });
});

describe('store', () => {
  it('saves a change at once, and the changes of a burst once more at its end', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const saved: ViewState[] = [];
      const store = createStore({}, (state) => saved.push(state), 300);
      store.update((state) => ({ ...state, pinned: undefined, sort: 'ratio' }));
      assert.deepEqual(saved, [{ pinned: undefined, sort: 'ratio' }], 'the first change is saved at once');
      store.update((state) => ({ ...state, view: 'table' }));
      store.update((state) => ({ ...state, metric: 'bound' }));
      assert.equal(saved.length, 1, 'not on every update of a burst');
      assert.deepEqual(store.state.value, { pinned: undefined, sort: 'ratio', view: 'table', metric: 'bound' });
      mock.timers.tick(300);
      assert.equal(saved.length, 2);
      assert.deepEqual(saved[1], store.state.value, 'the burst ends with the last state saved');
      mock.timers.tick(300);
      assert.equal(saved.length, 2, 'nothing new, nothing saved');
      store.update((state) => ({ ...state, view: 'graph' }));
      assert.equal(saved.length, 3, 'a change after a quiet period is saved at once again');
    } finally {
      mock.timers.reset();
    }
  });
});
