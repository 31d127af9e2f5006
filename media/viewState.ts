// What the webview shows, as plain data: updated by host messages and by the user's choices (sort
// order), saved with setState so a re-shown editor paints at once, before the host's 'ready' replay.
// Also the pure derivations the view draws from (the rows of the bound table, the dominant layers).

import { tighteningRatio } from '../src/shared/format';
import type { AnalysisStatus, BoundReport, HostToWebviewMessage, ModelOverview, PinnedLayer, PinnedRun, SweepRange } from '../src/shared/protocol';
import type { EpsilonRun, LayerResult } from '../src/shared/results';
import type { MetricKey } from './graphMetrics';

export type SortKey = 'order' | 'ratio' | 'bound' | 'contribution';

/** The two presentations of the model: the node graph (the default) and the layer table. */
export type ViewMode = 'graph' | 'table';

export interface ViewState {
  model?: ModelOverview;
  modelError?: { fileName: string; message: string };
  status?: AnalysisStatus;
  report?: BoundReport;
  /** Layer results of the running main analysis, as they arrived. */
  partial?: { runId: number; epsilon: number; layers: LayerResult[] };
  sweep?: BoundReport;
  sweepRange?: SweepRange;
  sort?: SortKey;
  view?: ViewMode;
  /** The graph node selected in either view (its id in model.graph). */
  selectedNode?: string;
  /** What the graph's nodes are coloured by after an analysis; 'share' when unset. */
  metric?: MetricKey;
  /** Fused layers the graph shows as their ONNX nodes (the others are one box each). */
  expandedLayers?: number[];
  /** The window's pinned run, as the host last sent it (its own model's or another's). */
  pinned?: PinnedRun;
  /** Whether this editor compares with a pinned run of another model (the user chose to; reset when the pin changes). */
  compareWithPinned?: boolean;
}

export type { PinnedRun };

/** Relative change of a layer's numbers against the pinned run: now / then − 1. */
export interface LayerDelta {
  localBound?: number;
  spectralNorm?: number;
}

/** Accepts whatever getState returned (possibly saved by an older version) as long as it is an object. */
export function restoreViewState(saved: unknown): ViewState {
  if (typeof saved !== 'object' || saved === null) {
    return {};
  }
  const state = saved as ViewState;
  // A model saved before the graph view has no graph, a pin saved before pins spanned editors no
  // node names: drop them, the host's replay brings both again.
  const restored = state.model && !state.model.graph ? { ...state, model: undefined } : { ...state };
  if (state.pinned && !(typeof state.pinned.modelPath === 'string' && state.pinned.layers.every((layer) => Array.isArray(layer.nodes)))) {
    delete restored.pinned;
  }
  return restored;
}

export function applyHostMessage(state: ViewState, message: HostToWebviewMessage): ViewState {
  switch (message.kind) {
    case 'model': {
      // A selection survives a reload of the same graph only if its node still exists.
      const selectedNode = message.model.graph.nodes.some((node) => node.id === state.selectedNode) ? state.selectedNode : undefined;
      return { ...state, model: message.model, modelError: undefined, selectedNode };
    }
    case 'modelError':
      return { ...state, model: undefined, modelError: { fileName: message.fileName, message: message.message } };
    case 'analysisStatus': {
      // A run that ended leaves no partial rows behind: its report (or nothing) replaces them.
      const partial = message.status.phase === 'running' ? state.partial : undefined;
      return { ...state, status: message.status, partial };
    }
    case 'analysisReport':
      return { ...state, report: message.report };
    case 'layerResults': {
      const same = state.partial?.runId === message.runId;
      const layers = same && state.partial ? [...state.partial.layers, ...message.layers] : [...message.layers];
      return { ...state, partial: { runId: message.runId, epsilon: message.epsilon, layers } };
    }
    case 'sweepReport':
      return { ...state, sweep: message.report };
    case 'sweepRange':
      return { ...state, sweepRange: message.range };
    case 'pinnedRun': {
      // Another pin is another comparison: the user chooses again whether to compare with another model's.
      const same = samePinnedRun(state.pinned, message.pinned);
      const metric = !message.pinned && state.metric === 'change' ? undefined : state.metric;
      return { ...state, pinned: message.pinned, compareWithPinned: same ? state.compareWithPinned : false, metric };
    }
    default:
      // Replies are consumed by the request client before messages reach the view state.
      return state;
  }
}

