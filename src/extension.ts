// Entry point: registers the editor provider and the commands; everything else lives in src/host.

import * as vscode from 'vscode';
import { EngineClient } from './host/engineClient';
import { AnalysisController, sweepRangeOf } from './host/analysisController';
import { registerCommands } from './host/commands';
import { ModelEditorProvider } from './host/modelEditorProvider';
import { Notifier } from './host/notifier';
import { PinnedRunStore } from './host/pinnedRunStore';
import { sanitisedLog } from './host/sanitisedLog';
import { readSettings } from './host/settings';
import { TestRecorder, type TestingApi } from './host/testingApi';
import { OUTPUT_CHANNEL_NAME, TEST_MODE_ENV } from './shared/ids';

export interface LipschitzLensApi {
  /** Present only when running under tests. */
  testing?: TestingApi;
}

export function activate(context: vscode.ExtensionContext): LipschitzLensApi {
  const testMode = context.extensionMode === vscode.ExtensionMode.Test || process.env[TEST_MODE_ENV] === '1';
  const log = sanitisedLog(vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true }));
  const engine = new EngineClient({
    workerPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath,
    testMode,
    log,
  });
  context.subscriptions.push(log, { dispose: () => engine.dispose() });

  const notifier = new Notifier(log);
  const analysis = new AnalysisController(engine, log, notifier);
  context.subscriptions.push(analysis);
  const recorder = testMode ? new TestRecorder() : undefined;
  const defaultEpsilon = () => readSettings(log, notifier).epsilon;
  const pinnedRuns = new PinnedRunStore(context.workspaceState);
  context.subscriptions.push(pinnedRuns);
  const editors = ModelEditorProvider.register(context, {
    engine,
    log,
    defaultEpsilon,
    sweepRange: () => sweepRangeOf(readSettings(log, notifier)),
    webviewHandlers: (document) => analysis.webviewHandlers(document),
    pinnedRuns,
    onWebviewMessage: recorder ? (document, message) => recorder.record(document, message) : undefined,
  });
  // Tests start from editors without kept results; the test of that feature turns it on (testingApi).
  editors.keepResultsOnClose = !recorder;
  context.subscriptions.push(editors.onDidChangeActiveDocument((document) => analysis.setActiveDocument(document)));
  const saveDialog = (options: vscode.SaveDialogOptions) => {
    const answer = recorder?.takeSaveAnswer(options);
    return answer ? Promise.resolve(answer) : vscode.window.showSaveDialog(options);
  };
  const quickPick = <T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions) => {
    const answer = recorder?.takePickAnswer();
    return answer === undefined ? vscode.window.showQuickPick(items, options) : Promise.resolve(items.find((item) => item.label === answer));
  };
  registerCommands(context, { editors, analysis, notifier, log, defaultEpsilon, saveDialog, quickPick });

  return { testing: recorder?.api(editors, engine, notifier) };
}

export function deactivate(): void {}
