// The graph view inside a real VS Code (test/host/run.mjs): the example opens as a graph of its ONNX
// nodes, a click shows a node's attributes and weights, the table is one click away and follows the
// selection, Ctrl+F finds nodes, nothing scrolls sideways at 1280 px, and the screenshots of the
// analysed graph in a dark, a light and a high-contrast theme.
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TestingApi } from '../../src/host/testingApi';
import { formatNumber } from '../../src/shared/format';
import { COMMANDS, MODEL_EDITOR_VIEW_TYPE } from '../../src/shared/ids';
import { gemm, relu, tensor, writeModel } from '../fixtures/onnxBuilder';
import { activateForTests, closeAllEditors } from './extensionUnderTest';
import {
  clickInWebview,
  fillInWebview,
  hoverInWebview,
  pressInWebview,
  screenshot,
  selectInWebview,
  setColorTheme,
  setViewport,
  waitFor,
  waitForWebviewText,
  webviewWidths,
} from './probe';

let api: TestingApi;
let example: vscode.Uri;

/** The lines of the side panel: from the selected node's heading to the end of the panel's sections. */
function panelText(text: string, heading: string): string {
  const start = text.indexOf(`${heading}\n`);
  return start >= 0 ? text.slice(start) : '';
}

describe('graph view', () => {
  before(async () => {
    const extension = await activateForTests();
    api = extension.api;
    example = vscode.Uri.joinPath(extension.root, 'examples', 'mnist', 'mnist-cnn.onnx');
  });

  after(async () => {
    await setViewport(1400, 900);
    await closeAllEditors();
  });

  it('opens the example as a graph of every ONNX node, with edges labelled by shape', async () => {
    await vscode.commands.executeCommand('vscode.openWith', example, MODEL_EDITOR_VIEW_TYPE);
    // examples/mnist/train.ts writes these nine boxes: the graph input, eight nodes, the output.
    const nodes = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'flatten', 'fc'];
    const text = await waitForWebviewText((shown) => shown.includes('mnist-cnn.onnx') && nodes.every((node) => shown.includes(node)) && shown.includes('Flatten'));
    for (const op of ['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Input', 'Output']) {
      assert.ok(text.includes(op), `op ${op} drawn`);
    }
    // conv1's output, 8 channels of 28 × 28, labels the edge conv1 → relu1; flatten's, 256 values.
    assert.ok(text.includes('[1,8,28,28]'), 'edge label of conv1_out');
    assert.ok(text.includes('[1,256]'), 'edge label of flat');
    assert.ok(!text.includes('Shape in → out'), 'the table is not the default view');
  });

  it('clicking a node shows its op, attributes, tensors with shapes, parameters and weight statistics', async () => {
    await clickInWebview('.graph-node[data-id="node0"]');
    const text = await waitForWebviewText((shown) => panelText(shown, 'conv1').includes('Attributes'));
    const panel = panelText(text, 'conv1');
    assert.match(panel, /kernel_shape = \[5, 5\]/);
    assert.match(panel, /pads = \[2, 2, 2, 2\]/);
    assert.match(panel, /conv1\.weight \[8,1,5,5\]/);
    assert.match(panel, /image \[1,1,28,28\]/);
    // 8 filters of 1 × 5 × 5 plus 8 biases.
    assert.match(panel, /Parameters\n208/);
    assert.match(panel, /min -?[\d.e-]+, max [\d.e-]+, mean -?[\d.e-]+, std [\d.e-]+, sparsity [\d.]+%/);
    assert.match(panel, /Analysis layer\n0\. conv1\+relu1 \(Conv\+Relu\)/);
  });

  it('switches to the table with the same layer selected, and back to the graph with the node still selected', async () => {
    await clickInWebview('#view-table');
    const table = await waitForWebviewText((shown) => shown.includes('Shape in → out'));
    assert.ok(table.includes('[1,28,28] → [8,28,28]'), 'the layer table with conv1+relu1');
    assert.ok(!table.includes('kernel_shape = [5, 5]\n'), 'the node panel is hidden with the graph');
    // Selecting a row in the table selects its nodes in the graph: pool2 is row 3.
    await clickInWebview('#layers tbody tr[data-row="3"]');
    await clickInWebview('#view-graph');
    const graph = await waitForWebviewText((shown) => panelText(shown, 'pool2').includes('kernel_shape = [3, 3]'));
    assert.match(panelText(graph, 'pool2'), /Analysis layer\n3\. pool2/);
    // The probe fails when no element matches: the table marks the graph's selection as its selected row.
    await clickInWebview('#view-table');
    await hoverInWebview('#layers tbody tr.selected[data-row="3"]');
    await clickInWebview('#view-graph');
  });

  it('Ctrl+F finds a node by name or op and selects it', async () => {
    // From the table: Ctrl+F brings the graph back with its search box.
    await clickInWebview('#view-table');
    await pressInWebview('#layers tbody tr[data-row="0"]', 'Control+f');
    await waitForWebviewText((shown) => !shown.includes('Shape in → out'));
    await hoverInWebview('#graph-search');
    await fillInWebview('#graph-search', 'relu2');
    let text = await waitForWebviewText((shown) => shown.includes('1 of 1') && panelText(shown, 'relu2').includes('Relu'));
    assert.match(panelText(text, 'relu2'), /Analysis layer\n2\. conv2\+relu2/);
    // By op: two Conv nodes; Enter moves to the next.
    await fillInWebview('#graph-search', 'conv');
    text = await waitForWebviewText((shown) => / of 2\b/.test(shown));
    assert.ok(text.includes('2 of 2') || text.includes('1 of 2'), text.slice(0, 400));
  });

  it('colours the analysed graph by the chosen metric with a legend, the numbers being the table’s, and keeps it all within 1280 px', async function () {
    this.timeout(240_000);
    const phase = await vscode.commands.executeCommand<string>(COMMANDS.analyze, example);
    assert.equal(phase, 'done', `analysis ended as ${phase}: ${api.lastUserError() ?? ''}`);
    const run = api.analysisReport(example)!.runs[0];
    await waitForWebviewText((shown) => shown.includes('Done at ε') && shown.includes('Colour by'));
    await clickInWebview('.graph-node[data-id="node3"]');
    // conv2+relu2 is layer 2: the panel shows its local bound as the table does.
    const conv2 = run.layers[2];
    const text = await waitForWebviewText((shown) => panelText(shown, 'conv2').includes('local bound'));
    assert.ok(panelText(text, 'conv2').includes(`local bound ${formatNumber(conv2.localBound)}, ‖A‖ ${formatNumber(conv2.spectralNorm)}`), text);
    assert.match(text, /share of log L:\s+0\.0% – [\d.]+%/, 'the legend names the metric and its classes');
    assert.match(panelText(text, 'conv2'), /share of log L [\d.]+%/);
    const unstable = conv2.neurons!.unstable / (conv2.neurons!.on + conv2.neurons!.unstable + conv2.neurons!.off);
    assert.ok(panelText(text, 'conv2').includes(`(unstable fraction ${(unstable * 100).toFixed(1)}%)`), 'the unstable fraction of conv2+relu2');
    await selectInWebview('#graph-metric', 'bound');
    await waitForWebviewText((shown) => /local bound:\s+[\d.e-]+ – [\d.e-]+/.test(shown));

    // Nothing clipped in a 1280 px window with the Explorer open (a webview about 930 px wide): neither
    // the graph nor the wide table after analysis scrolls the page sideways.
    await vscode.commands.executeCommand('workbench.view.explorer');
    await setViewport(1280, 900);
    const narrow = async (what: string) => {
      const widths = await waitFor(`${what} laid out at 1280 px`, async () => {
        const all = await webviewWidths();
        return all.length > 0 && all.every((entry) => entry.clientWidth > 0 && entry.clientWidth < 1000) ? all : undefined;
      });
      for (const { scrollWidth, clientWidth, text: start } of widths) {
        assert.ok(scrollWidth <= clientWidth, `${what}: the page is ${scrollWidth} px wide in a ${clientWidth} px view (${start.slice(0, 60)})`);
      }
    };
    await narrow('the graph view');
    await clickInWebview('#view-table');
    await waitForWebviewText((shown) => shown.includes('Share of log L'));
    await narrow('the bound table');
    await hoverInWebview('#layers tbody tr[data-row="5"]');
    await waitForWebviewText((shown) => shown.includes('Formula'));
    await narrow('the bound table with its details pop-over');
    await clickInWebview('#view-graph');
  });

  it('screenshots of the analysed graph in a dark, a light and a high-contrast theme', async function () {
    this.timeout(120_000);
    await setViewport(1400, 900);
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('notifications.clearAll');
    await clickInWebview('#view-graph');
    await fillInWebview('#graph-search', '');
    await clickInWebview('.graph-node[data-id="node3"]');
    await clickInWebview('#graph-fit');
    try {
      for (const [theme, name] of [
        ['Default Dark Modern', 'graph-view-dark'],
        ['Default Light Modern', 'graph-view-light'],
        ['Default High Contrast', 'graph-view-high-contrast'],
      ]) {
        await setColorTheme(theme);
        await waitForWebviewText((shown) => shown.includes('Colour by'));
        const png = await readFile(await screenshot(name));
        // The 8-byte PNG signature (PNG specification, section 5.2).
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name} is a PNG`);
      }
    } finally {
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.toggleSidebarVisibility');
    }
  });

  it('draws an unsupported node in place with its reason, and the nodes after it', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-graph-'));
    const model = vscode.Uri.file(join(folder, 'softplus-inside.onnx'));
    // Softplus has no analysis rule (normalise.ts): before the graph view only fc1+relu1 was shown.
    await writeModel(model.fsPath, {
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [tensor('W1', [2, 2], [1, 0, 0, 1]), tensor('W2', [2, 2], [2, 0, 0, 2])],
      nodes: [
        gemm({ name: 'fc1', a: 'x', b: 'W1', output: 'h', transB: true }),
        relu('h', 'r', 'relu1'),
        { opType: 'Softplus', name: 'sp', inputs: ['r'], outputs: ['s'] },
        gemm({ name: 'fc2', a: 's', b: 'W2', output: 'y', transB: true }),
      ],
      opset: 13,
    });
    await vscode.commands.executeCommand('vscode.openWith', model, MODEL_EDITOR_VIEW_TYPE);
    const text = await waitForWebviewText((shown) => shown.includes('softplus-inside.onnx') && shown.includes('fc2') && shown.includes('⚠ '));
    assert.match(text, /⚠ 1 unsupported node, marked in place/);
    assert.match(text, /⚠ [^\n]*Softplus/, 'the reason beside the node');
    await clickInWebview('.graph-node.unsupported');
    const panel = await waitForWebviewText((shown) => panelText(shown, 'sp').includes('Not supported'));
    assert.match(panelText(panel, 'sp'), /Not supported\n[^\n]*Softplus/);
  });
});
