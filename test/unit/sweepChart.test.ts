// The ε sweep chart: log axes, one series per bound, values readable on hover, no markup injection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartGeometry, chartPoints, logTicks, nearestPoint, sweepChartSvg, THEME_CHART_COLOURS, tickAlignedDomain } from '../../media/chart';
import type { EpsilonRun } from '../../src/shared/results';

function run(epsilon: number, localBound: number, spectralBound: number, lower?: number): EpsilonRun {
  return {
    epsilon,
    network: { localBound, layerProduct: localBound, method: 'layer-product', spectralBound, failureProbability: 0 },
    layers: [],
    ...(lower === undefined
      ? {}
      : { lowerBound: { value: lower, method: 'sampling' as const, samples: 1, steps: 0, evaluations: 1, witnessNorm: epsilon, seed: 1 } }),
  };
}

describe('ε sweep chart', () => {
  const runs = [run(10, 200, 200), run(0.001, 60, 200), run(0.1, 90, 200)];

  it('orders the points by ε', () => {
    assert.deepEqual(chartPoints(runs).map((p) => p.epsilon), [0.001, 0.1, 10]);
  });

  it('maps values on log axes: equal ratios are equal distances', () => {
    const g = chartGeometry(chartPoints(runs), 560, 280);
    // 0.001 → 0.1 and 0.1 → 10 are both two decades.
    assert.ok(Math.abs(g.x(0.1) - g.x(0.001) - (g.x(10) - g.x(0.1))) < 1e-9);
    assert.ok(g.y(200) < g.y(60), 'larger bounds are higher up');
    assert.ok(Math.abs(g.y(60) - g.y(120) - (g.y(100) - g.y(200))) < 1e-9, 'doubling is the same height anywhere');
  });

  it('puts ticks on powers of ten, with 2 and 5 for short ranges', () => {
    assert.deepEqual(logTicks(0.0005, 20), [0.001, 0.01, 0.1, 1, 10]);
    assert.deepEqual(logTicks(50, 300), [50, 100, 200]);
  });

  it('draws both series with a hover title per point, in theme colours only', () => {
    const svg = sweepChartSvg(chartPoints(runs), THEME_CHART_COLOURS, { width: 560, height: 280, mainEpsilon: 0.1 });
    assert.equal((svg.match(/class="series-local"/g) ?? []).length, 1);
    assert.equal((svg.match(/class="series-spectral"/g) ?? []).length, 1);
    assert.doesNotMatch(svg, /series-lower/, 'no lower-bound series when no run has one');
    assert.match(svg, /<title>ε = 0\.001: local 60, spectral 200<\/title>/);
    const colours = [...svg.matchAll(/(?:fill|stroke)="([^"]+)"/g)].map((m) => m[1]).filter((c) => c !== 'none');
    assert.ok(colours.length > 0);
    assert.ok(colours.every((c) => c.startsWith('var(--vscode-')), `non-theme colour among ${[...new Set(colours)].join(', ')}`);
  });

  it('adds the lower bound when the runs carry one, and finds the nearest point to a pixel', () => {
    const points = chartPoints([run(0.01, 5, 9, 3), run(1, 8, 9, 6)]);
    const svg = sweepChartSvg(points, THEME_CHART_COLOURS, { width: 400, height: 200 });
    assert.match(svg, /class="series-lower"/);
    assert.equal((svg.match(/class="marker-lower"/g) ?? []).length, 2);
    assert.equal((svg.match(/class="marker-local"/g) ?? []).length, 2);
    const g = chartGeometry(points, 400, 200);
    assert.equal(nearestPoint(points, g, g.x(0.02))?.epsilon, 0.01);
    assert.equal(nearestPoint(points, g, g.right)?.epsilon, 1);
  });

  it('escapes text it is given', () => {
    const svg = sweepChartSvg(chartPoints(runs), THEME_CHART_COLOURS, { width: 560, height: 280, title: '<script>&' });
    assert.match(svg, /<title>&lt;script&gt;&amp;<\/title>/);
  });
});

describe('ε sweep chart axes', () => {
  it('end the y axis on labelled ticks, so every line, the lower bound’s too, lies between two of them', () => {
    assert.deepEqual(tickAlignedDomain(0.3, 0.9), [0.2, 1]);
    assert.deepEqual(tickAlignedDomain(3, 700), [1, 1000]);
    // Under two decades only before widening: 0.3 → 25 would become 0.2 → 50, so it ends on powers of ten.
    assert.deepEqual(tickAlignedDomain(0.3, 25), [0.1, 100]);
    const points = chartPoints([run(0.001, 17, 70, 1.2), run(0.1, 50, 70, 12)]);
    const g = chartGeometry(points, 800, 340);
    const ticks = logTicks(...g.yDomain);
    assert.equal(ticks[0], g.yDomain[0], 'the bottom of the axis is labelled');
    assert.equal(ticks.at(-1), g.yDomain[1], 'the top of the axis is labelled');
    assert.ok(g.y(1.2) <= g.y(ticks[0]) && g.y(1.2) >= g.y(ticks.at(-1)!), 'the lowest lower bound is inside the labelled range');
  });
});
