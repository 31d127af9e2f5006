// Models with several inputs and outputs: the bounds are with respect to one input with the others
// held at given values (or zeros), and for every output at once, flattened and concatenated
// (docs/derivations.md §40). Checked end to end against onnxruntime running the original file with
// the same fixed feeds: the fidelity check passes, and no sampled point in the ball beats the bound.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAnalyzeArguments } from '../../src/cli/args';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { ortForwardAll } from '../../src/engine/runtime/ortForward';
import { prepareNetwork } from '../../src/engine/prepared';
import { NetworkTape } from '../../src/engine/tightness/tape';
import { readModel } from '../../src/onnx/reader';
import { DataType, Tensor } from '../../src/onnx/tensor';
import { buildModel, gemm, mulberry32, node, randomTensor, relu } from '../fixtures/onnxBuilder';
import { cli } from './helpers/runCli';

const HIDDEN = [0.3, -0.8, 1.2, 0.05];

/** y1 = relu(W1 x + h), y2 = tanh(W2 x), next = h + h: two inputs (x analysed, h held fixed), three outputs. */
async function recurrentCell(): Promise<{ model: string; hidden: string; folder: string }> {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-multi-io-'));
  const model = join(folder, 'cell.onnx');
  const rng = mulberry32(23);
  await writeFile(
    model,
    buildModel({
      inputs: [{ name: 'x', shape: [1, 6] }, { name: 'h', shape: [1, 4] }],
      outputs: [{ name: 'y1' }, { name: 'y2' }, { name: 'next' }],
      initializers: [randomTensor('w1', [4, 6], rng), randomTensor('w2', [3, 6], rng)],
      nodes: [
        gemm({ name: 'in1', a: 'x', b: 'w1', output: 'g1', transB: true }),
        node('Add', ['g1', 'h'], ['a1'], undefined, 'recur'),
        relu('a1', 'y1', 'act1'),
        gemm({ name: 'in2', a: 'x', b: 'w2', output: 'g2', transB: true }),
        node('Tanh', ['g2'], ['y2'], undefined, 'act2'),
        node('Add', ['h', 'h'], ['next'], undefined, 'carry'),
      ],
    }),
  );
  const hidden = join(folder, 'h.json');
  await writeFile(hidden, JSON.stringify({ shape: [1, 4], data: HIDDEN }));
  return { model, hidden, folder };
}

test('bounds with respect to one input, another held at a file value, every output stacked; onnxruntime agrees', async () => {
  const { model, hidden, folder } = await recurrentCell();
  const x0Path = join(folder, 'x.json');
  const x0 = [0.5, -0.2, 0.9, 0.1, -0.7, 0.3];
  await writeFile(x0Path, JSON.stringify({ shape: [1, 6], data: x0 }));
  const epsilon = 0.2;
  const report = await analyzeModelFile({
    modelPath: model,
    input: { kind: 'file', path: x0Path },
    inputName: 'x',
    fixedInputs: [{ name: 'h', path: hidden }],
    epsilons: [epsilon],
    options: { seed: 3 },
  });
  assert.equal(report.input.name, 'x');
  assert.deepEqual(report.fixedInputs, [{ name: 'h', shape: [1, 4], source: 'h.json' }]);
  // 'next' depends on h only: left out, and said.
  assert.deepEqual(report.outputs, ['y1', 'y2']);
  assert.equal(report.outputSize, 4 + 3);
  assert.ok(report.notes?.some((n) => n.includes("'next' does not depend on the input 'x'")), report.notes?.join('\n'));
  assert.ok(report.notes?.some((n) => n.includes("held fixed: 'h' from h.json")), report.notes?.join('\n'));
  // The fidelity check fed h to onnxruntime too: with h at zeros there, y1 would differ by up to 1.2.
  assert.ok(report.fidelity && 'points' in report.fidelity, JSON.stringify(report.fidelity));
  assert.ok(report.fidelity.maxRelativeDifference < 1e-5);

  const upper = report.runs[0].network.localBound;
  const lower = report.runs[0].lowerBound?.value ?? 0;
  assert.ok(lower > 0 && lower <= upper * (1 + 1e-9), `lower ${lower} ≤ upper ${upper}`);

  // Sampled soundness against the original file on onnxruntime, h fed from the same file.
  const { network } = loadAnalysisNetwork(await readModel(model), { input: 'x', fixedInputs: new Map([['h', { values: Float64Array.from(HIDDEN), shape: [1, 4], origin: 'h.json' }]]) });
  const rng = mulberry32(5);
  const points = [Float32Array.from(x0)];
  for (let p = 0; p < 300; p++) {
    const direction = x0.map(() => rng() - 0.5);
    const norm = Math.hypot(...direction);
    const radius = epsilon * Math.sqrt(rng());
    points.push(Float32Array.from(x0, (v, i) => v + (radius * direction[i]) / norm));
  }
  // h is fed from values built here, independently of the engine's reading of h.json.
  const h = new Tensor({ name: 'h', dataType: DataType.FLOAT, dims: [1, 4], origin: { kind: 'input' }, data: { kind: 'typed', field: 'float_data', values: HIDDEN }, file: model });
  const runs = await ortForwardAll(model, points.map((data) => ({ name: 'x', shape: [1, 6], data })), ['y1', 'y2'], { intraOpNumThreads: 1, fixedInputs: [{ name: 'h', tensor: h, source: 'test' }] });
  const stacked = (k: number) => [...runs[k].values.get('y1')!, ...runs[k].values.get('y2')!];
  const y0 = stacked(0);
  // The analysed network (the stacked output) computes f(x0, h) with h from the file.
  const ours = new NetworkTape(prepareNetwork(network)).forward(Float64Array.from(points[0])).outputs[network.output]!;
  assert.deepEqual(Array.from(ours, (v) => v.toFixed(5)), y0.map((v) => v.toFixed(5)));
  let worst = 0;
  for (let p = 1; p < points.length; p++) {
    const dy = Math.hypot(...stacked(p).map((v, i) => v - y0[i]));
    const dx = Math.hypot(...Array.from(points[p], (v, i) => v - points[0][i]));
    // float32 evaluation: a few ulps of |y| ≈ 1 on top of the bound.
    assert.ok(dy <= upper * dx + 1e-5, `point ${p}: ‖Δy‖ ${dy} > L ${upper} · ‖Δx‖ ${dx}`);
    worst = Math.max(worst, dy / dx);
  }
  assert.ok(worst > 0.3 * upper, `the sampled ratio ${worst} exercises the bound ${upper}`);
});

