// Webview entry (dist/webview.js): restores the saved view into the store, renders the App into
// #app, says 'ready', then folds every host message into the store. Requests to the host go through
// the same request client the worker uses.

import { render } from 'preact';
import type { HostToWebviewMessage, WebviewMethods, WebviewToHostMessage } from '../src/shared/protocol';
import { RequestClient } from '../src/shared/rpc';
import { encodeNonFinite, reviveNonFinite } from '../src/shared/nonFinite';
import { App } from './app';
import { createStore, ViewContext, type ViewActions } from './store';
import { applyHostMessage, restoreViewState, type ViewState } from './viewState';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: ViewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const host = new RequestClient<WebviewMethods>((message) => vscode.postMessage(encodeNonFinite(message)));
const store = createStore(restoreViewState(reviveNonFinite(vscode.getState())), (state) => vscode.setState(encodeNonFinite(state)));

// Failures already reach the view as an analysisStatus message or a notification; the rejection needs no second display.
const ignoreRejection = () => undefined;

/** Draws an SVG onto a canvas and returns it as a PNG data URL (undefined if the browser refuses). */
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
  pin: (pinned) => void host.request('pinRun', { pinned }).catch(ignoreRejection),
  exportChart: (format, svg) => {
    void (async () => {
      const png = format === 'png' ? await rasterise(svg) : undefined;
      await host.request('exportChart', { svg, png });
    })().catch(ignoreRejection);
  },
};

let graphReported = false;

/**
 * Tells the host, once per load, that the first graph is on screen. Called two animation frames after
 * a change: the first runs after Preact's render, before that frame is painted; the second after it.
 */
function reportGraphDrawn(): void {
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      const boxes = document.querySelectorAll('#graph-canvas .graph-node').length;
      if (!graphReported && boxes > 0) {
        graphReported = true;
        vscode.postMessage({ kind: 'graphDrawn', boxes });
      }
    }),
  );
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = reviveNonFinite(event.data);
  if (host.handleReply(message)) {
    return;
  }
  store.update((state) => applyHostMessage(state, message));
  if (message.kind === 'model' && !graphReported) reportGraphDrawn();
});

render(
  <ViewContext.Provider value={{ store, actions }}>
    <App />
  </ViewContext.Provider>,
  document.getElementById('app')!,
);
vscode.postMessage({ kind: 'ready' });
// A webview rebuilt from its saved state draws the saved graph before any message.
reportGraphDrawn();
