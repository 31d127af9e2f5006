// One build script, one entry per runtime: extension host, engine worker, CLI, webview.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  // onnxruntime-node ships native binaries next to its JS; it must be required from node_modules.
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const builds = [
  { ...nodeCommon, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...nodeCommon, entryPoints: ['src/worker/engineWorker.ts'], outfile: 'dist/worker.js' },
  {
    ...nodeCommon,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    entryPoints: ['media/main.ts'],
    outfile: 'dist/webview.js',
    logLevel: 'warning',
  },
];

// Integration tests (test/host/run.mjs) load in the extension host: CommonJS, with vscode and every
// package resolved from node_modules at run time. Helpers such as probe.ts are bundled into each test.
if (tests) {
  const testDir = 'test/integration';
  // The test module runs every *.test.js it finds: a deleted test must not linger as a stale bundle.
  await rm('out/test/integration', { recursive: true, force: true });
  const entryPoints = (await readdir(testDir, { recursive: true }))
    .filter((file) => file === 'index.ts' || file.endsWith('.test.ts'))
    .map((file) => `${testDir}/${file}`);
  builds.push({
    ...nodeCommon,
    packages: 'external',
    sourcemap: true,
    minify: false,
    entryPoints,
    outbase: testDir,
    outdir: 'out/test/integration',
  });
}

async function copyStatic() {
  await mkdir('dist', { recursive: true });
  await copyFile('media/main.css', 'dist/webview.css');
}

if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
  await copyStatic();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  await copyStatic();
}
