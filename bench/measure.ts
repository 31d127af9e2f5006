// Measures one benchmark model in a process of its own (so its peak RSS is its own): reading, the
// normaliser, a plain onnxruntime forward pass (float32: the machine-limit reference the engine's
// achieved GFLOP/s is compared with), the onnxruntime Gram operators of every conv/dense layer (single
// vector and a batch of 10), the engine's native float64 Gram product of the same layers, the same
// kernels' WebAssembly build (one thread, SIMD128), and the pure-TypeScript one within a time budget (with its agreement with onnxruntime). One Gram product per
// layer, isolated from the Lanczos around it, says how much of the engine's time the kernels explain.
// Prints one JSON line (ModelMeasurement) on stdout; bench/run.ts collects it.
//
//   tsx bench/measure.ts <model name> <model path>

import { statSync } from 'node:fs';
import { normaliseGraph, requireNetwork } from '../src/engine/normalise/normalise';
import type { ConvParams, DenseParams, Layer } from '../src/engine/network';
import { kernelsFor, nativeProblem, requireNativeKernels, type NativeKernels, type OperatorBackend } from '../src/engine/native/kernels';
import type { LinearOperator } from '../src/engine/operators/linearOperator';
import { createAffineOperator } from '../src/engine/operators/registry';
import { SeededRandom } from '../src/engine/random';
import { OrtLinearOperator } from './ortLinear';
import { readModel } from '../src/onnx/reader';
import { benchInput, benchModel, parameterCount } from './models';

export const SWEEP_BATCH = 10;

export interface LayerMeasurement {
  label: string;
  kind: 'conv' | 'dense';
  inSize: number;
  outSize: number;
  /** Floating-point operations of one Gram product D Aᵀ R² A D x. */
  gramFlops: number;
  ortGramMs: number;
  ortRowNormsMs: number;
  /** Per vector, in a batch of SWEEP_BATCH. */
  ortBatchedGramMs: number;
  /** The engine's native float64 Gram product (absent when the kernels are not built). */
  nativeGramMs?: number;
  /** The same product on the WebAssembly build of the kernels (absent when it is not built). */
  wasmGramMs?: number;
  tsGramMs?: number;
  /** ‖S_ort x − S_ts x‖ / ‖S_ts x‖ on the same x, r, d. */
  relativeError?: number;
}

export interface ModelMeasurement {
  model: string;
  parameters: number;
  fileBytes: number;
  threads: number;
  readMs: number;
  normaliseMs: number;
  forwardFlops: number;
  ortForwardSessionMs: number;
  ortForwardMs: number;
  ortOperatorSessionsMs: number;
  layers: LayerMeasurement[];
  ortGramPassMs: number;
  ortRowNormsPassMs: number;
  ortBatchedGramPassMs: number;
  gramFlops: number;
  /** Native Gram products of every layer, and the kernels' instruction set ('' with the problem when unavailable). */
  nativeGramPassMs?: number;
  nativeIsa: string;
  nativeProblem: string;
  /** WebAssembly Gram products of every layer ('' problem when they ran). */
  wasmGramPassMs?: number;
  wasmProblem: string;
  /** Pure-TS Gram time summed over the layers it ran on, and the ORT time of the same layers. */
  tsGramMs: number;
  ortGramMsSameLayers: number;
  tsSkipped: string[];
  maxRelativeError: number;
  /** Forced weight pre-packing (BENCH_PREPACK), or 'default' (convs only). */
  prepack: boolean | 'default';
  /** Whether the operator sessions kept onnxruntime's memory arena (BENCH_ARENA=0 switches it off). */
  memoryArena: boolean;
  /** Resident set (MiB) right after each phase: what each one keeps alive. */
  rssAfterMiB: Record<string, number>;
  /** Peak RSS (MiB) after the ORT phases, before any pure-TS operator existed. */
  peakRssOrtMiB: number;
  peakRssMiB: number;
}

const threads = Number(process.env.BENCH_THREADS ?? 2);
/** BENCH_PREPACK=0 / 1 forces onnxruntime's weight pre-packing off / on for every layer (default: convs only). */
const prepack = process.env.BENCH_PREPACK === undefined ? undefined : process.env.BENCH_PREPACK !== '0';
const memoryArena = process.env.BENCH_ARENA !== '0';
/** Wall-time budget of the pure-TS Gram pass per model: layers predicted to exceed it are skipped. */
const tsBudgetMs = Number(process.env.BENCH_TS_BUDGET_MS ?? 60_000);

type Ort = typeof import('onnxruntime-node');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require('onnxruntime-node') as Ort;

/** Median wall time of `run`, repeated until ~minMs has elapsed (at least `minRuns`), after one warm-up. */
async function timeIt(run: () => Promise<unknown>, minMs = 150, minRuns = 3, maxRuns = 50): Promise<number> {
  await run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < minRuns || (performance.now() - started < minMs && times.length < maxRuns)) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