function samePinnedRun(a: PinnedRun | undefined, b: PinnedRun | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));
}

/** The main run as a pinned run, or undefined when there is none. */
export function pinnedRunOf(state: ViewState): PinnedRun | undefined {
  const run = mainRun(state);
  if (!run || !state.report) return undefined;
  return {
    model: state.report.model,
    modelPath: state.model?.path ?? state.report.model,
    // The input the run used (the status's label may say what the next run would pick).
    inputLabel: state.report.input.source === 'synthetic' ? 'synthetic input' : state.report.input.origin,
    epsilon: run.epsilon,
    localBound: run.network.localBound,
    spectralBound: run.network.spectralBound,
    layers: run.layers.map((layer) => ({ label: layer.label, nodes: [...layer.nodes], localBound: layer.localBound, spectralNorm: layer.spectralNorm })),
  };
}

/** Whether the pinned run belongs to the model shown (then it is compared without asking). */
export function isOwnPin(state: ViewState): boolean {
  return state.pinned !== undefined && state.model !== undefined && state.pinned.modelPath === state.model.path;
}

/** The pinned run this editor compares against: its own model's, or another's once the user chose to. */
export function comparedPin(state: ViewState): PinnedRun | undefined {
  return state.pinned && (isOwnPin(state) || state.compareWithPinned) ? state.pinned : undefined;
}

/**
 * The pinned layer each layer is compared with, by layer index: the one of the same label (two
 * checkpoints of one architecture share them), else one that shares an ONNX node name (a layer fused
 * differently in the other model). Layers with neither have no match.
 */
export function matchPinnedLayers(pinned: PinnedRun, layers: readonly LayerResult[]): Map<number, PinnedLayer> {
  const byLabel = new Map(pinned.layers.map((layer) => [layer.label, layer]));
  const byNode = new Map<string, PinnedLayer>();
  for (const layer of pinned.layers) for (const node of layer.nodes) if (node && !byNode.has(node)) byNode.set(node, layer);
  const used = new Set<PinnedLayer>();
  const matches = new Map<number, PinnedLayer>();
  for (const layer of layers) {
    const same = byLabel.get(layer.label);
    if (same && !used.has(same)) {
      matches.set(layer.index, same);
      used.add(same);
    }
  }
  for (const layer of layers) {
    if (matches.has(layer.index)) continue;
    const shared = layer.nodes.map((node) => byNode.get(node)).find((candidate) => candidate !== undefined && !used.has(candidate));
    if (shared) {
      matches.set(layer.index, shared);
      used.add(shared);
    }
  }
  return matches;
}

/** The matched pinned layer's local bound, by layer index: what the graph's 'change' colouring divides by. */
export function pinnedBounds(pinned: PinnedRun, layers: readonly LayerResult[]): Map<number, number> {
  return new Map([...matchPinnedLayers(pinned, layers)].map(([index, layer]) => [index, layer.localBound]));
}

/** Each layer's change against its matched pinned layer, by layer index; layers without a match get none. */
export function layerDeltas(pinned: PinnedRun, layers: readonly LayerResult[]): Map<number, LayerDelta> {
  const change = (now: number, then: number) => (then > 0 ? now / then - 1 : undefined);
  const deltas = new Map<number, LayerDelta>();
  for (const [index, then] of matchPinnedLayers(pinned, layers)) {
    const layer = layers.find((entry) => entry.index === index)!;
    deltas.set(index, { localBound: change(layer.localBound, then.localBound), spectralNorm: change(layer.spectralNorm, then.spectralNorm) });
  }
  return deltas;
}

