// The lower-bound search with its candidates evaluated on the engine (LowerBoundSearch.run) against the
// same search ranked on onnxruntime (runScreened, docs/derivations.md §16a), taking turns in one
// process on one model at one ε: the engine's operator applications (steady under load) and the wall
// time of each search, and the value each reports. The model's synthetic input, as the CLI uses.
//
//   npx tsx bench/lowerBoundSearch.ts MODEL.onnx [--eps 0.001] [--rounds 3]

import { accurateForward } from '../src/engine/accurateForward';
import { midpointDirection } from '../src/engine/composed/composedBound';
import { runEpsilon } from '../src/engine/layerBounds';
import { loadAnalysisNetwork } from '../src/engine/loadNetwork';
import { LowerBoundSearch } from '../src/engine/lowerBound';
import { allocateLarge, defaultBackend, kernelsFor } from '../src/engine/native/kernels';
import { matchInputShape, syntheticInput } from '../src/engine/nominalInput';
import { prepareNetwork } from '../src/engine/prepared';
import { ModelRuntime } from '../src/engine/runtime/modelRuntime';
import { DEFAULT_SPECTRAL_OPTIONS } from '../src/engine/spectral/certifiedNorm';
import { readModel } from '../src/onnx/reader';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path || path.startsWith('--')) throw new Error('usage: npx tsx bench/lowerBoundSearch.ts MODEL.onnx [--eps E] [--rounds N]');
  const epsilon = option('--eps', 1e-3);
  const rounds = option('--rounds', 3);
  const { network } = loadAnalysisNetwork(await readModel(path, { allocate: allocateLarge }));
  const backend = defaultBackend();
  const prepared = prepareNetwork(network, backend);
  const x0 = matchInputShape(syntheticInput(network.inputShape), network.inputShape, network.inputName);
  const nominal = await accurateForward(prepared, x0);
  const spectral = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: backend === 'typescript' ? null : kernelsFor(backend) };
  // The layer run gives the slopes the linearised direction needs (as analyze.ts does before the search).
  const outcome = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral }, epsilon);
  const direction = midpointDirection(prepared, outcome.slopes, spectral.seed);
  const runtime = new ModelRuntime(path);
  try {
    const outputs = await runtime.outputs(network);
    if (!outputs) throw new Error(`${path}: onnxruntime cannot run the model`);
    for (let round = 0; round < rounds; round++) {
      const measure = async (run: (search: LowerBoundSearch) => Promise<{ value: number }> | { value: number }) => {
        const applications = prepared.counters.applications;
        const started = performance.now();
        const { value } = await run(new LowerBoundSearch(prepared, x0, {}));
        return { value, ms: performance.now() - started, applications: prepared.counters.applications - applications };
      };
      const engine = await measure((search) => search.run(epsilon, direction));
      const ranked = await measure((search) => search.runScreened(epsilon, direction, outputs));
      console.log(
        `round ${round + 1}: engine ${engine.ms.toFixed(0)} ms, ${engine.applications} applications, lower ${engine.value}; ` +
          `ranked on onnxruntime ${ranked.ms.toFixed(0)} ms, ${ranked.applications} applications, lower ${ranked.value}; ` +
          `time ratio ${(ranked.ms / engine.ms).toFixed(2)}`,
      );
    }
  } finally {
    await runtime.release();
  }
}

void main();
