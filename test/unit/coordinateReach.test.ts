// Per-coordinate reach in the slopes-only run (docs/derivations.md §67): every activation unit's secant
// slope at sampled and hill-climbed points of the ball lies in that run's slope interval, the network
// bound is never beaten, and a hand-derived squared-magnitude → Clip floor → Log network (the shape of an
// audio front end) is bounded near its exact constant instead of by Log's slope at the floor.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { activate } from '../../src/engine/activations';
import { analyzeNetwork } from '../../src/engine/analyze';
import { layerRunPrefixReach } from '../../src/engine/composed/composedBound';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { prepareNetwork } from '../../src/engine/prepared';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { SeededRandom } from '../../src/engine/random';
import { DEFAULT_SPECTRAL_OPTIONS, type SpectralOptions } from '../../src/engine/spectral/certifiedNorm';
import { node, tensor, writeModel } from '../fixtures/onnxBuilder';
import { referenceForward } from './helpers/engineNetworks';
import {
  randomConvNetwork, randomDenseNetwork, randomGraphNetwork, randomHardSwishNetwork, randomProductNetwork, randomSmoothChainNetwork, randomSmoothNetwork,
} from './helpers/engineRandomNetworks';

const TS_SPECTRAL: SpectralOptions = { ...DEFAULT_SPECTRAL_OPTIONS, kernels: null };
const builders = [randomProductNetwork, randomSmoothNetwork, randomSmoothChainNetwork, randomHardSwishNetwork, randomDenseNetwork, randomConvNetwork, randomGraphNetwork];

