// Runs an analysis for a document: reads the settings, asks the worker, shows cancellable progress
// in a notification and streams it to the webview, and keeps the `when`-clause context keys of the
// active editor up to date.

import * as vscode from 'vscode';
import { CONTEXT_KEYS } from '../shared/ids';
import type { AnalysisPhase, AnalyzeParams, WebviewMethods } from '../shared/protocol';
import { isCancellation, type RequestHandlers } from '../shared/rpc';
import type { EngineClient } from './engineClient';
import type { ModelDocument } from './modelDocument';
import type { Notifier } from './notifier';
import { readSettings } from './settings';

export class AnalysisController {
  private activeDocument: ModelDocument | undefined;
  private activeSubscription: vscode.Disposable | undefined;
  /** The last values sent to setContext, as "analysisRunning,hasResults". */
  private contextKeys: string | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    private readonly notifier: Notifier,
  ) {}

  setActiveDocument(document: ModelDocument | undefined): void {
    this.activeSubscription?.dispose();
    this.activeDocument = document;
    // Status and report also change outside analyze() (the file changed on disk, a run ended).
    this.activeSubscription = document?.onDidChange(() => this.updateContextKeys());
    this.updateContextKeys();
  }

  dispose(): void {
    this.activeSubscription?.dispose();
  }

  /** Runs one analysis of `document` and resolves with how it ended; never rejects. */
  async analyze(document: ModelDocument): Promise<AnalysisPhase> {
    if (document.isAnalysisRunning) {
      this.notifier.info(`An analysis of ${document.fileName} is already running.`);
      return 'running';
    }
    if (document.uri.scheme !== 'file') {
      this.notifier.error(`Lipschitz Lens analyzes models on disk only, and ${document.uri.toString()} is not a file on disk.`);
      return 'failed';
    }
    const settings = readSettings(this.log);
    const { epsilon: chosenEpsilon, inputPath } = document.parameters;
    const epsilon = chosenEpsilon ?? settings.epsilon;
    const params: AnalyzeParams = {
      modelPath: document.uri.fsPath,
      epsilon,
      sweep: settings.sweep,
      input: inputPath ? { kind: 'file', path: inputPath } : { kind: 'auto' },
      options: settings.engine,
    };
    const signal = document.beginAnalysis(epsilon);
    this.updateContextKeys();
    this.log.info(`Analyzing ${params.modelPath} at ε = ${epsilon} with ${document.inputLabel}.`);
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Analyzing ${document.fileName}`, cancellable: true },
        (progress, token) => {
          const subscription = token.onCancellationRequested(() => document.cancelAnalysis());
          let reportedFraction = 0;
          return this.engine
            .request('analyze', params, {
              signal,
              onProgress: (update) => {
                document.reportProgress(update);
                const fraction = update.total > 0 ? update.completed / update.total : reportedFraction;
                progress.report({ message: update.message, increment: Math.max(0, fraction - reportedFraction) * 100 });
                reportedFraction = Math.max(fraction, reportedFraction);
              },
            })
            .finally(() => subscription.dispose());
        },
      );
      document.endAnalysis('done', { report });
      this.log.info(`Analysis of ${document.fileName} done.`);
      return 'done';
    } catch (error) {
      if (isCancellation(error)) {
        document.endAnalysis('cancelled', { message: 'Cancelled.' });
        this.log.info(`Analysis of ${document.fileName} cancelled.`);
        return 'cancelled';
      }
      const message = (error as Error).message;
      document.endAnalysis('failed', { message });
      this.notifier.error(message, error);
      return 'failed';
    } finally {
      this.updateContextKeys();
    }
  }

  cancel(document: ModelDocument): boolean {
    return document.cancelAnalysis();
  }

  webviewHandlers(document: ModelDocument): RequestHandlers<WebviewMethods> {
    return {
      analyze: async () => ({ phase: await this.analyze(document) }),
      cancelAnalysis: async () => {
        this.cancel(document);
        return null;
      },
    };
  }

  private updateContextKeys(): void {
    const document = this.activeDocument;
    const keys = `${document?.isAnalysisRunning ?? false},${document?.report !== undefined}`;
    // Progress messages trigger this often; only a change is worth a round trip to the workbench.
    if (keys === this.contextKeys) {
      return;
    }
    this.contextKeys = keys;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.analysisRunning, document?.isAnalysisRunning ?? false);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.hasResults, document?.report !== undefined);
  }
}
