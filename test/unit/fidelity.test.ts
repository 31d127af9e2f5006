// The fidelity check (src/engine/fidelity.ts): every supported fixture and the example match the model
// file on onnxruntime; a deliberately misread network is caught, naming the first tensor where it
// parts from the file; a runtime that cannot run the model is reported as "not checked", never as a
// match; the whole pipeline carries the report.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FIDELITY_RELATIVE_TOLERANCE, FidelityError, onnxruntimeFidelity } from '../../src/engine/fidelity';
import type { Layer, Network } from '../../src/engine/network';
import { normaliseGraph } from '../../src/engine/normalise/normalise';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { prepareNetwork } from '../../src/engine/prepared';
import { readModel } from '../../src/onnx/reader';
import { buildModel, mulberry32 } from '../fixtures/onnxBuilder';
import { allSupportedFixtures } from '../fixtures/normaliseModels';

const dir = mkdtempSync(join(tmpdir(), 'll-fidelity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = 'examples/mnist/mnist-cnn.onnx';

function inputFor(network: Network, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
}

async function networkOf(path: string): Promise<Network> {
  const network = normaliseGraph(await readModel(path)).network;
  assert.ok(network, `${path} normalises`);
  return network;
}

describe('fidelity against onnxruntime', () => {
  const models = [
    ...allSupportedFixtures().map((fixture) => {
      const path = join(dir, `${fixture.name.replace(/\W+/g, '-')}.onnx`);
      writeFileSync(path, buildModel(fixture.spec));
      return path;
    }),
    EXAMPLE,
  ];

  for (const [index, path] of models.entries()) {
    test(`${path}: the analysed network matches the file at x0 and on the ε-sphere`, async () => {
      const network = await networkOf(path);
      const report = await onnxruntimeFidelity({ modelPath: path, epsilon: 0.1, threads: 1 })(prepareNetwork(network), inputFor(network, 10 + index));
      assert.ok(!('notChecked' in report), `checked: ${JSON.stringify(report)}`);
      assert.equal(report.points, 3);
      assert.ok(report.tensors >= 3, `every layer output the output depends on, at each point (${report.tensors})`);
      assert.ok(report.maxRelativeDifference <= FIDELITY_RELATIVE_TOLERANCE, `${report.maxRelativeDifference}`);
      assert.match(report.runtime, /^onnxruntime \d+\.\d+/);
    });
  }

  test('a misread layer is caught, naming the first tensor where the network parts from the file', async () => {
    const network = await networkOf(EXAMPLE);
    // Misread the second conv: its weights scaled by 1.5, as a wrongly applied BatchNorm fold would.
    const target = network.layers.findIndex((layer, k) => k > 0 && layer.op.kind === 'affine' && layer.op.linear.kind === 'conv');
    assert.ok(target > 0);
    const misread = structuredClone(network);
    const layer: Layer = misread.layers[target];
    if (layer.op.kind !== 'affine' || layer.op.linear.kind !== 'conv') throw new Error('unreachable');
    layer.op.linear.weight = layer.op.linear.weight.map((w) => w * 1.5);
    const check = onnxruntimeFidelity({ modelPath: EXAMPLE, epsilon: 0.01, threads: 1 });
    await assert.rejects(check(prepareNetwork(misread), inputFor(network, 3)), (error: unknown) => {
      assert.ok(error instanceof FidelityError);
      assert.match(error.message, new RegExp(`tensor '${layer.onnxOutput}' \\(layer ${target}, `));
      assert.match(error.message, /at x0/);
      return true;
    });
    // The unmodified network passes the same check.
    const report = await check(prepareNetwork(network), inputFor(network, 3));
    assert.ok(!('notChecked' in report));
  });

  test('a runtime that cannot run the model says "not checked" with the reason', async () => {
    const network = await networkOf(EXAMPLE);
    const report = await onnxruntimeFidelity({ modelPath: join(dir, 'missing.onnx'), epsilon: 0.01 })(prepareNetwork(network), inputFor(network, 1));
    assert.ok('notChecked' in report);
    assert.match(report.notChecked, /missing\.onnx|ENOENT/);
  });

  test('the pipeline reports fidelity by default and leaves it out when asked', async () => {
    const checked = await analyzeModelFile({ modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [0.001], options: { lowerBound: false } });
    assert.ok(checked.fidelity && !('notChecked' in checked.fidelity));
    assert.equal(checked.fidelity.points, 3);
    assert.ok((checked.stats?.phases.fidelityMs ?? 0) > 0);
    const unchecked = await analyzeModelFile({ modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [0.001], options: { lowerBound: false, fidelity: false } });
    assert.equal(unchecked.fidelity, undefined);
    assert.equal(unchecked.stats?.phases.fidelityMs, 0);
  });
});
