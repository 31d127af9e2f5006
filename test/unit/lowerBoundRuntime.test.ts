// The lower-bound search with its candidates ranked on onnxruntime (float32, batched; lowerBound.ts
// runScreened, runtime/modelRuntime.ts): the reported value is still the float64 ratio of a real point
// of the ball, below the certified bound, close to the engine-only search; a model whose nodes fix the
// batch at 1 runs point by point; without the runtime the engine search gives the lower bound.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { LowerBoundSearch } from '../../src/engine/lowerBound';
import type { Network } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { prepareNetwork } from '../../src/engine/prepared';
import { ModelRuntime } from '../../src/engine/runtime/modelRuntime';
import { readModel } from '../../src/onnx/reader';
import { buildModel, conv, gemm, mulberry32, randomTensor, relu, reshape, tensor, flatten } from '../fixtures/onnxBuilder';
import { referenceForward } from './helpers/engineNetworks';

const dir = mkdtempSync(join(tmpdir(), 'll-lower-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = 'examples/mnist/mnist-cnn.onnx';

async function networkOf(path: string): Promise<Network> {
  const network = normaliseGraph(await readModel(path)).network;
  assert.ok(network, `${path} normalises`);
  return network;
}

/** Conv + Relu, then a dense layer; `fixedBatch`: the flattening is a Reshape to [1, -1] (batch fixed by a node), else Flatten. */
function smallModel(fixedBatch: boolean): string {
  const rng = mulberry32(5);
  const path = join(dir, fixedBatch ? 'fixed-batch.onnx' : 'open-batch.onnx');
  writeFileSync(
    path,
    buildModel({
      inputs: [{ name: 'x', shape: [1, 1, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomTensor('w1', [3, 1, 3, 3], rng),
        randomTensor('b1', [3], rng, 0.1),
        randomTensor('w2', [4, 48], rng, 0.3),
        randomTensor('b2', [4], rng, 0.1),
        tensor('flatShape', [2], [1, -1], { dataType: 'INT64' }),
      ],
      nodes: [
        conv({ name: 'conv1', input: 'x', weight: 'w1', bias: 'b1', output: 'c1' }),
        relu('c1', 'r1', 'relu1'),
        fixedBatch ? reshape('r1', 'flatShape', 'f', 'view') : flatten('r1', 'f', 1, 'flat'),
        gemm({ name: 'fc', a: 'f', b: 'w2', c: 'b2', output: 'y', transB: true }),
      ],
    }),
  );
  return path;
}

function inputFor(network: Network, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random());
}

/** ‖f(x) − f(x0)‖ / ‖x − x0‖ by the independent reference forward pass. */
function referenceRatio(network: Network, x0: Float64Array, x: Float64Array): number {
  const f0 = referenceForward(network, x0)[network.output];
  const fx = referenceForward(network, x)[network.output];
  const dx = Math.sqrt(x.reduce((s, v, i) => s + (v - x0[i]) ** 2, 0));
  return Math.sqrt(fx.reduce((s, v, i) => s + (v - f0[i]) ** 2, 0)) / dx;
}

describe('lower bound ranked on onnxruntime', () => {
  for (const path of [EXAMPLE, smallModel(false), smallModel(true)]) {
    test(`${path}: the runtime's outputs are the network's within float32 rounding, at one point and in batches`, async () => {
      const network = await networkOf(path);
      const runtime = new ModelRuntime(path, { intraOpNumThreads: 1 });
      try {
        const outputs = await runtime.outputs(network);
        assert.ok(outputs, 'the runtime runs the model');
        const points = [1, 2, 3, 4, 5].map((seed) => inputFor(network, seed));
        const batched = await outputs(points);
        const single = await Promise.all(points.map(async (p) => (await outputs([p]))[0]));
        points.forEach((point, p) => {
          const exact = referenceForward(network, point)[network.output];
          const scale = exact.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
          for (const got of [batched[p], single[p]]) {
            assert.equal(got.length, exact.length);
            got.forEach((v, i) => assert.ok(Math.abs(v - exact[i]) <= 1e-5 * scale, `point ${p} output ${i}: ${v} vs ${exact[i]}`));
          }
        });
      } finally {
        await runtime.release();
      }
    });
  }

  for (const path of [EXAMPLE, smallModel(true)]) {
    test(`${path}: the witness is a point of the ball whose float64 ratio is the reported value, below the bound, near the engine search`, async () => {
      const network = await networkOf(path);
      const x0 = inputFor(network, 11);
      const prepared = prepareNetwork(network);
      const runtime = new ModelRuntime(path, { intraOpNumThreads: 1 });
      try {
        const outputs = await runtime.outputs(network);
        assert.ok(outputs);
        const screened = new LowerBoundSearch(prepared, x0, { seed: 3 });
        const engine = new LowerBoundSearch(prepared, x0, { seed: 3 });
        for (const epsilon of [1e-3, 1e-2, 0.1]) {
          const found = await screened.runScreened(epsilon, null, outputs);
          assert.ok((found.runtimeEvaluations ?? 0) > 0, 'candidates were ranked on the runtime');
          const witness = screened.lastWitness()!;
          const ratio = referenceRatio(network, x0, witness);
          const distance = Math.sqrt(witness.reduce((s, v, i) => s + (v - x0[i]) ** 2, 0));
          assert.ok(distance <= epsilon && distance > 0, `witness at ${distance}, ε = ${epsilon}`);
          // The float64 re-evaluation less its rounding allowance: never above the true ratio, and not far below.
          assert.ok(found.value <= ratio * (1 + 1e-9) && found.value >= ratio * (1 - 1e-6), `reported ${found.value}, witness ratio ${ratio}`);
          const reference = engine.run(epsilon);
          assert.equal(reference.runtimeEvaluations, undefined);
          // Different rankings may pick different points, but float32 rounding only swaps near-equal candidates.
          assert.ok(Math.abs(found.value - reference.value) <= 0.02 * reference.value, `ε = ${epsilon}: ranked on the runtime ${found.value}, on the engine ${reference.value}`);
        }
      } finally {
        await runtime.release();
      }
    });
  }

  test('the analysis ranks on the fidelity check\'s runtime, and the lower bound never exceeds the certified bound', async () => {
    const report = await analyzeModelFile({ modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [1e-3, 0.05] });
    assert.ok(report.fidelity && !('notChecked' in report.fidelity));
    for (const run of report.runs) {
      const lower = run.lowerBound!;
      assert.ok((lower.runtimeEvaluations ?? 0) > 0, `ε = ${run.epsilon}: ranked on the runtime`);
      assert.ok(lower.value > 0 && lower.value <= run.network.localBound, `ε = ${run.epsilon}: lower ${lower.value}, bound ${run.network.localBound}`);
    }
  });

  test('a model whose nodes fix the batch at 1 is analysed, its candidates ranked one run per point', async () => {
    const report = await analyzeModelFile({ modelPath: smallModel(true), input: { kind: 'synthetic' }, epsilons: [0.01] });
    assert.ok(report.fidelity && !('notChecked' in report.fidelity), JSON.stringify(report.fidelity));
    const lower = report.runs[0].lowerBound!;
    assert.ok((lower.runtimeEvaluations ?? 0) > 0);
    assert.ok(lower.value > 0 && lower.value <= report.runs[0].network.localBound);
  });

  test('without the runtime (fidelity off, or a model it cannot load) the engine search gives the lower bound', async () => {
    const off = await analyzeModelFile({ modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [1e-3], options: { fidelity: false } });
    const lower = off.runs[0].lowerBound!;
    assert.equal(lower.runtimeEvaluations, undefined);
    assert.ok(lower.value > 0 && lower.value <= off.runs[0].network.localBound);

    const network = await networkOf(EXAMPLE);
    const x0 = inputFor(network, 4);
    const broken = new ModelRuntime(join(dir, 'missing.onnx'));
    const options = { epsilons: [1e-2], lowerBound: { budget: 60 } };
    const unavailable = await analyzeNetwork(network, x0, { ...options, runtimeOutputs: () => broken.outputs(network) });
    await broken.release();
    const engineOnly = await analyzeNetwork(network, x0, options);
    assert.equal(unavailable.runs[0].lowerBound?.runtimeEvaluations, undefined);
    assert.deepEqual(unavailable.runs[0].lowerBound, engineOnly.runs[0].lowerBound);
  });
});
