// What reaches the terminal: strings from a model are escaped (no escape sequences, no bidi
// reordering), --json keeps stderr empty, capped --threads are said, and errors name the option that
// would change the outcome (--input-shape, --eps, --max-memory).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatReport } from '../../src/cli/table';
import { escapeControlCharacters, progressMessage } from '../../src/shared/format';
import type { BoundReport } from '../../src/shared/protocol';
import { buildModel, conv, mulberry32, node, randomTensor } from '../fixtures/onnxBuilder';
import { cli, EXAMPLE } from './helpers/runCli';


/** ESC, CSI (C1), BEL, DEL, a right-to-left override and a newline: none may reach a terminal raw. */
const HOSTILE = 'evil\x1b]0;pwned\x07\x9b31m\u202eexe.txt\x7f\nnext';
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

describe('terminal output', () => {
  test('escapeControlCharacters makes every control and bidi character visible', () => {
    assert.equal(escapeControlCharacters(HOSTILE), 'evil\\x1b]0;pwned\\x07\\x9b31m\\u{202e}exe.txt\\x7f\\x0anext');
    assert.equal(escapeControlCharacters('a\nb\x1b', true), 'a\nb\\x1b');
    assert.equal(escapeControlCharacters('conv1.weight ü → ε'), 'conv1.weight ü → ε');
  });

  test('the table and the progress lines escape names, notes and paths from the files', () => {
    const report: BoundReport = {
      model: `${HOSTILE}.onnx`,
      input: { source: 'json', origin: HOSTILE, shape: [1] },
      outputSize: 2,
      notes: [`note ${HOSTILE}`],
      runs: [{
        epsilon: 0.1,
        network: { localBound: 2, layerProduct: 2, method: 'layer-product', spectralBound: 3, failureProbability: 0 },
        layers: [{
          index: 0, label: HOSTILE, nodes: [HOSTILE], kind: 'dense', epsilonIn: 0.1, epsilonOut: 0.2, localBound: 2, spectralNorm: 3,
          certificate: { method: 'closed-form', detail: '' }, spectralCertificate: { method: 'closed-form', detail: '' }, timeMs: 1,
        }],
      }],
      radius: { local: 0, spectral: 0, gap: 0, predictedClass: 0, method: 'network-bound', zeroBecause: 'the top two logits are equal at x0' },
    };
    const text = formatReport(report);
    assert.doesNotMatch(text, RAW_CONTROL);
    assert.match(text, /evil\\x1b\]0;pwned\\x07\\x9b31m\\u\{202e\}exe\.txt\\x7f\\x0anext/);
    assert.match(text, /radius 0 because the top two logits are equal at x0/);
    const line = progressMessage({ kind: 'layer', epsilonIndex: 0, epsilon: 0.1, layerIndex: 0, layerCount: 1, label: HOSTILE });
    assert.doesNotMatch(line, RAW_CONTROL);
    const norm = progressMessage({ kind: 'composedNorm', epsilonIndex: 0, epsilon: 0.1, readsLayer: HOSTILE, applications: 12, budget: 1200 });
    assert.doesNotMatch(norm, RAW_CONTROL);
    assert.match(norm, /norm of the layers into 'evil\\x1b.*\(12 of at most 1200 operator applications\)/);
  });

  test('the radius line says which bound certified it: the margins (with the binding class) or the network bound', () => {
    const run: BoundReport['runs'][number] = {
      epsilon: 0.1,
      network: { localBound: 2, layerProduct: 2, method: 'layer-product', spectralBound: 3, failureProbability: 0 },
      layers: [],
    };
    const base = { model: 'm.onnx', input: { source: 'json' as const, origin: 'x.json', shape: [1] }, outputSize: 3, notes: [], runs: [run] };
    const margins = formatReport({ ...base, radius: { local: 0.05, spectral: 0.02, gap: 5, predictedClass: 7, method: 'margins', bindingClass: 3, marginBound: 103.4 } });
    assert.match(margins, /certified robustness radius for class 7 .*local 0\.05 /);
    assert.match(margins, /certified from the logit margins f_c − f_j bounded one by one \(binding class 3, bound 103\.4\), larger than gap\/\(√2 · L\)/);
    const network = formatReport({ ...base, radius: { local: 0.02, spectral: 0.02, gap: 5, predictedClass: 7, method: 'network-bound' } });
    assert.match(network, /certified from gap\/\(√2 · L\), L the network local bound/);
    assert.doesNotMatch(network, /margins/);
  });

  test('an error listing hostile node names reaches stderr escaped, one node named one way', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-hostile-'));
    const model = join(folder, 'hostile.onnx');
    await writeFile(model, buildModel({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'z' }],
      nodes: [node('Softplus', ['x'], ['y'], undefined, HOSTILE), { opType: 'Softsign', inputs: ['y'], outputs: ['z'] }],
    }));
    const { code, stdout, stderr } = await cli(['analyze', model, '--quiet']);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.doesNotMatch(stderr, RAW_CONTROL);
    assert.match(stderr, /2 nodes are not supported: Softplus 'evil\\x1b\]0;pwned\\x07\\x9b31m\\u\{202e\}exe\.txt\\x7f\\x0anext', Softsign #1/);
    // One line; the reasons name the unnamed node exactly as the summary does.
    assert.equal(stderr.trimEnd().split('\n').length, 1);
    assert.match(stderr, /; Softsign #1: no analysis rule for Softsign\)$/m);
    assert.doesNotMatch(stderr, /Softsign#1/);
  });

  test('an open input shape names --input-shape', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-symbolic-'));
    const model = join(folder, 'fcn.onnx');
    await writeFile(model, buildModel({
      inputs: [{ name: 'x', shape: ['N', 1, 'H', 'W'] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [2, 1, 3, 3], mulberry32(3))],
      nodes: [conv({ name: 'c', input: 'x', weight: 'w', output: 'y' })],
    }));
    const { code, stderr } = await cli(['analyze', model, '--synthetic', '--quiet']);
    assert.equal(code, 1);
    assert.match(stderr, /graph input 'x': has shape .* with symbolic or unknown dimensions after the batch axis; give the input shape explicitly with --input-shape C,H,W \(or an --input file\)/);
  });

  test('--json writes nothing to stderr; --threads above the cores is capped with a note', async () => {
    const { code, stdout, stderr } = await cli(['analyze', EXAMPLE, '--json', '--no-lower-bound', '--threads', '64']);
    assert.equal(code, 0);
    assert.equal(stderr, '');
    const report = JSON.parse(stdout) as BoundReport;
    const cores = availableParallelism();
    const capped = (report.notes ?? []).filter((note) => note.startsWith('--threads 64 was capped'));
    assert.deepEqual(capped, cores < 64 ? [`--threads 64 was capped at ${cores}, the number of cores.`] : []);
  });
});
