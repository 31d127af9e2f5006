// What every integration suite starts from: our extension, activated in test mode.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LipschitzLensApi } from '../../src/extension';
import type { TestingApi } from '../../src/host/testingApi';
import { EXTENSION_ID } from '../../src/shared/ids';

export interface ExtensionUnderTest {
  api: TestingApi;
  /** The extension's folder: the repository root in development. */
  root: vscode.Uri;
}

export async function activateForTests(): Promise<ExtensionUnderTest> {
  const extension = vscode.extensions.getExtension<LipschitzLensApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not loaded`);
  const exports = await extension.activate();
  assert.ok(exports.testing, 'activate() returned no testing API: the extension host is not in test mode');
  return { api: exports.testing, root: extension.extensionUri };
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
