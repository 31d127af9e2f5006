// One opened model file. Read-only: the model is read (by the worker) and never written. Holds the
// per-document analysis parameters (ε, nominal input; remembered per file in workspace state), the
// current analysis status and the last report.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type {
  AnalysisPhase,
  AnalysisStatus,
  AnalysisTask,
  AnalyzeProgress,
  BoundReport,
  HostToWebviewMessage,
  GraphIoChoice,
  InputChoice,
  ModelOverview,
  SweepRange,
} from '../shared/protocol';
import type { EpsilonRun, LayerResult, RadiusResult } from '../shared/results';
import { errorDetail } from '../shared/rpc';
import type { EngineClient, EngineLog } from './engineClient';

/** What is remembered per model file between sessions. */
export interface DocumentParameters {
  epsilon?: number;
  inputPath?: string;
  /** Use the synthetic input even if the model has a bundled example (ignored when inputPath is set). */
  synthetic?: boolean;
  /** For models with several inputs or outputs: what is bounded. */
  graphIo?: GraphIoChoice;
}

/**
 * Results computed for one model file, input and engine options, by ε: what a re-run or a sweep can
 * reuse instead of asking the engine again. The ‖A‖ part is already shared inside one request.
 */
export interface ResultCache {
  key: string;
  runs: Map<number, EpsilonRun>;
  radius?: RadiusResult;
  /** The report fields that do not depend on ε. */
  base?: Omit<BoundReport, 'runs' | 'radius'>;
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
  private sweepValue: BoundReport | undefined;
  private sweepRangeValue: SweepRange;
  private partial: { runId: number; epsilon: number; layers: LayerResult[] } | undefined;
  private runCount = 0;
  private cache: ResultCache | undefined;
  private running: AbortController | undefined;
  private disposed = false;

  constructor(
    readonly uri: vscode.Uri,
    private readonly state: vscode.Memento,
    defaultEpsilon: number,
    sweepRange: SweepRange,
  ) {
    this.statusValue = { phase: 'idle', epsilon: this.parameters.epsilon ?? defaultEpsilon, inputLabel: this.inputLabel };
    this.sweepRangeValue = sweepRange;
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  get parameters(): DocumentParameters {
    return this.state.get<DocumentParameters>(PARAMETERS_KEY_PREFIX + this.uri.toString()) ?? {};
  }

  get inputLabel(): string {
    const { inputPath, synthetic } = this.parameters;
    if (inputPath) {
      return path.basename(inputPath);
    }
    return synthetic ? 'synthetic input' : 'bundled example, else synthetic';
  }

  get inputChoice(): InputChoice {
    const { inputPath, synthetic } = this.parameters;
    if (inputPath) {
      return { kind: 'file', path: inputPath };
    }
    return synthetic ? { kind: 'synthetic' } : { kind: 'auto' };
  }

  /** The graph's input and output names, once the worker has read the model. */
  get graphNames(): { inputs: string[]; outputs: string[] } | undefined {
    const message = this.overviewMessage;
    return message?.kind === 'model' ? { inputs: message.model.inputNames, outputs: message.model.outputNames } : undefined;
  }

  get sweepReport(): BoundReport | undefined {
    return this.sweepValue;
  }

  /** The main report with the sweep's other radii appended: what the exports write (the CLI's schema). */
  get exportableReport(): BoundReport | undefined {
    const main = this.reportValue ?? this.sweepValue;
    if (!main) {
      return undefined;
    }
    const runs = [...main.runs];
    for (const run of this.sweepValue?.runs ?? []) {
      if (!runs.some((known) => known.epsilon === run.epsilon)) {
        runs.push(run);
      }
    }
    return { ...main, runs };
  }

  /** The reusable results for `key`; results for another key (input, options) are dropped. */
  resultCache(key: string): ResultCache {
    if (this.cache?.key !== key) {
      this.cache = { key, runs: new Map() };
    }
    return this.cache;
  }

  setSweepRange(range: SweepRange): void {
    this.sweepRangeValue = range;
    this.changeEmitter.fire({ kind: 'sweepRange', range });
  }

  setSweepReport(report: BoundReport): void {
    this.sweepValue = report;
    this.changeEmitter.fire({ kind: 'sweepReport', report });
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
    this.cache = undefined;
    this.partial = undefined;
    if (this.reportValue) {
      this.reportValue = undefined;
      this.changeEmitter.fire({ kind: 'analysisReport', report: undefined });
    }
    if (this.sweepValue) {
      this.sweepValue = undefined;
      this.changeEmitter.fire({ kind: 'sweepReport', report: undefined });
    }
    const { epsilon, inputLabel } = this.statusValue;
    this.setStatus({ phase: 'idle', epsilon, inputLabel, message: 'The model changed on disk; analyze it again.' });
  }

  /** Marks a run as started; the returned signal aborts when the run is cancelled or the document closes. */
  beginAnalysis(epsilon: number, task: AnalysisTask = 'analyze'): AbortSignal {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.partial = task === 'analyze' ? { runId: ++this.runCount, epsilon, layers: [] } : undefined;
    this.setStatus({ phase: 'running', task, epsilon, inputLabel: this.inputLabel });
    return controller.signal;
  }

  reportProgress(progress: AnalyzeProgress): void {
    if (!this.running) {
      return;
    }
    const { event } = progress;
    // Only the main run's rows stream into the table; a sweep shows its progress in the status line.
    if (event.kind === 'layerResult' && event.epsilonIndex === 0 && this.partial) {
      this.partial.layers.push(event.layer);
      this.changeEmitter.fire({ kind: 'layerResults', runId: this.partial.runId, epsilon: event.epsilon, layers: [event.layer] });
    }
    this.setStatus({ ...this.statusValue, progress });
  }

  endAnalysis(phase: Exclude<AnalysisPhase, 'idle' | 'running'>, outcome: { report?: BoundReport; message?: string }): void {
    this.running = undefined;
    this.partial = undefined;
    if (outcome.report) {
      this.reportValue = outcome.report;
      this.changeEmitter.fire({ kind: 'analysisReport', report: outcome.report });
    }
    const { epsilon, inputLabel, task } = this.statusValue;
    this.setStatus({ phase, task, epsilon, inputLabel, message: outcome.message });
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
    if (this.partial) {
      const { runId, epsilon, layers } = this.partial;
      messages.push({ kind: 'layerResults', runId, epsilon, layers: [...layers] });
    }
    messages.push({ kind: 'sweepRange', range: this.sweepRangeValue });
    if (this.sweepValue) {
      messages.push({ kind: 'sweepReport', report: this.sweepValue });
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
