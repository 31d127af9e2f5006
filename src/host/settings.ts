// Reads lipschitzLens.* from the VS Code configuration through the shared validator.

import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import { CONFIGURATION_SECTION } from '../shared/ids';
import { readLensSettings, type LensSettings } from '../shared/settings';
import type { EngineLog } from './engineClient';
import { openSettingsAction } from './notifier';

export function readSettings(log: EngineLog): LensSettings {
  const configuration = vscode.workspace.getConfiguration(CONFIGURATION_SECTION);
  const { settings, problems } = readLensSettings((key) => configuration.get(key), availableParallelism());
  for (const problem of problems) {
    log.warn(problem);
  }
  if (problems.length > 0) {
    // The sentence names the setting; the button goes there.
    const open = openSettingsAction(/^lipschitzLens\.\w+/.exec(problems[0])?.[0]);
    void vscode.window.showWarningMessage(problems[0], open.title).then((choice) => choice === open.title && open.run());
  }
  return settings;
}
