// One opened model file. Read-only: the model is read (by the worker) and never written. Holds the
// per-document analysis parameters (ε, nominal input; remembered per file in workspace state), the
// current analysis status and the last report.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisPhase, AnalysisStatus, AnalyzeProgress, BoundReport, HostToWebviewMessage, ModelOverview } from '../shared/protocol';
import { errorDetail } from '../shared/rpc';
import type { EngineClient, EngineLog } from './engineClient';

/** What is remembered per model file between sessions. */
export interface DocumentParameters {
  epsilon?: number;
  inputPath?: string;
}

const PARAMETERS_KEY_PREFIX = 'lipschitzLens.parameters:';

export class ModelDocument implements vscode.CustomDocument {
  private readonly changeEmitter = new vscode.EventEmitter<HostToWebviewMessage>();
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  /** Every message the webviews need to catch up, replayed to a webview that says 'ready'. */
  readonly onDidChange = this.changeEmitter.event;
  readonly onDidDispose = this.disposeEmitter.event;

  private overviewMessage: HostToWebviewMessage | undefined;
  private statusValue: AnalysisStatus;
  private reportValue: BoundReport | undefined;
  private running: AbortController | undefined;
  private disposed = false;

  constructor(
    readonly uri: vscode.Uri,
    private readonly state: vscode.Memento,
    defaultEpsilon: number,
  ) {
    this.statusValue = { phase: 'idle', epsilon: this.parameters.epsilon ?? defaultEpsilon, inputLabel: this.inputLabel };
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  get parameters(): DocumentParameters {
    return this.state.get<DocumentParameters>(PARAMETERS_KEY_PREFIX + this.uri.toString()) ?? {};
  }

  get inputLabel(): string {
    const { inputPath } = this.parameters;
    return inputPath ? path.basename(inputPath) : 'bundled example, else synthetic';
  }

  get status(): AnalysisStatus {
    return this.statusValue;
  }

  get report(): BoundReport | undefined {
    return this.reportValue;
  }

  get isAnalysisRunning(): boolean {
    return this.running !== undefined;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Reads the model's overview in the worker; failures become a 'modelError' for the view. */
  async describe(engine: EngineClient, log: EngineLog): Promise<void> {
    if (this.uri.scheme !== 'file') {
      this.setOverview({
        kind: 'modelError',
        fileName: this.fileName,
        message: `Lipschitz Lens reads models from disk only, and ${this.uri.toString()} is not a file on disk.`,
      });
      return;
    }
    try {
      const model: ModelOverview = await engine.request('describeModel', { path: this.uri.fsPath });
      this.setOverview({ kind: 'model', model });
    } catch (error) {
      log.error(`Reading ${this.uri.fsPath} failed: ${errorDetail(error)}`);
      this.setOverview({ kind: 'modelError', fileName: this.fileName, message: (error as Error).message });
    }
  }

  async updateParameters(update: DocumentParameters, defaultEpsilon: number): Promise<void> {
    await this.state.update(PARAMETERS_KEY_PREFIX + this.uri.toString(), { ...this.parameters, ...update });
    if (!this.running) {
      this.setStatus({ ...this.statusValue, epsilon: this.parameters.epsilon ?? defaultEpsilon, inputLabel: this.inputLabel });
    }
  }

  /** The settings' ε changed: show it, unless this model has its own ε or a run is under way. */
  refreshDefaults(defaultEpsilon: number): void {
    if (!this.running && this.parameters.epsilon === undefined) {
      this.setStatus({ ...this.statusValue, epsilon: defaultEpsilon });
    }
  }

  /** The file changed on disk: results of the old contents no longer apply. */
  modelChanged(): void {
    this.running?.abort();
    this.running = undefined;
    if (this.reportValue) {
      this.reportValue = undefined;
      this.changeEmitter.fire({ kind: 'analysisReport', report: undefined });
    }
    const { epsilon, inputLabel } = this.statusValue;
    this.setStatus({ phase: 'idle', epsilon, inputLabel, message: 'The model changed on disk; analyze it again.' });
  }

  /** Marks a run as started; the returned signal aborts when the run is cancelled or the document closes. */
  beginAnalysis(epsilon: number): AbortSignal {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.setStatus({ phase: 'running', epsilon, inputLabel: this.inputLabel });
    return controller.signal;
  }

  reportProgress(progress: AnalyzeProgress): void {
    if (this.running) {
      this.setStatus({ ...this.statusValue, progress });
    }
  }

  endAnalysis(phase: Exclude<AnalysisPhase, 'idle' | 'running'>, outcome: { report?: BoundReport; message?: string }): void {
    this.running = undefined;
    if (outcome.report) {
      this.reportValue = outcome.report;
      this.changeEmitter.fire({ kind: 'analysisReport', report: outcome.report });
    }
    const { epsilon, inputLabel } = this.statusValue;
    this.setStatus({ phase, epsilon, inputLabel, message: outcome.message });
  }

  cancelAnalysis(): boolean {
    if (!this.running) {
      return false;
    }
    this.running.abort();
    return true;
  }

  /** The messages that bring a fresh webview up to date, in order. */
  snapshot(): HostToWebviewMessage[] {
    const messages: HostToWebviewMessage[] = [];
    if (this.overviewMessage) {
      messages.push(this.overviewMessage);
    }
    messages.push({ kind: 'analysisStatus', status: this.statusValue });
    if (this.reportValue) {
      messages.push({ kind: 'analysisReport', report: this.reportValue });
    }
    return messages;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    // Closing the editor cancels its analysis (house rule 4).
    this.running?.abort();
    this.running = undefined;
    this.disposeEmitter.fire();
    this.changeEmitter.dispose();
    this.disposeEmitter.dispose();
  }

  private setOverview(message: HostToWebviewMessage): void {
    this.overviewMessage = message;
    this.changeEmitter.fire(message);
  }

  private setStatus(status: AnalysisStatus): void {
    this.statusValue = status;
    this.changeEmitter.fire({ kind: 'analysisStatus', status });
  }
}
