// Export formats of a bound report: JSON (the CLI schema), CSV (a row per layer and ε), Markdown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BoundReport } from '../../src/shared/protocol';
import type { LayerResult } from '../../src/shared/results';
import { CSV_COLUMNS, reportToCsv, reportToJson, reportToMarkdown, reportToModelExplorer } from '../../src/shared/reportWriters';

function layer(overrides: Partial<LayerResult>): LayerResult {
  return {
    index: 0,
    label: 'fc1+relu',
    nodes: ['fc1', 'relu1'],
    kind: 'dense+relu',
    epsilonIn: 0.1,
    epsilonOut: 0.6605881,
    localBound: 6.605881,
    spectralNorm: 9.1,
    neurons: { on: 2, unstable: 0, off: 1 },
    certificate: { method: 'exact-eigen', detail: 'dense eigen-decomposition' },
    spectralCertificate: { method: 'exact-eigen', detail: 'dense eigen-decomposition' },
    timeMs: 0.5,
    ...overrides,
  };
}

// Hand-made report; the numbers only need to be distinct, not to be a real network's bounds.
const report: BoundReport = {
  model: 'tiny.onnx',
  input: { source: 'json', origin: 'x0.json', shape: [3] },
  outputSize: 2,
  runs: [
    {
      epsilon: 0.1,
      network: { localBound: 10, layerProduct: 12, method: 'composed', spectralBound: 25, failureProbability: 1e-6 },
      layers: [
        layer({}),
        layer({
          index: 1,
          label: 'fc2',
          nodes: ['fc2, "odd" name'],
          kind: 'dense',
          localBound: 0,
          neurons: undefined,
          certificate: { method: 'lanczos-random-start', detail: 'Lanczos', iterations: 120, delta: 0.01, failureProbability: 1e-6 },
        }),
      ],
    },
    { epsilon: 2, network: { localBound: 20, layerProduct: 20, method: 'layer-product', spectralBound: 25, failureProbability: 0 }, layers: [layer({ epsilonIn: 2 })] },
  ],
  radius: { local: 0.3, spectral: 0.2, gap: 6.9, predictedClass: 1, method: 'margins', bindingClass: 4, marginBound: 9.5 },
  notes: ["Bounds are on the logits 'z', taken before Softmax 's'."],
};

