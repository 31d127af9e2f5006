// The run pinned for comparison: one for the whole window, so a run pinned in model A's editor can be
// compared in model B's (two checkpoints, float vs quantized). Kept in workspaceState, so it survives
// a reload of the window; every editor hears of a change and tells its webview.

import * as vscode from 'vscode';
import type { PinnedLayer, PinnedRun } from '../shared/protocol';
import { encodeNonFinite, reviveNonFinite } from '../shared/nonFinite';

const STATE_KEY = 'lipschitzLens.pinnedRun';

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';

function isPinnedLayer(value: unknown): value is PinnedLayer {
  const layer = value as PinnedLayer;
  return (
    typeof value === 'object' && value !== null && isString(layer.label) && Array.isArray(layer.nodes) && layer.nodes.every(isString) &&
    isNumber(layer.localBound) && isNumber(layer.spectralNorm)
  );
}

/** Whether a value (from the webview, or saved by another version) is a whole pinned run. */
export function isPinnedRun(value: unknown): value is PinnedRun {
  const run = value as PinnedRun;
  return (
    typeof value === 'object' && value !== null && isString(run.model) && isString(run.modelPath) && isString(run.inputLabel) &&
    isNumber(run.epsilon) && isNumber(run.localBound) && isNumber(run.spectralBound) && Array.isArray(run.layers) && run.layers.every(isPinnedLayer)
  );
}

export class PinnedRunStore implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<PinnedRun | undefined>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly memento: vscode.Memento) {}

  get current(): PinnedRun | undefined {
    const saved = reviveNonFinite(this.memento.get<unknown>(STATE_KEY));
    return isPinnedRun(saved) ? saved : undefined;
  }

  /** Pins `run` (undefined unpins) and tells every editor. */
  async pin(run: PinnedRun | undefined): Promise<void> {
    await this.memento.update(STATE_KEY, encodeNonFinite(run));
    this.emitter.fire(run);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
