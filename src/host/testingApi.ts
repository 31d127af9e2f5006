// What activate() returns to integration tests (and only to them): a window into state that a real
// user sees on screen but a test in the extension host cannot, such as the webview's messages.

import type * as vscode from 'vscode';
import type { AnalysisStatus, BoundReport, WebviewToHostMessage } from '../shared/protocol';
import type { EngineClient } from './engineClient';
import type { ModelDocument } from './modelDocument';
import type { ModelEditorProvider } from './modelEditorProvider';
import type { Notifier, ShownNotification } from './notifier';

export interface TestingApi {
  /** Messages the webviews of `uri` have sent so far, oldest first. */
  webviewMessages(uri: vscode.Uri): readonly WebviewToHostMessage[];
  /** Resolves with the first message of `kind` from a webview of `uri` (including earlier ones). */
  waitForWebviewMessage(uri: vscode.Uri, kind: WebviewToHostMessage['kind']): Promise<WebviewToHostMessage>;
  analysisStatus(uri: vscode.Uri): AnalysisStatus | undefined;
  /** Settles when the open document of `uri` has read its model (undefined: no document is open). */
  whenDescribed(uri: vscode.Uri): Promise<void> | undefined;
  analysisReport(uri: vscode.Uri): BoundReport | undefined;
  sweepReport(uri: vscode.Uri): BoundReport | undefined;
  openDocuments(): string[];
  engine: Pick<EngineClient, 'request' | 'startCount' | 'isRunning' | 'requestCount'>;
  lastUserError(): string | undefined;
  /** The last error toast: its sentence and the titles of its buttons. */
  lastErrorNotification(): ShownNotification | undefined;
  /** The last information toast (e.g. an export's confirmation) and its buttons. */
  lastInfoNotification(): ShownNotification | undefined;
  /** The last warning toast (e.g. an invalid setting) and its buttons. */
  lastWarningNotification(): ShownNotification | undefined;
  /** Presses `title` on the next toast whose sentence contains `matching`, as a click would, without waiting for the workbench to draw it. */
  answerNextNotification(matching: string, title: string): void;
  /** Answers the next save dialog of an export with `uri` instead of showing it. */
  answerNextSaveDialog(uri: vscode.Uri): void;
  /** The file name the last save dialog proposed, and the extensions it offered, first first. */
  lastSaveDialog(): { proposed?: string; extensions: string[] } | undefined;
  /** Answers the next pick list of an export with the item of this label instead of showing it. */
  answerNextQuickPick(label: string): void;
  /** Whether closing an editor keeps its results for reopening (off when tests start: see ModelEditorProvider). */
  keepResultsOnClose(enabled: boolean): void;
  /** The models the unanalyzableModels context key lists (what the Explorer menu's when clause reads). */
  unanalyzableModels(): string[];
}

export class TestRecorder {
  private readonly messages = new Map<string, WebviewToHostMessage[]>();
  private readonly waiters: { key: string; kind: string; resolve(message: WebviewToHostMessage): void }[] = [];
  private saveAnswer: vscode.Uri | undefined;
  private pickAnswer: string | undefined;

  /** The label a test chose for the next pick list, once; undefined shows the real list. */
  takePickAnswer(): string | undefined {
    const answer = this.pickAnswer;
    this.pickAnswer = undefined;
    return answer;
  }

  private saveDialogShown: { proposed?: string; extensions: string[] } | undefined;

  /** The answer a test gave for the next save dialog, once; undefined shows the real dialog. */
  takeSaveAnswer(options: vscode.SaveDialogOptions): vscode.Uri | undefined {
    this.saveDialogShown = { proposed: options.defaultUri?.path.split('/').pop(), extensions: Object.values(options.filters ?? {}).flat() };
    const answer = this.saveAnswer;
    this.saveAnswer = undefined;
    return answer;
  }

  record(document: ModelDocument, message: WebviewToHostMessage): void {
    const key = document.uri.toString();
    const list = this.messages.get(key) ?? [];
    list.push(message);
    this.messages.set(key, list);
    for (const waiter of this.waiters.filter((w) => w.key === key && w.kind === message.kind)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }

  api(editors: ModelEditorProvider, engine: EngineClient, notifier: Notifier): TestingApi {
    return {
      webviewMessages: (uri) => [...(this.messages.get(uri.toString()) ?? [])],
      waitForWebviewMessage: (uri, kind) => {
        const key = uri.toString();
        const earlier = this.messages.get(key)?.find((message) => message.kind === kind);
        return earlier ? Promise.resolve(earlier) : new Promise((resolve) => this.waiters.push({ key, kind, resolve }));
      },
      analysisStatus: (uri) => editors.documentFor(uri)?.status,
      whenDescribed: (uri) => editors.documentFor(uri)?.whenDescribed,
      analysisReport: (uri) => editors.documentFor(uri)?.report,
      sweepReport: (uri) => editors.documentFor(uri)?.sweepReport,
      openDocuments: () => editors.openDocuments.map((document) => document.uri.toString()),
      engine: {
        request: (method, params, options) => engine.request(method, params, options),
        get startCount() {
          return engine.startCount;
        },
        get isRunning() {
          return engine.isRunning;
        },
        requestCount: (method) => engine.requestCount(method),
      },
      lastUserError: () => notifier.lastError,
      lastErrorNotification: () => notifier.lastErrorNotification,
      lastInfoNotification: () => notifier.lastInfoNotification,
      lastWarningNotification: () => notifier.lastWarningNotification,
      answerNextNotification: (matching, title) => notifier.answerNext(matching, title),
      answerNextSaveDialog: (uri) => {
        this.saveAnswer = uri;
      },
      lastSaveDialog: () => this.saveDialogShown,
      answerNextQuickPick: (label) => {
        this.pickAnswer = label;
      },
      unanalyzableModels: () => editors.unanalyzableModels,
      keepResultsOnClose: (enabled) => {
        editors.keepResultsOnClose = enabled;
      },
    };
  }
}
