// The linearised network's passes reuse their arrays within and between passes (docs/derivations.md
// §65.1): a pass's results must not depend on the passes before it (checked bit for bit against a
// fresh network), an array must not be reused while a result still holds it (the backward pass is the
// adjoint of the forward one: ⟨J v + Σ R_j w_j, u⟩ = ⟨v, Jᵀu⟩ + Σ ⟨R_j w_j, (Jᵀu)_j⟩), and a pass never
// writes into its caller's vectors. On random DAGs of every kind of slope layer, with the native
// kernels (which write into the passes' arrays) and the TypeScript operators.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearisedNetwork, type Injection, type SlopeUnits } from '../../src/engine/composed/linearisedNetwork';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import {
  randomAttentionNetwork, randomConvNetwork, randomGraphNetwork, randomLayerNormNetwork, randomProductNetwork, randomSelectionNetwork,
  randomSoftmaxNetwork, randomTransposeNetwork,
} from './helpers/engineRandomNetworks';

const BUILDERS = [
  randomGraphNetwork, randomConvNetwork, randomTransposeNetwork, randomSelectionNetwork, randomProductNetwork, randomLayerNormNetwork,
  randomSoftmaxNetwork, randomAttentionNetwork,
];

function dot(a: Float64Array, b: Float64Array): [number, number] {
  let sum = 0;
  let magnitude = 0;
  for (let i = 0; i < a.length; i++) {
    sum += a[i] * b[i];
    magnitude += Math.abs(a[i] * b[i]);
  }
  return [sum, magnitude];
}

function sameBits(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: entry ${i} is ${actual[i]}, a fresh network gives ${expected[i]}`);
  }
}

describe('passes of the linearised network with reused arrays (derivations §65.1)', () => {
  for (const backend of ['native', 'typescript'] as const) {
    it(`${backend}: every pass equals the same pass on a fresh network, and leaves its caller's vectors as they were`, () => {
      const random = new SeededRandom(6501);
      const gaussians = (n: number) => Float64Array.from({ length: n }, () => random.gaussian());
      let passes = 0;
      let injected = 0;
      for (let k = 0; k < 2 * BUILDERS.length; k++) {
        const { network } = BUILDERS[k % BUILDERS.length](random);
        const prepared = prepareNetwork(network, backend);
        const x0 = gaussians(prepared.inputSize);
        const nominal = pureForward(prepared, x0) as NominalValues;
        const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, Math.pow(10, random.between(-2, 0)));
        const reused = new LinearisedNetwork(prepared, run.slopes);
        const slopeLayers = run.slopes.flatMap((s, j) => (s ? [j] : []));
        for (let trial = 0; trial < 6; trial++) {
          const fresh = new LinearisedNetwork(prepared, run.slopes);
          const input = trial % 3 === 2 ? null : gaussians(prepared.inputSize);
          // Injections at every slope layer, with a radius that is 0 on some entries (as R is on certain units).
          const injections = new Map<number, Injection>();
          for (const j of slopeLayers) {
            const radius = Float64Array.from((run.slopes[j] as SlopeUnits).outputRadius, (r, i) => (i % 4 === 0 ? 0 : r + random.uniform()));
            const entries = Int32Array.from(radius.keys()).filter((i) => radius[i] !== 0);
            injections.set(j, { values: gaussians(radius.length), scale: random.between(0.5, 2), radius, entries });
          }
          const given = [input, ...[...injections.values()].map((i) => i.values)].map((v) => v && Float64Array.from(v));
          sameBits(reused.forward(input, injections), fresh.forward(input, injections), `network ${k}, trial ${trial}: forward`);
          injected += injections.size;
          const u = gaussians(reused.outputSize());
          const uGiven = Float64Array.from(u);
          const back = reused.backward(u, true, slopeLayers);
          const expected = fresh.backward(u, true, slopeLayers);
          sameBits(back.input as Float64Array, expected.input as Float64Array, `network ${k}, trial ${trial}: backward to the input`);
          for (const j of slopeLayers) sameBits(back.layers.get(j) as Float64Array, expected.layers.get(j) as Float64Array, `network ${k}, trial ${trial}: backward to layer ${j}`);
          // As the stacked operators do: the cotangents go back to the reused network once read.
          const [output, outputMagnitude] = dot(reused.forward(input, injections), u);
          let [adjoint, magnitude] = input ? dot(input, back.input as Float64Array) : [0, 0];
          for (const [j, { values, scale, radius }] of injections) {
            const [term, termMagnitude] = dot(Float64Array.from(values, (w, i) => w * scale * radius[i]), back.layers.get(j) as Float64Array);
            adjoint += term;
            magnitude += termMagnitude;
          }
          assert.ok(Math.abs(output - adjoint) <= 1e-9 * (magnitude + outputMagnitude), `network ${k}, trial ${trial}: ⟨J v, u⟩ = ${output}, ⟨v, Jᵀu⟩ = ${adjoint}`);
          reused.recycle(back.input, ...back.layers.values());
          sameBits(u, uGiven, `network ${k}, trial ${trial}: u unchanged`);
          [input, ...[...injections.values()].map((i) => i.values)].forEach((v, i) => v && sameBits(v, given[i] as Float64Array, `network ${k}, trial ${trial}: caller's vector ${i} unchanged`));
          passes += 2;
        }
      }
      assert.ok(passes >= 190 && injected > 100, `${passes} passes, ${injected} injections`);
    });
  }
});
