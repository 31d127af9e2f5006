// The contributed commands. Each takes an optional model Uri (the Explorer context menu and the
// editor title bar pass one) and otherwise acts on the active Lipschitz Lens editor.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS } from '../shared/ids';
import type { AnalysisPhase, BoundReport } from '../shared/protocol';
import { reportToCsv, reportToJson, reportToMarkdown } from '../shared/reportWriters';
import { parseEpsilonInput } from '../shared/settings';
import type { AnalysisController } from './analysisController';
import type { ModelDocument } from './modelDocument';
import type { ModelEditorProvider } from './modelEditorProvider';
import type { Notifier } from './notifier';

export interface CommandServices {
  editors: ModelEditorProvider;
  analysis: AnalysisController;
  notifier: Notifier;
  log: vscode.LogOutputChannel;
  defaultEpsilon(): number;
}

const NO_MODEL_EDITOR = 'Open an ONNX model in the Lipschitz Lens editor first.';

const EXPORT_WRITERS: Record<string, (report: BoundReport) => string> = {
  '.json': reportToJson,
  '.csv': reportToCsv,
  '.md': reportToMarkdown,
};

export function registerCommands(context: vscode.ExtensionContext, services: CommandServices): void {
  const { editors, analysis, notifier, log } = services;

  /** The document a command acts on: the given file (opened in our editor if needed) or the active editor's. */
  async function target(uri: unknown, openIfNeeded: boolean): Promise<ModelDocument | undefined> {
    if (uri instanceof vscode.Uri) {
      const open = editors.documentFor(uri);
      if (open || !openIfNeeded) {
        return open;
      }
      try {
        return await editors.open(uri);
      } catch (error) {
        notifier.error(`Could not open ${path.basename(uri.fsPath)} in the Lipschitz Lens editor.`, error);
        return undefined;
      }
    }
    const active = editors.activeDocument;
    if (!active) {
      notifier.info(NO_MODEL_EDITOR);
    }
    return active;
  }

  const handlers: Record<(typeof COMMANDS)[keyof typeof COMMANDS], (uri?: unknown, ...rest: unknown[]) => unknown> = {
    [COMMANDS.analyze]: async (uri): Promise<AnalysisPhase | undefined> => {
      const document = await target(uri, true);
      return document ? analysis.analyze(document) : undefined;
    },

    [COMMANDS.setEpsilon]: async (uri): Promise<number | undefined> => {
      const document = await target(uri, true);
      if (!document) {
        return undefined;
      }
      const current = document.parameters.epsilon ?? services.defaultEpsilon();
      const text = await vscode.window.showInputBox({
        title: `Perturbation radius ε for ${document.fileName}`,
        prompt: 'Radius of the input ball around the nominal input, in the model’s own input units.',
        value: String(current),
        validateInput: (value) => {
          const parsed = parseEpsilonInput(value);
          return 'error' in parsed ? parsed.error : undefined;
        },
      });
      if (text === undefined) {
        return undefined;
      }
      const parsed = parseEpsilonInput(text);
      if ('error' in parsed) {
        return undefined;
      }
      await document.updateParameters({ epsilon: parsed.value }, services.defaultEpsilon());
      log.info(`ε for ${document.fileName} set to ${parsed.value}.`);
      return parsed.value;
    },

    [COMMANDS.chooseInput]: async (uri): Promise<string | undefined> => {
      const document = await target(uri, true);
      if (!document) {
        return undefined;
      }
      const picked = await vscode.window.showOpenDialog({
        title: `Nominal input for ${document.fileName}`,
        defaultUri: vscode.Uri.joinPath(document.uri, '..'),
        canSelectMany: false,
        openLabel: 'Use as nominal input',
        filters: { 'Nominal input (NumPy, JSON)': ['npy', 'json'] },
      });
      const file = picked?.[0];
      if (!file) {
        return undefined;
      }
      await document.updateParameters({ inputPath: file.fsPath }, services.defaultEpsilon());
      log.info(`Nominal input for ${document.fileName} set to ${file.fsPath}.`);
      return file.fsPath;
    },

    /** A second Uri argument names the destination and skips the save dialog (for tasks and tests). */
    [COMMANDS.exportReport]: async (uri, destinationArgument): Promise<string | undefined> => {
      const document = await target(uri, false);
      const report = document?.report;
      if (!document || !report) {
        notifier.info('Run "Analyze Lipschitz bounds" first; there is no report to export yet.');
        return undefined;
      }
      const stem = document.fileName.replace(/\.onnx$/i, '');
      const destination =
        destinationArgument instanceof vscode.Uri
          ? destinationArgument
          : await vscode.window.showSaveDialog({
              title: 'Export bound report',
              defaultUri: vscode.Uri.joinPath(document.uri, '..', `${stem}.bounds.json`),
              filters: { JSON: ['json'], CSV: ['csv'], Markdown: ['md'] },
            });
      if (!destination) {
        return undefined;
      }
      const write = EXPORT_WRITERS[path.extname(destination.fsPath).toLowerCase()];
      if (!write) {
        notifier.error(`Cannot export to ${path.basename(destination.fsPath)}: choose a .json, .csv or .md file name.`);
        return undefined;
      }
      if (destination.toString() === document.uri.toString()) {
        notifier.error('The report cannot replace the model file itself.');
        return undefined;
      }
      try {
        await vscode.workspace.fs.writeFile(destination, new TextEncoder().encode(write(report)));
      } catch (error) {
        notifier.error(`Could not write ${path.basename(destination.fsPath)}.`, error);
        return undefined;
      }
      log.info(`Report of ${document.fileName} exported to ${destination.fsPath}.`);
      return destination.fsPath;
    },

    [COMMANDS.cancelAnalysis]: async (uri): Promise<boolean> => {
      const document = await target(uri, false);
      return document ? analysis.cancel(document) : false;
    },

    [COMMANDS.showLog]: () => log.show(),
  };

  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  }
}
