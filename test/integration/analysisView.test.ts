// The analysis view inside a real VS Code (test/host/run.mjs): the numbers it shows are the CLI's,
// the ε sweep chart, the controls in the view, screenshots in a dark and a light theme, and
// cancelling a long run from the view.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { TestingApi } from '../../src/host/testingApi';
import { formatNumber } from '../../src/shared/format';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import type { BoundReport } from '../../src/shared/protocol';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import { writeDeepModel, writeLargeConvModel } from './models';
import { clickInWebview, fillInWebview, hoverInWebview, pressInWebview, screenshot, setColorTheme, waitFor, waitForWebviewText, webviewTexts } from './probe';
import { showTable, tableRow } from './viewTable';

const run = promisify(execFile);

/**
 * Both sides run the same engine code with the same fixed Lanczos seed (1) on the same input, so the
 * numbers agree up to floating-point summation order at most; 1e-9 relative is far below the six
 * significant digits the view prints.
 */
const RELATIVE_TOLERANCE = 1e-9;

function assertClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(Math.abs(actual - expected) <= RELATIVE_TOLERANCE * scale, `${what}: view ${actual}, CLI ${expected}`);
}

/** The ONNX ops of each layer of the example (examples/mnist/train.ts), as the graph's panel names them too. */
const EXAMPLE_OPS: Record<string, string> = {
  'conv1+relu1': 'Conv+Relu',
  pool1: 'MaxPool',
  'conv2+relu2': 'Conv+Relu',
  pool2: 'MaxPool',
  flatten: 'Flatten',
  fc: 'Gemm',
};

let api: TestingApi;
let extensionRoot: vscode.Uri;
let example: vscode.Uri;
let tiny: vscode.Uri;


