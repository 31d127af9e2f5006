// Runs analyses for a document: the main run at the chosen ε and, as a separate action, the ε sweep
// for the chart (a sweep multiplies the cost, so Analyze never runs it). Reads the settings, asks the
// worker, shows cancellable progress in a notification and streams it to the webview, reuses results
// already computed for the same model, input and options, and keeps the `when`-clause context keys of
// the active editor up to date.

import * as vscode from 'vscode';
import { COMMANDS, CONTEXT_KEYS } from '../shared/ids';
import type { AnalysisPhase, AnalysisTask, AnalyzeParams, BoundReport, SweepRange, WebviewMethods } from '../shared/protocol';
import { isCancellation, RequestError, type RequestHandlers } from '../shared/rpc';
import { expandSweep, type LensSettings } from '../shared/settings';
import { analysisLogEntries } from './analysisLog';
import { ENGINE_OUT_OF_MEMORY_MESSAGE, type EngineClient } from './engineClient';
import type { ModelDocument, ResultCache } from './modelDocument';
import { openSettingsAction, type Notifier, type UserAction } from './notifier';
import { readSettings } from './settings';

const RUN_ANYWAY = 'Run anyway';

/** What the webview asks for beyond the commands: file pickers and exports run as commands. */
export interface ViewActions {
  chooseInput(document: ModelDocument, synthetic: boolean): Promise<string | null>;
  exportReport(document: ModelDocument): Promise<string | null>;
  exportChart(document: ModelDocument, svg: string, png: string | undefined): Promise<string | null>;
}

/** The ε range a sweep form starts from: the setting's radii as min, max and count. */
export function sweepRangeOf(settings: LensSettings): SweepRange {
  const { sweep } = settings;
  return { min: sweep[0], max: sweep[sweep.length - 1], points: sweep.length };
}

