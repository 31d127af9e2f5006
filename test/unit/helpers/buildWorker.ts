// Bundles the engine worker the way esbuild.mjs does, so unit tests drive the same single-file
// worker that ships (a worker thread cannot load .ts sources through tsx). The bundle goes under
// out/ in the repository, so that external packages (onnxruntime-node) resolve from node_modules.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** `parent` outside the repository gives a worker that finds no dist/native/kernels.node above it. */
export async function buildWorkerBundle(parent = join(repoRoot, 'out', 'test', 'unit')): Promise<string> {
  mkdirSync(parent, { recursive: true });
  const outfile = join(mkdtempSync(join(parent, 'worker-')), 'worker.js');
  await esbuild.build({
    entryPoints: [join(repoRoot, 'src', 'worker', 'engineWorker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['onnxruntime-node'],
    logLevel: 'warning',
  });
  return outfile;
}
