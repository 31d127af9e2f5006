// What the .vsix carries: the bundles and the native kernels, and no runtime package. onnxruntime-node is
// a development dependency (tests and benchmark), so a bundle that came to load it would break the
// installed extension; this checks the bundles' own import graphs rather than a built dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
