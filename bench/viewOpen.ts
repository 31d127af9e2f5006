// Open-to-drawn time of the graph view in the real VS Code (the test host of test/host/run.mjs: a VS
// Code server and Chromium): from the open command to the webview reporting its first graph drawn,
// for PP-OCRv4 rec (765 nodes) by default. The first open also starts the engine worker; the later
// ones read, lay out and draw the model again in a new editor. bench/graphLayout.ts measures the
// worker's part alone.
//
//   npm run bench -- --view [--model FILE] [--runs 3]
//   npx tsx bench/viewOpen.ts [--model FILE] [--runs 3]
//
// Needs the test host (bash test/host/setup.sh) and the model (test/fixtures/thirdParty.ts fetches it).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_MODEL = join(ROOT, 'test', 'fixtures', '.third-party', 'ch_PP-OCRv4_rec_infer.onnx');
const HOST_MODULE = join(ROOT, 'out', 'bench', 'viewOpenHost.js');

function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout }));
  });
}

export interface ViewOpenMeasurement {
  /** From the open command to the webview's first graph on screen. */
  ms: number;
  boxes: number;
  /** When the webview had loaded (its 'ready' message) and when the worker had read and laid out the model. */
  webviewReadyMs: number;
  describedMs: number;
}

export async function measureViewOpen(model: string, runs: number): Promise<ViewOpenMeasurement[]> {
  if (!existsSync(model)) throw new Error(`no model at ${model}: test/fixtures/thirdParty.ts downloads PP-OCRv4 rec`);
  const build = await runNode([join(ROOT, 'esbuild.mjs')]);
  if (build.code !== 0) throw new Error('node esbuild.mjs failed');
  await esbuild.build({
    entryPoints: [join(ROOT, 'bench', 'viewOpenHost.ts')],
    outfile: HOST_MODULE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    external: ['vscode'],
    logLevel: 'warning',
  });
  const host = await runNode([join(ROOT, 'test', 'host', 'run.mjs'), '--tests', HOST_MODULE], {
    ...process.env,
    LIPSCHITZ_BENCH_MODEL: resolve(model),
    LIPSCHITZ_BENCH_RUNS: String(runs),
  });
  const line = host.stdout.split('\n').find((text) => text.includes('view-open {'));
  if (host.code !== 0 || !line) throw new Error(`the VS Code test host run failed (exit ${host.code}):\n${host.stdout}`);
  return (JSON.parse(line.slice(line.indexOf('{'))) as { measurements: ViewOpenMeasurement[] }).measurements;
}

/** Prints the measurements; `args` as on the command line (npm run bench passes --view along). */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string', default: DEFAULT_MODEL }, runs: { type: 'string', default: '3' }, view: { type: 'boolean' } } });
  const measurements = await measureViewOpen(values.model!, Number(values.runs));
  console.log(`Graph view, open to drawn in the real VS Code (${values.model}):`);
  measurements.forEach(({ ms, boxes, webviewReadyMs, describedMs }, k) =>
    console.log(
      `  open ${k + 1}${k === 0 ? ' (starts the engine worker)' : ''}: drawn after ${Math.round(ms)} ms (${boxes} boxes); ` +
        `webview loaded at ${Math.round(webviewReadyMs)} ms, model read and laid out at ${Math.round(describedMs)} ms`,
    ),
  );
  console.log(`  (load average ${loadavg().map((load) => load.toFixed(1)).join(', ')} when done: other work on the machine inflates these)`);
}

if (resolve(process.argv[1] ?? '') === import.meta.filename) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
