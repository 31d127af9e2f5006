// The node graph of the graph view: every ONNX node with its tensors, shapes, weight statistics, the
// analysis layer it belongs to or why it has none, laid out by dagre here in the worker (a 765-node
// graph takes about a second to lay out, which would freeze the webview; see bench/graphLayout.ts).

import { Graph as LayoutGraph, layout } from '@dagrejs/dagre';
import type { Network } from '../engine/network';
import type { UnsupportedNode } from '../engine/normalise/normalise';
import { type Model, type Node, type ValueInfo } from '../onnx/model';
import type { Tensor } from '../onnx/tensor';
import { formatAttribute } from './describeModel';
import type { GraphEdgeInfo, GraphGroupInfo, GraphNodeInfo, GraphTensor, ModelGraph, WeightStats } from '../shared/protocol';

const FLOATING_TYPES = new Set(['FLOAT', 'DOUBLE', 'FLOAT16', 'BFLOAT16']);

/** Layout units per character of the view's 12 px label font, rounded up so labels fit. */
const CHAR_WIDTH = 7.2;
const NODE_HEIGHT = 42;
const TERMINAL_HEIGHT = 28;
/** Longest label drawn in a box; the full name is in the side panel. */
export const MAX_LABEL_CHARS = 30;

export interface GraphSources {
  /** The analysis network whose layers the table shows (whole network or supported prefix). */
  network?: Network;
  unsupported: readonly UnsupportedNode[];
}

export function describeGraph(model: Model, sources: GraphSources): ModelGraph {
  const { graph } = model;
  const shapes = knownShapes(model, sources.network);
  const layerOf = layerMembership(model, sources.network);
  const unsupported = new Map(sources.unsupported.map((entry) => [entry.label, entry.reason]));
  const tensor = (name: string): GraphTensor => {
    const initializer = graph.initializers.get(name);
    const shape = initializer ? `[${initializer.dims.join(',')}]` : shapes.get(name);
    return {
      name,
      ...(shape === undefined ? {} : { shape }),
      ...(initializer ? { weight: weightInfo(initializer) } : {}),
    };
  };

  const nodes: Omit<GraphNodeInfo, 'x' | 'y' | 'width' | 'height'>[] = [];
  for (const [position, info] of graph.inputs.entries()) {
    nodes.push(terminal(`input${position}`, 'input', info, tensor(info.name)));
  }
  for (const node of graph.nodes) {
    const label = nodeLabel(node);
    const inputs = node.inputs.filter(Boolean).map(tensor);
    const reason = unsupported.get(label);
    const layer = layerOf.get(node);
    nodes.push({
      id: `node${node.index}`,
      kind: 'node',
      label,
      opType: node.opType,
      domain: node.domain,
      inputs,
      outputs: node.outputs.filter(Boolean).map(tensor),
      attributes: [...node.attributes].map(([name, value]) => `${name} = ${formatAttribute(value)}`),
      parameterCount: inputs.reduce((sum, input) => sum + (input.weight?.stats ? input.weight.size : 0), 0),
      ...(layer === undefined ? {} : { layer }),
      ...(reason === undefined ? {} : { unsupported: reason }),
    });
  }
  for (const [position, info] of graph.outputs.entries()) {
    nodes.push(terminal(`output${position}`, 'output', info, tensor(info.name)));
  }

  // Edges: from the producer of each tensor (a node or a graph input) to every reader of it.
  const producerId = new Map<string, string>();
  graph.inputs.forEach((info, position) => producerId.set(info.name, `input${position}`));
  for (const node of graph.nodes) {
    for (const output of node.outputs) if (output) producerId.set(output, `node${node.index}`);
  }
  const edges: Omit<GraphEdgeInfo, 'points' | 'labelX' | 'labelY'>[] = [];
  const addEdge = (name: string, to: string) => {
    const from = producerId.get(name);
    if (from !== undefined && from !== to) {
      const shape = shapes.get(name);
      edges.push({ from, to, tensor: name, ...(shape === undefined ? {} : { shape }) });
    }
  };
  for (const node of graph.nodes) {
    for (const input of new Set(node.inputs)) if (input) addEdge(input, `node${node.index}`);
  }
  graph.outputs.forEach((info, position) => addEdge(info.name, `output${position}`));

  return layoutGraph(nodes, edges);
}

function terminal(id: string, kind: 'input' | 'output', info: ValueInfo, tensor: GraphTensor): Omit<GraphNodeInfo, 'x' | 'y' | 'width' | 'height'> {
  return {
    id,
    kind,
    label: info.name,
    opType: kind === 'input' ? 'Input' : 'Output',
    domain: '',
    inputs: kind === 'output' ? [tensor] : [],
    outputs: kind === 'input' ? [tensor] : [],
    attributes: [],
    parameterCount: 0,
  };
}

export function nodeLabel(node: Node): string {
  return node.name || `${node.opType}#${node.index}`;
}

/** Shapes by tensor name: declared in the file (value_info, graph inputs and outputs), else the analysis's. */
function knownShapes(model: Model, network: Network | undefined): Map<string, string> {
  const shapes = new Map<string, string>();
  if (network) {
    // The analysis works without the batch dimension; a declared batch of 1 is put back so both kinds read alike.
    const declaredInput = model.graph.valueInfo.get(network.inputName)?.shape;
    const batch = declaredInput && declaredInput.length === network.inputShape.length + 1 && declaredInput[0] === 1 ? [1] : [];
    const format = (shape: readonly number[]) => `[${[...batch, ...shape].join(',')}]`;
    shapes.set(network.inputName, format(network.inputShape));
    for (const layer of network.layers) {
      shapes.set(layer.onnxOutput, format(layer.outputShape));
      if (layer.onnxPreActivation) shapes.set(layer.onnxPreActivation, format(layer.outputShape));
    }
  }
  for (const [name, info] of model.graph.valueInfo) {
    if (info.shape) {
      shapes.set(name, `[${info.shape.map((d) => (d === null ? '?' : typeof d === 'string' ? `'${d}'` : d)).join(',')}]`);
    }
  }
  return shapes;
}

