import { readModel } from './src/onnx/reader';
import { normaliseGraph } from './src/engine/normalise/normalise';
import { prepareNetwork } from './src/engine/prepared';
import { pureForward } from './src/engine/forward';
(async () => {
  const r = normaliseGraph(await readModel(process.argv[2]), { inputShape: [3, 48, 192] });
  const net = r.network!;
  const prepared = prepareNetwork(net);
  const x0 = Float64Array.from({ length: prepared.inputSize }, (_, i) => Math.sin(i));
  const v = pureForward(prepared, x0) as any;
  net.layers.slice(20, 32).forEach((l, k) => { const i = k + 20; const o = v.outputs[i]; let bad = 0; for (const x of o) if (!Number.isFinite(x)) bad++; console.log(i, l.label.slice(0, 60), l.op.kind, l.inputs.join(','), l.outputShape.join('x'), 'bad', bad, 'err', v.outputErrors[i]); });
})();
import { runEpsilon } from './src/engine/layerBounds';
import { DEFAULT_SPECTRAL_OPTIONS } from './src/engine/spectral/certifiedNorm';
(async () => {
  const r = normaliseGraph(await readModel(process.argv[2]), { inputShape: [3, 48, 192] });
  const prepared = prepareNetwork(r.network!);
  const x0 = Float64Array.from({ length: prepared.inputSize }, (_, i) => Math.sin(i));
  const nominal = pureForward(prepared, x0) as any;
  runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS, onLayerResult: (l) => console.log(l.index, l.kind, l.epsilonIn, l.epsilonOut, l.localBound) }, 1e-5);
})().catch((e) => console.log('ERR', e.message));
