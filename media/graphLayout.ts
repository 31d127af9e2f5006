// What the graph view draws of a laid-out model graph, given which fused layers are expanded: the
// visible boxes (a collapsed layer is one box where its nodes' frame is), the edges between them, and
// keyboard moves between boxes. Pure, so it is unit-tested.

import type { GraphEdgeInfo, GraphGroupInfo, GraphNodeInfo, ModelGraph } from '../src/shared/protocol';

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

type Point = GraphEdgeInfo['points'][number];

/** An edge as drawn: its index into graph.edges and its points (met to a collapsed layer's box). */
export interface DrawnEdge {
  index: number;
  points: Point[];
}

export interface GraphScene {
  boxes: VisibleBox[];
  /** Expanded fused layers, drawn as frames around their nodes. */
  frames: GraphGroupInfo[];
  /** The edges drawn (those inside a collapsed layer are not). */
  edges: DrawnEdge[];
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
    // One node's height at the frame's centre: the frame spans its members' ranks and the edges
    // between them, far taller than the two lines a collapsed layer shows. The layout is not redone
    // on a toggle (dagre takes 0.5 s on 765 nodes), so the edges are met to the box (meetBox).
    const box: VisibleBox = { id: first.id, x: group.x, y: group.y, width: group.width, height: first.height, node: first, group };
    boxes.push(box);
    for (const id of group.nodes) boxOf.set(id, box);
  }
  for (const node of graph.nodes) {
    if (boxOf.has(node.id)) continue;
    const box: VisibleBox = { id: node.id, x: node.x, y: node.y, width: node.width, height: node.height, node };
    boxes.push(box);
    boxOf.set(node.id, box);
  }
  const edges = graph.edges.flatMap((edge, index): DrawnEdge[] => {
    const from = boxOf.get(edge.from);
    const to = boxOf.get(edge.to);
    if (from !== undefined && from === to) return [];
    let points = edge.points;
    if (to?.group) points = meetBox(points, to, 'top');
    if (from?.group) points = meetBox([...points].reverse(), from, 'bottom').reverse();
    return [{ index, points }];
  });
  return { boxes, frames, edges, boxOf };
}

/**
 * An edge ending at a member of a collapsed layer, ended on the layer's box instead: the points the
 * box's side has passed are dropped and the edge goes straight on to that side (edges of the
 * top-to-bottom layout run downwards, so into a box's top and out of its bottom). For an edge
 * leaving the box, pass its points reversed with side 'bottom'.
 */
function meetBox(points: readonly Point[], box: VisibleBox, side: 'top' | 'bottom'): Point[] {
  const edgeY = side === 'top' ? box.y - box.height / 2 : box.y + box.height / 2;
  const beforeSide = (point: Point) => (side === 'top' ? point.y < edgeY : point.y > edgeY);
  let kept = points.length;
  while (kept > 0 && !beforeSide(points[kept - 1])) kept--;
  if (kept === 0) return [...points];
  const last = points[kept - 1];
  const x = Math.min(box.x + box.width / 2, Math.max(box.x - box.width / 2, last.x));
  return [...points.slice(0, kept), { x, y: edgeY }];
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
