// analyzeNetwork: input validation, progress and cancellation, injected forward providers, the ε
// sweep sharing the ‖A‖ cache, unsupported layers named by node, and the certified radius by sampling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { CancelledError, UnsupportedLayerError } from '../../src/engine/errors';
import { pureForward } from '../../src/engine/forward';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { NetworkTape } from '../../src/engine/tightness/tape';
import type { ProgressEvent } from '../../src/shared/results';
import { chain, denseLayer, genericLayer, NETWORK_INPUT, referenceForward } from './helpers/engineNetworks';
import { randomConvNetwork, randomDenseNetwork } from './helpers/engineRandomNetworks';

const example = chain([3], [
  denseLayer('fc1', [[3, -1, 2], [-2, 7, 1], [5, -3, -1]], [-1, -4, 2], NETWORK_INPUT, { kind: 'relu' }),
  denseLayer('fc2', [[1, 2, -1], [0, 1, 1]], [0.5, -0.5], 0),
]);
const x0 = Float64Array.from([0.5, 0.2, -0.1]);

describe('analyzeNetwork', () => {
  it('rejects bad ε, wrong input length and non-finite inputs with clear messages', async () => {
    await assert.rejects(analyzeNetwork(example, x0, { epsilons: [0] }), /ε must be a finite number > 0, got 0/);
    await assert.rejects(analyzeNetwork(example, x0, { epsilons: [Number.POSITIVE_INFINITY] }), /ε must be a finite number > 0/);
    await assert.rejects(analyzeNetwork(example, x0, { epsilons: [] }), /no ε given/);
    await assert.rejects(analyzeNetwork(example, Float32Array.from([1, 2]), { epsilons: [0.1] }), /input 'x': 2 values, shape \[3\] needs 3/);
    await assert.rejects(analyzeNetwork(example, Float64Array.from([1, Number.NaN, 0]), { epsilons: [0.1] }), /flat index 1 is not finite/);
    await assert.rejects(analyzeNetwork(example, x0, { epsilons: [0.1], failureProbability: 0 }), /failure probability/);
  });

  it('names the nodes of an unsupported layer', async () => {
    const network = chain([3], [
      denseLayer('fc1', [[1, 0, 0], [0, 1, 0]], null, NETWORK_INPUT),
      genericLayer('broadcastAdd', { kind: 'add' }, [0, NETWORK_INPUT], [[2], [3]], [3]),
    ]);
    await assert.rejects(analyzeNetwork(network, x0, { epsilons: [0.1] }), (error: unknown) =>
      error instanceof UnsupportedLayerError && error.nodes.includes('broadcastAdd') && /broadcastAdd/.test(error.message));
  });

  it('streams one progress event per layer and ε, and cancels between layers', async () => {
    const events: ProgressEvent[] = [];
    await analyzeNetwork(example, x0, { epsilons: [0.1, 1] }, { onProgress: (e) => events.push(e) });
    const layerEvents = events.filter((e) => e.kind === 'layer');
    assert.equal(layerEvents.length, 4);
    assert.deepEqual(layerEvents.map((e) => (e.kind === 'layer' ? [e.epsilonIndex, e.layerIndex] : [])), [[0, 0], [0, 1], [1, 0], [1, 1]]);
    const signal = { aborted: false };
    await assert.rejects(
      analyzeNetwork(example, x0, { epsilons: [0.1, 1] }, {
        signal,
        onProgress: (e) => {
          if (e.kind === 'layer' && e.layerIndex === 1) signal.aborted = true;
        },
      }),
      CancelledError,
    );
  });

  it('accepts injected nominal values and checks their sizes', async () => {
    const own = await analyzeNetwork(example, x0, { epsilons: [0.5] });
    let calls = 0;
    const injected = await analyzeNetwork(example, x0, {
      epsilons: [0.5],
      forward: async (prepared, x) => {
        calls++;
        return pureForward(prepared, x);
      },
    });
    assert.equal(calls, 1);
    // The provider's values may differ from the engine's own pass in the last bit (no error bounds given).
    assert.ok(Math.abs(injected.runs[0].network.localBound - own.runs[0].network.localBound) <= 1e-12 * own.runs[0].network.localBound);
    await assert.rejects(
      analyzeNetwork(example, x0, { epsilons: [0.5], forward: () => ({ outputs: [new Float64Array(3)], preActivations: [null] }) }),
      /forward provider gave 1 layer outputs, the network has 2 layers/,
    );
  });

  it('an ε sweep computes ‖A‖ once per layer and shares it across runs', async () => {
    const result = await analyzeNetwork(example, x0, { epsilons: [0.01, 0.1, 1, 10] });
    for (const run of result.runs.slice(1)) {
      run.layers.forEach((layer, k) => assert.equal(layer.spectralCertificate, result.runs[0].layers[k].spectralCertificate));
    }
    const bounds = result.runs.map((r) => r.network.localBound);
    bounds.slice(1).forEach((b, i) => assert.ok(b >= bounds[i]));
  });

  it('no sampled point within the certified radius changes the predicted class', async () => {
    const random = new SeededRandom(5);
    let certified = 0;
    for (let t = 0; t < 20; t++) {
      const { network } = (t % 2 ? randomConvNetwork : randomDenseNetwork)(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x = Float64Array.from({ length: n }, () => random.gaussian());
      const result = await analyzeNetwork(network, x, { epsilons: [0.1], radius: true, radiusIterations: 12 });
      const radius = result.radius;
      assert.ok(radius && radius.local >= radius.spectral * (1 - 1e-12));
      const logits = referenceForward(network, x)[network.output];
      assert.equal(radius.predictedClass, logits.indexOf(Math.max(...logits)));
      for (let s = 0; s < 50; s++) {
        const direction = Float64Array.from({ length: n }, () => random.gaussian());
        const norm = Math.sqrt(direction.reduce((a, v) => a + v * v, 0));
        const point = x.map((v, i) => v + (radius.local * Math.pow(random.uniform(), 1 / n) * direction[i]) / norm);
        const out = referenceForward(network, point)[network.output];
        assert.equal(out.indexOf(Math.max(...out)), radius.predictedClass);
      }
      if (radius.local > 0) certified++;
    }
    assert.ok(certified > 10, `${certified} networks had a positive certified radius`);
  });

  it('the radius search stops within the requested tolerance of its upper end, and says where', async () => {
    const random = new SeededRandom(11);
    let compared = 0;
    for (let t = 0; t < 6; t++) {
      const { network } = randomConvNetwork(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x = Float64Array.from({ length: n }, () => random.gaussian());
      for (const radiusTolerance of [0.2, 1e-3]) {
        const radius = (await analyzeNetwork(network, x, { epsilons: [0.1], radius: true, radiusTolerance })).radius!;
        if (radius.local === 0 || !Number.isFinite(radius.local)) continue;
        assert.equal(radius.search?.tolerance, radiusTolerance);
        const upperEnd = radius.search?.upperEnd;
        assert.ok(upperEnd !== undefined && upperEnd >= radius.local, `upper end ${upperEnd} below the radius ${radius.local}`);
        assert.ok(upperEnd <= radius.local * (1 + radiusTolerance), `stopped at ${radius.local}, ${upperEnd / radius.local - 1} below its upper end`);
        compared++;
      }
    }
    assert.ok(compared >= 6, `${compared} searches compared`);
    const network = randomConvNetwork(new SeededRandom(1)).network;
    const x = new Float64Array(network.inputShape.reduce((a, b) => a * b, 1)).fill(0.5);
    await assert.rejects(analyzeNetwork(network, x, { epsilons: [0.1], radius: true, radiusTolerance: 0 }), /radius tolerance must be in \(0, 1\], got 0/);
  });
});

describe('certified radius from the margins (derivations §44)', () => {
  it('hand-derived: f = W x with W = [[10, 1], [10, 0]] at x0 = (0, 1): the margin radius is 1, the network one 1/(√2‖W‖)', async () => {
    // f(x0) = (1, 0), class 0, gap 1. The margin f_0 − f_1 = x_2 has gradient (0, 1): it reaches 0 at
    // distance exactly 1. The whole-output bound ‖W‖ ≈ 14.18 certifies only 1/(√2 · 14.18) ≈ 0.0499.
    const network = chain([2], [denseLayer('fc', [[10, 1], [10, 0]], null, NETWORK_INPUT)]);
    const result = await analyzeNetwork(network, Float64Array.from([0, 1]), { epsilons: [0.1], radius: true });
    const radius = result.radius!;
    const norm = Math.sqrt((201 + Math.sqrt(201 ** 2 - 4 * 100)) / 2);
    assert.ok(Math.abs(radius.spectral - 1 / (Math.SQRT2 * norm)) < 1e-9, `spectral ${radius.spectral}`);
    assert.equal(radius.method, 'margins');
    assert.equal(radius.bindingClass, 1);
    assert.ok(Math.abs(radius.marginBound! - 1) < 1e-8, `margin bound ${radius.marginBound}`);
    assert.ok(radius.local < 1 && radius.local > 0.998, `radius ${radius.local}`);
  });

  it('more than 17 classes: the 16 closest margins get their own bound, the others keep √2 · L_net (hand-derived)', async () => {
    // 20 outputs: rows (10, 1), (10, 0) and 18 × (10, −2) at x0 = (0, 1): logits 1, 0, −2 × 18. Margins
    // to class 1: gradient (0, 1), room 1; to the others: gradient (0, 3), room 3 — each alone certifies
    // up to 1. The three farthest (equal room, the last in order) keep √2‖W‖, room 3: 3/(√2‖W‖).
    const rows = [[10, 1], [10, 0], ...Array.from({ length: 18 }, () => [10, -2])];
    const network = chain([2], [denseLayer('fc', rows, null, NETWORK_INPUT)]);
    const result = await analyzeNetwork(network, Float64Array.from([0, 1]), { epsilons: [0.1], radius: true });
    const radius = result.radius!;
    const gram = [[rows.reduce((a, r) => a + r[0] * r[0], 0), rows.reduce((a, r) => a + r[0] * r[1], 0)], [0, rows.reduce((a, r) => a + r[1] * r[1], 0)]];
    const trace = gram[0][0] + gram[1][1];
    const norm = Math.sqrt((trace + Math.sqrt(trace ** 2 - 4 * (gram[0][0] * gram[1][1] - gram[0][1] ** 2))) / 2);
    const capped = 3 / (Math.SQRT2 * norm);
    assert.equal(radius.method, 'margins');
    assert.ok(radius.local < capped && radius.local > capped * 0.998, `radius ${radius.local}, expected just below ${capped}`);
    assert.ok(radius.local > radius.spectral * 2, 'the margins still beat gap/(√2‖W‖)');
  });

  it('random networks: gradient descent on every margin inside the certified radius never flips the class', async () => {
    const random = new SeededRandom(77);
    let byMargins = 0;
    let certified = 0;
    let bindingChecked = 0;
    for (let t = 0; t < 16; t++) {
      const { network } = (t % 2 ? randomConvNetwork : randomDenseNetwork)(random);
      const n = network.inputShape.reduce((a, b) => a * b, 1);
      const x = Float64Array.from({ length: n }, () => random.gaussian());
      const result = await analyzeNetwork(network, x, { epsilons: [0.1], radius: true, radiusIterations: 12 });
      const radius = result.radius!;
      if (!(radius.local > 0)) continue;
      certified++;
      if (radius.method === 'margins') byMargins++;
      const c = radius.predictedClass;
      const tape = new NetworkTape(prepareNetwork(network));
      const logits = referenceForward(network, x)[network.output];
      for (let j = 0; j < logits.length; j++) {
        if (j === c) continue;
        const u = new Float64Array(logits.length);
        u[c] = 1;
        u[j] = -1;
        // Projected gradient descent on f_c − f_j over the closed ball of the certified radius.
        let d = Float64Array.from({ length: n }, () => random.gaussian());
        for (let step = 0; step < 40; step++) {
          const norm = Math.sqrt(d.reduce((a, v) => a + v * v, 0));
          d = d.map((v) => (v * radius.local) / Math.max(norm, radius.local));
          const point = x.map((v, i) => v + d[i]);
          const out = referenceForward(network, point)[network.output];
          assert.equal(out.indexOf(Math.max(...out)), c, `network ${t}: class flipped to ${out.indexOf(Math.max(...out))} at ‖x − x0‖ ${norm} ≤ radius ${radius.local} (${radius.method})`);
          // The binding margin's bound, certified on a ball at least as large as the radius (§60.1), holds here.
          if (radius.method === 'margins' && j === radius.bindingClass) {
            const change = Math.abs(out[c] - out[j] - (logits[c] - logits[j]));
            assert.ok(change <= radius.marginBound! * Math.min(norm, radius.local) * (1 + 1e-9) + 1e-12, `network ${t}: margin moved ${change}, bound ${radius.marginBound} × ${norm}`);
            bindingChecked++;
          }
          const g = tape.backward(tape.forward(point), u);
          const gn = Math.sqrt(g.reduce((a, v) => a + v * v, 0)) || 1;
          d = d.map((v, i) => v - (0.5 * radius.local * g[i]) / gn);
        }
      }
    }
    assert.ok(certified >= 10, `${certified} networks had a positive certified radius`);
    assert.ok(byMargins >= 1, `the margins certified the larger radius on ${byMargins} networks`);
    assert.ok(bindingChecked >= 40, `${bindingChecked} points checked against the binding margin's bound`);
  });
});

describe('analyzeNetwork failure probability', () => {
  it('is 0 with exact norms and the union of Lanczos certificates otherwise', async () => {
    const exact = await analyzeNetwork(example, x0, { epsilons: [0.1] });
    assert.equal(exact.runs[0].network.failureProbability, 0);
    const random = new SeededRandom(8);
    const { network } = randomConvNetwork(random);
    const n = network.inputShape.reduce((a, b) => a * b, 1);
    const x = Float64Array.from({ length: n }, () => random.gaussian());
    const p = 1e-5;
    const result = await analyzeNetwork(network, x, { epsilons: [0.1], exactCutoff: 0, failureProbability: p, lanczosSteps: 50 });
    const run = result.runs[0];
    const lanczosCertificates = run.layers
      .flatMap((l) => [l.certificate, l.spectralCertificate])
      .filter((c) => c.method === 'lanczos-random-start' && (c.failureProbability ?? 0) > 0).length;
    assert.ok(lanczosCertificates >= 2);
    assert.ok(Math.abs(run.network.failureProbability - lanczosCertificates * p) <= 1e-18);
  });
});

describe('graph rules on hand-checkable networks', () => {
  const identity = (input: number, shape: number[]) =>
    genericLayer('identity', {
      kind: 'affine',
      linear: { kind: 'channelAffine', scale: new Float32Array(shape[0]).fill(1), shift: new Float32Array(shape[0]) },
    }, [input], [shape], shape);
  const x = Float64Array.from([0.3, -1.2, 0.7, 2.0]);

  it('concat of x with itself: ‖Δy‖ = √2 ‖Δx‖, so the bound is exactly √2', async () => {
    const network = {
      inputName: 'x', inputShape: [1, 2, 2], output: 1,
      layers: [identity(NETWORK_INPUT, [1, 2, 2]), genericLayer('concat', { kind: 'concat', axis: 0 }, [NETWORK_INPUT, 0], [[1, 2, 2], [1, 2, 2]], [2, 2, 2])],
    };
    const result = await analyzeNetwork(network, x, { epsilons: [0.5] });
    assert.ok(Math.abs(result.runs[0].network.localBound - Math.SQRT2) <= 1e-9, `${result.runs[0].network.localBound}`);
    assert.ok(Math.abs(result.runs[0].network.spectralBound - Math.SQRT2) <= 1e-9);
  });

  it('add of x with itself: the bound is exactly 2', async () => {
    const network = {
      inputName: 'x', inputShape: [1, 2, 2], output: 1,
      layers: [identity(NETWORK_INPUT, [1, 2, 2]), genericLayer('add', { kind: 'add' }, [NETWORK_INPUT, 0], [[1, 2, 2], [1, 2, 2]], [1, 2, 2])],
    };
    const result = await analyzeNetwork(network, x, { epsilons: [0.5] });
    assert.ok(Math.abs(result.runs[0].network.localBound - 2) <= 1e-9);
  });

  it('average pools: 2×2/2 without overlap has norm 1/2, global average over 4 has 1/sqrt(4)', async () => {
    const pooled = {
      inputName: 'x', inputShape: [1, 2, 2], output: 0,
      layers: [genericLayer('avg', { kind: 'avgPool', countIncludePad: false, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, [NETWORK_INPUT], [[1, 2, 2]], [1, 1, 1])],
    };
    const global = { ...pooled, layers: [genericLayer('gap', { kind: 'globalAvgPool' }, [NETWORK_INPUT], [[1, 2, 2]], [1, 1, 1])] };
    for (const network of [pooled, global]) {
      const run = (await analyzeNetwork(network, x, { epsilons: [0.1] })).runs[0];
      assert.ok(Math.abs(run.network.localBound - 0.5) <= 1e-9, `${run.layers[0].label}: ${run.network.localBound}`);
      assert.ok(Math.abs(run.network.spectralBound - 0.5) <= 1e-9);
    }
  });

  it('lone ReLU: max of the per-coordinate chord slopes (hand-derived)', async () => {
    // x = [0.3, −1.2, 0.7, 2.0], ε = 0.5: coordinate 1 never reaches 0 (r = 0), coordinate 0 is on (r = 1).
    const network = {
      inputName: 'x', inputShape: [4], output: 0,
      layers: [genericLayer('relu', { kind: 'activation', activation: { kind: 'relu' } }, [NETWORK_INPUT], [[4]], [4])],
    };
    const run = (await analyzeNetwork(network, x, { epsilons: [0.5] })).runs[0];
    assert.equal(run.network.localBound, 1);
    assert.deepEqual(run.layers[0].neurons, { on: 3, unstable: 0, off: 1 });
    // With only the negative coordinate: x = −1.2, ε = 2 → r = 0.8 / 2 = 0.4.
    const single = { ...network, inputShape: [1], layers: [genericLayer('relu', { kind: 'activation', activation: { kind: 'relu' } }, [NETWORK_INPUT], [[1]], [1])] };
    const lone = (await analyzeNetwork(single, Float64Array.from([-1.2]), { epsilons: [2] })).runs[0];
    assert.ok(Math.abs(lone.network.localBound - 0.4) <= 1e-12);
  });
});

describe('unsupported activations', () => {
  it('are refused by node name, never treated as 1-Lipschitz', async () => {
    const layer = genericLayer('gelu', { kind: 'activation', activation: { kind: 'gelu' } as never }, [NETWORK_INPUT], [[3]], [3]);
    await assert.rejects(analyzeNetwork(chain([3], [layer]), x0, { epsilons: [0.1] }), (error: unknown) =>
      error instanceof UnsupportedLayerError && /gelu/.test(error.message) && error.nodes[0] === 'gelu');
  });
});