export class AnalysisController {
  private activeDocument: ModelDocument | undefined;
  private activeSubscription: vscode.Disposable | undefined;
  /** The last values sent to setContext, as "analysisRunning,hasResults,unanalyzable". */
  private contextKeys: string | undefined;
  private viewActions: ViewActions | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    private readonly notifier: Notifier,
  ) {}

  /** The commands module supplies the pickers and exports the webview's buttons trigger. */
  setViewActions(actions: ViewActions): void {
    this.viewActions = actions;
  }

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

  /**
   * Runs the main analysis of `document` (at `epsilon` if given, which then becomes the model's ε) and
   * resolves with how it ended; never rejects. A run already computed for the same ε, input and
   * options is reused, and so is the robustness radius (it does not depend on ε).
   */
  async analyze(document: ModelDocument, epsilon?: number): Promise<AnalysisPhase> {
    await document.whenDescribed;
    const settings = this.prepare(document);
    if (!settings) {
      return document.isAnalysisRunning ? 'running' : 'failed';
    }
    if (epsilon !== undefined) {
      await document.updateParameters({ epsilon }, settings.epsilon);
    }
    const chosen = document.parameters.epsilon ?? settings.epsilon;
    const cache = document.resultCache(cacheKey(document, settings));
    const wantRadius = settings.engine.computeRadius;
    const cached = cache.runs.get(chosen);
    if (cached && cache.base && (!wantRadius || cache.radius)) {
      document.beginAnalysis(chosen);
      const report: BoundReport = { ...cache.base, runs: [cached], ...(wantRadius ? { radius: cache.radius } : {}) };
      document.endAnalysis('done', { report, message: 'Reused the results computed earlier for this ε and input.' });
      this.log.info(`Analysis of ${document.fileName} at ε = ${chosen}: reused earlier results.`);
      this.updateContextKeys();
      return 'done';
    }
    const params = this.params(document, settings, [chosen], wantRadius && !cache.radius);
    return this.run(document, 'analyze', params, (report) => {
      storeInCache(cache, report);
      const radius = report.radius ?? (wantRadius ? cache.radius : undefined);
      const main: BoundReport = { ...report, ...(radius ? { radius } : {}) };
      document.endAnalysis('done', { report: main });
    });
  }

  /** Runs the ε sweep (the given range, else the lipschitzLens.sweep setting) for the chart; never rejects. */
  async runSweep(document: ModelDocument, range?: SweepRange): Promise<AnalysisPhase> {
    await document.whenDescribed;
    const settings = this.prepare(document);
    if (!settings) {
      return document.isAnalysisRunning ? 'running' : 'failed';
    }
    const epsilons = range ? expandSweep(range) : settings.sweep;
    const cache = document.resultCache(cacheKey(document, settings));
    const finish = () => {
      if (!cache.base) {
        return;
      }
      const runs = epsilons.map((epsilon) => cache.runs.get(epsilon)).filter((run) => run !== undefined);
      document.setSweepReport({ ...cache.base, runs });
    };
    const missing = epsilons.filter((epsilon) => !cache.runs.has(epsilon));
    if (missing.length === 0 && cache.base) {
      document.beginAnalysis(document.status.epsilon, 'sweep');
      finish();
      document.endAnalysis('done', { message: 'Reused the results computed earlier for every ε of the sweep.' });
      this.updateContextKeys();
      return 'done';
    }
    const params = this.params(document, settings, missing, false);
    return this.run(document, 'sweep', params, (report) => {
      storeInCache(cache, report);
      finish();
      const reused = epsilons.length - missing.length;
      document.endAnalysis('done', reused > 0 ? { message: `Reused ${reused} of ${epsilons.length} radii computed earlier.` } : {});
    });
  }

  cancel(document: ModelDocument): boolean {
    return document.cancelAnalysis();
  }

  /** The webview's requests about analyses and exports (the pin is the editor provider's: it spans editors). */
  webviewHandlers(document: ModelDocument): RequestHandlers<Omit<WebviewMethods, 'pinRun'>> {
    const actions = () => {
      if (!this.viewActions) {
        throw new Error('The view actions are not registered yet.');
      }
      return this.viewActions;
    };
    return {
      analyze: async ({ epsilon }) => ({ phase: await this.analyze(document, epsilon) }),
      runSweep: async ({ range }) => ({ phase: await this.runSweep(document, range) }),
      cancelAnalysis: async () => {
        this.cancel(document);
        return null;
      },
      chooseInput: ({ synthetic }) => actions().chooseInput(document, synthetic === true),
      exportReport: () => actions().exportReport(document),
      exportChart: ({ svg, png }) => actions().exportChart(document, svg, png),
    };
  }

  /** Settings for a new run, or undefined (after telling the user) when none can start. */
  private prepare(document: ModelDocument): LensSettings | undefined {
    if (document.isAnalysisRunning) {
      this.notifier.info(`An analysis of ${document.fileName} is already running.`);
      return undefined;
    }
    const unanalyzable = document.unanalyzableReason;
    if (unanalyzable !== undefined) {
      // Known from reading the model: running the engine would only fail the same way, later.
      // The reader's sentences name the file already; the normaliser's lists of nodes do not.
      const named = unanalyzable.startsWith(document.fileName) || unanalyzable.startsWith(document.uri.fsPath);
      this.notifier.error(named ? unanalyzable : `${document.fileName} cannot be analyzed: ${unanalyzable}`);
      return undefined;
    }
    if (document.uri.scheme !== 'file') {
      this.notifier.error(`Lipschitz Lens analyzes models on disk only, and ${document.uri.toString()} is not a file on disk.`);
      return undefined;
    }
    return readSettings(this.log, this.notifier);
  }

  private params(document: ModelDocument, settings: LensSettings, epsilons: number[], computeRadius: boolean): AnalyzeParams {
    return {
      modelPath: document.uri.fsPath,
      epsilon: epsilons[0],
      sweep: epsilons.slice(1),
      input: document.inputChoice,
      ...(document.parameters.graphIo ? { graphIo: document.parameters.graphIo } : {}),
      options: { ...settings.engine, computeRadius },
    };
  }

  private async run(
    document: ModelDocument,
    task: AnalysisTask,
    params: AnalyzeParams,
    succeed: (report: BoundReport) => void,
  ): Promise<AnalysisPhase> {
    const epsilons = [params.epsilon, ...params.sweep];
    const shownEpsilon = task === 'analyze' ? params.epsilon : document.status.epsilon;
    const signal = document.beginAnalysis(shownEpsilon, task);
    this.updateContextKeys();
    const what = task === 'analyze' ? `at ε = ${params.epsilon}` : `over ${epsilons.length} radii (ε sweep)`;
    this.log.info(`Analyzing ${params.modelPath} ${what} with ${document.inputLabel}.`);
    try {
      const report = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `${task === 'analyze' ? 'Analyzing' : 'ε sweep of'} ${document.fileName}`,
          cancellable: true,
        },
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
      succeed(report);
      this.log.info(`Analysis of ${document.fileName} ${what} done.`);
      for (const entry of analysisLogEntries(params, report)) this.log[entry.level](entry.message);
      return 'done';
    } catch (error) {
      if (isCancellation(error)) {
        document.endAnalysis('cancelled', { message: 'Cancelled.' });
        this.log.info(`Analysis of ${document.fileName} cancelled.`);
        return 'cancelled';
      }
      if (error instanceof RequestError && error.code === 'overBudget') {
        return this.confirmOverBudget(document, task, params, succeed, error.message);
      }
      const message = (error as Error).message;
      document.endAnalysis('failed', { message });
      this.notifier.error(...this.failureAdvice(document, error, message));
      return 'failed';
    } finally {
      this.updateContextKeys();
    }
  }

  /** The toast for a failed run: the engine's sentence, what to do about it, and buttons that do it. */
  private failureAdvice(document: ModelDocument, error: unknown, message: string): [string, unknown, UserAction[]] {
    if (error instanceof RequestError && error.code === 'badInput') {
      const chooseInput: UserAction = { title: 'Choose Input…', run: () => vscode.commands.executeCommand(COMMANDS.chooseInput, document.uri) };
      return [`${message} Choose an input that fits the model, or use the synthetic input.`, error, [chooseInput]];
    }
    if (error instanceof RequestError && error.message === ENGINE_OUT_OF_MEMORY_MESSAGE) {
      // The estimate let it start, yet the worker ran out: a budget below the estimate makes the next run ask first.
      return [`${message} A smaller memory budget (lipschitzLens.maxMemoryGB) makes the next run ask first.`, error, [openSettingsAction('lipschitzLens.maxMemoryGB')]];
    }
    return [message, error, []];
  }

  /** The estimate exceeds lipschitzLens.maxMemoryGB: nothing ran; the user may run it without the budget. */
  private async confirmOverBudget(
    document: ModelDocument,
    task: AnalysisTask,
    params: AnalyzeParams,
    succeed: (report: BoundReport) => void,
    estimate: string,
  ): Promise<AnalysisPhase> {
    const message = `${estimate} (lipschitzLens.maxMemoryGB).`;
    document.endAnalysis('cancelled', { message: `Not started: ${message}` });
    this.updateContextKeys();
    this.log.warn(message);
    const openSettings = openSettingsAction('lipschitzLens.maxMemoryGB');
    const choice = await vscode.window.showWarningMessage(`${message} Run the analysis anyway?`, { modal: true }, RUN_ANYWAY, openSettings.title);
    if (choice === openSettings.title) {
      await openSettings.run();
    }
    if (choice !== RUN_ANYWAY) {
      return 'cancelled';
    }
    const options = { ...params.options };
    delete options.maxMemoryBytes;
    return this.run(document, task, { ...params, options }, succeed);
  }

  private updateContextKeys(): void {
    const document = this.activeDocument;
    const running = document?.isAnalysisRunning ?? false;
    const hasResults = document?.exportableReport !== undefined;
    const unanalyzable = document?.unanalyzableReason !== undefined;
    const keys = `${running},${hasResults},${unanalyzable}`;
    // Progress messages trigger this often; only a change is worth a round trip to the workbench.
    if (keys === this.contextKeys) {
      return;
    }
    this.contextKeys = keys;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.analysisRunning, running);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.hasResults, hasResults);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.activeModelUnanalyzable, unanalyzable);
  }
}

/**
 * Results can be reused while the input and every engine option stay the same; only the thread count
 * (speed, not numbers), the memory budget and whether the radius is wanted (cached on its own) are left out.
 */
function cacheKey(document: ModelDocument, settings: LensSettings): string {
  return JSON.stringify({ input: document.inputChoice, graphIo: document.parameters.graphIo, ...settings.engine, threads: undefined, computeRadius: undefined, maxMemoryBytes: undefined });
}

function storeInCache(cache: ResultCache, report: BoundReport): void {
  const { runs, radius, ...base } = report;
  cache.base = base;
  for (const run of runs) {
    cache.runs.set(run.epsilon, run);
  }
  if (radius) {
    cache.radius = radius;
  }
}
