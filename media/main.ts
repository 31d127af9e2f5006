// Webview entry (dist/webview.js): restores the saved view, says 'ready', then renders whatever the
// host sends. Requests to the host go through the same request helper the worker uses. Redraws are
// batched per animation frame and limited to the areas whose inputs changed, so streaming progress on
// a model with hundreds of layers stays cheap.

import type { HostToWebviewMessage, WebviewMethods, WebviewToHostMessage } from '../src/shared/protocol';
import { RequestClient } from '../src/shared/rpc';
import { renderChart, renderHeader, renderLayers, renderStatus, renderSummary, type ChartHandle, type ViewActions } from './render';
import { applyHostMessage, restoreViewState, type ViewState } from './viewState';

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
};

type Area = 'header' | 'summary' | 'chart' | 'layers' | 'status';
const dirty = new Set<Area>();
let frame: number | undefined;

function draw(): void {
  frame = undefined;
  if (dirty.has('header')) renderHeader(areas.header, state);
  if (dirty.has('summary')) renderSummary(areas.summary, state, actions);
  if (dirty.has('chart')) chart = renderChart(areas.chart, state, actions);
  if (dirty.has('layers')) renderLayers(areas.layers, state, actions, areas.details);
  if (dirty.has('status')) renderStatus(areas.status, state, actions);
  dirty.clear();
}

function schedule(...changed: Area[]): void {
  changed.forEach((area) => dirty.add(area));
  frame ??= requestAnimationFrame(draw);
}

/** Marks the areas whose inputs differ between the two states. */
function update(next: ViewState): void {
  const previous = state;
  state = next;
  vscode.setState(state);
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
  if (modelChanged || reportChanged || state.partial !== previous.partial || state.sort !== previous.sort || phaseChanged || parametersChanged) {
    schedule('layers');
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

schedule('header', 'summary', 'chart', 'layers', 'status');
vscode.postMessage({ kind: 'ready' });
