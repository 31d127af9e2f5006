// Checks several operator test files make of a whole small network: every layer against onnxruntime's
// run of the model file, and sampled points of the ball against every layer's bound and the network bound.
import assert from 'node:assert/strict';
import { analyzeNetwork } from '../../../src/engine/analyze';
import { pureForward } from '../../../src/engine/forward';
import { runEpsilon } from '../../../src/engine/layerBounds';
import { NETWORK_INPUT, type Network } from '../../../src/engine/network';
import { prepareNetwork } from '../../../src/engine/prepared';
import type { SeededRandom } from '../../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS } from '../../../src/engine/spectral/certifiedNorm';
import { mulberry32 } from '../../fixtures/onnxBuilder';
import { referenceForward } from './engineNetworks';
import { layersAgainstRuntime } from './layersAgainstRuntime';

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/** Every layer's output against onnxruntime's at a seeded input (shapes exact, values within 1e-5 of the scale). */
export async function assertMatchesRuntime(bytes: Uint8Array, network: Network): Promise<void> {
  const rng = mulberry32(5);
  const x0 = Float32Array.from({ length: network.inputShape.reduce((p, q) => p * q, 1) }, () => rng() * 2 - 1);
  for (const layer of await layersAgainstRuntime(bytes, network, x0)) {
    assert.deepEqual(layer.dims, [1, ...layer.outputShape], `${layer.label}: shape`);
    assert.ok(layer.difference <= 1e-5 * layer.scale, `${layer.label}: max |Δ| ${layer.difference} at scale ${layer.scale}`);
  }
}

/** Sampled points of the ball never beat a layer's bound, its output radius, or the network bound; the composed bound applies. */
export async function assertSampledSound(network: Network, random: SeededRandom): Promise<void> {
  const gaussianVector = (n: number) => Float64Array.from({ length: n }, () => random.gaussian());
  const prepared = prepareNetwork(network);
  const x0 = gaussianVector(prepared.inputSize);
  const nominal = pureForward(prepared, x0);
  if (nominal instanceof Promise) throw new Error('pure forward must be synchronous');
  const epsilons = [1e-3, 0.1, 1];
  const analysis = await analyzeNetwork(network, x0, { epsilons, backend: 'typescript' });
  assert.ok(analysis.runs.some((run) => run.network.method === 'composed'), 'the composed bound applies');
  const base = referenceForward(network, x0);
  for (const [r, epsilon] of epsilons.entries()) {
    const layers = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, epsilon).layers;
    const networkBound = analysis.runs[r].network.localBound;
    assert.equal(analysis.runs[r].epsilon, epsilon);
    for (let s = 0; s < 150; s++) {
      const direction = gaussianVector(x0.length);
      const radius = epsilon * random.uniform();
      const x = x0.map((v, i) => v + (radius * direction[i]) / Math.sqrt(dot(direction, direction)));
      const values = referenceForward(network, x);
      network.layers.forEach((layer, k) => {
        const before = layer.inputs[0] === NETWORK_INPUT ? x0 : base[layer.inputs[0]];
        const after = layer.inputs[0] === NETWORK_INPUT ? x : values[layer.inputs[0]];
        const moveIn = Math.hypot(...after.map((v, i) => v - before[i]));
        const moveOut = Math.hypot(...values[k].map((v, i) => v - base[k][i]));
        assert.ok(moveOut <= layers[k].localBound * moveIn * (1 + 1e-9) + 1e-12, `${layer.label} at ε=${epsilon}: ${moveOut} > ${layers[k].localBound} · ${moveIn}`);
        assert.ok(moveOut <= layers[k].epsilonOut * (1 + 1e-9) + 1e-12, `${layer.label} at ε=${epsilon}: moved ${moveOut} > ${layers[k].epsilonOut}`);
      });
      const moved = Math.hypot(...values[network.output].map((v, i) => v - base[network.output][i]));
      assert.ok(moved <= networkBound * radius * (1 + 1e-9) + 1e-12, `network at ε=${epsilon}: ${moved} > ${networkBound} · ${radius}`);
    }
  }
}