describe('analysis view', () => {
  before(async () => {
    ({ api, root: extensionRoot } = await activateForTests());
    // examples/mnist: the trained example CNN with sample-input.json beside it (the 'example' input).
    example = vscode.Uri.joinPath(extensionRoot, 'examples', 'mnist', 'mnist-cnn.onnx');
    tiny = vscode.Uri.joinPath(extensionRoot, 'test', 'fixtures', 'tiny.onnx');
  });

  after(closeAllEditors);

  it('shows the example model’s layers before any analysis, with shapes, parameters and attributes on hover', async () => {
    await vscode.commands.executeCommand('vscode.openWith', example, MODEL_EDITOR_VIEW_TYPE);
    await showTable('mnist-cnn.onnx');
    const text = await waitForWebviewText((shown) => shown.includes('mnist-cnn.onnx') && shown.includes('conv1+relu1'));
    // Written by examples/mnist/train.ts: conv1 is 8 filters of 1×5×5 plus 8 biases = 208 parameters,
    // on a 1×28×28 input padded by 2.
    assert.ok(text.includes('image: FLOAT[1,1,28,28]'), text);
    assert.ok(tableRow(text, 0, 'conv1+relu1')?.includes('[1,28,28] → [8,28,28]'), text);
    assert.ok(tableRow(text, 0, 'conv1+relu1')?.includes('208'), text);
    assert.match(text, /Not analyzed yet/);
    await closeAllEditors();
  });

  it('runs the analyze command on the example model and shows the network bound and every layer row exactly as the CLI computes them', async function () {
    this.timeout(180_000);
    const phase = await vscode.commands.executeCommand<string>(COMMANDS.analyze, example);
    assert.equal(phase, 'done', `analysis ended as ${phase}: ${api.lastUserError() ?? ''}`);
    const report = api.analysisReport(example);
    assert.ok(report);
    const [main] = report.runs;
    assert.equal(report.input.source, 'example', 'sample-input.json beside the model is used');

    const cliPath = vscode.Uri.joinPath(extensionRoot, 'dist', 'cli.js').fsPath;
    const { stdout } = await run(process.execPath, [cliPath, 'analyze', example.fsPath, '--eps', String(main.epsilon), '--radius', '--json', '--quiet'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const cli = JSON.parse(stdout) as BoundReport;
    const [expected] = cli.runs;
    assert.deepEqual(report.input, cli.input);
    assert.equal(main.layers.length, expected.layers.length);
    assertClose(main.network.localBound, expected.network.localBound, 'network local bound');
    assertClose(main.network.spectralBound, expected.network.spectralBound, 'spectral product');
    assert.ok(report.radius && cli.radius, 'both computed the robustness radius');
    assertClose(report.radius.local, cli.radius.local, 'local radius');
    assertClose(report.radius.spectral, cli.radius.spectral, 'spectral radius');

    await showTable('mnist-cnn.onnx');
    const text = await waitForWebviewText((shown) => shown.includes(`Done at ε = ${formatNumber(main.epsilon)}`) && shown.includes('Share of log L'));
    assert.ok(text.includes(`network local bound ${formatNumber(expected.network.localBound)}`), text);
    assert.ok(text.includes(`spectral product ${formatNumber(expected.network.spectralBound)}`), text);
    assert.ok(text.includes(`${formatNumber(cli.radius.local)} vs ${formatNumber(cli.radius.spectral)}`), 'certified radius, local vs spectral');
    assert.ok(text.includes('sample-input.json (bundled example)'), 'the nominal input is named');
    // ε against the input: a share of ‖x0‖ (the report's, as the CLI computes it) and the change per value of the 784.
    assert.ok(report.input.norm !== undefined && report.input.norm === cli.input.norm, 'the report carries ‖x0‖');
    assert.ok(text.includes(`is ${formatNumber((100 * main.epsilon) / report.input.norm)}% of ‖x0‖ = ${formatNumber(report.input.norm)}`), text);
    assert.ok(text.includes(`≈ ${formatNumber(main.epsilon / 28)} per input value if spread evenly over all 784`), text);
    if (expected.lowerBound) {
      assert.ok(main.lowerBound, 'the CLI found a witnessed lower bound, so must the view');
      assertClose(main.lowerBound.value, expected.lowerBound.value, 'witnessed lower bound');
      assert.ok(text.includes(`Lower bound\n${formatNumber(expected.lowerBound.value)}`), 'the lower bound is shown');
    }
    for (const [index, layer] of expected.layers.entries()) {
      assertClose(main.layers[index].localBound, layer.localBound, `${layer.label} local bound`);
      assertClose(main.layers[index].spectralNorm, layer.spectralNorm, `${layer.label} ‖A‖`);
      const cells = tableRow(text, index, layer.label);
      assert.ok(cells, `no row for layer ${index} (${layer.label}) in:\n${text}`);
      assert.equal(cells[2], EXAMPLE_OPS[layer.label], `${layer.label}: the ONNX ops, as before the analysis`);
      assert.equal(cells[4], formatNumber(layer.epsilonIn), `${layer.label} ε in`);
      assert.equal(cells[5], formatNumber(layer.localBound), `${layer.label} local bound`);
      assert.equal(cells[6], formatNumber(layer.spectralNorm), `${layer.label} ‖A‖`);
      const neurons = layer.neurons ? `${layer.neurons.on} / ${layer.neurons.unstable} / ${layer.neurons.off}` : '';
      assert.equal(cells[8], neurons, `${layer.label} neurons`);
    }
    // The Parameters column stays after the analysis: conv1 has 8 × 1 × 5 × 5 weights and 8 biases.
    assert.equal(tableRow(text, 0, 'conv1+relu1')?.at(-1), '208');
    if (expected.lowerBound) {
      // The gap between the upper and the witnessed lower bound, said in words.
      assert.ok(
        text.includes(`the true value lies between ${formatNumber(expected.lowerBound.value)} and ${formatNumber(expected.network.localBound)}`),
        'the interval of the true local constant',
      );
    }
  });

  it('hovering a layer shows how its bound was certified; hovering the chart after an ε sweep shows its values', async function () {
    this.timeout(240_000);
    const configuration = vscode.workspace.getConfiguration('lipschitzLens');
    // Six log-spaced radii from 1e-4 to 10: one of them is the 0.001 of the previous test, reused.
    await configuration.update('sweep', { min: 1e-4, max: 10, points: 6 }, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('vscode.openWith', example, MODEL_EDITOR_VIEW_TYPE);
      const phase = await vscode.commands.executeCommand<string>(COMMANDS.runSweep, example);
      assert.equal(phase, 'done', `sweep ended as ${phase}: ${api.lastUserError() ?? ''}`);
      const sweep = api.sweepReport(example);
      assert.deepEqual(
        sweep?.runs.map((r) => formatNumber(r.epsilon)),
        ['1e-4', '0.001', '0.01', '0.1', '1', '10'],
      );
      const mainRun = api.analysisReport(example)?.runs[0];
      assert.deepEqual(sweep?.runs[1], mainRun, 'the sweep reused the main run at 0.001');
      await waitForWebviewText((shown) => shown.includes('ε sweep done: 6 radii') && shown.includes('Reused 1 of 6'));

      // The overlay over the drawn chart takes the pointer (and the keyboard).
      await hoverInWebview('#chart-overlay');
      const last = sweep!.runs[5];
      const readout = await waitForWebviewText((shown) => /ε = [^:]+: local [^,]+, spectral /.test(shown));
      assert.match(readout, /ε = [^:]+: local [^,]+, spectral /);
      assert.ok(last.network.localBound <= last.network.spectralBound, 'local never exceeds spectral');

      // The chart by keyboard: End chooses the largest radius and shows its values at the point, Enter
      // analyzes at it (the sweep computed it, so the result is reused).
      await pressInWebview('#chart-overlay', 'End');
      await waitForWebviewText((shown) => shown.includes(`ε = ${formatNumber(last.epsilon)}: local ${formatNumber(last.network.localBound)}, spectral ${formatNumber(last.network.spectralBound)}`));
      await pressInWebview('#chart-overlay', 'Enter');
      await waitFor('the analysis at ε = 10', () => api.analysisStatus(example)?.epsilon === last.epsilon && api.analysisStatus(example)?.phase === 'done');
      assert.match(api.analysisStatus(example)?.message ?? '', /Reused/);
      assert.deepEqual(api.analysisReport(example)?.runs[0], last, 'the main run is now the sweep’s at ε = 10');
      // A click analyzes at the radius nearest the pointer (the probe clicks the middle of the plot, between 0.01 and 0.1).
      await clickInWebview('#chart-overlay');
      const clicked = await waitFor('the analysis at the clicked radius', () => {
        const status = api.analysisStatus(example);
        return status?.phase === 'done' && status.epsilon !== last.epsilon ? status.epsilon : undefined;
      });
      assert.ok(['0.01', '0.1'].includes(formatNumber(clicked)), `ε = ${clicked} is a radius of the sweep near the middle`);
      await waitForWebviewText((shown) => shown.includes(`Done at ε = ${formatNumber(clicked)}`));
      // Back to 0.001 from the view's field, for the tests below (reused too).
      await fillInWebview('#epsilon-input', '0.001');
      await waitFor('ε back at 0.001', () => api.analysisStatus(example)?.epsilon === 0.001 && api.analysisStatus(example)?.phase === 'done');

      await showTable('mnist-cnn.onnx');
      await hoverInWebview('#layers tbody tr[data-row="0"]');
      const details = await waitForWebviewText((shown) => shown.includes('Formula'));
      assert.match(details, /‖R A D‖/, 'the formula of an affine+ReLU layer');
      assert.match(details, /Lanczos iteration from a random start: largest Ritz value/, 'the certificate of a Lanczos layer, in words');
      const popover = details.slice(details.indexOf('\nFormula\n'), details.indexOf('\nTime\n'));
      assert.match(popover, /Lanczos iteration from a random start/);
      assert.doesNotMatch(popover, /\b\w+\.ts\b/, 'no source-file name in the pop-over');
      // conv1 (the first dominant row) acts on 784 = 1×28×28 inputs, above the exact-path cutoff of 512.
      const conv1 = api.analysisReport(example)!.runs[0].layers[0].certificate;
      assert.ok(details.includes(`${conv1.iterations} iterations, dimension 784, δ = ${formatNumber(conv1.delta!)}`), details);
      assert.match(details, /Neurons in the ball/);
      // A click on the row pins its pop-over: it then takes the pointer (its text can be selected and
      // copied) and stays until closed.
      await clickInWebview('#layers tbody tr[data-row="0"]');
      await hoverInWebview('#details.pinned');
      assert.ok((await webviewTexts()).some((shown) => shown.includes('Formula')), 'the pinned pop-over stays under the pointer');
      await clickInWebview('#details-close');
      await waitForWebviewText((shown) => shown.includes('Share of log L') && !shown.includes('Formula'));

      // Exports: the chart from the view's buttons (SVG with the theme's colours resolved, PNG drawn
      // by the webview), and the report with the sweep's radii after the main run's.
      const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-chart-'));
      /** Clicks an export button and waits until the file is complete (`complete` tells by its last bytes). */
      const exported = async (button: string, name: string, complete: (bytes: Buffer) => boolean) => {
        const destination = join(folder, name);
        api.answerNextSaveDialog(vscode.Uri.file(destination));
        await clickInWebview(button);
        return waitFor(`${name} to be written`, async () => {
          const bytes = await readFile(destination).catch(() => undefined);
          return bytes && complete(bytes) ? bytes : undefined;
        }, 20_000);
      };
      const svg = (await exported('#export-svg', 'sweep.svg', (bytes) => bytes.toString('utf8').endsWith('</svg>'))).toString('utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.doesNotMatch(svg, /var\(--vscode-/, 'an exported file cannot resolve theme variables');
      assert.equal((svg.match(/class="marker-local"/g) ?? []).length, 6, 'one local-bound marker per radius');
      assert.equal((svg.match(/class="marker-spectral"/g) ?? []).length, 6, 'one spectral-product marker per radius');
      // A PNG ends with its IEND chunk: the type 'IEND' and a 4-byte CRC (PNG specification, section 11.2.5).
      const png = await exported('#export-png', 'sweep.png', (bytes) => bytes.subarray(-8, -4).toString('latin1') === 'IEND');
      // The 8-byte PNG signature (PNG specification, section 5.2).
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const reportPath = join(folder, 'report.json');
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.exportReport, example, vscode.Uri.file(reportPath)), reportPath);
      const merged = JSON.parse(await readFile(reportPath, 'utf8')) as BoundReport;
      assert.deepEqual(
        merged.runs.map((r) => formatNumber(r.epsilon)),
        ['0.001', '1e-4', '0.01', '0.1', '1', '10'],
        'the main run first, then the other radii of the sweep',
      );

      // The screenshots for the README (out/screenshots; docs/images holds the copies the README shows):
      // the finished view in a high-contrast, a dark and a light theme.
      await vscode.commands.executeCommand('workbench.action.closeSidebar');
      await vscode.commands.executeCommand('notifications.clearAll');
      for (const [theme, name] of [
        ['Default High Contrast', 'analysis-view-high-contrast'],
        ['Default Dark Modern', 'analysis-view-dark'],
        ['Default Light Modern', 'analysis-view-light'],
      ]) {
        await setColorTheme(theme);
        // The table in view, the mouse on its title, so no details pop-over covers it.
        await hoverInWebview('#layers h2');
        await waitForWebviewText((shown) => !shown.includes('Formula'));
        const png = await readFile(await screenshot(name));
        assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name} is a PNG`);
      }
    } finally {
      await configuration.update('sweep', undefined, vscode.ConfigurationTarget.Global);
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.toggleSidebarVisibility');
      await closeAllEditors();
    }
  });

  it('ε is validated and applied from the view’s form, and re-running the same ε reuses the result', async () => {
    // A copy: the ε chosen here is remembered per file, and other tests expect the default for tiny.onnx.
    const copy = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-form-')), 'tiny.onnx'));
    await copyFile(tiny.fsPath, copy.fsPath);
    await vscode.commands.executeCommand('vscode.openWith', copy, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('tiny.onnx') && shown.includes('Analyze'));
    await fillInWebview('#epsilon-input', '-1');
    await waitForWebviewText((shown) => shown.includes('Enter a positive decimal number'));
    assert.notEqual(api.analysisStatus(copy)?.phase, 'running', 'an invalid ε starts nothing');
    await fillInWebview('#epsilon-input', '0.05');
    await waitFor('the analysis at ε = 0.05 to finish', () => api.analysisStatus(copy)?.phase === 'done' && api.analysisStatus(copy)?.epsilon === 0.05, 60_000);
    assert.equal(api.analysisReport(copy)?.runs[0].epsilon, 0.05);
    await waitForWebviewText((shown) => shown.includes('Done at ε = 0.05'));
    const starts = api.engine.startCount;
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, copy), 'done');
    assert.match(api.analysisStatus(copy)?.message ?? '', /Reused/);
    assert.equal(api.engine.startCount, starts);
    await closeAllEditors();
  });

  it('an ε whose layer product overflows reaches the view as ∞, not as null or 0 (messages cross as JSON)', async () => {
    // A copy: the ε chosen here is remembered per file. At ε = 1e308 the example's layer product
    // overflows at its first layer; the composed bound stays finite (derivations §57), and the spectral
    // product, finite at every ε, is below it there and gives the network bound (§61.1).
    const copy = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-overflow-')), 'mnist-cnn.onnx'));
    await copyFile(example.fsPath, copy.fsPath);
    await copyFile(join(example.fsPath, '..', 'sample-input.json'), join(copy.fsPath, '..', 'sample-input.json'));
    await vscode.commands.executeCommand('vscode.openWith', copy, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('mnist-cnn.onnx') && shown.includes('Analyze'));
    await fillInWebview('#epsilon-input', '1e308');
    await waitFor('the analysis at ε = 1e308 to finish', () => api.analysisStatus(copy)?.phase === 'done' && api.analysisStatus(copy)?.epsilon === 1e308, 120_000);
    const network = api.analysisReport(copy)?.runs[0].network;
    assert.equal(network?.layerProduct, Infinity);
    assert.equal(network?.method, 'spectral-product');
    assert.ok(Number.isFinite(network?.localBound), `network bound ${network?.localBound}`);
    assert.equal(network?.localBound, network?.spectralBound);
    const text = await waitForWebviewText((shown) => shown.includes('Done at ε = 1e308'));
    assert.match(text, /Layer product\s+∞/);
    assert.match(text, /the layer product overflowed at layer '[^']+' \(∞\); network bound from the spectral product/);
    assert.ok(text.includes(formatNumber(network?.localBound ?? NaN)), text);
    assert.doesNotMatch(text, /Infinity|NaN|null/);
    await closeAllEditors();
  });

  it('stays usable on a graph of hundreds of layers: every row is shown, before and after the analysis', async function () {
    this.timeout(180_000);
    const deep = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-deep-')), 'deep.onnx'));
    const depth = 300;
    await writeDeepModel(deep.fsPath, depth);
    await vscode.commands.executeCommand('vscode.openWith', deep, MODEL_EDITOR_VIEW_TYPE);
    await showTable('deep.onnx');
    // One layer per Gemm+Relu pair (models.ts), numbered from 0.
    let text = await waitForWebviewText((shown) => shown.includes('deep.onnx') && shown.includes(`fc${depth - 1}+relu${depth - 1}`), 60_000);
    assert.ok(tableRow(text, depth - 1, `fc${depth - 1}+relu${depth - 1}`), 'the last layer has its row');
    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, deep), 'done');
    const report = api.analysisReport(deep);
    assert.equal(report?.runs[0].layers.length, depth);
    text = await waitForWebviewText((shown) => shown.includes('Done at ε'), 60_000);
    for (const layer of report!.runs[0].layers) {
      assert.ok(tableRow(text, layer.index, layer.label), `no row for layer ${layer.index}`);
    }
    await closeAllEditors();
  });

  it('cancels a running analysis from the view and from the palette, and the same worker runs the next analysis', async function () {
    this.timeout(180_000);
    const slow = vscode.Uri.file(join(await mkdtemp(join(tmpdir(), 'lipschitz-lens-cancel-')), 'large-conv.onnx'));
    await writeLargeConvModel(slow.fsPath);
    // The table first, so the streamed rows can be read as they come.
    await vscode.commands.executeCommand('vscode.openWith', slow, MODEL_EDITOR_VIEW_TYPE);
    await showTable('large-conv.onnx');
    // The worker holds the run after its first layer result until it is cancelled: the run is still
    // going when Cancel is clicked on any machine, however fast its engine.
    await api.engine.request('holdNextAnalysisForTest', {});
    const analysis = vscode.commands.executeCommand<string>(COMMANDS.analyze, slow);
    // Rows fill in as the worker streams layer results, before the run ends.
    const streamed = await waitForWebviewText((shown) => shown.includes('large-conv.onnx') && shown.includes('Layers (1 done so far)'), 120_000);
    assert.ok(tableRow(streamed, 0, 'conv0+relu0'), 'the first layer’s row while the analysis runs');
    assert.match(streamed, /Analyzing at ε/);
    // One finished row is no ranking: no "#1 100.0%" before every layer is done.
    assert.doesNotMatch(streamed, /#1 |100%/);
    // The progress sentence names its ε and step count once, as the notification does.
    const statusLine = streamed.split('\n').find((line) => line.startsWith('Analyzing at ε')) ?? '';
    assert.equal(statusLine.match(/ε = /g)?.length, 1, statusLine);
    assert.ok((statusLine.match(/\(\d+\/\d+\)/g)?.length ?? 0) <= 1, statusLine);
    assert.equal(api.analysisStatus(slow)?.phase, 'running');
    const starts = api.engine.startCount;

    // The Cancel button beside ε (the one in the status line sits under the workbench's progress
    // notification). The held run cannot finish by itself, so "cancelled" can only come from the click.
    await clickInWebview('#cancel-button');
    const text = await waitForWebviewText((shown) => shown.includes('Analysis cancelled.'));
    assert.match(text, /cancelled/);
    assert.doesNotMatch(text, /Done at ε/);
    assert.equal(await analysis, 'cancelled');

    // The palette command cancels too.
    await api.engine.request('holdNextAnalysisForTest', {});
    const second = vscode.commands.executeCommand<string>(COMMANDS.analyze, slow);
    await waitFor('the second run to stream its first layer', () => api.analysisStatus(slow)?.phase === 'running' && api.analysisStatus(slow)?.progress?.event.kind === 'layerResult', 120_000);
    assert.equal(await vscode.commands.executeCommand<boolean>(COMMANDS.cancelAnalysis, slow), true);
    assert.equal(await second, 'cancelled');

    assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, tiny), 'done');
    assert.equal(api.engine.startCount, starts, 'no worker restart was needed');
    await waitForWebviewText((shown) => shown.includes('tiny.onnx') && shown.includes('Done at ε'));
  });
});
