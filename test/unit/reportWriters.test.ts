// Export formats of a bound report: JSON (the CLI schema), CSV (a row per layer and ε), Markdown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BoundReport } from '../../src/shared/protocol';
import type { LayerResult } from '../../src/shared/results';
import { CSV_COLUMNS, reportToCsv, reportToJson, reportToMarkdown } from '../../src/shared/reportWriters';

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
    assert.equal(rows[0], CSV_COLUMNS.join(','));
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
