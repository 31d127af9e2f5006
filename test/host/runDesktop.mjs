// Runs the same integration test module in a desktop VS Code downloaded by @vscode/test-electron, for
// contributors whose machines can reach the VS Code download servers (CI cannot: it uses run.mjs).
// The webview probe exists only in the offline host, so tests that read webview text or take
// screenshots fail here with a message saying so. On Linux without a display, run under xvfb-run.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspace = await mkdtemp(join(tmpdir(), 'lipschitz-desktop-'));
let exitCode = 0;
try {
  await cp(join(repoRoot, 'test', 'fixtures'), workspace, { recursive: true });
  await runTests({
    // The version the offline host (code-server 4.100.3) runs and engines.vscode targets.
    version: '1.100.3',
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'out', 'test', 'integration', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
  });
} catch (error) {
  console.error(`desktop test run failed: ${error.message ?? error}`);
  exitCode = 1;
} finally {
  await rm(workspace, { recursive: true, force: true });
}
process.exit(exitCode);
