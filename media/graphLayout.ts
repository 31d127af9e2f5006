// What the graph view draws of a laid-out model graph, given which fused layers are expanded: the
// visible boxes (a collapsed layer is one box where its nodes' frame is), the edges between them, and
// keyboard moves between boxes. Pure, so it is unit-tested.

import type { GraphGroupInfo, GraphNodeInfo, ModelGraph } from '../src/shared/protocol';

/** A drawn box: an ONNX node, a graph input or output, or a collapsed fused layer. */
export interface VisibleBox {
  /** The id selecting it: the node's, or a collapsed layer's first node's. */
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  node: GraphNodeInfo;
  /** Set for a collapsed fused layer. */
  group?: GraphGroupInfo;
}

export interface GraphScene {
  boxes: VisibleBox[];
  /** Expanded fused layers, drawn as frames around their nodes. */
  frames: GraphGroupInfo[];
  /** Indices into graph.edges of the edges drawn (those inside a collapsed layer are not). */
  edges: number[];
  /** The box standing for each node id (itself, or its collapsed layer's). */
  boxOf: Map<string, VisibleBox>;
}

export function graphScene(graph: ModelGraph, expanded: ReadonlySet<number>): GraphScene {
  const nodes = new Map(graph.nodes.map((node) => [node.id, node]));
  const boxOf = new Map<string, VisibleBox>();
  const frames: GraphGroupInfo[] = [];
  const boxes: VisibleBox[] = [];
  for (const group of graph.groups ?? []) {
    if (expanded.has(group.layer)) {
      frames.push(group);
      continue;
    }
    const first = nodes.get(group.nodes[0]);
    if (!first) continue;
    const box: VisibleBox = { id: first.id, x: group.x, y: group.y, width: group.width, height: group.height, node: first, group };
    boxes.push(box);
    for (const id of group.nodes) boxOf.set(id, box);
  }
  for (const node of graph.nodes) {
    if (boxOf.has(node.id)) continue;
    const box: VisibleBox = { id: node.id, x: node.x, y: node.y, width: node.width, height: node.height, node };
    boxes.push(box);
    boxOf.set(node.id, box);
  }
  const edges = graph.edges.flatMap((edge, index) => (boxOf.get(edge.from) !== undefined && boxOf.get(edge.from) === boxOf.get(edge.to) ? [] : [index]));
  return { boxes, frames, edges, boxOf };
}

/** The box next to `from` in the direction of an arrow key: along edges for up and down, within the rank for left and right. */
export function neighbourBox(graph: ModelGraph, scene: GraphScene, from: VisibleBox, key: string): VisibleBox | undefined {
  const nearest = (candidates: (VisibleBox | undefined)[]) =>
    candidates
      .filter((box): box is VisibleBox => box !== undefined && box !== from)
      .sort((a, b) => Math.abs(a.x - from.x) - Math.abs(b.x - from.x))[0];
  const ends = graph.edges.map((edge) => ({ from: scene.boxOf.get(edge.from), to: scene.boxOf.get(edge.to) }));
  switch (key) {
    case 'ArrowDown':
      return nearest(ends.filter((end) => end.from === from).map((end) => end.to));
    case 'ArrowUp':
      return nearest(ends.filter((end) => end.to === from).map((end) => end.from));
    default: {
      const sign = key === 'ArrowRight' ? 1 : -1;
      const sameRow = scene.boxes.filter((box) => box !== from && Math.abs(box.y - from.y) < Math.max(box.height, from.height) / 2 && sign * (box.x - from.x) > 0);
      return sameRow.sort((a, b) => sign * (a.x - b.x))[0];
    }
  }
}

/** Nodes whose name or op contains the query (case-insensitive), in graph order. */
export function findNodes(graph: ModelGraph, query: string): string[] {
  const text = query.trim().toLowerCase();
  if (!text) return [];
  return graph.nodes.filter((node) => node.label.toLowerCase().includes(text) || node.opType.toLowerCase().includes(text)).map((node) => node.id);
}
