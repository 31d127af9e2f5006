// What a first-time user trips over, on the host side, inside a real VS Code (test/host/run.mjs): which
// input an analysis uses, results that survive closing the editor, exports, and errors that say what to do.
import * as assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TestingApi } from '../../src/host/testingApi';
import type { BoundReport } from '../../src/shared/protocol';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import { writeModel, node } from '../fixtures/onnxBuilder';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import { clickInWebview, waitFor, waitForWebviewText, workbenchElements } from './probe';

let api: TestingApi;
let tiny: vscode.Uri;

/** A new folder holding a copy of tiny.onnx (input x of shape [1, 3]) as `name`, and the given files beside it. */
async function modelFolder(name: string, files: Record<string, string | Uint8Array> = {}): Promise<vscode.Uri> {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-host-'));
  await copyFile(tiny.fsPath, join(folder, name));
  for (const [file, content] of Object.entries(files)) await writeFile(join(folder, file), content);
  return vscode.Uri.file(join(folder, name));
}

/** A float32 .npy file (format 1.0) of the given shape, as numpy.save writes it. */
function npy(shape: number[], values: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const bytes = new Uint8Array(10 + header.length + 4 * values.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  values.forEach((value, i) => view.setFloat32(10 + header.length + 4 * i, value, true));
  return bytes;
}

/** A 1×1×4×4 image: the sample of another model in the same folder. */
const FOREIGN_SAMPLE = JSON.stringify({ shape: [1, 1, 4, 4], data: Array.from({ length: 16 }, (_, i) => i / 16) });

async function toastTexts(): Promise<string> {
  return (await workbenchElements('.notification-toast')).map((toast) => toast.text).join('\n');
}

async function editorTitleActions(): Promise<string[]> {
  return (await workbenchElements('.editor-actions .action-label')).map((action) => action.label);
}

describe('host workflow', () => {
  before(async () => {
    const extension = await activateForTests();
    api = extension.api;
    tiny = vscode.Uri.joinPath(extension.root, 'test', 'fixtures', 'tiny.onnx');
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await closeAllEditors();
  });

  it('names the input beside the model before analysis, prefers it over a folder-wide sample of another model, and says why a sample is passed over', async function () {
    this.timeout(120_000);
    const model = await modelFolder('net.onnx', { 'sample-input.json': FOREIGN_SAMPLE, 'net.npy': npy([1, 3], [0.5, 0.2, -0.1]) });
    await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
    await waitFor('the label to name net.npy', () => api.analysisStatus(model)?.inputLabel === 'net.npy (beside the model)');
    await waitForWebviewText((shown) => shown.includes('net.onnx') && shown.includes('Input: net.npy (beside the model)'));

    // Without net.npy, the sample of the other model is passed over, with the reason, before anything runs.
    await rm(join(model.fsPath, '..', 'net.npy'));
    const label = await waitFor('the label to follow the deleted file', () => {
      const shown = api.analysisStatus(model)?.inputLabel ?? '';
      return shown.startsWith('synthetic input') ? shown : undefined;
    });
    assert.match(label, /not used: sample-input\.json: its shape \[1, 1, 4, 4\] does not fit the model's input of shape \[1, 3\]/);
    await waitForWebviewText((shown) => shown.includes('sample-input.json: its shape [1, 1, 4, 4] does not fit'));

    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done');
    const report = api.analysisReport(model);
    assert.equal(report?.input.source, 'synthetic');
    assert.ok(report?.notes?.some((note) => note.startsWith('sample-input.json beside the model was not used as its example input')), report?.notes?.join('\n'));
  });

  it('an input that does not fit fails with a toast offering Choose Input…; choosing another clears the failure', async function () {
    this.timeout(120_000);
    const model = await modelFolder('net.onnx', { 'wrong.json': FOREIGN_SAMPLE });
    await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.chooseInput, model, join(model.fsPath, '..', 'wrong.json')), 'wrong.json');
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'failed');
    const toast = api.lastErrorNotification();
    assert.match(toast?.message ?? '', /^wrong\.json: shape \[1, 1, 4, 4\] does not match model input 'x'.*Choose an input that fits the model, or use the synthetic input\.$/);
    assert.deepEqual(toast?.actions, ['Choose Input…', 'Show Log']);
    // The toast as the workbench shows it, with its buttons.
    const shown = await waitFor('the error toast', async () => ((await toastTexts()).includes('Choose an input that fits') ? toastTexts() : undefined));
    assert.match(shown, /Choose Input…/);
    assert.match(shown, /Show Log/);
    await waitForWebviewText((text) => text.includes('Analysis failed: wrong.json'));

    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.chooseInput, model, 'synthetic'), 'synthetic input');
    assert.equal(api.analysisStatus(model)?.phase, 'idle');
    assert.equal(api.analysisStatus(model)?.message, undefined);
    const text = await waitForWebviewText((view) => view.includes('net.onnx') && view.includes('Input: synthetic input') && !view.includes('failed'));
    assert.doesNotMatch(text, /wrong\.json/);
  });

  it('results survive closing the editor: a preview tab replaced by the next model, reopened, shows its analysis and sweep without re-running', async function () {
    this.timeout(180_000);
    const configuration = vscode.workspace.getConfiguration('lipschitzLens');
    await configuration.update('sweep', [0.01, 0.1], vscode.ConfigurationTarget.Global);
    api.keepResultsOnClose(true);
    try {
      const model = await modelFolder('kept.onnx');
      const other = await modelFolder('other.onnx');
      await vscode.commands.executeCommand('vscode.open', model, { preview: true });
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done');
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.runSweep, model), 'done');
      const report = api.analysisReport(model);
      const sweep = api.sweepReport(model);
      assert.ok(report && sweep);
      const analyses = api.engine.requestCount('analyze');

      // As a single click in the Explorer does: the next model takes over the preview tab.
      await closeAllEditors();
      await vscode.commands.executeCommand('vscode.open', model, { preview: true });
      await vscode.commands.executeCommand('vscode.open', other, { preview: true });
      await waitFor('the first model’s document to be disposed', () => !api.openDocuments().includes(model.toString()));

      await vscode.commands.executeCommand('vscode.open', model, { preview: true });
      await waitFor('the reopened model', () => api.openDocuments().includes(model.toString()));
      assert.equal(api.analysisStatus(model)?.phase, 'done');
      assert.deepEqual(api.analysisReport(model), report);
      assert.deepEqual(api.sweepReport(model), sweep);
      const text = await waitForWebviewText((shown) => shown.includes('kept.onnx') && shown.includes('Done at ε') && shown.includes('Results kept from before the editor was closed'));
      assert.match(text, /ε sweep/);
      assert.equal(api.engine.requestCount('analyze'), analyses, 'nothing was run again');

      // A model changed while closed: its old results no longer apply.
      await closeAllEditors();
      await waitFor('the document to be disposed', () => !api.openDocuments().includes(model.toString()));
      const later = new Date(Date.now() + 60_000);
      await utimes(model.fsPath, later, later);
      await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
      await waitFor('the reopened model', () => api.openDocuments().includes(model.toString()));
      assert.equal(api.analysisReport(model), undefined);
      assert.notEqual(api.analysisStatus(model)?.phase, 'done');
    } finally {
      api.keepResultsOnClose(false);
      await configuration.update('sweep', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('exports pick their format from a list, Model Explorer node data included, and confirm with Open and Reveal', async function () {
    this.timeout(120_000);
    const model = await modelFolder('net.onnx');
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done');
    const report = api.analysisReport(model) as BoundReport;
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-export-'));

    const destination = join(folder, 'net.localBound.node-data.json');
    api.answerNextQuickPick('Model Explorer node data: local bound');
    api.answerNextSaveDialog(vscode.Uri.file(destination));
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.exportReport, model), destination);
    assert.deepEqual(api.lastSaveDialog(), { proposed: 'net.localBound.node-data.json', extensions: ['json'] });
    // GraphNodeData of Model Explorer's node data provider: results by node name, a gradient from stop 0 to 1.
    const data = JSON.parse(await readFile(destination, 'utf8')) as { results: Record<string, { value: number }>; gradient: { stop: number }[] };
    assert.deepEqual(Object.keys(data).sort(), ['gradient', 'results']);
    const expected: Record<string, { value: number }> = {};
    for (const layer of report.runs[0].layers) for (const name of layer.nodes) expected[name] = { value: layer.localBound };
    assert.deepEqual(data.results, expected);
    assert.deepEqual(Object.keys(data.results).sort(), ['fc1', 'fc2', 'relu1'], 'every ONNX node of the fixture');
    assert.deepEqual(data.gradient.map((item) => item.stop), [0, 1]);

    const confirmation = api.lastInfoNotification();
    assert.equal(confirmation?.message, `Report of net.onnx exported as Model Explorer node data: local bound to ${destination}.`);
    assert.deepEqual(confirmation?.actions, ['Open', 'Reveal']);
    const shown = await waitFor('the confirmation toast', async () => ((await toastTexts()).includes('exported as Model Explorer') ? toastTexts() : undefined));
    assert.match(shown, /Open/);
    assert.match(shown, /Reveal/);

    // CSV from the same list, proposed under its own name.
    const csv = join(folder, 'chosen.csv');
    api.answerNextQuickPick('CSV');
    api.answerNextSaveDialog(vscode.Uri.file(csv));
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.exportReport, model), csv);
    assert.deepEqual(api.lastSaveDialog(), { proposed: 'net.bounds.csv', extensions: ['csv'] });
    assert.match(await readFile(csv, 'utf8'), /^epsilon,layer,label,/);
  });

  it('the chart’s Export PNG proposes a .png name and writes a PNG', async function () {
    this.timeout(120_000);
    const configuration = vscode.workspace.getConfiguration('lipschitzLens');
    await configuration.update('sweep', [0.01, 0.1], vscode.ConfigurationTarget.Global);
    try {
      const model = await modelFolder('chart.onnx');
      await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.runSweep, model), 'done');
      await waitForWebviewText((shown) => shown.includes('chart.onnx') && shown.includes('ε sweep done'));
      const destination = join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-png-')), 'chart.sweep.png');
      api.answerNextSaveDialog(vscode.Uri.file(destination));
      await clickInWebview('#export-png');
      const bytes = await waitFor('the PNG to be written', async () => {
        const written = await readFile(destination).catch(() => undefined);
        return written && written.subarray(-8, -4).toString('latin1') === 'IEND' ? written : undefined;
      });
      assert.deepEqual(api.lastSaveDialog(), { proposed: 'chart.sweep.png', extensions: ['png', 'svg'] });
      // The 8-byte PNG signature (PNG specification, section 5.2).
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    } finally {
      await configuration.update('sweep', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('Analyze is not offered for a model known to be unsupported, and refused with the reason when asked anyway', async function () {
    this.timeout(120_000);
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-unsupported-'));
    const unsupported = vscode.Uri.file(join(folder, 'erf.onnx'));
    await writeModel(unsupported.fsPath, {
      inputs: [{ name: 'x', shape: [1, 3] }],
      outputs: [{ name: 'y', shape: [1, 3] }],
      nodes: [node('Erf', ['x'], ['y'], undefined, 'erf1')],
      opset: 13,
    });
    // The supported model first: its title bar offers Analyze (the control for the check below).
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    await waitFor('Analyze in the title bar of tiny.onnx', async () => (await editorTitleActions()).includes('Analyze Lipschitz bounds'));

    await vscode.commands.executeCommand('vscode.openWith', unsupported, MODEL_EDITOR_VIEW_TYPE);
    await waitFor('the unsupported model to be listed', () => api.unanalyzableModels().includes(unsupported.fsPath));
    // The title bar has drawn erf.onnx's actions (at least its overflow menu), and Analyze is not among them.
    await waitFor('no Analyze in the title bar of erf.onnx', async () => {
      const actions = await editorTitleActions();
      return actions.length > 0 && !actions.includes('Analyze Lipschitz bounds');
    });
    const analyses = api.engine.requestCount('analyze');
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, unsupported), 'failed');
    assert.match(api.lastUserError() ?? '', /^erf\.onnx cannot be analyzed: 1 node is not supported: Erf 'erf1'\. The graph marks each such node with its reason\.$/);
    assert.equal(api.engine.requestCount('analyze'), analyses, 'the engine was not asked');
    await closeAllEditors();
    await waitFor('the list to forget the closed model', () => !api.unanalyzableModels().includes(unsupported.fsPath));
  });

  it('an invalid setting is named in a warning whose Open Settings button opens the Settings editor at that setting', async function () {
    this.timeout(120_000);
    const settingsTabs = () => vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.label === 'Settings');
    assert.equal(settingsTabs().length, 0, 'no Settings editor open before');
    // The button is pressed through the notifier, as a click would press it: the workbench may take
    // many seconds to draw a toast under load, and what is tested is what the button does.
    api.answerNextNotification('lipschitzLens.epsilon must be', 'Open Settings');
    const configuration = vscode.workspace.getConfiguration('lipschitzLens');
    await configuration.update('epsilon', -1, vscode.ConfigurationTarget.Global);
    try {
      const warning = await waitFor('the warning', () => {
        const shown = api.lastWarningNotification();
        return shown?.message.includes('lipschitzLens.epsilon') ? shown : undefined;
      });
      assert.match(warning.message, /^lipschitzLens\.epsilon must be a finite number greater than 0; using 0\.001\.$/);
      assert.deepEqual(warning.actions, ['Open Settings']);
      await waitFor('the Settings editor to open', () => settingsTabs().length === 1);
      // Its search box holds the setting's id, so the editor shows that setting.
      const search = await waitFor('the Settings editor’s search for the setting', async () => {
        const boxes = await workbenchElements('.settings-editor .search-container .view-lines');
        return boxes.find((box) => box.text.includes('lipschitzLens.epsilon'));
      });
      assert.equal(search.text.trim(), 'lipschitzLens.epsilon');
    } finally {
      await configuration.update('epsilon', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('a corrupt file’s page says what is wrong in a user sentence, without protobuf terms or the analysis status line', async () => {
    const bytes = await readFile(tiny.fsPath);
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-corrupt-'));
    const corrupt = vscode.Uri.file(join(folder, 'cut.onnx'));
    await writeFile(corrupt.fsPath, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await vscode.commands.executeCommand('vscode.openWith', corrupt, MODEL_EDITOR_VIEW_TYPE);
    const text = await waitForWebviewText((shown) => shown.includes('cut.onnx cannot be opened'));
    assert.match(text, /the file ends before the model does, as an interrupted download or copy leaves it\. Export or copy the model again/);
    assert.doesNotMatch(text, /protobuf|ModelProto|at byte|graph\.node/);
    assert.doesNotMatch(text, /Not analyzed|ε =/, 'no status line of an analysis that cannot exist');
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, corrupt), 'failed');
    assert.match(api.lastUserError() ?? '', /^cut\.onnx cannot be opened: the file ends before the model does/);
  });
});
