// Real models from public npm packages (test/fixtures/thirdParty.ts), opened in the custom editor and
// analysed by the worker as a user would: the analysis ends, the view shows its network bound and a
// row for every layer, and the numbers are the CLI's for the same model and input.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { TestingApi } from '../../src/host/testingApi';
import { formatNumber } from '../../src/shared/format';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import type { BoundReport } from '../../src/shared/protocol';
import { thirdPartyModel, type ThirdPartyModelId } from '../fixtures/thirdParty';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import { screenshot, waitForWebviewText } from './probe';
import { showTable, tableRow } from './viewTable';

const run = promisify(execFile);

interface Case {
  id: ThirdPartyModelId;
  /**
   * The nominal input, written beside the model as its example (MODEL.input.json), or with `chosen` as
   * another file the user picks with "Choose nominal input…"; none: the synthetic input.
   */
  example?: { shape: number[]; values: (i: number) => number; chosen?: boolean };
  /** What the model exercises, for the test's title. */
  what: string;
}

const CASES: Case[] = [
  {
    id: 'heyMycroft',
    what: 'Gemm and LayerNorm written out as ReduceMean/Sub/Pow/Sqrt/Div',
    // 16 frames of 96 embedding features, a smooth deterministic pattern.
    example: { shape: [1, 16, 96], values: (i) => Math.sin(0.37 * i) + 0.5 * Math.cos(0.011 * i) },
  },
  {
    id: 'melSpectrogram',
    what: 'STFT as 1-D convolutions, squared magnitudes, Clip floor, Log, ReduceMax',
    // 1760 samples (0.11 s at 16 kHz) of a two-tone signal at speech level. Its input's length is open
    // in the model, so until the user picks this file the editor cannot lay out the layers.
    example: { shape: [1, 1760], values: (i) => 3000 * Math.sin(0.07 * i) + 500 * Math.sin(1.3 * i), chosen: true },
  },
  { id: 'blazeFaceFront', what: '61 layers of depthwise and pointwise convolutions, residual Adds, four outputs' },
  {
    id: 'ppOcrRecogniser',
    what: 'a HardSwish backbone, then two attention blocks whose factors the layer normalisations bound (§70)',
    // A 48 × 80 crop of a smooth pattern at the preprocessed scale ([−1, 1]). Its width is open in the model.
    example: { shape: [1, 3, 48, 80], values: (i) => 0.6 * Math.sin(0.013 * i) + 0.3 * Math.cos(0.0021 * i), chosen: true },
  },
];

/** Same engine, same seed, same input on both sides: only summation order could differ. */
const RELATIVE_TOLERANCE = 1e-9;

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= RELATIVE_TOLERANCE * Math.max(Math.abs(expected), Number.MIN_VALUE), `${what}: view ${actual}, CLI ${expected}`);
}

let api: TestingApi;
let extensionRoot: vscode.Uri;

describe('third-party models in the editor', () => {
  before(async function () {
    this.timeout(600_000);
    ({ api, root: extensionRoot } = await activateForTests());
  });

  after(closeAllEditors);

  for (const { id, example, what } of CASES) {
    it(`${id} (${what}): analysed in the editor, every layer shown, the CLI's numbers`, async function () {
      this.timeout(900_000);
      // Start from a clean workbench: a webview left by an earlier suite can take the table click.
      await closeAllEditors();
      // The repository's cache, so a run after the unit tests downloads nothing.
      const cached = await thirdPartyModel(id, join(extensionRoot.fsPath, 'test', 'fixtures', '.third-party'));
      const folder = await mkdtemp(join(tmpdir(), `lipschitz-lens-${id}-`));
      const model = vscode.Uri.file(join(folder, basename(cached)));
      await copyFile(cached, model.fsPath);
      const inputFile = example && join(folder, example.chosen ? 'signal.json' : basename(cached).replace(/\.onnx$/, '.input.json'));
      if (example && inputFile) {
        const count = example.shape.reduce((a, b) => a * b, 1);
        const data = Array.from({ length: count }, (_v, i) => example.values(i));
        await writeFile(inputFile, JSON.stringify({ shape: example.shape, data }));
      }
      await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
      if (example?.chosen && inputFile) {
        // Refused up front, with the way forward; then the chosen file gives the input its shape.
        assert.notEqual(await vscode.commands.executeCommand<string>(COMMANDS.analyze, model), 'done');
        assert.match(api.lastUserError() ?? '', /open dimensions|symbolic or unknown dimensions/);
        assert.match(api.lastUserError() ?? '', /or choose one with "Choose nominal input…"/);
        await vscode.commands.executeCommand(COMMANDS.chooseInput, model, inputFile);
      }
      const phase = await vscode.commands.executeCommand<string>(COMMANDS.analyze, model);
      assert.equal(phase, 'done', `analysis ended as ${phase}: ${api.lastUserError() ?? ''}`);
      const report = api.analysisReport(model);
      assert.ok(report);
      assert.equal(report.input.source, example ? (example.chosen ? 'json' : 'example') : 'synthetic');
      const [main] = report.runs;
      assert.ok(Number.isFinite(main.network.localBound) && main.network.localBound > 0, `network bound ${main.network.localBound}`);
      assert.ok(!main.lowerBound || main.lowerBound.value <= main.network.localBound, 'witnessed lower bound ≤ upper bound');
      assert.ok(report.fidelity && 'points' in report.fidelity, `checked against onnxruntime: ${JSON.stringify(report.fidelity)}`);

      const args = ['analyze', model.fsPath, '--eps', String(main.epsilon), '--json', '--quiet', ...(report.radius ? ['--radius'] : []), ...(example?.chosen && inputFile ? ['--input', inputFile] : [])];
      const { stdout } = await run(process.execPath, [vscode.Uri.joinPath(extensionRoot, 'dist', 'cli.js').fsPath, ...args], { maxBuffer: 256 * 1024 * 1024 });
      const cli = JSON.parse(stdout) as BoundReport;
      const [expected] = cli.runs;
      assert.deepEqual(report.input, cli.input);
      assert.deepEqual(report.outputs, cli.outputs);
      assert.equal(main.network.method, expected.network.method);
      assertClose(main.network.localBound, expected.network.localBound, 'network local bound');
      assert.equal(main.layers.length, expected.layers.length);
      expected.layers.forEach((layer, k) => assertClose(main.layers[k].localBound, layer.localBound, `${layer.label} local bound`));

      const fileName = basename(model.fsPath);
      await screenshot(`third-party-${id}`);
      await showTable(fileName);
      const text = await waitForWebviewText((shown) => shown.includes(fileName) && shown.includes(`Done at ε = ${formatNumber(main.epsilon)}`));
      assert.ok(text.includes(`network local bound ${formatNumber(main.network.localBound)}`), text.slice(0, 2000));
      for (const [index, layer] of main.layers.entries()) {
        const cells = tableRow(text, index, layer.label);
        assert.ok(cells, `no row for layer ${index} (${layer.label})`);
        // Residual Adds and other compositions carry a mark after their ratio of radii.
        assert.ok([formatNumber(layer.localBound), `${formatNumber(layer.localBound)} ⁽ʳ⁾`].includes(cells[5]), `${layer.label} local bound: ${cells[5]}`);
      }
      await closeAllEditors();
    });
  }
});
