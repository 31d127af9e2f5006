// Reads lipschitzLens.* from the VS Code configuration through the shared validator.

import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import { CONFIGURATION_SECTION } from '../shared/ids';
import { readLensSettings, type LensSettings } from '../shared/settings';
import type { EngineLog } from './engineClient';
import { openSettingsAction, type Notifier } from './notifier';

export function readSettings(log: EngineLog, notifier: Notifier): LensSettings {
  const configuration = vscode.workspace.getConfiguration(CONFIGURATION_SECTION);
  const { settings, problems } = readLensSettings((key) => configuration.get(key), availableParallelism());
  for (const problem of problems.slice(1)) {
    log.warn(problem);
  }
  if (problems.length > 0) {
    // The sentence names the setting; the button goes there.
    notifier.warn(problems[0], [openSettingsAction(/^lipschitzLens\.\w+/.exec(problems[0])?.[0])]);
  }
  return settings;
}
