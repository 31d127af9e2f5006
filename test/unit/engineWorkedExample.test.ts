// method.md §7: the worked example, every table entry to 1e-6 (absolute, on values given to 6 decimals).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { chain, denseLayer, NETWORK_INPUT } from './helpers/engineNetworks';

const network = chain([3], [
  denseLayer('fc1', [[3, -1, 2], [-2, 7, 1], [5, -3, -1]], [-1, -4, 2], NETWORK_INPUT, { kind: 'relu' }),
  denseLayer('fc2', [[1, 2, -1], [0, 1, 1]], [0.5, -0.5], 0),
]);
const x0 = Float64Array.from([0.5, 0.2, -0.1]);

// Expected values: the table of method.md §7 (hand-derived there, printed to 6 decimals).
const rows = [
  { epsilon: 0.1, neurons: { on: 2, unstable: 0, off: 1 }, l1: 6.605881, eps1: 0.660588, l2: 1.618034, net: 10.688539, spectral: 22.727412 },
  { epsilon: 2.0, neurons: { on: 2, unstable: 1, off: 0 }, l1: 7.931511, eps1: 15.863022, l2: 2.497212, net: 19.806664, spectral: 22.727412 },
];
const TOLERANCE = 1e-6;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOLERANCE, `${what}: ${actual} vs ${expected}`);
}

describe('engine: method.md §7 worked example', () => {
  it('reproduces both ε rows', async () => {
    const result = await analyzeNetwork(network, x0, { epsilons: rows.map((r) => r.epsilon) });
    assert.equal(result.runs.length, 2);
    result.runs.forEach((run, k) => {
      const row = rows[k];
      const [layer1, layer2] = run.layers;
      assert.deepEqual(layer1.neurons, row.neurons);
      close(layer1.localBound, row.l1, `L_1 at ε=${row.epsilon}`);
      close(layer1.epsilonOut, row.eps1, `ε_1 at ε=${row.epsilon}`);
      close(layer2.epsilonIn, row.eps1, `ε into layer 2 at ε=${row.epsilon}`);
      close(layer2.localBound, row.l2, `L_2 at ε=${row.epsilon}`);
      close(run.network.layerProduct, row.net, `layer product L_net at ε=${row.epsilon}`);
      assert.ok(run.network.localBound <= run.network.layerProduct, 'the reported bound is the tighter one');
      close(run.network.spectralBound, row.spectral, `Π‖A_k‖ at ε=${row.epsilon}`);
      assert.equal(layer1.certificate.method, 'exact-eigen');
    });
  });

  it('composed bound at ε = 0.1 (hand-derived): the largest ‖J(S)‖ over its one uncertain unit\'s slopes, below ‖J(M)‖ + p‖g‖‖h‖', async () => {
    // Unit 1 (y0 = 0.1, reach 0.1·√14) is on at x0 and can switch off: its secant from the anchor is at
    // least y0/reach = 1/√14 (derivations §59.2), slopes [1/√14, 1], M = 0.633631, P = 0.366369; unit 3
    // stays on, unit 2 off. J(s) = B[:, (1, 3)] diag(s, 1) A[(1, 3), :] = [[3s − 5, 3 − s, 2s + 1], [5, −3, −1]]:
    // ‖J‖ = 7.885355 at s = 1/√14 (8.366600 at s = 0, outside the slopes), 6.857390 at s = 1,
    // ‖J(M)‖ = 7.320629. §22's stack gives ‖J(M)‖ + P · ‖B e1‖ · ‖a_1‖ = 7.320629 + P · √14 = 8.691458;
    // the quadrature bound (§59.3) reaches the vertex maximum.
    const run = (await analyzeNetwork(network, x0, { epsilons: [0.1] })).runs[0];
    assert.equal(run.network.method, 'composed');
    assert.equal(run.network.composed?.uncertainUnits, 1);
    close(run.network.composed?.midpointNorm ?? 0, 7.320629, '‖J(M)‖');
    assert.ok(run.network.localBound >= 7.885355 && run.network.localBound <= 8.691458 + 1e-6, `composed ${run.network.localBound}`);
    close(run.network.localBound, 7.885355, 'composed bound (the vertex maximum)');
  });

  it('reports the logits gap and a radius certified by the margin, beyond ε·L_net(ε) < gap/√2', async () => {
    const result = await analyzeNetwork(network, x0, { epsilons: [0.1], radius: true });
    const radius = result.radius;
    assert.ok(radius);
    // Logits [−3.4, 3.5] at x0 (method.md §7): class 1, gap 6.9.
    assert.equal(radius.predictedClass, 1);
    close(radius.gap, 6.9, 'gap');
    close(radius.spectral, 6.9 / Math.SQRT2 / 22.727412, 'spectral radius');
    // The margin f_1 − f_0 bounded on its own (derivations §44, §59.3) certifies more than gap/(√2 L_net):
    // ε · L_margin(ε) < gap at the radius, and the network bound alone would not reach it.
    assert.equal(radius.method, 'margins');
    assert.equal(radius.bindingClass, 0);
    assert.ok(radius.marginBound !== undefined && radius.local * radius.marginBound < 6.9, `margin bound ${radius.marginBound}`);
    const check = await analyzeNetwork(network, x0, { epsilons: [radius.local] });
    assert.ok(radius.local * check.runs[0].network.localBound >= 6.9 / Math.SQRT2, 'the network bound alone does not certify this radius');
    assert.ok(radius.local >= radius.spectral);
  });
});
