// What the graph view draws of a laid-out graph: collapsed fused layers as one box, the edges between
// boxes, arrow-key moves between boxes, search by name or op.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findNodes, graphScene, neighbourBox } from '../../media/graphLayout';
import type { GraphNodeInfo, ModelGraph } from '../../src/shared/protocol';

function node(id: string, opType: string, label: string, x: number, y: number, layer?: number): GraphNodeInfo {
  return { id, kind: 'node', label, opType, domain: '', inputs: [], outputs: [], attributes: [], parameterCount: 0, ...(layer === undefined ? {} : { layer }), x, y, width: 80, height: 40 };
}

// Points as dagre gives them: from the bottom of one box (height 40) to the top of the next.
const at = (x: number, y: number) => ({ x, y });
const edge = (from: string, to: string, points: { x: number; y: number }[] = []) => ({ from, to, tensor: `${from}_${to}`, points, labelX: 0, labelY: 0 });

// a → conv → relu → add, with a skip a → add beside them; conv+relu is fused layer 1.
const graph: ModelGraph = {
  nodes: [node('a', 'Relu', 'a', 100, 20, 0), node('conv', 'Conv', 'conv', 100, 90, 1), node('relu', 'Relu', 'relu', 100, 160, 1), node('skip', 'Identity', 'skip', 250, 125), node('add', 'Add', 'add', 100, 230, 2)],
  edges: [edge('a', 'conv', [at(100, 40), at(100, 55), at(100, 70)]), edge('conv', 'relu', [at(100, 110), at(100, 140)]), edge('relu', 'add', [at(100, 180), at(100, 195), at(100, 210)]), edge('a', 'skip'), edge('skip', 'add')],
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
    // At the frame's centre, as wide as the frame but one node tall (not the frame's 126 px).
    assert.deepEqual([layer.x, layer.y, layer.width, layer.height], [100, 118, 96, 40]);
    assert.deepEqual(scene.edges.map((drawn) => drawn.index), [0, 2, 3, 4], 'conv → relu is inside the box');
    // The edges in and out go on to the box's top (118 − 20) and start at its bottom (118 + 20).
    assert.deepEqual(scene.edges[0].points, [at(100, 40), at(100, 55), at(100, 70), at(100, 98)]);
    assert.deepEqual(scene.edges[1].points, [at(100, 138), at(100, 180), at(100, 195), at(100, 210)], 'on from the box’s bottom through relu’s');
    assert.deepEqual(scene.frames, []);
  });

  it('draws an expanded layer as its nodes inside a frame', () => {
    const scene = graphScene(graph, new Set([1]));
    assert.deepEqual(scene.boxes.map((box) => box.id), ['a', 'conv', 'relu', 'skip', 'add']);
    assert.deepEqual(scene.frames.map((frame) => frame.layer), [1]);
    assert.deepEqual(scene.edges.map((drawn) => drawn.index), [0, 1, 2, 3, 4]);
    assert.deepEqual(scene.edges[0].points, graph.edges[0].points, 'edges of an expanded layer as laid out');
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