test('one output can be chosen; inputs not given are held at zeros', async () => {
  const { model } = await recurrentCell();
  const report = await analyzeModelFile({ modelPath: model, input: { kind: 'synthetic' }, outputs: ['y2'], epsilons: [0.01], options: { lowerBound: false } });
  assert.deepEqual(report.outputs, ['y2']);
  assert.equal(report.outputSize, 3);
  assert.deepEqual(report.fixedInputs, [{ name: 'h', shape: [1, 4], source: 'zeros' }]);
  assert.deepEqual(report.runs[0].layers.map((l) => l.label), ['in2+act2']);
});

test('a radius is computed for one chosen output, not for several stacked (their largest entry is no class), and the report says why', async () => {
  const { model } = await recurrentCell();
  const request = { modelPath: model, input: { kind: 'synthetic' } as const, epsilons: [0.01], options: { lowerBound: false, computeRadius: true } };
  const stacked = await analyzeModelFile(request);
  assert.deepEqual(stacked.outputs, ['y1', 'y2']);
  assert.equal(stacked.radius, undefined);
  assert.ok(stacked.notes?.some((n) => /^No certified robustness radius: the bounded output stacks 2 graph outputs, .*--output NAME/.test(n)), stacked.notes?.join('\n'));
  const one = await analyzeModelFile({ ...request, outputs: ['y2'] });
  assert.ok(one.radius && one.radius.local > 0, JSON.stringify(one.radius));
  assert.ok(!one.notes?.some((n) => n.startsWith('No certified robustness radius')), one.notes?.join('\n'));
});

test('the CLI takes --input-name, --fixed NAME=FILE and --output, and says what it held fixed', async () => {
  assert.deepEqual(parseAnalyzeArguments(['analyze', 'm.onnx', '--input-name', 'x', '--fixed', 'h=state.npy', '--fixed', 'c=c.json', '--output', 'y1', '--output', 'y2']), {
    ...(parseAnalyzeArguments(['analyze', 'm.onnx']) as object),
    inputName: 'x',
    fixedInputs: [{ name: 'h', path: 'state.npy' }, { name: 'c', path: 'c.json' }],
    outputs: ['y1', 'y2'],
  });
  assert.throws(() => parseAnalyzeArguments(['analyze', 'm.onnx', '--fixed', 'h']), /--fixed takes NAME=FILE, got 'h'/);
  assert.throws(() => parseAnalyzeArguments(['analyze', 'm.onnx', '--fixed', 'h=a.npy', '--fixed', 'h=b.npy']), /--fixed gives input 'h' twice/);
  assert.throws(() => parseAnalyzeArguments(['analyze', 'm.onnx', '--input-name', 'h', '--fixed', 'h=a.npy']), /input 'h' is both --input-name and --fixed/);

  const { model, hidden } = await recurrentCell();
  const table = await cli(['analyze', model, '--synthetic', '--fixed', `h=${hidden}`, '--eps', '0.01', '--no-lower-bound', '--quiet']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /nominal input 'x': /);
  assert.match(table.stdout, /note: Bounds are with respect to the input 'x'; the other inputs are held fixed: 'h' from h\.json\./);
  assert.match(table.stdout, /note: Bounds are for the outputs 'y1', 'y2', 'next', flattened and concatenated into one vector\./);
  const wrong = await cli(['analyze', model, '--synthetic', '--input-name', 'state', '--quiet']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /cell\.onnx.*has no graph input 'state' \(inputs: 'x', 'h'\)/);
});
