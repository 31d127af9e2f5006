import { readModel } from './src/onnx/reader';
import { loadAnalysisNetwork } from './src/engine/loadNetwork';
import { readNominalInputFile } from './src/engine/pipeline';
import { matchInputShape } from './src/engine/nominalInput';
import { prepareNetwork } from './src/engine/prepared';
import { pureForward, type NominalValues } from './src/engine/forward';
import { runEpsilon } from './src/engine/layerBounds';
import { DEFAULT_SPECTRAL_OPTIONS } from './src/engine/spectral/certifiedNorm';
import { composedBound } from './src/engine/composed/composedBound';
const model = await readModel(process.argv[2]);
const { network } = loadAnalysisNetwork(model);
const input = await readNominalInputFile(process.argv[3]);
const x0 = matchInputShape(input, network.inputShape, network.inputName);
const prepared = prepareNetwork(network);
const nominal = (await pureForward(prepared, x0)) as NominalValues;
for (const eps of process.argv.slice(4).map(Number)) {
  let t = performance.now();
  const c0 = { ...prepared.counters };
  const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, eps);
  const layerMs = performance.now() - t;
  const c1 = { ...prepared.counters };
  t = performance.now();
  const res = composedBound(prepared, run.slopes, DEFAULT_SPECTRAL_OPTIONS);
  console.log(eps, 'layer run', layerMs.toFixed(0), 'ms', (c1.applications - c0.applications), 'apps; composed', (performance.now() - t).toFixed(0), 'ms', prepared.counters.applications - c1.applications, 'apps', 'product', run.localBound.toFixed(3), 'composed', res.value.toFixed(3));
}
