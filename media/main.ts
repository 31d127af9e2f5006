// Webview entry (dist/webview.js): restores the saved view, says 'ready', then renders whatever the
// host sends. Requests to the host go through the same request helper the worker uses. Redraws are
// batched per animation frame and limited to the areas whose inputs changed, so streaming progress on
// a model with hundreds of layers stays cheap.

import type { HostToWebviewMessage, WebviewMethods, WebviewToHostMessage } from '../src/shared/protocol';
import { RequestClient } from '../src/shared/rpc';
import { renderChart, renderHeader, renderLayers, renderStatus, renderSummary, type ChartHandle, type ViewActions } from './render';
import { GraphView } from './graphView';
import { applyHostMessage, nodesOfRow, restoreViewState, type ViewMode, type ViewState } from './viewState';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: ViewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const host = new RequestClient<WebviewMethods>((message) => vscode.postMessage(message));
const byId = (id: string) => document.getElementById(id) as HTMLElement;
const areas = {
  header: byId('header'),
  summary: byId('summary'),
  chart: byId('chart'),
  tabs: byId('view-tabs'),
  graph: byId('graph'),
  layers: byId('layers'),
  details: byId('details'),
  status: byId('status'),
};
let state = restoreViewState(vscode.getState());
let chart: ChartHandle = { exportSvg: () => undefined };

// Failures already reach the view as an analysisStatus message or a notification; the rejection needs no second display.
const ignoreRejection = () => undefined;

function resolveVariable(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Draws the exported SVG onto a canvas and returns it as a PNG data URL (undefined if the browser refuses). */
async function rasterise(svg: string): Promise<string | undefined> {
  const image = new Image();
  const loaded = new Promise<void>((resolve, reject) => {
    image.onload = () => resolve();
    image.onerror = () => reject(new Error('the chart could not be rasterised'));
  });
  image.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  try {
    await loaded;
  } catch {
    return undefined;
  }
  const scale = 2;
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth * scale;
  canvas.height = image.naturalHeight * scale;
  const context = canvas.getContext('2d');
  if (!context) {
    return undefined;
  }
  context.scale(scale, scale);
  context.drawImage(image, 0, 0);
  return canvas.toDataURL('image/png');
}

const actions: ViewActions = {
  analyze: (epsilon) => void host.request('analyze', epsilon === undefined ? {} : { epsilon }).catch(ignoreRejection),
  cancel: () => void host.request('cancelAnalysis', {}).catch(ignoreRejection),
  runSweep: (range) => void host.request('runSweep', { range }).catch(ignoreRejection),
  chooseInput: (synthetic) => void host.request('chooseInput', { synthetic }).catch(ignoreRejection),
  exportReport: () => void host.request('exportReport', {}).catch(ignoreRejection),
  exportChart: (format) => {
    const svg = chart.exportSvg(resolveVariable);
    if (!svg) {
      return;
    }
    void (async () => {
      const png = format === 'png' ? await rasterise(svg) : undefined;
      await host.request('exportChart', { svg, png });
    })().catch(ignoreRejection);
  },
  sort: (key) => {
    update({ ...state, sort: key });
  },
  selectRow: (row) => {
    const [first] = state.model ? nodesOfRow(state.model, row) : [];
    if (first) {
      update({ ...state, selectedNode: first });
    }
  },
};

const graph = new GraphView(areas.graph, {
  select: (id) => update({ ...state, selectedNode: id }),
  metric: (key) => update({ ...state, metric: key }),
});

// The two views of the model, one click apart: a tab list with the usual arrow-key behaviour.
const tabs = (['graph', 'table'] as const).map((mode) => {
  const tab = document.createElement('button');
  tab.type = 'button';
  tab.id = `view-${mode}`;
  tab.className = 'view-tab';
  tab.textContent = mode === 'graph' ? 'Graph' : 'Table';
  tab.setAttribute('role', 'tab');
  tab.setAttribute('aria-controls', mode === 'graph' ? 'graph' : 'layers');
  tab.addEventListener('click', () => update({ ...state, view: mode }));
  tab.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      const next: ViewMode = mode === 'graph' ? 'table' : 'graph';
      update({ ...state, view: next });
      document.getElementById(`view-${next}`)?.focus();
      event.preventDefault();
    }
  });
  return tab;
});
areas.tabs.append(...tabs);

