// What the .vsix carries: the bundles, the native kernels, the icon and the Details page, and no runtime package. onnxruntime-node is
// a development dependency (tests and benchmark), so a bundle that came to load it would break the
// installed extension; this checks the bundles' own import graphs rather than a built dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

test('the shipped bundles never load onnxruntime-node, and the package ships the native kernels', async () => {
  for (const entry of ['src/extension.ts', 'src/worker/engineWorker.ts', 'src/cli/main.ts']) {
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
    const runtime = inputs.filter((input) => input.includes('engine/runtime/'));
    assert.deepEqual(runtime, [], `${entry} bundles the onnxruntime wrappers`);
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    assert.ok(!imports.includes('onnxruntime-node'), `${entry} imports onnxruntime-node`);
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  assert.equal(manifest.dependencies?.['onnxruntime-node'], undefined, 'onnxruntime-node is not a runtime dependency');
  assert.ok(manifest.devDependencies?.['onnxruntime-node'], 'onnxruntime-node stays a development dependency');
  assert.match(readFileSync(join(ROOT, '.vscodeignore'), 'utf8'), /^!dist\/native\/kernels\.node$/m, '.vscodeignore ships the kernels');
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
