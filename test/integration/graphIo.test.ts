// A model with two inputs and two outputs in the real VS Code: by default every output is bounded
// and the other input is held at zeros, both said in the view; "Choose analysed input and outputs…"
// holds the other input at a file's values and bounds one output, and the next analysis follows it.
import * as assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TestingApi } from '../../src/host/testingApi';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import { writeTwoInputTwoOutputModel } from './models';
import { waitForWebviewText } from './probe';

let api: TestingApi;

describe('several inputs and outputs', () => {
  before(async () => {
    ({ api } = await activateForTests());
  });

  after(closeAllEditors);

  it('bounds all outputs with the other input at zeros, then what the command chose', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-graph-io-'));
    const model = vscode.Uri.file(join(folder, 'cell.onnx'));
    await writeTwoInputTwoOutputModel(model.fsPath);
    const hidden = join(folder, 'h.json');
    await writeFile(hidden, JSON.stringify({ shape: [1, 2], data: [0.5, -0.25] }));
    await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('cell.onnx') && shown.includes('h: FLOAT[1,2]'));

    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done', api.lastUserError());
    const first = api.analysisReport(model)!;
    assert.deepEqual(first.outputs, ['y1', 'y2']);
    assert.deepEqual(first.fixedInputs, [{ name: 'h', shape: [1, 2], source: 'zeros' }]);
    await waitForWebviewText((shown) => shown.includes("Bounds are for the outputs 'y1', 'y2', flattened and concatenated into one vector."));

    const unknown = await vscode.commands.executeCommand(COMMANDS.chooseInputsOutputs, model, { outputs: ['logits'] });
    assert.equal(unknown, undefined);
    assert.match(api.lastUserError() ?? '', /cell\.onnx has no output 'logits'/);

    const described = await vscode.commands.executeCommand<string>(COMMANDS.chooseInputsOutputs, model, {
      inputName: 'x',
      fixedInputs: [{ name: 'h', path: hidden }],
      outputs: ['y1'],
    });
    assert.match(described, /input 'x'; 'h' from .*h\.json; output 'y1'/);
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done', api.lastUserError());
    const second = api.analysisReport(model)!;
    assert.deepEqual(second.outputs, ['y1']);
    assert.deepEqual(second.fixedInputs, [{ name: 'h', shape: [1, 2], source: 'h.json' }]);
    assert.equal(second.outputSize, 2);
    // The fidelity check ran with h fed to onnxruntime too.
    assert.ok(second.fidelity && 'points' in second.fidelity, JSON.stringify(second.fidelity));
    await waitForWebviewText((shown) => shown.includes("the other inputs are held fixed: 'h' from h.json"));
  });
});
