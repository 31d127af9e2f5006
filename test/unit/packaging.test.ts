// What the .vsix carries: the bundles, the native kernels, and onnxruntime-node (the fidelity check of
// every analysis runs the model file on it) as a runtime package beside them. Its native binding must
// be required from node_modules, never inlined into a bundle, and only the engine's bundles (worker,
// CLI) load it: the extension host stays light. This checks the bundles' own import graphs rather
// than a built dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
