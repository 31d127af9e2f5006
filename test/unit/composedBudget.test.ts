// The composed network bound's budget is the user's to choose (--composed-budget, lipschitzLens.composedBudget):
// 0 turns it off, a small one runs out, and the report says which happened instead of leaving the layer product unexplained.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatReport } from '../../src/cli/table';
import { analyzeModelFile } from '../../src/engine/pipeline';
import type { BoundReport } from '../../src/shared/protocol';
import type { ProgressEvent } from '../../src/shared/results';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'mnist', 'mnist-cnn.onnx');

/** The report, and how many composed norms it announced starting. */
async function analyse(composedBudget?: number): Promise<BoundReport & { composedNorms: number }> {
  let composedNorms = 0;
  const report = await analyzeModelFile(
    { modelPath: EXAMPLE, input: { kind: 'auto' }, epsilons: [0.001], options: { lowerBound: false, fidelity: false, ...(composedBudget !== undefined ? { composedBudget } : {}) } },
    { onProgress: (event: ProgressEvent) => { if (event.kind === 'composedNorm') composedNorms++; } },
  );
  return { ...report, composedNorms };
}

describe('composed budget', () => {
  it('0 leaves the layer product, said in the report; a budget too small for it says it ran out; the default computes it', async () => {
    const [off, small, byDefault] = [await analyse(0), await analyse(0.05), await analyse()];
    assert.equal(byDefault.runs[0].network.method, 'composed');
    assert.ok(byDefault.runs[0].network.localBound < byDefault.runs[0].network.layerProduct);
    for (const report of [off, small]) {
      const network = report.runs[0].network;
      assert.equal(network.method, 'layer-product');
      // The layer rows and the layer product do not depend on the composed work after them.
      assert.equal(network.layerProduct, byDefault.runs[0].network.layerProduct);
      assert.deepEqual(report.runs[0].layers.map((l) => l.localBound), byDefault.runs[0].layers.map((l) => l.localBound));
    }
    assert.match(off.runs[0].network.composedSkipped ?? '', /turned off \(a composed budget of 0\)/);
    assert.match(small.runs[0].network.composedSkipped ?? '', /more than 0\.05× the layer run's operator applications.*; a larger composed budget \(--composed-budget, lipschitzLens\.composedBudget\) allows more$/);
    assert.match(formatReport(off), /composed network bound not used: it was turned off \(a composed budget of 0\)/);
    assert.doesNotMatch(formatReport(byDefault), /composed network bound not used/);
    // Turned off, no composed norm is even started; the small budget starts some before it runs out.
    assert.equal(off.composedNorms, 0);
    assert.ok(small.composedNorms > 0 && byDefault.composedNorms > small.composedNorms, `${small.composedNorms} and ${byDefault.composedNorms} norms`);
  });
});
