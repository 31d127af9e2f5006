// The CLI's npm package for CI (dist/cli-package, written by every build; `npm run package:cli` packs
// it): npm pack gives a tarball of the bundle, the native kernels and their WebAssembly build, README,
// licence and, as bundled dependencies, onnxruntime-node and onnxruntime-common (the fidelity check runs the model on them);
// installed offline into an empty folder it needs nothing from a registry, and `npx lipschitz-lens
// analyze` on the example prints the same bounds and fidelity check as the repository's own CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const PACKAGE = join(ROOT, 'dist', 'cli-package');
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

const scratch = mkdtempSync(join(tmpdir(), 'lipschitz-lens-cli-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The table without its timing line, which differs from run to run. */
function bounds(table: string): string {
  return table.split('\n').filter((line) => !line.startsWith('engine:')).join('\n');
}

test('dist/cli.js is executable', () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
  assert.ok((statSync(join(ROOT, 'dist', 'cli.js')).mode & 0o111) === 0o111, 'dist/cli.js has its executable bits');
});

test('the CLI tarball installs offline into an empty folder and analyses the example with npx', async () => {
  assert.ok(existsSync(join(PACKAGE, 'package.json')), `${PACKAGE} is missing: build it with \`npm run build\``);
  const env = { ...process.env, npm_config_cache: join(scratch, 'npm-cache'), npm_config_update_notifier: 'false' };
  const { stdout: packed } = await run(npm, ['pack', PACKAGE, '--json', '--pack-destination', scratch], { env });
  const [tarball] = JSON.parse(packed) as { filename: string; files: { path: string; mode: number }[]; bundled: string[] }[];
  const paths = tarball.files.map((file) => file.path);
  const own = paths.filter((path) => !path.startsWith('node_modules/')).sort();
  assert.deepEqual(own, ['LICENSE', 'README.md', 'cli.js', 'native/kernels.node', 'native/kernels.wasm', 'package.json']);
  assert.deepEqual(tarball.bundled.sort(), ['onnxruntime-common', 'onnxruntime-node']);
  const runtime = paths.filter((path) => path.startsWith('node_modules/'));
  assert.ok(runtime.includes('node_modules/onnxruntime-node/dist/index.js'), 'onnxruntime-node\'s JS is bundled');
  assert.ok(runtime.some((path) => /^node_modules\/onnxruntime-node\/bin\/napi-v6\/[^/]+\/[^/]+\/onnxruntime_binding\.node$/.test(path)), 'with its binding');
  assert.deepEqual(runtime.filter((path) => !/^node_modules\/onnxruntime-(node|common)\//.test(path)), [], 'no other package rides along');
  assert.equal(tarball.files.find((file) => file.path === 'cli.js')!.mode & 0o111, 0o111, 'the bin is executable in the tarball');

  const project = join(scratch, 'project');
  mkdirSync(join(project, 'examples', 'mnist'), { recursive: true });
  for (const file of ['mnist-cnn.onnx', 'sample-input.json']) cpSync(join(ROOT, 'examples', 'mnist', file), join(project, 'examples', 'mnist', file));
  await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', join(scratch, tarball.filename)], { cwd: project, env });
  assert.deepEqual(readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.')), ['lipschitz-lens'], 'nothing but the package was installed');

  const args = ['analyze', 'examples/mnist/mnist-cnn.onnx', '--eps', '0.001'];
  const installed = await run(npx, ['--offline', 'lipschitz-lens', ...args], { cwd: project, env, maxBuffer: 16 << 20 });
  assert.match(installed.stdout, /network: local bound \d/, 'the table has the network bound');
  assert.match(installed.stdout, /^engine: native kernels \(/m, 'the installed CLI found its native kernels');
  assert.match(installed.stdout, /^fidelity: the analysed network matches the model file on onnxruntime /m, 'the fidelity check ran');
  assert.doesNotMatch(installed.stdout, /not checked against the model file/, 'the installed CLI ran the fidelity check on its bundled onnxruntime');
  const repository = await run(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { cwd: ROOT, maxBuffer: 16 << 20 });
  assert.equal(bounds(installed.stdout), bounds(repository.stdout), 'the installed CLI prints the same bounds as the repository build');
});
