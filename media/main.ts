// Webview entry (dist/webview.js): restores the saved view, says 'ready', then renders whatever the
// host sends. Requests to the host go through the same request helper the worker uses.

import type { HostToWebviewMessage, WebviewMethods, WebviewToHostMessage } from '../src/shared/protocol';
import { RequestClient } from '../src/shared/rpc';
import { renderHeader, renderLayers, renderStatus } from './render';
import { applyHostMessage, restoreViewState, type ViewState } from './viewState';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: ViewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const host = new RequestClient<WebviewMethods>((message) => vscode.postMessage(message));
const areas = {
  header: document.getElementById('header') as HTMLElement,
  layers: document.getElementById('layers') as HTMLElement,
  status: document.getElementById('status') as HTMLElement,
};
let state = restoreViewState(vscode.getState());

// Failures already reach the view as an analysisStatus message; the rejection needs no second display.
const ignoreRejection = () => undefined;
const actions = {
  analyze: () => void host.request('analyze', {}).catch(ignoreRejection),
  cancel: () => void host.request('cancelAnalysis', {}).catch(ignoreRejection),
};

function render(): void {
  renderHeader(areas.header, state);
  renderLayers(areas.layers, state);
  renderStatus(areas.status, state, actions);
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  if (host.handleReply(message)) {
    return;
  }
  const previous = state;
  state = applyHostMessage(state, message);
  vscode.setState(state);
  // Progress arrives often and large tables are slow to rebuild: redraw only what changed.
  const parametersChanged =
    state.status?.epsilon !== previous.status?.epsilon || state.status?.inputLabel !== previous.status?.inputLabel;
  const reportChanged = state.report !== previous.report;
  if (state.model !== previous.model || state.modelError !== previous.modelError || parametersChanged || reportChanged) {
    renderHeader(areas.header, state);
  }
  if (state.model !== previous.model || reportChanged || state.status?.epsilon !== previous.status?.epsilon) {
    renderLayers(areas.layers, state);
  }
  renderStatus(areas.status, state, actions);
});

render();
vscode.postMessage({ kind: 'ready' });
