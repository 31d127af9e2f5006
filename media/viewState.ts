// What the webview shows, as plain data: updated by host messages, saved with setState so a
// re-shown editor paints at once, before the host's 'ready' replay arrives.

import type { AnalysisStatus, BoundReport, HostToWebviewMessage, ModelOverview } from '../src/shared/protocol';
import type { EpsilonRun } from '../src/shared/results';

export interface ViewState {
  model?: ModelOverview;
  modelError?: { fileName: string; message: string };
  status?: AnalysisStatus;
  report?: BoundReport;
}

/** Accepts whatever getState returned (possibly saved by an older version) as long as it is an object. */
export function restoreViewState(saved: unknown): ViewState {
  return typeof saved === 'object' && saved !== null ? (saved as ViewState) : {};
}

export function applyHostMessage(state: ViewState, message: HostToWebviewMessage): ViewState {
  switch (message.kind) {
    case 'model':
      return { ...state, model: message.model, modelError: undefined };
    case 'modelError':
      return { ...state, model: undefined, modelError: { fileName: message.fileName, message: message.message } };
    case 'analysisStatus':
      return { ...state, status: message.status };
    case 'analysisReport':
      return { ...state, report: message.report };
    default:
      // Replies are consumed by the request client before messages reach the view state.
      return state;
  }
}

/** The report's run at the status's ε (the main run), or its first run. */
export function mainRun(state: ViewState): EpsilonRun | undefined {
  const runs = state.report?.runs ?? [];
  return runs.find((run) => run.epsilon === state.status?.epsilon) ?? runs[0];
}
