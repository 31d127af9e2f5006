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

/** What a closed editor leaves behind, so reopening the unchanged model shows its results again without re-running. */
export interface RetainedResults {
  report?: BoundReport;
  sweep?: BoundReport;
  cache?: ResultCache;
}

const PARAMETERS_KEY_PREFIX = 'lipschitzLens.parameters:';
const RESTORED_MESSAGE = 'Results kept from before the editor was closed; the model file is unchanged.';

export class ModelDocument implements vscode.CustomDocument {
  private readonly changeEmitter = new vscode.EventEmitter<HostToWebviewMessage>();
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  /** Every message the webviews need to catch up, replayed to a webview that says 'ready'. */
  readonly onDidChange = this.changeEmitter.event;
  readonly onDidDispose = this.disposeEmitter.event;

  private overviewMessage: HostToWebviewMessage | undefined;
  private overview: ModelOverview | undefined;
  private statusValue: AnalysisStatus;
  private reportValue: BoundReport | undefined;
  private sweepValue: BoundReport | undefined;
  private sweepRangeValue: SweepRange;
  private partial: { runId: number; epsilon: number; layers: LayerResult[] } | undefined;
  private runCount = 0;
  private cache: ResultCache | undefined;
  private running: AbortController | undefined;
  private disposed = false;
  private describing: Promise<void> = Promise.resolve();

  constructor(
    readonly uri: vscode.Uri,
    private readonly state: vscode.Memento,
    defaultEpsilon: number,
    sweepRange: SweepRange,
    restored?: RetainedResults,
  ) {
    const epsilon = this.parameters.epsilon ?? defaultEpsilon;
    this.statusValue = { phase: 'idle', epsilon, inputLabel: this.inputLabel };
    this.sweepRangeValue = sweepRange;
    if (restored) {
      this.reportValue = restored.report;
      this.sweepValue = restored.sweep;
      this.cache = restored.cache;
      const task = restored.report ? 'analyze' : 'sweep';
      this.statusValue = { phase: 'done', task, epsilon: restored.report?.runs[0]?.epsilon ?? epsilon, inputLabel: this.inputLabel, message: RESTORED_MESSAGE };
    }
  }

  /** The results worth keeping when the editor closes; undefined when there are none (or a run is under way). */
  retainedResults(): RetainedResults | undefined {
    if (this.running || (!this.reportValue && !this.sweepValue)) {
      return undefined;
    }
    return { report: this.reportValue, sweep: this.sweepValue, cache: this.cache };
  }

  /**
   * Why an analysis cannot run on this model, as far as reading it told (unsupported nodes, a graph the
   * analysis cannot read, a file that is not a model); undefined when it can, or before the model is read.
   */
  get unanalyzableReason(): string | undefined {
    if (this.overviewMessage?.kind === 'modelError') {
      return this.overviewMessage.message;
    }
    const model = this.overview;
    if (!model || model.rowSource === 'layers') {
      return undefined;
    }
    if (model.unsupportedSummary) {
      return `${model.unsupportedSummary} The graph marks each such node with its reason.`;
    }
    return model.notes[0] ?? 'the analysis cannot read its graph.';
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  get parameters(): DocumentParameters {
    return this.state.get<DocumentParameters>(PARAMETERS_KEY_PREFIX + this.uri.toString()) ?? {};
  }

  /** Which input the next analysis uses, named before it runs. */
  get inputLabel(): string {
    const { inputPath, synthetic } = this.parameters;
    if (inputPath) {
      return path.basename(inputPath);
    }
    if (synthetic) {
      return 'synthetic input';
    }
    const example = this.overview?.exampleInput;
    if (!example) {
      return 'bundled example, else synthetic';
    }
    const passedOver = example.skipped.map((skip) => skip.reason.replace(/\.$/, '')).join('; ');
    const used = example.fileName ? `${example.fileName} (beside the model)` : 'synthetic input (no example input beside the model fits it)';
    return passedOver ? `${used}; not used: ${passedOver}` : used;
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

  /** Settles when the latest reading of the model (started by describe) has ended, however it ended. */
  get whenDescribed(): Promise<void> {
    return this.describing;
  }

  /** The model's input leaves dimensions open, so its layers follow the shape of the chosen nominal input. */
  get layersFollowInput(): boolean {
    return this.overview?.openInputShape === true;
  }

  /** Reads the model's overview in the worker; failures become a 'modelError' for the view. */
  describe(engine: EngineClient, log: EngineLog): Promise<void> {
    this.describing = this.readOverview(engine, log);
    return this.describing;
  }

  private async readOverview(engine: EngineClient, log: EngineLog): Promise<void> {
    if (this.uri.scheme !== 'file') {
      this.setOverview({
        kind: 'modelError',
        fileName: this.fileName,
        message: `Lipschitz Lens reads models from disk only, and ${this.uri.toString()} is not a file on disk.`,
      });
      return;
    }
    try {
      const { inputPath } = this.parameters;
      const model: ModelOverview = await engine.request('describeModel', { path: this.uri.fsPath, ...(inputPath ? { inputPath } : {}) });
      this.setOverview({ kind: 'model', model });
    } catch (error) {
      log.error(`Reading ${this.uri.fsPath} failed: ${errorDetail(error)}`);
      this.setOverview({ kind: 'modelError', fileName: this.fileName, message: (error as Error).message });
    }
  }

  async updateParameters(update: DocumentParameters, defaultEpsilon: number): Promise<void> {
    await this.state.update(PARAMETERS_KEY_PREFIX + this.uri.toString(), { ...this.parameters, ...update });
    if (!this.running) {
      const inputChanged = 'inputPath' in update || 'synthetic' in update;
      // A failure (or cancellation) was about the run with the previous input: with a new one it no longer applies.
      const stale = inputChanged && (this.statusValue.phase === 'failed' || this.statusValue.phase === 'cancelled');
      const base = stale ? { phase: 'idle' as const } : { ...this.statusValue };
      this.setStatus({ ...base, epsilon: this.parameters.epsilon ?? defaultEpsilon, inputLabel: this.inputLabel });
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
    if (this.overviewMessage?.kind !== 'modelError') {
      messages.push({ kind: 'analysisStatus', status: this.statusValue });
    }
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
    this.overview = message.kind === 'model' ? message.model : undefined;
    this.changeEmitter.fire(message);
    if (!this.running) {
      // The example input is known now: name it.
      this.setStatus({ ...this.statusValue, inputLabel: this.inputLabel });
    }
  }

  private setStatus(status: AnalysisStatus): void {
    this.statusValue = status;
    // A file that is not a model has no analysis to report on: its page shows only why it cannot be read.
    if (this.overviewMessage?.kind !== 'modelError') {
      this.changeEmitter.fire({ kind: 'analysisStatus', status });
    }
  }
}
