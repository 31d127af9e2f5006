// What the graph view draws of a laid-out graph: collapsed fused layers as one box, the edges between
// boxes, arrow-key moves between boxes, search by name or op.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findNodes, graphScene, neighbourBox } from '../../media/graphLayout';
import type { GraphNodeInfo, ModelGraph } from '../../src/shared/protocol';

function node(id: string, opType: string, label: string, x: number, y: number, layer?: number): GraphNodeInfo {
  return { id, kind: 'node', label, opType, domain: '', inputs: [], outputs: [], attributes: [], parameterCount: 0, ...(layer === undefined ? {} : { layer }), x, y, width: 80, height: 40 };
}

const edge = (from: string, to: string) => ({ from, to, tensor: `${from}_${to}`, points: [], labelX: 0, labelY: 0 });

// a → conv → relu → add, with a skip a → add beside them; conv+relu is fused layer 1.
const graph: ModelGraph = {
  nodes: [node('a', 'Relu', 'a', 100, 20, 0), node('conv', 'Conv', 'conv', 100, 90, 1), node('relu', 'Relu', 'relu', 100, 160, 1), node('skip', 'Identity', 'skip', 250, 125), node('add', 'Add', 'add', 100, 230, 2)],
  edges: [edge('a', 'conv'), edge('conv', 'relu'), edge('relu', 'add'), edge('a', 'skip'), edge('skip', 'add')],
  groups: [{ layer: 1, nodes: ['conv', 'relu'], x: 100, y: 118, width: 96, height: 126 }],
  width: 300,
  height: 260,
};

describe('graph scene', () => {
  it('draws a collapsed fused layer as one box in its frame, standing for each of its nodes, without the edge inside it', () => {
    const scene = graphScene(graph, new Set());
    assert.deepEqual(scene.boxes.map((box) => box.id), ['conv', 'a', 'skip', 'add']);
    const layer = scene.boxOf.get('relu')!;
    assert.equal(layer, scene.boxOf.get('conv'));
    assert.deepEqual([layer.x, layer.y, layer.width, layer.height], [100, 118, 96, 126]);
    assert.deepEqual(scene.edges, [0, 2, 3, 4], 'conv → relu is inside the box');
    assert.deepEqual(scene.frames, []);
  });

  it('draws an expanded layer as its nodes inside a frame', () => {
    const scene = graphScene(graph, new Set([1]));
    assert.deepEqual(scene.boxes.map((box) => box.id), ['a', 'conv', 'relu', 'skip', 'add']);
    assert.deepEqual(scene.frames.map((frame) => frame.layer), [1]);
    assert.deepEqual(scene.edges, [0, 1, 2, 3, 4]);
  });

  it('moves along edges for up and down (to the nearest in x) and within the rank for left and right, between drawn boxes', () => {
    const scene = graphScene(graph, new Set());
    const box = (id: string) => scene.boxOf.get(id)!;
    assert.equal(neighbourBox(graph, scene, box('a'), 'ArrowDown'), box('conv'), 'the fused layer, nearer in x than skip');
    assert.equal(neighbourBox(graph, scene, box('conv'), 'ArrowDown'), box('add'), 'out of the layer, not to its own relu');
    assert.equal(neighbourBox(graph, scene, box('add'), 'ArrowUp'), box('conv'));
    assert.equal(neighbourBox(graph, scene, box('conv'), 'ArrowRight'), box('skip'));
    assert.equal(neighbourBox(graph, scene, box('skip'), 'ArrowLeft'), box('conv'));
    assert.equal(neighbourBox(graph, scene, box('a'), 'ArrowUp'), undefined);
  });

  it('finds nodes by name or op, case-insensitively, in graph order', () => {
    assert.deepEqual(findNodes(graph, 'RELU'), ['a', 'relu']);
    assert.deepEqual(findNodes(graph, 'ski'), ['skip']);
    assert.deepEqual(findNodes(graph, '  '), []);
  });
});
