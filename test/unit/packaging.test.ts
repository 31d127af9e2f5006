// What the .vsix packages carry: the bundles, the native kernels (linux-x64) or their WebAssembly build
// (universal), the icon, the Details page and
// onnxruntime-node (the fidelity check of every analysis runs the model file on it) as a runtime
// package beside them. Its native binding must
// be required from node_modules, never inlined into a bundle, and only the engine's bundles (worker,
// CLI) load it: the extension host stays light. This checks the bundles' own import graphs rather
// than a built dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

test('only the engine bundles load onnxruntime-node, from node_modules; the package ships it and the native kernels', async () => {
  for (const [entry, loadsRuntime] of [['src/extension.ts', false], ['src/worker/engineWorker.ts', true], ['src/cli/main.ts', true]] as const) {
    const result = await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      external: ['vscode', 'onnxruntime-node'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.length > 10, `${entry}: the bundle's inputs were read`);
    assert.deepEqual(inputs.filter((input) => input.includes('node_modules/onnxruntime')), [], `${entry} inlines onnxruntime files`);
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    assert.equal(imports.includes('onnxruntime-node'), loadsRuntime, `${entry} ${loadsRuntime ? 'does not load' : 'loads'} onnxruntime-node`);
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  assert.ok(manifest.dependencies?.['onnxruntime-node'], 'onnxruntime-node is a runtime dependency');
  const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');
  assert.match(ignore, /^!dist\/native\/kernels\.node$/m, '.vscodeignore ships the kernels');
  assert.match(ignore, /^!node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/\*$/m, '.vscodeignore ships the linux-x64 runtime binaries');
  assert.match(ignore, /^!node_modules\/onnxruntime-common\//m, '.vscodeignore ships onnxruntime-common');
  assert.match(ignore, /^!dist\/native\/kernels\.wasm$/m, '.vscodeignore ships the WebAssembly kernels as the fallback');
});

test('the universal package: the WebAssembly kernels, no native ones, and onnxruntime for the platforms it serves', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(manifest.scripts.package, /vsce package --target linux-x64 .*&& vsce package --ignoreFile packaging\/universal\.vscodeignore /);
  const lines = readFileSync(join(ROOT, 'packaging', 'universal.vscodeignore'), 'utf8').split('\n').filter((line) => line.startsWith('!'));
  assert.ok(lines.includes('!dist/native/kernels.wasm'), 'ships the WebAssembly kernels');
  assert.ok(!lines.some((line) => line.includes('kernels.node')), 'ships no native kernels (they are linux-x64 only)');
  const binaries = lines.filter((line) => line.includes('/bin/napi-v6/'));
  for (const platform of ['darwin/arm64', 'linux/arm64', 'win32/*']) {
    assert.ok(binaries.some((line) => line.includes(`/napi-v6/${platform}/`)), `ships onnxruntime for ${platform}`);
  }
  assert.ok(!binaries.some((line) => line.includes('/linux/x64/')), 'linux-x64 has a package of its own');
  // Every platform line must name files the installed onnxruntime-node has (a rename upstream would ship nothing).
  const installed = join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  for (const line of binaries) {
    const [, platform, arch, file] = /\/napi-v6\/([^/]+)\/([^/]+)\/(.+)$/.exec(line) ?? [];
    for (const a of arch === '*' ? ['x64', 'arm64'] : [arch]) {
      if (file !== '*') assert.ok(existsSync(join(installed, platform, a, file)), `${line}: ${platform}/${a}/${file} exists`);
    }
  }
});

test('the Details page and icon: EXTENSION.md with its images inlined, and a 128×128 PNG icon', async () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { icon: string; scripts: Record<string, string> };
  const icon = readFileSync(join(ROOT, manifest.icon));
  // PNG signature, then the IHDR chunk's width and height (PNG specification, sections 5.2 and 11.2.2).
  assert.deepEqual([...icon.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128]);
  const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');
  assert.match(ignore, new RegExp(`^!${manifest.icon.replace(/\./g, '\\.')}$`, 'm'), '.vscodeignore ships the icon');
  assert.doesNotMatch(ignore, /^!dist\/\*\*/m, 'the CLI package folder (dist/cli-package) stays out of the .vsix');
  assert.match(manifest.scripts.package, /node packaging\/extensionReadme\.mjs && vsce package .*--readme-path dist\/readme\.md/);

  await promisify(execFile)(process.execPath, [join(ROOT, 'packaging', 'extensionReadme.mjs')], { cwd: ROOT });
  const readme = readFileSync(join(ROOT, 'dist', 'readme.md'), 'utf8');
  const images = [...readme.matchAll(/!\[([^\]]*)\]\(([^)]+)\)/g)];
  assert.ok(images.length >= 1, 'the Details page shows a screenshot');
  for (const [, alt, source] of images) {
    assert.match(source, /^data:image\/png;base64,/, `image "${alt}" is inlined`);
    assert.deepEqual([...Buffer.from(source.slice(source.indexOf(',') + 1), 'base64').subarray(1, 4)], [0x50, 0x4e, 0x47], `image "${alt}" decodes to a PNG`);
  }
  assert.match(readme, /^## Analyze a model in three steps$/m);
  assert.match(readme, /^## Settings$/m);
  assert.doesNotMatch(readme, /\]\((?!data:|https:)[^)]*\)/, 'no relative link, which the Details page could not follow');
});