function norm(v: Float64Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

/** Uniform points of the ball, points on its sphere, and the corners x0 ± ε e_j / √n scaled to the sphere. */
function ballPoints(random: SeededRandom, x0: Float64Array, epsilon: number): Float64Array[] {
  const n = x0.length;
  const pointAt = (direction: Float64Array, radius: number) => x0.map((v, i) => v + (radius * direction[i]) / norm(direction));
  const points: Float64Array[] = [];
  for (let s = 0; s < 40; s++) {
    const direction = Float64Array.from({ length: n }, () => random.gaussian());
    points.push(pointAt(direction, s % 2 ? epsilon : epsilon * Math.pow(random.uniform(), 1 / n)));
  }
  for (let j = 0; j < Math.min(n, 16); j++) {
    const axis = new Float64Array(n);
    axis[j] = random.uniform() < 0.5 ? -1 : 1;
    points.push(pointAt(axis, epsilon));
  }
  return points;
}

describe('per-coordinate reach in the slopes-only run (derivations §67)', () => {
  it('every activation unit\'s secant slope at points of the ball lies in the slopes-only run\'s interval (random networks with squares, gates, smooth maps)', () => {
    const random = new SeededRandom(67);
    let checked = 0;
    let narrowed = 0;
    for (let k = 0; k < 28; k++) {
      const { network } = builders[k % builders.length](random);
      const backend = k % 2 === 0 ? 'typescript' : 'native';
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, () => random.gaussian() * (random.uniform() < 0.5 ? 1 : 10));
      const epsilon = Math.pow(10, random.between(-3, 0));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const spectral = backend === 'typescript' ? TS_SPECTRAL : DEFAULT_SPECTRAL_OPTIONS;
      const ctx = { prepared, x0, nominal, spectralCache: new Map(), spectral };
      let product;
      try {
        product = runEpsilon(ctx, epsilon);
      } catch {
        continue; // a smooth map whose interval reaches its singularity at this ε: refused in the first run
      }
      const { prefixReach } = layerRunPrefixReach(prepared, spectral, Infinity);
      const run = runEpsilon({ ...ctx, prefixReach }, epsilon, product);
      // The units each activation reads: an affine layer's pre-activations, a lone activation's input.
      const unitsOf = (values: NominalValues, x: Float64Array, layer: number) => {
        const p = prepared.layers[layer];
        return p.op.kind === 'affine' ? (values.preActivations[layer] as Float64Array) : tensorValue(values, x, p.layer.inputs[0]);
      };
      for (const x of ballPoints(random, x0, epsilon)) {
        const values = pureForward(prepared, x) as NominalValues;
        prepared.layers.forEach((p, layer) => {
          const lop = p.layer.op;
          const activation = lop.kind === 'affine' || lop.kind === 'activation' ? lop.activation : undefined;
          const slopes = run.slopes[layer];
          if (!activation || !slopes || slopes.edges) return;
          const [y, y0] = [unitsOf(values, x, layer), unitsOf(nominal, x0, layer)];
          y.forEach((v, u) => {
            const moved = v - y0[u];
            // Too small a move for its float64 secant to mean anything.
            if (Math.abs(moved) <= 1e-7 * (1 + Math.abs(y0[u]))) return;
            const secant = (activate(activation, v) - activate(activation, y0[u])) / moved;
            const slack = 1e-6 * (1 + Math.abs(slopes.mid[u]) + slopes.outputRadius[u]);
            assert.ok(secant >= slopes.mid[u] - slopes.outputRadius[u] - slack && secant <= slopes.mid[u] + slopes.outputRadius[u] + slack,
              `network ${k} layer ${layer} unit ${u}: secant ${secant} outside ${slopes.mid[u]} ± ${slopes.outputRadius[u]}`);
            checked++;
          });
        });
      }
      run.slopes.forEach((s, layer) => {
        const t = product.slopes[layer];
        if (s && t && !s.edges && !t.edges) s.outputRadius.forEach((r, u) => { if (r < 0.5 * t.outputRadius[u]) narrowed++; });
      });
    }
    assert.ok(checked > 2000, `${checked} secant slopes checked`);
    assert.ok(narrowed > 20, `${narrowed} units whose interval the slopes-only run narrowed to less than half`);
  });

  it('the network bound is never beaten at points of the ball (random networks with squares, gates, smooth maps)', async () => {
    const random = new SeededRandom(670);
    let compared = 0;
    for (let k = 0; k < 21; k++) {
      const { network } = builders[k % builders.length](random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x0 = Float64Array.from({ length: n }, () => random.gaussian() * (random.uniform() < 0.5 ? 1 : 10));
      const epsilon = Math.pow(10, random.between(-3, 0));
      let result;
      try {
        result = await analyzeNetwork(network, x0, { epsilons: [epsilon], backend: k % 2 === 0 ? 'typescript' : 'native' });
      } catch {
        continue; // refused at this ε (a smooth map's singularity in reach)
      }
      const bound = result.runs[0].network.localBound;
      const y0 = referenceForward(network, x0)[network.output];
      for (const x of ballPoints(random, x0, epsilon)) {
        const y = referenceForward(network, x)[network.output];
        const dy = norm(y.map((v, i) => v - y0[i]));
        const dx = norm(x.map((v, i) => v - x0[i]));
        assert.ok(dy <= bound * dx * (1 + 1e-9) + 1e-12, `network ${k}: ‖Δy‖/‖Δx‖ = ${dy / dx} > bound ${bound}`);
      }
      compared++;
    }
    assert.ok(compared > 12, `${compared} networks compared`);
  });

  it('hand-derived: f(x) = log(max(x ⊙ x, 1e-10)) at x0 = (100, 0.01), ε = 1e-3 is bounded near its exact 210.7, not by Log at the floor', async () => {
    // Δ log(x2²) over |d| ≤ 1e-3 is largest at d = −1e-3: 2 |log(0.9)| / 1e-3 = 210.72; coordinate 1
    // contributes about 2/100 per unit. The ball's reach after the square is ≈ 2 · 100 · ε = 0.2 for every
    // coordinate, so x2² = 1e-4 could reach the floor and Log's slope there is 1e10; the per-coordinate
    // reach of x2² is 2 · 0.01 · ε + ε² = 2.1e-5 (§67), so its Log slope stays within [1/1.21e-4, 1/0.79e-4].
    const folder = await mkdtemp(join(tmpdir(), 'coordinate-reach-'));
    const path = join(folder, 'logPower.onnx');
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [tensor('floor', [], [1e-10])],
      nodes: [
        node('Mul', ['x', 'x'], ['power'], undefined, 'square'),
        node('Clip', ['power', 'floor'], ['floored'], undefined, 'clip'),
        node('Log', ['floored'], ['y'], undefined, 'log'),
      ],
      opset: 13,
    });
    const inputPath = join(folder, 'x.json');
    await writeFile(inputPath, JSON.stringify({ shape: [1, 2], data: [100, 0.01] }));
    const report = await analyzeModelFile({ modelPath: path, input: { kind: 'file', path: inputPath }, epsilons: [1e-3], options: { seed: 1 } });
    const run = report.runs[0];
    const exact = (2 * Math.abs(Math.log(0.9))) / 1e-3;
    assert.equal(run.network.method, 'composed');
    assert.ok(run.network.localBound >= exact, `bound ${run.network.localBound} below the exact ${exact}`);
    assert.ok(run.network.localBound < 1.5 * exact, `bound ${run.network.localBound}: the per-coordinate reach keeps x2² off the floor`);
    assert.ok(run.network.layerProduct > 1e6, `the layer product (ball reach) ${run.network.layerProduct} sees the floor`);
    assert.ok((run.lowerBound?.value ?? 0) > 0.99 * exact, `witnessed ${run.lowerBound?.value}`);
  });
});
