// The graph view's node graph, built in the worker: every node, its layer, shapes, weight statistics,
// unsupported nodes in place, and a layout with every edge pointing down the page.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { weightStats } from '../../src/worker/describeGraph';
import { describeModelFile } from '../../src/worker/describeModel';
import type { ModelGraph } from '../../src/shared/protocol';
import { gemm, relu, tensor, writeModel } from '../fixtures/onnxBuilder';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny.onnx');

function assertLaidOut(graph: ModelGraph): void {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  for (const edge of graph.edges) {
    const from = byId.get(edge.from)!;
    const to = byId.get(edge.to)!;
    assert.ok(to.y > from.y, `${edge.tensor} runs downward (${from.label} → ${to.label})`);
    assert.ok(edge.points.length >= 2, `${edge.tensor} has a route`);
  }
  for (const [i, a] of graph.nodes.entries()) {
    for (const b of graph.nodes.slice(i + 1)) {
      const apart = Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
      assert.ok(apart, `${a.label} and ${b.label} do not overlap`);
    }
    assert.ok(a.x - a.width / 2 >= 0 && a.x + a.width / 2 <= graph.width, `${a.label} inside the drawing`);
  }
}

describe('graph of the graph view', () => {
  it('draws every node of the tiny fixture with its layer, shapes and weight statistics', async () => {
    const { graph } = await describeModelFile(TINY);
    // makeTinyFixture.mjs: x → Gemm fc1 (A, b) → Relu relu1 → Gemm fc2 (B, c) → logits.
    assert.deepEqual(
      graph.nodes.map((node) => [node.kind, node.label, node.opType, node.layer]),
      [
        ['input', 'x', 'Input', undefined],
        ['node', 'fc1', 'Gemm', 0],
        ['node', 'relu1', 'Relu', 0],
        ['node', 'fc2', 'Gemm', 1],
        ['output', 'logits', 'Output', undefined],
      ],
    );
    assert.deepEqual(
      graph.edges.map((edge) => [edge.tensor, edge.shape]),
      [
        ['x', '[1,3]'],
        ['h', '[1,3]'],
        ['r', '[1,3]'],
        ['logits', '[1,2]'],
      ],
    );
    const fc1 = graph.nodes[1];
    assert.equal(fc1.parameterCount, 9 + 3);
    assert.deepEqual(fc1.attributes, ['transB = 1']);
    assert.deepEqual(fc1.inputs.map((input) => [input.name, input.shape]), [['x', '[1,3]'], ['A', '[3,3]'], ['b', '[3]']]);
    // A = [3, -1, 2, -2, 7, 1, 5, -3, -1]: sum 11, no zeros.
    const stats = fc1.inputs[1].weight?.stats;
    assert.ok(stats);
    assert.equal(stats.min, -3);
    assert.equal(stats.max, 7);
    assert.ok(Math.abs(stats.mean - 11 / 9) < 1e-12);
    assert.equal(stats.sparsity, 0);
    assertLaidOut(graph);
  });

  it('keeps the nodes after an unsupported node, which carries its reason, and shows a residual branch as two edges into the Add', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'graph-'));
    const path = join(folder, 'residual-softplus.onnx');
    const eye = tensor('W', [2, 2], [1, 0, 0, 1]);
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [eye, tensor('W2', [2, 2], [0, 0, 0, 2])],
      nodes: [
        gemm({ name: 'fc1', a: 'x', b: 'W', output: 'h', transB: true }),
        relu('h', 'r', 'relu1'),
        { opType: 'Softplus', name: 'sp', inputs: ['r'], outputs: ['s'] },
        gemm({ name: 'fc2', a: 's', b: 'W2', output: 'g', transB: true }),
        { opType: 'Add', name: 'skip', inputs: ['g', 'r'], outputs: ['y'] },
      ],
      opset: 13,
    });
    const overview = await describeModelFile(path);
    assert.equal(overview.rowSource, 'prefix');
    const byLabel = new Map(overview.graph.nodes.map((node) => [node.label, node]));
    assert.deepEqual([...byLabel.keys()], ['x', 'fc1', 'relu1', 'sp', 'fc2', 'skip', 'y'], 'every node is drawn, also after the unsupported one');
    assert.match(byLabel.get('sp')?.unsupported ?? '', /Softplus/);
    assert.equal(byLabel.get('fc1')?.layer, 0);
    assert.equal(byLabel.get('fc2')?.unsupported, undefined);
    const W2 = byLabel.get('fc2')?.inputs.find((input) => input.name === 'W2')?.weight?.stats;
    assert.equal(W2?.sparsity, 3 / 4);
    const intoSkip = overview.graph.edges.filter((edge) => edge.to === byLabel.get('skip')?.id).map((edge) => edge.from);
    assert.deepEqual(intoSkip.sort(), [byLabel.get('fc2')?.id, byLabel.get('relu1')?.id].sort(), 'the skip connection from relu1 is an edge of its own');
    assertLaidOut(overview.graph);
  });

  it('computes weight statistics by their definitions', () => {
    // Values 0, 0, 2, 6: mean 2, population variance (4 + 4 + 0 + 16) / 4 = 6.
    const stats = weightStats(Float64Array.from([0, 0, 2, 6]));
    assert.deepEqual(stats, { min: 0, max: 6, mean: 2, std: Math.sqrt(6), sparsity: 0.5 });
    assert.equal(weightStats(new Float64Array(0)), undefined);
  });
});
