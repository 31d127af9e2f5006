// The graph view's colouring: the per-layer numbers are the table's, and the classes split the range evenly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMetric, heat, HEAT_CLASSES, layerMetric } from '../../media/graphMetrics';
import type { LayerResult } from '../../src/shared/results';

function layer(index: number, localBound: number, spectralNorm: number, neurons?: LayerResult['neurons']): LayerResult {
  const certificate = { method: 'closed-form' as const, detail: 'test' };
  return {
    index,
    label: `l${index}`,
    nodes: [`l${index}`],
    kind: 'dense+relu',
    epsilonIn: 1,
    epsilonOut: localBound,
    localBound,
    spectralNorm,
    ...(neurons ? { neurons } : {}),
    certificate,
    spectralCertificate: certificate,
    timeMs: 0,
  } as LayerResult;
}

describe('graph metrics', () => {
  // Bounds e, e³ and 0.5: logs 1, 3 and — (0.5 does not grow the product), so shares 25 %, 75 %, 0.
  const layers = [layer(0, Math.E, 2 * Math.E, { on: 6, unstable: 2, off: 2 }), layer(1, Math.E ** 3, Math.E ** 3), layer(2, 0.5, 4)];

  it('computes each layer’s number as the table does', () => {
    assert.ok(Math.abs(layerMetric('share', layers[0], layers)! - 0.25) < 1e-12);
    assert.ok(Math.abs(layerMetric('share', layers[1], layers)! - 0.75) < 1e-12);
    assert.equal(layerMetric('share', layers[2], layers), 0);
    assert.equal(layerMetric('ratio', layers[0], layers), 2);
    assert.equal(layerMetric('ratio', layers[2], layers), 8);
    assert.equal(layerMetric('bound', layers[2], layers), 0.5);
    assert.equal(layerMetric('unstable', layers[0], layers), 0.2);
    assert.equal(layerMetric('unstable', layers[1], layers), undefined, 'no neurons, no fraction');
    assert.equal(formatMetric('share', 0.25), '25%');
    assert.equal(formatMetric('ratio', 2.34567), '2.346×');
  });

  it('puts the largest value in the top class and the smallest in the bottom one, on a log scale for bounds', () => {
    const shares = heat('share', layers)!;
    // Linear from 0 to 75 %: 25 % is in class floor(0.25 / 0.15) = 1, 75 % in the top class, 0 in the bottom.
    assert.deepEqual([...shares.classOf], [[0, 1], [1, HEAT_CLASSES - 1], [2, 0]]);
    assert.equal(shares.legend[0].from, 0);
    assert.ok(Math.abs(shares.legend[HEAT_CLASSES - 1].to - 0.75) < 1e-12);
    const bounds = heat('bound', layers)!;
    // log10 from log10(0.5) to log10(e³): e is at (0.434 + 0.301) / (1.303 + 0.301) = 0.458 of the range, class 2.
    assert.deepEqual([...bounds.classOf], [[0, 2], [1, HEAT_CLASSES - 1], [2, 0]]);
    assert.ok(Math.abs(bounds.legend[0].from - 0.5) < 1e-12);
    assert.equal(heat('none', layers), undefined);
    assert.equal(heat('unstable', [layers[1]]), undefined, 'no layer has the number');
  });

  it('tightness divides by the layer’s witnessed lower value where there is one, else by ‖A‖; change divides by the pinned run’s bound of the same layer', () => {
    const witnessed = { ...layers[0], tightness: { lower: Math.E / 1.25, kind: 'witnessed' as const, detail: 'test' } };
    assert.ok(Math.abs(layerMetric('tightness', witnessed, layers)! - 1.25) < 1e-12, 'local ÷ witnessed lower');
    assert.ok(Math.abs(layerMetric('tightness', layers[0], layers)! - 0.5) < 1e-12, 'local ÷ ‖A‖ without a lower value');
    const pinned = new Map([[0, Math.E / 2], [2, 1]]);
    assert.ok(Math.abs(layerMetric('change', layers[0], layers, pinned)! - 2) < 1e-12);
    assert.equal(layerMetric('change', layers[1], layers, pinned), undefined, 'not in the pinned run');
    assert.equal(layerMetric('change', layers[0], layers), undefined, 'nothing pinned');
    const change = heat('change', layers, pinned)!;
    // Ratios 2 and 0.5, on a log scale: the smaller in the bottom class, the larger in the top one.
    assert.deepEqual([...change.classOf], [[0, HEAT_CLASSES - 1], [2, 0]]);
    assert.equal(formatMetric('change', 2), '2×');
  });
});
