// Runs test/packaged (bundled to out/test/packaged) in the offline VS Code test host against the
// extension as a user installs it: the .vsix of `npm run package` is installed into the server, and its
// unpacked copy in out/vsix (not the repository) is the extension under test.
//
// Usage: npm run test:package (packages, bundles the tests, then runs this).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { name, version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const vsix = join(repoRoot, `${name}-linux-x64-${version}.vsix`);
if (!existsSync(vsix)) {
  console.error(`test host: ${vsix} is missing; run \`npm run package\` first`);
  process.exit(1);
}
const unpacked = join(repoRoot, 'out', 'vsix');
rmSync(unpacked, { recursive: true, force: true });
// A .vsix is a zip archive; python3 is part of the test host's setup (test/host/setup.sh).
const unzip = spawnSync('python3', ['-m', 'zipfile', '-e', vsix, unpacked], { stdio: 'inherit' });
if (unzip.status !== 0) process.exit(unzip.status ?? 1);

const run = spawnSync(
  process.execPath,
  [join(repoRoot, 'test', 'host', 'run.mjs'), '--extension', join(unpacked, 'extension'), '--tests', join(repoRoot, 'out', 'test', 'packaged', 'index.js'), '--install', vsix, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