/** The analysis layer of each node, matched by node name or "OpType#index" as the normaliser names them. */
function layerMembership(model: Model, network: Network | undefined): Map<Node, number> {
  const membership = new Map<Node, number>();
  if (!network) return membership;
  const byKey = new Map<string, Node>();
  for (const node of model.graph.nodes) {
    byKey.set(`${node.opType}#${node.index}`, node);
    if (node.name) byKey.set(node.name, node);
  }
  network.layers.forEach((layer, index) => {
    const labelParts = layer.label.split('+');
    layer.nodes.forEach((name, i) => {
      const node = byKey.get(name) ?? byKey.get(labelParts[i] ?? '');
      if (node && !membership.has(node)) membership.set(node, index);
    });
  });
  return membership;
}

function weightInfo(tensor: Tensor): NonNullable<GraphTensor['weight']> {
  const dataType = tensor.dataTypeName;
  if (!FLOATING_TYPES.has(dataType)) {
    return { dataType, size: tensor.size };
  }
  try {
    return { dataType, size: tensor.size, stats: weightStats(tensor.toFloat64()) };
  } catch {
    // Unreadable data (e.g. external data missing) is reported when the analysis reads it; the view just has no statistics.
    return { dataType, size: tensor.size };
  }
}

export function weightStats(values: Float64Array): WeightStats | undefined {
  if (values.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
    if (value === 0) zeros++;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(squares / values.length), sparsity: zeros / values.length };
}

function truncate(text: string): string {
  return text.length > MAX_LABEL_CHARS ? `${text.slice(0, MAX_LABEL_CHARS - 1)}…` : text;
}

/** Box size from the two lines the view draws: the op type and the (possibly truncated) label. */
function boxSize(node: Pick<GraphNodeInfo, 'kind' | 'opType' | 'label'>): { width: number; height: number } {
  const chars = node.kind === 'node' ? Math.max(node.opType.length, truncate(node.label).length) : truncate(node.label).length + 2;
  return { width: Math.max(72, Math.ceil(chars * CHAR_WIDTH) + 20), height: node.kind === 'node' ? NODE_HEIGHT : TERMINAL_HEIGHT };
}

function layoutGraph(
  nodes: Omit<GraphNodeInfo, 'x' | 'y' | 'width' | 'height'>[],
  edges: Omit<GraphEdgeInfo, 'points' | 'labelX' | 'labelY'>[],
): ModelGraph {
  const graph = new LayoutGraph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 28, edgesep: 12, marginx: 16, marginy: 16 });
  for (const node of nodes) graph.setNode(node.id, boxSize(node));
  edges.forEach((edge, index) => {
    // A shape label is a dagre edge label, so the layout keeps room for it beside the edge.
    const label = edge.shape ? { width: Math.ceil(edge.shape.length * CHAR_WIDTH * 0.9) + 6, height: 14, labelpos: 'r', labeloffset: 6 } : {};
    graph.setEdge(edge.from, edge.to, label, String(index));
  });
  layout(graph);
  const laidOut = nodes.map((node) => {
    const { x, y, width, height } = graph.node(node.id);
    return { ...node, x, y, width, height };
  });
  const laidEdges = edges.map((edge, index) => {
    const placed = graph.edge({ v: edge.from, w: edge.to, name: String(index) });
    const points = (placed.points ?? []).map((point: { x: number; y: number }) => ({ x: point.x, y: point.y }));
    const middle = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return { ...edge, points, labelX: placed.x ?? middle.x, labelY: placed.y ?? middle.y };
  });
  const { width = 0, height = 0 } = graph.graph();
  return { nodes: laidOut, edges: laidEdges, groups: fusedGroups(laidOut), width, height };
}

/** Room around a group's members: the frame's label sits in the top margin. */
const GROUP_PADDING = 8;
const GROUP_LABEL_HEIGHT = 14;

/**
 * The frames of the fused layers (two or more nodes): the members' bounding box with a margin. Not a
 * compound layout: dagre's takes ten times longer on a 765-node graph (bench/graphLayout.ts), and the
 * members of a fused layer are a chain the plain layout already puts on consecutive ranks.
 */
function fusedGroups(nodes: readonly GraphNodeInfo[]): GraphGroupInfo[] {
  const members = new Map<number, GraphNodeInfo[]>();
  for (const node of nodes) {
    if (node.layer !== undefined) members.set(node.layer, [...(members.get(node.layer) ?? []), node]);
  }
  return [...members]
    .filter(([, group]) => group.length >= 2)
    .map(([layer, group]) => {
      const left = Math.min(...group.map((node) => node.x - node.width / 2)) - GROUP_PADDING;
      const right = Math.max(...group.map((node) => node.x + node.width / 2)) + GROUP_PADDING;
      const top = Math.min(...group.map((node) => node.y - node.height / 2)) - GROUP_PADDING - GROUP_LABEL_HEIGHT;
      const bottom = Math.max(...group.map((node) => node.y + node.height / 2)) + GROUP_PADDING;
      return { layer, nodes: group.map((node) => node.id), x: (left + right) / 2, y: (top + bottom) / 2, width: right - left, height: bottom - top };
    });
}
