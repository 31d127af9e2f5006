// The contributed commands. Each takes an optional model Uri (the Explorer context menu and the
// editor title bar pass one) and otherwise acts on the active Lipschitz Lens editor.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS } from '../shared/ids';
import type { AnalysisPhase, BoundReport, GraphIoChoice } from '../shared/protocol';
import { NODE_METRICS, type NodeMetric } from '../shared/layerMetrics';
import { reportToCsv, reportToJson, reportToMarkdown, reportToModelExplorer } from '../shared/reportWriters';
import { parseEpsilonInput } from '../shared/settings';
import type { AnalysisController, ViewActions } from './analysisController';
import { describeGraphIo, pickGraphIo, unknownGraphNames } from './graphIoPicker';
import type { ModelDocument } from './modelDocument';
import type { ModelEditorProvider } from './modelEditorProvider';
import type { Notifier } from './notifier';
import { isSameFile } from './sameFile';

export interface CommandServices {
  editors: ModelEditorProvider;
  analysis: AnalysisController;
  notifier: Notifier;
  log: vscode.LogOutputChannel;
  defaultEpsilon(): number;
  /** Asks where to save an export (vscode.window.showSaveDialog; the testing API can answer instead). */
  saveDialog(options: vscode.SaveDialogOptions): Thenable<vscode.Uri | undefined>;
  /** Shows a pick list (vscode.window.showQuickPick; the testing API can answer instead, by label). */
  quickPick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions): Thenable<T | undefined>;
}

const NO_MODEL_EDITOR = 'Open an ONNX model in the Lipschitz Lens editor first.';

/** An export format of the bound report: what the pick list offers and the file it writes. */
interface ExportFormat {
  id: string;
  label: string;
  description: string;
  /** The file name's ending after the model's stem, e.g. ".bounds.csv". */
  suffix: string;
  filters: Record<string, string[]>;
  write(report: BoundReport): string;
}

const EXPORT_FORMATS: ExportFormat[] = [
  { id: 'json', label: 'JSON', description: 'the whole report, as the CLI’s --json prints it', suffix: '.bounds.json', filters: { JSON: ['json'] }, write: reportToJson },
  { id: 'csv', label: 'CSV', description: 'one row per layer and ε', suffix: '.bounds.csv', filters: { CSV: ['csv'] }, write: reportToCsv },
  { id: 'markdown', label: 'Markdown', description: 'tables per ε, for a README or a pull request', suffix: '.bounds.md', filters: { Markdown: ['md'] }, write: reportToMarkdown },
  ...(Object.keys(NODE_METRICS) as NodeMetric[]).map((metric) => ({
    id: `modelExplorer:${metric}`,
    label: `Model Explorer node data: ${NODE_METRICS[metric].label}`,
    description: 'per ONNX node, to load in Google’s Model Explorer',
    suffix: `.${metric}.node-data.json`,
    filters: { 'Model Explorer node data': ['json'] },
    write: (report: BoundReport) => reportToModelExplorer(report, metric),
  })),
];

/** The format a destination's file name asks for when no format was picked: the report formats by extension. */
function formatOfFileName(fileName: string): ExportFormat | undefined {
  const extension = path.extname(fileName).toLowerCase();
  return EXPORT_FORMATS.find((format) => !format.id.startsWith('modelExplorer:') && format.suffix.endsWith(extension));
}