interface LinearLayer {
  layer: Layer;
  params: ConvParams | DenseParams;
}

function linearLayers(layers: Layer[]): LinearLayer[] {
  const out: LinearLayer[] = [];
  for (const layer of layers) {
    if (layer.op.kind !== 'affine') continue;
    const params = layer.op.linear;
    if (params.kind === 'conv' || params.kind === 'dense') out.push({ layer, params });
  }
  return out;
}

function multiplyAdds({ layer, params }: LinearLayer): number {
  if (params.kind === 'dense') return params.outFeatures * params.inFeatures;
  const [, perGroupIn, kh, kw] = params.weightShape;
  return layer.outputShape.reduce((a, b) => a * b, 1) * perGroupIn * kh * kw;
}

function relativeError(actual: Float32Array, expected: Float64Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

interface LayerScales {
  r: Float32Array;
  d: Float32Array;
  x: Float32Array;
}

/** D Aᵀ R² A D x on the engine's operator of the layer, the product Lanczos repeats on the input side. */
function gramProduct({ layer, params }: LinearLayer, { r, d, x }: LayerScales, backend: OperatorBackend): () => Float64Array {
  const op: LinearOperator = createAffineOperator(params, layer.inputShapes[0], layer.label, backend).linear;
  const masked = Float64Array.from(x, (v, j) => v * d[j]);
  const rowScaleSquared = Float64Array.from(r, (v) => v * v);
  return () => {
    let s: Float64Array;
    if (op.gram) {
      s = op.gram(masked, rowScaleSquared);
    } else {
      const ax = op.apply(masked);
      for (let k = 0; k < ax.length; k++) ax[k] *= rowScaleSquared[k];
      s = op.applyTranspose(ax);
    }
    for (let k = 0; k < s.length; k++) s[k] *= d[k];
    return s;
  };
}

/** The kernels `load` returns, or null (with the reason given to `problem`) when they are not available. */
function available(load: () => NativeKernels, problem?: (reason: string) => void): NativeKernels | null {
  try {
    return load();
  } catch (error) {
    problem?.((error as Error).message);
    return null;
  }
}

async function measure(name: string, path: string): Promise<ModelMeasurement> {
  const spec = benchModel(name);
  const random = new SeededRandom(7);
  let t = performance.now();
  const model = await readModel(path);
  const readMs = performance.now() - t;
  const rssAfterMiB: Record<string, number> = { read: rssMiB() };
  t = performance.now();
  const network = requireNetwork(normaliseGraph(model), path);
  const normaliseMs = performance.now() - t;
  rssAfterMiB.normalise = rssMiB();
  const linear = linearLayers(network.layers);
  const forwardFlops = linear.reduce((s, l) => s + 2 * multiplyAdds(l), 0);

  t = performance.now();
  const forwardSession = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const ortForwardSessionMs = performance.now() - t;
  rssAfterMiB.forwardSession = rssMiB();
  const x0 = new ort.Tensor('float32', benchInput(spec), [1, ...spec.inputShape]);
  const ortForwardMs = await timeIt(() => forwardSession.run({ [forwardSession.inputNames[0]]: x0 }));
  await forwardSession.release();
  rssAfterMiB.forwardReleased = rssMiB();

  // Realistic scales: r in [0, 1] with a quarter of the rows removed, d a mask with 80 % ones.
  const scales = linear.map(({ layer }) => {
    const inSize = layer.inputShapes[0].reduce((a, b) => a * b, 1);
    const outSize = layer.outputShape.reduce((a, b) => a * b, 1);
    const r = Float32Array.from({ length: outSize }, () => (random.uniform() < 0.25 ? 0 : random.uniform()));
    const d = Float32Array.from({ length: inSize }, () => (random.uniform() < 0.8 ? 1 : 0));
    const x = Float32Array.from({ length: inSize }, () => random.gaussian());
    return { r, d, x, inSize, outSize };
  });

  t = performance.now();
  const operators: OrtLinearOperator[] = [];
  for (const { layer, params } of linear) {
    operators.push(await OrtLinearOperator.create(params, layer.inputShapes[0], layer.label, { intraOpNumThreads: threads, prepackWeights: prepack, memoryArena }));
  }
  const ortOperatorSessionsMs = performance.now() - t;
  rssAfterMiB.operatorSessions = rssMiB();

  const layers: LayerMeasurement[] = [];
  const ortOutputs: Float32Array[] = [];
  for (let i = 0; i < linear.length; i++) {
    const op = operators[i];
    const { r, d, x, inSize, outSize } = scales[i];
    const gram = op.gram(r, d);
    ortOutputs.push(Float32Array.from(await gram.applyGram(x)));
    const ortGramMs = await timeIt(() => gram.applyGram(x));
    const ortRowNormsMs = await timeIt(() => op.rowNormsSquared(d));
    const batchX = new Float32Array(SWEEP_BATCH * inSize);
    for (let b = 0; b < SWEEP_BATCH; b++) batchX.set(x, b * inSize);
    const batchedGram = op.gram(r, d);
    const ortBatchedGramMs = (await timeIt(() => batchedGram.applyGram(batchX, SWEEP_BATCH), 100, 2, 10)) / SWEEP_BATCH;
    layers.push({
      label: linear[i].layer.label,
      kind: linear[i].params.kind,
      inSize,
      outSize,
      gramFlops: 4 * multiplyAdds(linear[i]),
      ortGramMs,
      ortRowNormsMs,
      ortBatchedGramMs,
    });
  }
  for (const op of operators) await op.release();
  const peakRssOrtMiB = peakRssMiB();

  const kernels = available(requireNativeKernels);
  if (kernels) {
    kernels.setThreads(threads);
    for (let i = 0; i < linear.length; i++) {
      // One layer's operator at a time, so its float64 plan is collectable before the next is built.
      const nativeGram = gramProduct(linear[i], scales[i], 'native');
      layers[i].nativeGramMs = await timeIt(async () => nativeGram());
    }
  }
  let wasmProblem = '';
  const wasm = available(() => kernelsFor('webassembly'), (problem) => (wasmProblem = problem));
  if (wasm) {
    for (let i = 0; i < linear.length; i++) {
      const wasmGram = gramProduct(linear[i], scales[i], 'webassembly');
      layers[i].wasmGramMs = await timeIt(async () => wasmGram());
    }
  }

  // Pure TypeScript, cheapest layers first so the budget covers as many layers as it can.
  const tsSkipped: string[] = [];
  let tsSpentMs = 0;
  let tsFlopsPerMs = 0;
  const order = layers.map((_, i) => i).sort((a, b) => layers[a].gramFlops - layers[b].gramFlops);
  for (const i of order) {
    const predicted = tsFlopsPerMs > 0 ? layers[i].gramFlops / tsFlopsPerMs : 0;
    if (tsSpentMs + predicted > tsBudgetMs) {
      tsSkipped.push(linear[i].layer.label);
      continue;
    }
    const tsGram = gramProduct(linear[i], scales[i], 'typescript');
    t = performance.now();
    const s = tsGram();
    let elapsed = performance.now() - t;
    tsSpentMs += elapsed;
    // A quick first run is dominated by JIT compilation: run it again and keep the faster.
    if (elapsed < 200) {
      t = performance.now();
      tsGram();
      const again = performance.now() - t;
      tsSpentMs += again;
      elapsed = Math.min(elapsed, again);
    }
    layers[i].tsGramMs = elapsed;
    layers[i].relativeError = relativeError(ortOutputs[i], s);
    const measured = layers.filter((l) => l.tsGramMs !== undefined);
    tsFlopsPerMs = measured.reduce((a, l) => a + l.gramFlops, 0) / measured.reduce((a, l) => a + l.tsGramMs!, 0);
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const tsLayers = layers.filter((l) => l.tsGramMs !== undefined);
  return {
    model: name,
    parameters: parameterCount(spec),
    fileBytes: statSync(path).size,
    threads,
    readMs,
    normaliseMs,
    forwardFlops,
    ortForwardSessionMs,
    ortForwardMs,
    ortOperatorSessionsMs,
    layers,
    ortGramPassMs: sum(layers.map((l) => l.ortGramMs)),
    ortRowNormsPassMs: sum(layers.map((l) => l.ortRowNormsMs)),
    ortBatchedGramPassMs: sum(layers.map((l) => l.ortBatchedGramMs)),
    gramFlops: sum(layers.map((l) => l.gramFlops)),
    ...(kernels ? { nativeGramPassMs: sum(layers.map((l) => l.nativeGramMs ?? 0)) } : {}),
    nativeIsa: kernels?.describe().isa ?? '',
    nativeProblem: nativeProblem(),
    ...(wasm ? { wasmGramPassMs: sum(layers.map((l) => l.wasmGramMs ?? 0)) } : {}),
    wasmProblem,
    tsGramMs: sum(tsLayers.map((l) => l.tsGramMs!)),
    ortGramMsSameLayers: sum(tsLayers.map((l) => l.ortGramMs)),
    tsSkipped,
    maxRelativeError: Math.max(0, ...tsLayers.map((l) => l.relativeError!)),
    prepack: prepack ?? 'default',
    memoryArena,
    rssAfterMiB,
    peakRssOrtMiB,
    peakRssMiB: peakRssMiB(),
  };
}

const [name, path] = process.argv.slice(2);
if (!name || !path) {
  console.error('usage: tsx bench/measure.ts <model name> <model path>');
  process.exitCode = 2;
} else {
  measure(name, path).then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
