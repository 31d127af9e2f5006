// The custom editor, its webview and the engine worker inside a real VS Code (test/host/run.mjs).
import * as assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ENGINE_STOPPED_MESSAGE } from '../../src/host/engineClient';
import type { TestingApi } from '../../src/host/testingApi';
import { formatNumber } from '../../src/shared/format';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import { writeHostileNamesModel, writeLargeConvModel } from './models';
import { clickInWebview, screenshot, waitFor, waitForWebviewText, webviewTexts } from './probe';

let api: TestingApi;
let tiny: vscode.Uri;

function activeCustomEditorUri(): string | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === MODEL_EDITOR_VIEW_TYPE ? input.uri.toString() : undefined;
}


describe('model editor', () => {
  before(async () => {
    const extension = await activateForTests();
    api = extension.api;
    // test/fixtures/makeTinyFixture.mjs writes this model (method.md §7's worked example).
    tiny = vscode.Uri.joinPath(extension.root, 'test', 'fixtures', 'tiny.onnx');
  });

  afterEach(closeAllEditors);

  it('opens a fixture .onnx in our editor, and the webview reports ready', async () => {
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    assert.equal(activeCustomEditorUri(), tiny.toString());
    const ready = await api.waitForWebviewMessage(tiny, 'ready');
    assert.equal(ready.kind, 'ready');
    assert.ok(api.openDocuments().includes(tiny.toString()));
  });

  it('shows the model read by the worker in the webview, and a screenshot of it', async () => {
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    const text = await waitForWebviewText((shown) => shown.includes('lipschitz-lens makeTinyFixture'));
    // The producer, graph input and node names all come from the fixture file, through the worker.
    assert.match(text, /tiny\.onnx/);
    assert.match(text, /x: FLOAT\[1,3\]/);
    for (const node of ['fc1', 'relu1', 'fc2']) {
      assert.match(text, new RegExp(`\\b${node}\\b`));
    }
    const path = await screenshot('model-editor-tiny');
    const bytes = await readFile(path);
    // The 8-byte PNG signature (PNG specification, section 5.2).
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('shows control and bidi characters from the model as escapes, never obeyed', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-hostile-'));
    const hostile = vscode.Uri.file(join(folder, 'hostile.onnx'));
    await writeHostileNamesModel(hostile.fsPath);
    await vscode.commands.executeCommand('vscode.openWith', hostile, MODEL_EDITOR_VIEW_TYPE);
    const text = await waitForWebviewText((shown) => shown.includes('producer\\x9b2J'));
    assert.ok(text.includes('fc\\x1b[31m\\u{202e}evil'), text);
    assert.ok(text.includes('relu\\x07'), text);
    assert.doesNotMatch(text, /[\u001b\u0007\u009b\u202e]/u);
  });

  it('the Explorer command "Analyze Lipschitz bounds" opens the model in our editor and shows the bounds', async () => {
    assert.equal(activeCustomEditorUri(), undefined);
    const phase = await vscode.commands.executeCommand<string>(COMMANDS.analyze, tiny);
    assert.equal(activeCustomEditorUri(), tiny.toString(), 'the editor was opened');
    assert.equal(phase, 'done', `analysis ended as ${phase}: ${api.lastUserError() ?? ''}`);
    assert.equal(api.analysisStatus(tiny)?.phase, 'done');
    const report = api.analysisReport(tiny);
    assert.ok(report, 'the document holds the report');
    const [main] = report.runs;
    assert.equal(main.epsilon, 0.001, 'the default ε of package.json');
    assert.equal(report.input.origin, 'tiny.input.json', 'the example input bundled beside the model');
    // method.md §7 with its x0: at ε = 0.001 the neurons are as in the ε = 0.1 row (2 on, 0 unstable,
    // 1 off), so the layer product is that row's 10.688539 (6 decimals). No unit can switch at all
    // (every reach is below 0.1), so the composed bound is exactly ‖J(x0)‖ = ‖B[:, (1, 3)] A[(1, 3), :]‖
    // = ‖[[−2, 2, 3], [5, −3, −1]]‖ = 6.857390 (docs/derivations.md §22).
    assert.ok(Math.abs(main.network.layerProduct - 10.688539) <= 1e-6, `layer product = ${main.network.layerProduct}`);
    assert.equal(main.network.method, 'composed');
    assert.ok(Math.abs(main.network.localBound - 6.857390) <= 1e-6, `L_net = ${main.network.localBound}`);
    // The view shows the engine's numbers, formatted as the view formats them, and one row per layer.
    // The layer rows are in the table, one click from the graph the view opens with.
    await waitFor('the layer table of tiny.onnx', async () => {
      await clickInWebview('#view-table').catch(() => undefined);
      return (await webviewTexts()).some((text) => text.includes('tiny.onnx') && text.includes('Shape in → out'));
    });
    const text = await waitForWebviewText((shown) => shown.includes('Done at ε = 0.001') && shown.includes('Share of log L'));
    assert.ok(text.includes(formatNumber(main.network.layerProduct)), text);
    assert.ok(text.includes(`network local bound ${formatNumber(main.network.localBound)}`), text);
    assert.ok(text.includes(`spectral product ${formatNumber(main.network.spectralBound)}`), text);
    for (const layer of main.layers) {
      // A cell of its own, named as the graph names the layer.
      assert.ok(text.includes(`\t${layer.label}\t`), `row ${layer.label} missing`);
    }
    await screenshot('model-editor-tiny-analyzed');
  });

  it('exports the report as JSON, CSV and Markdown', async () => {
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, tiny), 'done');
    const report = api.analysisReport(tiny);
    assert.ok(report);
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-export-'));
    const exported = async (name: string) => {
      const written = await vscode.commands.executeCommand<string>(COMMANDS.exportReport, tiny, vscode.Uri.file(join(folder, name)));
      assert.equal(written, join(folder, name));
      return readFile(written, 'utf8');
    };
    assert.deepEqual(JSON.parse(await exported('tiny.bounds.json')), JSON.parse(JSON.stringify(report)));
    const csvRows = (await exported('tiny.bounds.csv')).trimEnd().split('\r\n');
    const layerRows = report.runs.reduce((sum, run) => sum + run.layers.length, 0);
    assert.equal(csvRows.length, 1 + layerRows, 'a header and one row per layer and ε');
    assert.match(await exported('tiny.bounds.md'), /^# Lipschitz bound report: tiny\.onnx/);
    // A link to the model is the model: refused, and the model's bytes stay as they were.
    const link = join(folder, 'tiny-link.json');
    await symlink(tiny.fsPath, link);
    const modelBytes = await readFile(tiny.fsPath);
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.exportReport, tiny, vscode.Uri.file(link)), undefined);
    assert.match(api.lastUserError() ?? '', /cannot replace the model file itself/);
    assert.deepEqual(await readFile(tiny.fsPath), modelBytes);
  });

  it('killing the worker mid-request rejects with a clear sentence instead of hanging, and the next request restarts it', async () => {
    await api.engine.request('describeModel', { path: tiny.fsPath });
    const starts = api.engine.startCount;
    let inside = false;
    const error = await api.engine.request('crashForTest', { how: 'exit' }, { onProgress: () => (inside = true) }).then(
      () => assert.fail('a crashed worker must reject'),
      (reason: unknown) => reason as { code?: string; message?: string },
    );
    assert.equal(inside, true, 'the worker died inside the request');
    assert.equal(error.code, 'disconnected');
    assert.equal(error.message, ENGINE_STOPPED_MESSAGE);
    const overview = await api.engine.request('describeModel', { path: tiny.fsPath });
    assert.equal(overview.fileName, 'tiny.onnx');
    assert.equal(api.engine.startCount, starts + 1);
  });

  it('follows the ε setting in the open view', async () => {
    const configuration = () => vscode.workspace.getConfiguration('lipschitzLens');
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('ε = 0.001'));
    try {
      await configuration().update('epsilon', 0.25, vscode.ConfigurationTarget.Global);
      await waitForWebviewText((shown) => shown.includes('ε = 0.25'));
      assert.equal(api.analysisStatus(tiny)?.epsilon, 0.25);
    } finally {
      await configuration().update('epsilon', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('re-reads a model that changes on disk and shows the reader\'s error for a broken file', async () => {
    const copy = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-it-')), 'changing.onnx'));
    await copyFile(tiny.fsPath, copy.fsPath);
    await vscode.commands.executeCommand('vscode.openWith', copy, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('changing.onnx') && shown.includes('relu1'));
    await writeFile(copy.fsPath, 'this is not a model');
    const text = await waitForWebviewText((shown) => shown.includes('changing.onnx') && !shown.includes('relu1'));
    assert.doesNotMatch(text, /Analyze/, 'no Analyze button for a model that cannot be read');
  });

  it('closing the editor cancels its running analysis, and the same worker answers the next request', async () => {
    const slow = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-slow-')), 'slow.onnx'));
    await writeLargeConvModel(slow.fsPath);
    // Held after its first layer result until cancelled: still running when the editor closes.
    await api.engine.request('holdNextAnalysisForTest', {});
    const analysis = vscode.commands.executeCommand<string>(COMMANDS.analyze, slow);
    await waitFor('the engine to stream its first layer', () => api.analysisStatus(slow)?.progress?.event.kind === 'layerResult', 120_000);
    const starts = api.engine.startCount;
    await closeAllEditors();
    assert.equal(await analysis, 'cancelled');
    await waitFor('the document to be disposed', () => !api.openDocuments().includes(slow.toString()));
    const overview = await api.engine.request('describeModel', { path: tiny.fsPath });
    assert.equal(overview.fileName, 'tiny.onnx');
    assert.equal(api.engine.startCount, starts, 'no restart was needed');
  });

  it('closing the editor disposes its document', async () => {
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    await api.waitForWebviewMessage(tiny, 'ready');
    await closeAllEditors();
    await waitFor('the document to be disposed', () => !api.openDocuments().includes(tiny.toString()));
  });
});