describe('report writers', () => {
  it('JSON is the report itself, indented', () => {
    const json = reportToJson(report);
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(report)));
    assert.match(json, /^\{\n {2}"model": "tiny\.onnx",/);
  });

  it('CSV has one row per layer and ε, quotes awkward fields and leaves missing values empty', () => {
    const lines = reportToCsv(report).split('\r\n');
    assert.equal(lines.at(-1), '', 'ends with a line break');
    const rows = lines.slice(0, -1);
    assert.ok(rows[0].startsWith(`${CSV_COLUMNS.join(',')},`), rows[0]);
    assert.equal(rows.length, 1 + 3, 'header + 2 layers at ε = 0.1 + 1 layer at ε = 2');
    assert.ok(rows[2].includes('"fc2, ""odd"" name"'), rows[2]);
    const first = rows[1].split(',');
    const column = (name: (typeof CSV_COLUMNS)[number]) => first[CSV_COLUMNS.indexOf(name)];
    assert.equal(column('epsilon'), '0.1');
    assert.equal(column('nodes'), 'fc1;relu1');
    assert.equal(column('local_bound'), '6.605881');
    assert.equal(Number(column('ratio')), 9.1 / 6.605881);
    assert.equal(column('neurons_off'), '1');
    assert.ok(rows[2].includes(',,'), 'a zero local bound has an empty ratio');
    assert.ok(rows[3].startsWith('2,0,'), 'the second run starts with its ε');
  });

  it('CSV gives every other scalar of a layer and of its run a column, fields added later included', () => {
    const extended = {
      ...report,
      runs: report.runs.map((run, i) => ({ ...run, network: { ...run.network, marginRadius: 0.25 + i } })),
    } as unknown as BoundReport;
    const [header, first, , third] = reportToCsv(extended).split('\r\n').map((row) => row.split(','));
    const cell = (row: string[], name: string) => row[header.indexOf(name)];
    assert.deepEqual(header.slice(CSV_COLUMNS.length), ['network_local_bound', 'network_layer_product', 'network_method', 'network_spectral_bound', 'network_failure_probability', 'network_margin_radius']);
    assert.equal(cell(first, 'network_local_bound'), '10');
    assert.equal(cell(first, 'network_margin_radius'), '0.25');
    assert.equal(cell(third, 'network_method'), 'layer-product');
    assert.equal(cell(third, 'network_margin_radius'), '1.25');
  });

  it('Markdown lists the run’s and the radius’ figures its sentences leave out, fields added later included', () => {
    const extended = {
      ...report,
      runs: [{ ...report.runs[0], network: { ...report.runs[0].network, marginRadius: 0.25 } }],
      radius: { ...report.radius!, margin: 3 },
    } as unknown as BoundReport;
    const markdown = reportToMarkdown(extended);
    assert.match(markdown, /\n- network layer product: 12\n- network method: composed\n- network margin radius: 0\.25\n/);
    assert.match(markdown, /\n- radius margin: 3\n/);
  });

  it('Markdown has a section per ε, the anchoring caveat, certificates and the radius', () => {
    const markdown = reportToMarkdown(report);
    assert.match(markdown, /^# Lipschitz bound report: tiny\.onnx/);
    assert.match(markdown, /anchored at x0/);
    assert.match(markdown, /\n- Bounds are on the logits 'z', taken before Softmax 's'\.\n/);
    assert.match(markdown, /## ε = 0\.1\n/);
    assert.match(markdown, /## ε = 2\n/);
    assert.match(markdown, /Network local bound 10, spectral product 25 \(2\.5× tighter\)\./);
    assert.match(markdown, /except with probability at most 1e-6 over the random Lanczos starts/);
    assert.match(markdown, /ε = 2\n\nNetwork local bound 20, spectral product 25 \(1\.25× tighter\)\. Every norm was computed exactly/);
    assert.match(markdown, /lanczos-random-start, 120 iterations, δ = 0\.01, failure probability 1e-6/);
    assert.match(markdown, /Predicted class 1, logit gap 6\.9/);
    assert.match(markdown, /the local radius is certified from the logit margins f_c − f_j bounded one by one \(binding class 4, bound 9\.5\), larger than gap\/\(√2 · L\)\./);
    const tableRows = markdown.split('\n').filter((line) => line.startsWith('| 1 |'));
    assert.equal(tableRows.length, 1);
    assert.equal(tableRows[0].split(' | ').length, 10, 'ten cells: the comma and quotes in the node name break nothing');
  });

  it('escapes Markdown in names taken from the model file', () => {
    const hostile = { ...report, model: 'a|b*c<script>' };
    assert.match(reportToMarkdown(hostile), /a\\\|b\\\*c\\<script\\>/);
  });
});

// Model Explorer's node data provider reads GraphNodeData (google-ai-edge/model-explorer,
// src/server/package/src/model_explorer/node_data_builder.py): `results` maps a node id (for ONNX, the
// node name) to a NodeDataResult `{value, bgColor?, textColor?}`; optional `thresholds`
// `[{value, bgColor, textColor?}]` and `gradient` `[{stop in [0, 1], bgColor?, textColor?}]` with stops 0 and 1.
const GRAPH_NODE_DATA_KEYS = ['results', 'thresholds', 'gradient', 'hideInAggregatedStatsTable', 'hideInChildrenStatsTable', 'hideAggregatedStats', 'showExpandedSummaryOnGroupNode', 'showLabelCountColumnsInChildrenStatsTable'];

function assertGraphNodeData(data: unknown): asserts data is { results: Record<string, { value: number }>; gradient: { stop: number; bgColor: string }[] } {
  assert.ok(data && typeof data === 'object' && !Array.isArray(data), 'an object');
  for (const key of Object.keys(data)) assert.ok(GRAPH_NODE_DATA_KEYS.includes(key), `unknown GraphNodeData field ${key}`);
  const { results, gradient } = data as Record<string, unknown>;
  assert.ok(results && typeof results === 'object', 'results is an object');
  for (const [node, result] of Object.entries(results)) {
    assert.ok(node.length > 0, 'node keys are names');
    assert.ok(result && typeof result === 'object');
    for (const key of Object.keys(result)) assert.ok(['value', 'bgColor', 'textColor'].includes(key), `unknown NodeDataResult field ${key}`);
    assert.equal(typeof (result as { value: unknown }).value, 'number');
    assert.ok(Number.isFinite((result as { value: number }).value));
  }
  assert.ok(Array.isArray(gradient), 'gradient is a list');
  const stops = gradient.map((item: { stop: number; bgColor: string }) => {
    for (const key of Object.keys(item)) assert.ok(['stop', 'bgColor', 'textColor'].includes(key), `unknown GradientItem field ${key}`);
    assert.match(item.bgColor, /^#[0-9a-f]{6}$/, 'gradient colours are hex (Model Explorer takes hex or names only)');
    return item.stop;
  });
  assert.ok(stops.includes(0) && stops.includes(1), 'stops 0 and 1 are given, as Model Explorer requires');
}

describe('Model Explorer node data', () => {
  it('gives every named ONNX node of a layer that layer’s local bound, in GraphNodeData form', () => {
    const data: unknown = JSON.parse(reportToModelExplorer(report, 'localBound'));
    assertGraphNodeData(data);
    // The main run (ε = 0.1) only; fc1 and relu1 form layer 0, 'fc2, "odd" name' is layer 1.
    assert.deepEqual(data.results, { fc1: { value: 6.605881 }, relu1: { value: 6.605881 }, 'fc2, "odd" name': { value: 0 } });
  });

  it('ratio and share of log L follow the table: ‖A‖/local, and log L_k over the sum of logs of the layers above 1', () => {
    const ratio: unknown = JSON.parse(reportToModelExplorer(report, 'ratio'));
    assertGraphNodeData(ratio);
    // 9.1 / 6.605881; layer 1 has local bound 0, so no ratio and no entry.
    assert.deepEqual(Object.keys(ratio.results), ['fc1', 'relu1']);
    assert.ok(Math.abs(ratio.results.fc1.value - 9.1 / 6.605881) < 1e-15);
    const share: unknown = JSON.parse(reportToModelExplorer(report, 'logShare'));
    assertGraphNodeData(share);
    // Only layer 0 grows the product (layer 1's bound is 0): it holds the whole of log L.
    assert.equal(share.results.fc1.value, 1);
    assert.equal(share.results['fc2, "odd" name'].value, 0);
    const spectral: unknown = JSON.parse(reportToModelExplorer(report, 'spectralNorm'));
    assertGraphNodeData(spectral);
    assert.equal(spectral.results.relu1.value, 9.1);
  });

  it('leaves out unnamed nodes and values JSON cannot hold', () => {
    const odd: BoundReport = { ...report, runs: [{ ...report.runs[0], layers: [layer({ nodes: ['', 'relu1'], localBound: Infinity }), layer({ index: 1, nodes: ['', 'named'] })] }] };
    const data: unknown = JSON.parse(reportToModelExplorer(odd, 'localBound'));
    assertGraphNodeData(data);
    assert.deepEqual(data.results, { named: { value: 6.605881 } });
  });
});
