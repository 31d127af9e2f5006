// The extension-host half of bench/viewOpen.ts: opens a model in the real VS Code a few times and
// reports the milliseconds from the open command to the webview's 'graphDrawn' message (the first
// graph on screen). Runs as the workbench's extensionTestsPath module; prints one line
// "view-open {json}" for the driver. A measurement, not a test: nothing here fails on slowness.

import * as vscode from 'vscode';
import { MODEL_EDITOR_VIEW_TYPE } from '../src/shared/ids';
import { activateForTests, closeAllEditors } from '../test/integration/extensionUnderTest';
import { waitFor } from '../test/integration/probe';

/** A guard against a hung run (the view never drawing), far above any plausible open time. */
const HANG_GUARD_MS = 300_000;

export async function run(): Promise<void> {
  const modelPath = process.env.LIPSCHITZ_BENCH_MODEL;
  const runs = Number(process.env.LIPSCHITZ_BENCH_RUNS ?? '3');
  if (!modelPath) throw new Error('LIPSCHITZ_BENCH_MODEL is unset: run bench/viewOpen.ts');
  const { api } = await activateForTests();
  const uri = vscode.Uri.file(modelPath);
  const messagesOf = (kind: string) => api.webviewMessages(uri).filter((message) => message.kind === kind);
  const measurements: { ms: number; boxes: number; webviewReadyMs: number; describedMs: number }[] = [];
  for (let k = 0; k < runs; k++) {
    await closeAllEditors();
    // Each open reads and lays out the model again: the closed editor's document is gone.
    await waitFor('the previous editor to close', () => api.openDocuments().length === 0, HANG_GUARD_MS);
    const drawnBefore = messagesOf('graphDrawn').length;
    const readyBefore = messagesOf('ready').length;
    const started = performance.now();
    const since = () => performance.now() - started;
    // Where the time goes, measured alongside: the webview loaded (its 'ready'), the worker's describe
    // request (read, normalise, node graph, dagre layout) done, then the graph drawn.
    const webviewReady = waitFor('the webview to load', () => messagesOf('ready')[readyBefore], HANG_GUARD_MS, 5).then(since);
    // Wrapped: waitFor awaits what the condition returns, and the reading settles with undefined.
    const described = waitFor('the document to open', () => {
      const reading = api.whenDescribed(uri);
      return reading && { reading };
    }, HANG_GUARD_MS, 5).then(async ({ reading }) => {
      await reading;
      return since();
    });
    await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_EDITOR_VIEW_TYPE);
    const drawn = await waitFor('the graph to be drawn', () => messagesOf('graphDrawn')[drawnBefore], HANG_GUARD_MS, 5);
    const ms = since();
    measurements.push({ ms, boxes: drawn.kind === 'graphDrawn' ? drawn.boxes : 0, webviewReadyMs: await webviewReady, describedMs: await described });
  }
  await closeAllEditors();
  console.log(`view-open ${JSON.stringify({ model: modelPath, measurements })}`);
}