/** The report's run at the status's ε (the main run), or its first run. */
export function mainRun(state: ViewState): EpsilonRun | undefined {
  const runs = state.report?.runs ?? [];
  return runs.find((run) => run.epsilon === state.status?.epsilon) ?? runs[0];
}

/** What the bound table shows: the streaming rows while the main analysis runs, else the main run's. */
export function shownLayers(state: ViewState): { layers: LayerResult[]; epsilon: number; streaming: boolean } | undefined {
  const running = state.status?.phase === 'running' && state.status.task !== 'sweep';
  if (running && state.partial) {
    return { layers: state.partial.layers, epsilon: state.partial.epsilon, streaming: true };
  }
  if (running) {
    return undefined;
  }
  const run = mainRun(state);
  return run ? { layers: run.layers, epsilon: run.epsilon, streaming: false } : undefined;
}

/** A layer's share of log L: log of its local bound (0 for bounds ≤ 1, which do not grow the product). */
export function logContribution(layer: LayerResult): number {
  return layer.localBound > 1 ? Math.log(layer.localBound) : 0;
}

/**
 * Indices of the layers that stand out in log L: up to `count` of the largest contributions, each at
 * least 1.5 times the mean contribution of the layers that grow the product. Nearly equal shares
 * (21/19/19/16/15 %) mark none; one layer with 60 % of three marks that one.
 */
export function dominantLayers(layers: readonly LayerResult[], count = 3): Set<number> {
  const contributing = layers
    .map((layer, position) => ({ position, weight: logContribution(layer) }))
    .filter((entry) => entry.weight > 0);
  const mean = contributing.reduce((sum, entry) => sum + entry.weight, 0) / contributing.length;
  const ranked = contributing
    .filter((entry) => entry.weight >= 1.5 * mean)
    .sort((a, b) => b.weight - a.weight)
    .slice(0, count);
  return new Set(ranked.map((entry) => entry.position));
}

/** The graph nodes of analysis layer `index` (the rows of the table), in graph order. */
export function nodesOfRow(model: ModelOverview, row: number): string[] {
  if (model.rowSource === 'nodes') {
    const node = model.graph.nodes.filter((entry) => entry.kind === 'node')[row];
    return node ? [node.id] : [];
  }
  return model.graph.nodes.filter((node) => node.layer === row).map((node) => node.id);
}

/** The table row of a graph node: its analysis layer, or its position among the nodes when the rows are nodes. */
export function rowOfNode(model: ModelOverview, id: string | undefined): number | undefined {
  if (id === undefined) return undefined;
  if (model.rowSource === 'nodes') {
    const position = model.graph.nodes.filter((entry) => entry.kind === 'node').findIndex((node) => node.id === id);
    return position >= 0 ? position : undefined;
  }
  return model.graph.nodes.find((node) => node.id === id)?.layer;
}

/** Positions of `layers` in display order; ties and graph order keep their relative order. */
export function sortedPositions(layers: readonly LayerResult[], sort: SortKey = 'order'): number[] {
  const positions = layers.map((_layer, position) => position);
  const key = (layer: LayerResult): number => {
    switch (sort) {
      case 'ratio':
        return tighteningRatio(layer.spectralNorm, layer.localBound) ?? Infinity;
      case 'bound':
        return layer.localBound;
      case 'contribution':
        return logContribution(layer);
      case 'order':
        return 0;
    }
  };
  if (sort === 'order') {
    return positions;
  }
  return positions.sort((a, b) => key(layers[b]) - key(layers[a]) || a - b);
}

/** Whether the layer's bound is a ratio of radii through a merge (Add, Concat) rather than a Lipschitz constant. */
export function isComposition(layer: LayerResult): boolean {
  return layer.certificate.method === 'composition';
}
