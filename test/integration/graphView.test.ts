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
import { formatNumber, formatPercent } from '../../src/shared/format';
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
let tiny: vscode.Uri;

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
    tiny = vscode.Uri.joinPath(extension.root, 'test', 'fixtures', 'tiny.onnx');
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
    // The layers the engine fuses start as one box each, named as in the table.
    assert.match(text, /Conv\+Relu\s*conv1\+relu1/, 'conv1 and relu1 as one fused-layer box');
    assert.ok(text.includes('Expand fused layers'));
  });

  it('expands a fused layer to its ONNX nodes and collapses it again, by key, panel and toolbar', async () => {
    // E on the focused box of conv1+relu1 (node0) opens it: relu1 (node1) gets a box of its own.
    await pressInWebview('.graph-node[data-id="node0"]', 'e');
    await clickInWebview('.graph-node[data-id="node1"]');
    let text = await waitForWebviewText((shown) => panelText(shown, 'relu1').includes('Relu'));
    assert.match(panelText(text, 'relu1'), /Analysis layer\n0\. conv1\+relu1 \(Conv\+Relu\)/);
    assert.match(panelText(text, 'relu1'), /fused from 2 nodes Collapse to one box/);
    assert.match(text, /conv1\+relu1 \(Conv\+Relu\)\s*⊖/, 'the frame around the expanded layer, named as in the table');
    // The panel collapses it again; the selection stays on the layer's box.
    await clickInWebview('#panel-toggle-layer');
    text = await waitForWebviewText((shown) => panelText(shown, 'relu1').includes('Show its nodes'));
    assert.match(text, /Conv\+Relu\s*conv1\+relu1/);
    // The toolbar opens every fused layer at once, and closes them.
    await clickInWebview('#graph-expand-all');
    await waitForWebviewText((shown) => shown.includes('Collapse fused layers') && /conv2\+relu2 \(Conv\+Relu\)\s*⊖/.test(shown));
    await clickInWebview('#graph-expand-all');
    await waitForWebviewText((shown) => shown.includes('Expand fused layers') && /Conv\+Relu\s*conv2\+relu2/.test(shown));
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
    assert.match(text, /share of log L:\s+0% – [\d.]+%/, 'the legend names the metric and its classes');
    assert.match(panelText(text, 'conv2'), /share of log L [\d.]+%/);
    const unstable = conv2.neurons!.unstable / (conv2.neurons!.on + conv2.neurons!.unstable + conv2.neurons!.off);
    assert.ok(panelText(text, 'conv2').includes(`(unstable fraction ${formatPercent(unstable)})`), 'the unstable fraction of conv2+relu2');
    await selectInWebview('#graph-metric', 'bound');
    await waitForWebviewText((shown) => /local bound:\s+[\d.e-]+ – [\d.e-]+/.test(shown));
    // Tightness: local bound ÷ the layer's witnessed lower value where the engine has one, else ÷ ‖A‖.
    await selectInWebview('#graph-metric', 'tightness');
    const tightness = conv2.tightness && conv2.tightness.lower > 0 ? conv2.localBound / conv2.tightness.lower : conv2.localBound / conv2.spectralNorm;
    const tight = await waitForWebviewText((shown) => /tightness \(local bound ÷ [^)]+\):\s+[\d.e-]+× – [\d.e-]+×/.test(shown));
    assert.ok(panelText(tight, 'conv2').includes(`tightness ${formatNumber(tightness)}×`), 'the panel shows conv2’s tightness');

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

  it('pins a run and compares the next one layer by layer, in the table and the graph, and keeps the pin when hidden and shown again', async function () {
    this.timeout(240_000);
    await vscode.commands.executeCommand('vscode.openWith', example, MODEL_EDITOR_VIEW_TYPE);
    const before = api.analysisReport(example)!.runs[0];
    await clickInWebview('#pin-run');
    const pinnedText = new RegExp(`Pinned: mnist-cnn\\.onnx, [^,]+, ε = ${formatNumber(before.epsilon)}: network local bound ${formatNumber(before.network.localBound)}`);
    await waitForWebviewText((shown) => pinnedText.test(shown));
    // A run at another ε, started from the view's field.
    await fillInWebview('#epsilon-input', '0.01');
    await waitFor('the analysis at ε = 0.01', () => api.analysisStatus(example)?.epsilon === 0.01 && api.analysisStatus(example)?.phase === 'done', 180_000);
    const after = api.analysisReport(example)!.runs[0];
    const change = (now: number, then: number) => now / then - 1;
    const nowText = new RegExp(`Now \\(mnist-cnn\\.onnx, [^,]+, ε = 0\\.01\\): ${formatNumber(after.network.localBound)} \\([+−]`);
    let text = await waitForWebviewText((shown) => nowText.test(shown));
    // The table's delta columns: every layer's change of its local bound, sign and size as computed here.
    await clickInWebview('#view-table');
    text = await waitForWebviewText((shown) => shown.includes('Δ local bound'));
    for (const layer of after.layers) {
      const cells = text.split('\n').map((line) => line.split('\t').map((cell) => cell.trim())).find((row) => row[0] === String(layer.index) && row[1] === layer.label);
      assert.ok(cells, `the row of ${layer.label}`);
      const expected = 100 * change(layer.localBound, before.layers[layer.index].localBound);
      const shown = cells.at(-2)!;
      const value = Number(shown.replace('−', '-').replace('±', '').replace('%', ''));
      assert.ok(Math.abs(value - expected) <= Math.max(0.01, Math.abs(expected) * 0.005), `${layer.label}: Δ local bound ${shown}, expected ${expected.toPrecision(4)} %`);
    }
    // The graph coloured by the change.
    await clickInWebview('#view-graph');
    await selectInWebview('#graph-metric', 'change');
    await waitForWebviewText((shown) => /change against the pinned run \(local bound now ÷ then\):\s+[\d.e-]+× – [\d.e-]+×/.test(shown));
    // Hidden (another model in front: the webview is dropped) and shown again: rebuilt from its saved state, pin included.
    await vscode.commands.executeCommand('vscode.openWith', tiny, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => shown.includes('tiny.onnx'));
    await vscode.commands.executeCommand('vscode.openWith', example, MODEL_EDITOR_VIEW_TYPE);
    await waitForWebviewText((shown) => pinnedText.test(shown) && nowText.test(shown));
    await clickInWebview('#unpin-run');
    await waitForWebviewText((shown) => shown.includes('Pin this run for comparison') && !shown.includes('Pinned:'));
    // Back to the first ε (reused), for the screenshots.
    await fillInWebview('#epsilon-input', String(before.epsilon));
    await waitFor('ε back', () => api.analysisStatus(example)?.epsilon === before.epsilon && api.analysisStatus(example)?.phase === 'done');
  });

  it('screenshots of the analysed graph in a dark, a light and a high-contrast theme', async function () {
    this.timeout(120_000);
    await setViewport(1400, 900);
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('notifications.clearAll');
    await clickInWebview('#view-graph');
    // The colouring the README's caption names, whatever the tests before left selected.
    await selectInWebview('#graph-metric', 'share');
    await waitForWebviewText((shown) => /share of log L:\s+0%/.test(shown));
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

  it('compares a run of another model with the run pinned in the first one’s editor, layers matched by name, the unmatched named', async function () {
    this.timeout(240_000);
    // Two checkpoints of one architecture: fc2's weights doubled, and the last layer renamed (fc3 → head).
    const folder = await mkdtemp(join(tmpdir(), 'lipschitz-lens-compare-'));
    const checkpoint = async (name: string, scale: number, last: string) => {
      const uri = vscode.Uri.file(join(folder, name));
      await writeModel(uri.fsPath, {
        inputs: [{ name: 'x', shape: [1, 3] }],
        outputs: [{ name: 'y', shape: [1, 2] }],
        initializers: [
          tensor('W1', [3, 3], [1, -0.5, 0.2, 0.3, 0.8, -0.4, -0.6, 0.1, 0.9]),
          tensor('W2', [3, 3], [0.7, 0.2, -0.3, -0.1, 0.5, 0.6, 0.4, -0.8, 0.2].map((w) => scale * w)),
          tensor('W3', [2, 3], [0.5, -0.2, 0.3, 0.1, 0.4, -0.6]),
        ],
        nodes: [
          gemm({ name: 'fc1', a: 'x', b: 'W1', output: 'h1', transB: true }),
          relu('h1', 'r1', 'relu1'),
          gemm({ name: 'fc2', a: 'r1', b: 'W2', output: 'h2', transB: true }),
          relu('h2', 'r2', 'relu2'),
          gemm({ name: last, a: 'r2', b: 'W3', output: 'y', transB: true }),
        ],
        opset: 13,
      });
      return uri;
    };
    const modelA = await checkpoint('before.onnx', 1, 'fc3');
    const modelB = await checkpoint('after.onnx', 2, 'head');
    try {
      await vscode.commands.executeCommand('vscode.openWith', modelA, MODEL_EDITOR_VIEW_TYPE);
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, modelA), 'done');
      const pinned = api.analysisReport(modelA)!.runs[0];
      await waitForWebviewText((shown) => shown.includes('before.onnx') && shown.includes('Pin this run for comparison'));
      await clickInWebview('#pin-run');
      await waitForWebviewText((shown) => shown.includes(`Pinned: before.onnx, synthetic input, ε = ${formatNumber(pinned.epsilon)}`));

      await vscode.commands.executeCommand('vscode.openWith', modelB, MODEL_EDITOR_VIEW_TYPE);
      assert.equal(await vscode.commands.executeCommand<string>(COMMANDS.analyze, modelB), 'done');
      const now = api.analysisReport(modelB)!.runs[0];
      // Another model's pin is offered, not applied: its layers may not match.
      const offer = `Compare with pinned run (before.onnx, ε = ${formatNumber(pinned.epsilon)})`;
      await waitForWebviewText((shown) => shown.includes('after.onnx') && shown.includes(offer));
      await clickInWebview('#compare-pinned');
      await waitForWebviewText((shown) => shown.includes('2 of 3 layers matched by name; not in the pinned run: head; only in the pinned run: fc3.'));
      await clickInWebview('#view-table');
      const text = await waitForWebviewText((shown) => shown.includes('Δ local bound') && shown.includes('no match'));
      const thenByLabel = new Map(pinned.layers.map((layer) => [layer.label, layer]));
      for (const layer of now.layers) {
        const cells = text.split('\n').map((line) => line.split('\t').map((cell) => cell.trim())).find((row) => row[0] === String(layer.index) && row[1] === layer.label);
        assert.ok(cells, `the row of ${layer.label}`);
        const then = thenByLabel.get(layer.label);
        if (!then) {
          assert.deepEqual(cells.slice(-2), ['no match', 'no match'], `${layer.label} has no layer in the pinned run`);
          continue;
        }
        for (const [shown, nowValue, thenValue, what] of [
          [cells.at(-2)!, layer.localBound, then.localBound, 'local bound'],
          [cells.at(-1)!, layer.spectralNorm, then.spectralNorm, '‖A‖'],
        ] as const) {
          const expected = 100 * (nowValue / thenValue - 1);
          const value = Number(shown.replace('−', '-').replace('±', '').replace('%', ''));
          assert.ok(Math.abs(value - expected) <= Math.max(0.01, Math.abs(expected) * 0.001), `${layer.label}: Δ ${what} ${shown}, expected ${expected.toPrecision(4)} %`);
        }
      }
      // fc2's weights doubled: its ‖A‖ doubled, so the comparison shows +100% there.
      const doubled = text.split('\n').find((line) => line.includes('fc2+relu2'))?.split('\t').at(-1)?.trim();
      assert.equal(doubled, '+100%', 'fc2+relu2’s ‖A‖ change');
    } finally {
      await clickInWebview('#view-graph').catch(() => undefined);
      await clickInWebview('#unpin-run').catch(() => undefined);
      await waitForWebviewText((shown) => !shown.includes('Pinned:'));
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