function renderTabs(): void {
  const view = state.view ?? 'graph';
  for (const tab of tabs) {
    const selected = tab.id === `view-${view}`;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  areas.tabs.hidden = !state.model;
  areas.graph.hidden = view !== 'graph' || !state.model;
  areas.layers.hidden = view !== 'table' && Boolean(state.model);
  if (view === 'graph') {
    areas.details.hidden = true;
  }
}

// Ctrl+F (Cmd+F) finds nodes: it opens the graph view and focuses its search box.
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'f' && state.model) {
    event.preventDefault();
    if ((state.view ?? 'graph') !== 'graph') {
      update({ ...state, view: 'graph' });
      draw();
    }
    graph.focusSearch();
  }
});

type Area = 'header' | 'summary' | 'chart' | 'tabs' | 'graph' | 'layers' | 'status';
const dirty = new Set<Area>();
let frame: number | undefined;

function draw(): void {
  frame = undefined;
  if (dirty.has('header')) renderHeader(areas.header, state);
  if (dirty.has('summary')) renderSummary(areas.summary, state, actions);
  if (dirty.has('chart')) chart = renderChart(areas.chart, state, actions);
  if (dirty.has('tabs')) renderTabs();
  // After the tabs: the graph measures its canvas, which has no size while hidden. While the table is
  // shown the graph is not redrawn (a streaming analysis changes it often); switching back redraws it.
  if (dirty.has('graph') && (state.view ?? 'graph') === 'graph') graph.update(state);
  if (dirty.has('layers')) renderLayers(areas.layers, state, actions, areas.details);
  if (dirty.has('status')) renderStatus(areas.status, state, actions);
  dirty.clear();
}

function schedule(...changed: Area[]): void {
  changed.forEach((area) => dirty.add(area));
  frame ??= requestAnimationFrame(draw);
}

// The saved state holds the model's laid-out graph (hundreds of KB for a few hundred nodes): saving it
// on every progress message of a streaming analysis would copy it to the workbench hundreds of times.
let saveTimer: ReturnType<typeof setTimeout> | undefined;
function saveState(): void {
  saveTimer ??= setTimeout(() => {
    saveTimer = undefined;
    vscode.setState(state);
  }, 300);
}

/** Marks the areas whose inputs differ between the two states. */
function update(next: ViewState): void {
  const previous = state;
  state = next;
  saveState();
  const modelChanged = state.model !== previous.model || state.modelError !== previous.modelError;
  const statusChanged = state.status !== previous.status;
  const phaseChanged = state.status?.phase !== previous.status?.phase || state.status?.task !== previous.status?.task;
  const parametersChanged =
    state.status?.epsilon !== previous.status?.epsilon || state.status?.inputLabel !== previous.status?.inputLabel;
  const reportChanged = state.report !== previous.report;
  if (modelChanged || reportChanged) schedule('header');
  // Progress arrives often: the summary (with its form) is redrawn only when its inputs change, so typing is not interrupted.
  if (modelChanged || reportChanged || phaseChanged || parametersChanged) schedule('summary');
  if (modelChanged || state.sweep !== previous.sweep || state.sweepRange !== previous.sweepRange || phaseChanged || parametersChanged) {
    schedule('chart');
  }
  const selectionChanged = state.selectedNode !== previous.selectedNode;
  if (modelChanged || reportChanged || state.partial !== previous.partial || state.sort !== previous.sort || phaseChanged || parametersChanged || selectionChanged) {
    schedule('layers');
  }
  if (modelChanged || state.view !== previous.view) schedule('tabs');
  if (modelChanged || reportChanged || state.partial !== previous.partial || phaseChanged || parametersChanged || selectionChanged || state.metric !== previous.metric || state.view !== previous.view) {
    schedule('graph');
  }
  if (statusChanged || reportChanged || state.sweep !== previous.sweep) schedule('status');
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  if (host.handleReply(message)) {
    return;
  }
  update(applyHostMessage(state, message));
});

schedule('header', 'summary', 'chart', 'tabs', 'graph', 'layers', 'status');
vscode.postMessage({ kind: 'ready' });