export function registerCommands(context: vscode.ExtensionContext, services: CommandServices): void {
  const { editors, analysis, notifier, log, saveDialog } = services;

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

  async function pickInputFile(document: ModelDocument): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({
      title: `Nominal input for ${document.fileName}`,
      defaultUri: vscode.Uri.joinPath(document.uri, '..'),
      canSelectMany: false,
      openLabel: 'Use as nominal input',
      filters: { 'Nominal input (NumPy, JSON)': ['npy', 'json'] },
    });
    return picked?.[0]?.fsPath;
  }

  async function pickValueFile(document: ModelDocument, inputName: string): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({
      title: `Value to hold input '${inputName}' of ${document.fileName} at`,
      defaultUri: vscode.Uri.joinPath(document.uri, '..'),
      canSelectMany: false,
      openLabel: `Hold '${inputName}' at this value`,
      filters: { 'Tensor (NumPy, JSON)': ['npy', 'json'] },
    });
    return picked?.[0]?.fsPath;
  }

  async function useInput(document: ModelDocument, choice: { inputPath?: string; synthetic?: boolean }): Promise<void> {
    await document.updateParameters({ inputPath: choice.inputPath, synthetic: choice.synthetic }, services.defaultEpsilon());
    log.info(`Nominal input for ${document.fileName} set to ${document.inputLabel}.`);
    if (document.layersFollowInput) await services.editors.describeAgain(document);
  }

  /**
   * Exports the report in a format picked from a list (or given by id), to a file the save dialog
   * proposes under the format's own name (or given). Without a format, a given file's extension decides.
   */
  async function exportReport(document: ModelDocument, destinationArgument?: unknown, formatArgument?: unknown): Promise<string | undefined> {
    const report = document.exportableReport;
    if (!report) {
      notifier.info('Run "Analyze Lipschitz bounds" first; there is no report to export yet.');
      return undefined;
    }
    const given = destinationArgument instanceof vscode.Uri ? destinationArgument : undefined;
    let format = EXPORT_FORMATS.find((candidate) => candidate.id === formatArgument);
    if (!format && given) {
      format = formatOfFileName(given.fsPath);
      if (!format) {
        notifier.error(`Cannot export to ${path.basename(given.fsPath)}: choose a .json, .csv or .md file name, or pick the format from the list.`);
        return undefined;
      }
    }
    if (!format) {
      const items = EXPORT_FORMATS.map((candidate) => ({ label: candidate.label, description: candidate.description, format: candidate }));
      format = (await services.quickPick(items, { title: `Export the bounds of ${document.fileName} as…` }))?.format;
      if (!format) {
        return undefined;
      }
    }
    const stem = document.fileName.replace(/\.onnx$/i, '');
    const destination =
      given ??
      (await saveDialog({
        title: `Export bound report (${format.label})`,
        defaultUri: vscode.Uri.joinPath(document.uri, '..', `${stem}${format.suffix}`),
        filters: format.filters,
      }));
    if (!destination) {
      return undefined;
    }
    return writeExport(document, destination, new TextEncoder().encode(format.write(report)), 'Report', format.label);
  }

  /** Writes an export (never over the model) and confirms it with buttons to open the file or show it in its folder. */
  async function writeExport(document: ModelDocument, destination: vscode.Uri, bytes: Uint8Array, what: string, formatLabel: string): Promise<string | undefined> {
    const sameFile =
      destination.scheme === 'file' && document.uri.scheme === 'file'
        ? await isSameFile(destination.fsPath, document.uri.fsPath)
        : destination.toString() === document.uri.toString();
    if (sameFile) {
      notifier.error(`The ${what.toLowerCase()} cannot replace the model file itself.`);
      return undefined;
    }
    try {
      await vscode.workspace.fs.writeFile(destination, bytes);
    } catch (error) {
      notifier.error(`Could not write ${path.basename(destination.fsPath)}.`, error);
      return undefined;
    }
    const inWorkspace = vscode.workspace.getWorkspaceFolder(destination) !== undefined;
    notifier.info(`${what} of ${document.fileName} exported as ${formatLabel} to ${destination.fsPath}.`, [
      { title: 'Open', run: () => vscode.commands.executeCommand('vscode.open', destination) },
      // The Explorer shows files of the workspace; anything else is shown by the system's file manager.
      { title: 'Reveal', run: () => vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', destination) },
    ]);
    return destination.fsPath;
  }

  /**
   * Saves the chart the webview drew: as PNG when the webview sent one (its Export PNG button), else as
   * SVG. The save dialog proposes that format's name; a name with the other known extension is honoured.
   */
  async function exportChart(document: ModelDocument, svg: string, png: string | undefined, destinationArgument?: vscode.Uri): Promise<string | undefined> {
    const stem = document.fileName.replace(/\.onnx$/i, '');
    const pngData = png?.match(/^data:image\/png;base64,(.*)$/)?.[1];
    const proposed = pngData ? 'png' : 'svg';
    const destination =
      destinationArgument ??
      (await saveDialog({
        title: `Export ε sweep chart (${proposed.toUpperCase()})`,
        defaultUri: vscode.Uri.joinPath(document.uri, '..', `${stem}.sweep.${proposed}`),
        filters: pngData ? { PNG: ['png'], SVG: ['svg'] } : { SVG: ['svg'] },
      }));
    if (!destination) {
      return undefined;
    }
    const extension = path.extname(destination.fsPath).toLowerCase();
    if (extension === '.svg') {
      return writeExport(document, destination, new TextEncoder().encode(svg), 'Chart', 'SVG');
    }
    if (extension === '.png' && pngData) {
      return writeExport(document, destination, Buffer.from(pngData, 'base64'), 'Chart', 'PNG');
    }
    notifier.error(`Cannot export the chart to ${path.basename(destination.fsPath)}: choose a .${proposed} file name.`);
    return undefined;
  }

  const viewActions: ViewActions = {
    chooseInput: async (document, synthetic) => {
      if (synthetic) {
        await useInput(document, { synthetic: true });
        return document.inputLabel;
      }
      // The same pick as the palette's: a file, the bundled example or the synthetic input.
      const label = await vscode.commands.executeCommand<string | undefined>(COMMANDS.chooseInput, document.uri);
      return label ?? null;
    },
    exportReport: async (document) => (await exportReport(document)) ?? null,
    exportChart: async (document, svg, png) => (await exportChart(document, svg, png)) ?? null,
  };
  analysis.setViewActions(viewActions);

  const handlers: Record<(typeof COMMANDS)[keyof typeof COMMANDS], (uri?: unknown, ...rest: unknown[]) => unknown> = {
    [COMMANDS.analyze]: async (uri): Promise<AnalysisPhase | undefined> => {
      const document = await target(uri, true);
      return document ? analysis.analyze(document) : undefined;
    },

    [COMMANDS.runSweep]: async (uri): Promise<AnalysisPhase | undefined> => {
      const document = await target(uri, true);
      return document ? analysis.runSweep(document) : undefined;
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

    /**
     * From the palette: a pick between a file, the bundled example and the synthetic input. A second
     * argument skips the pick (for tasks and tests): a file path, 'synthetic' or 'auto'.
     */
    [COMMANDS.chooseInput]: async (uri, choiceArgument): Promise<string | undefined> => {
      const document = await target(uri, true);
      if (!document) {
        return undefined;
      }
      let choice = typeof choiceArgument === 'string' ? choiceArgument : undefined;
      if (choice === undefined) {
        const items: (vscode.QuickPickItem & { choice: string })[] = [
          { label: 'Choose a file…', description: '.npy or .json', choice: 'file' },
          { label: 'Bundled example', description: 'MODEL.npy, MODEL.input.json, … or a sample-input.json that fits, beside the model; else synthetic', choice: 'auto' },
          { label: 'Synthetic input', description: 'deterministic, not a real data point', choice: 'synthetic' },
        ];
        const picked = await vscode.window.showQuickPick(items, { title: `Nominal input for ${document.fileName}` });
        if (!picked) {
          return undefined;
        }
        choice = picked.choice === 'file' ? await pickInputFile(document) : picked.choice;
        if (choice === undefined) {
          return undefined;
        }
      }
      if (choice === 'synthetic' || choice === 'auto') {
        await useInput(document, { synthetic: choice === 'synthetic' });
      } else {
        await useInput(document, { inputPath: choice });
      }
      return document.inputLabel;
    },

    /**
     * For models with several inputs or outputs: what is bounded. A second argument (a GraphIoChoice
     * object, for tasks and tests) skips the picks.
     */
    [COMMANDS.chooseInputsOutputs]: async (uri, choiceArgument): Promise<string | undefined> => {
      const document = await target(uri, true);
      if (!document) {
        return undefined;
      }
      const names = document.graphNames;
      if (!names) {
        notifier.info(`${document.fileName} has not been read yet, or cannot be read; there is nothing to choose.`);
        return undefined;
      }
      if (names.inputs.length < 2 && names.outputs.length < 2) {
        notifier.info(`${document.fileName} has one input and one output; there is nothing to choose.`);
        return undefined;
      }
      let choice: GraphIoChoice | undefined;
      if (choiceArgument !== undefined && typeof choiceArgument === 'object' && choiceArgument !== null) {
        choice = choiceArgument as GraphIoChoice;
        const unknown = unknownGraphNames(choice, names);
        if (unknown.length > 0) {
          notifier.error(`${document.fileName} has no ${unknown.join(', ')}.`);
          return undefined;
        }
      } else {
        choice = await pickGraphIo(document.fileName, names, document.parameters.graphIo, (name) => pickValueFile(document, name));
      }
      if (!choice) {
        return undefined;
      }
      await document.updateParameters({ graphIo: choice }, services.defaultEpsilon());
      const described = describeGraphIo(choice, names);
      log.info(`Bounds for ${document.fileName} are now taken for ${described}.`);
      return described;
    },


    /**
     * A second Uri argument names the destination and skips the save dialog, a third the format
     * ('json', 'csv', 'markdown', 'modelExplorer:localBound', …) and skips the pick (for tasks and tests).
     */
    [COMMANDS.exportReport]: async (uri, destinationArgument, formatArgument): Promise<string | undefined> => {
      const document = await target(uri, false);
      if (!document) {
        return undefined;
      }
      return exportReport(document, destinationArgument, formatArgument);
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
