// The extensionTestsPath module: VS Code loads it inside the extension host and awaits run().
// Used by both hosts, the offline one (test/host/run.mjs) and @vscode/test-electron (test/host/runDesktop.mjs).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

function compiledTestFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.js'))
    .sort()
    .map((file) => join(dir, file));
}

// The offline test host forwards only the first argument of a console call intact (the others arrive
// comma-joined, format strings unexpanded), and VS Code pins the extension host's console methods, so
// the reporter's format strings are expanded here. Tests should likewise log one string per call.
Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));

export async function run(): Promise<void> {
  // Workbench start-up (webview service worker, first worker thread) can take seconds on two cores.
  // LIPSCHITZ_TEST_GREP runs only the tests whose titles match (while working on one; CI runs all).
  const grep = process.env.LIPSCHITZ_TEST_GREP;
  const mocha = new Mocha({ ui: 'bdd', color: false, reporter: 'spec', timeout: 60_000, ...(grep ? { grep } : {}) });
  const files = compiledTestFiles(__dirname);
  if (files.length === 0) {
    throw new Error(`no compiled integration tests (*.test.js) under ${__dirname}`);
  }
  for (const file of files) {
    mocha.addFile(file);
  }
  const { passes, failures } = await new Promise<{ passes: number; failures: number }>((done, fail) => {
    try {
      const runner = mocha.run(() => done({ passes: runner.stats?.passes ?? 0, failures: runner.stats?.failures ?? 0 }));
    } catch (error) {
      fail(error);
    }
  });
  console.log(`${passes} passed, ${failures} failed`);
  if (failures > 0 || passes === 0) {
    throw new Error(passes === 0 ? 'no integration test ran' : `${failures} integration test(s) failed`);
  }
}
