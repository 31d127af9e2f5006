// What the webview shows, as plain data: updated by host messages and by the user's choices (sort
// order), saved with setState so a re-shown editor paints at once, before the host's 'ready' replay.
// Also the pure derivations the view draws from (the rows of the bound table, the dominant layers).

import { tighteningRatio } from '../src/shared/format';
import type { AnalysisStatus, BoundReport, HostToWebviewMessage, ModelOverview, SweepRange } from '../src/shared/protocol';
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
  /** A run kept to compare later runs against, layer by layer (saved with the state, so it survives hide and reveal). */
  pinned?: PinnedRun;
}

/** What a pinned run keeps: where it came from and the numbers compared. */
export interface PinnedRun {
  model: string;
  inputLabel: string;
  epsilon: number;
  localBound: number;
  spectralBound: number;
  layers: { label: string; localBound: number; spectralNorm: number }[];
}

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
  // A model saved before the graph view has no graph: drop it, the host's replay brings the model again.
  return state.model && !state.model.graph ? { ...state, model: undefined } : state;
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
    default:
      // Replies are consumed by the request client before messages reach the view state.
      return state;
  }
}

/** The main run as a pinned run, or undefined when there is none. */
export function pinnedRunOf(state: ViewState): PinnedRun | undefined {
  const run = mainRun(state);
  if (!run || !state.report) return undefined;
  return {
    model: state.report.model,
    // The input the run used (the status's label may say what the next run would pick).
    inputLabel: state.report.input.source === 'synthetic' ? 'synthetic input' : state.report.input.origin,
    epsilon: run.epsilon,
    localBound: run.network.localBound,
    spectralBound: run.network.spectralBound,
    layers: run.layers.map((layer) => ({ label: layer.label, localBound: layer.localBound, spectralNorm: layer.spectralNorm })),
  };
}

/** The pinned run's local bound per layer label (layers are matched by label: two checkpoints of one architecture share them). */
export function pinnedBounds(pinned: PinnedRun): Map<string, number> {
  return new Map(pinned.layers.map((layer) => [layer.label, layer.localBound]));
}

/** Each layer's change against the pinned run, by layer index; layers the pinned run does not have get none. */
export function layerDeltas(pinned: PinnedRun, layers: readonly LayerResult[]): Map<number, LayerDelta> {
  const before = new Map(pinned.layers.map((layer) => [layer.label, layer]));
  const change = (now: number, then: number) => (then > 0 ? now / then - 1 : undefined);
  const deltas = new Map<number, LayerDelta>();
  for (const layer of layers) {
    const then = before.get(layer.label);
    if (then) deltas.set(layer.index, { localBound: change(layer.localBound, then.localBound), spectralNorm: change(layer.spectralNorm, then.spectralNorm) });
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
