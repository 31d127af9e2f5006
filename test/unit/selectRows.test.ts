// Rows of a conv or dense operator selected for the composed bound's prefix norms (docs/derivations.md
// §58.4): on every backend, the selected operator computes exactly those rows of A x and the adjoint
// of that, it is offered only where it is cheaper, and the linearised network's passes that use it
// equal the full passes on the rows read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelsFor, type OperatorBackend } from '../../src/engine/native/kernels';
import type { ConvParams, DenseParams, Shape } from '../../src/engine/network';
import { countedOperator, newCounters } from '../../src/engine/operators/countingOperator';
import type { LinearOperator } from '../../src/engine/operators/linearOperator';
import { createAffineOperator } from '../../src/engine/operators/registry';
import { SeededRandom } from '../../src/engine/random';
import { LinearisedNetwork, type Injection } from '../../src/engine/composed/linearisedNetwork';
import { pureForward, type NominalValues } from '../../src/engine/forward';
import { runEpsilon } from '../../src/engine/layerBounds';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { prepareNetwork } from '../../src/engine/prepared';
import { DEFAULT_SPECTRAL_OPTIONS } from '../../src/engine/spectral/certifiedNorm';
import { readModel } from '../../src/onnx/reader';

const random = new SeededRandom(5813);
const gaussians = (n: number) => Float64Array.from({ length: n }, () => random.gaussian());

/** An injection of these values with a random radius that is 0 on every third entry (entries: the others). */
function deviation(values: Float64Array): Injection {
  const radius = Float64Array.from(values, (_v, i) => (i % 3 === 0 ? 0 : 0.5 + random.uniform()));
  const entries = Int32Array.from(radius.keys()).filter((i) => radius[i] !== 0);
  return { values, scale: 0.7, radius, entries };
}

function conv(outChannels: number, inChannels: number, kernel: [number, number], options: Partial<ConvParams> = {}): ConvParams {
  const group = options.group ?? 1;
  const weightShape = [outChannels, inChannels / group, kernel[0], kernel[1]] as const;
  const weight = Float32Array.from(gaussians(weightShape.reduce((a, b) => a * b, 1)), (w, i) => (i % 7 === 3 ? 0 : w));
  return { kind: 'conv', weight, weightShape, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group, ...options };
}

const CASES: { label: string; params: ConvParams | DenseParams; inputShape: Shape }[] = [
  { label: 'conv 3×3, padded', params: conv(8, 3, [3, 3], { pads: [1, 1, 1, 1] }), inputShape: [3, 12, 12] },
  { label: 'conv 5×3, strides 2×3, asymmetric pads, dilations 2×1', params: conv(6, 4, [5, 3], { strides: [2, 3], pads: [2, 0, 1, 3], dilations: [2, 1] }), inputShape: [4, 17, 19] },
  { label: 'grouped conv (groups 3)', params: conv(9, 6, [3, 3], { group: 3, pads: [1, 1, 1, 1], strides: [2, 2] }), inputShape: [6, 15, 15] },
  { label: 'dense 96×40', params: { kind: 'dense', weight: Float32Array.from(gaussians(96 * 40)), outFeatures: 96, inFeatures: 40 }, inputShape: [40] },
];

/** The smallest relative tolerance the float64 sums of a few hundred terms keep, in a different order. */
const TOLERANCE = 1e-12;

function close(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(...expected.map(Math.abs), 1e-300);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= TOLERANCE * scale, `${what}[${i}]: ${actual[i]} against ${expected[i]}`);
  }
}

/** Every `step`-th output, shifted so that border and interior units both occur. */
function someRows(outSize: number, count: number): Int32Array {
  const step = Math.max(1, Math.floor(outSize / count));
  return Int32Array.from({ length: Math.min(count, outSize) }, (_v, a) => (a * step + (a % 3)) % outSize);
}

for (const backend of ['typescript', 'native', 'webassembly'] as const satisfies readonly OperatorBackend[]) {
  describe(`selected rows on the ${backend} backend`, () => {
    for (const c of CASES) {
      it(`${c.label}: the rows of A x and their adjoint, counted at their own multiply-adds`, () => {
        if (backend !== 'typescript') kernelsFor(backend);
        const op: LinearOperator = createAffineOperator(c.params, c.inputShape, c.label, backend).linear;
        assert.ok(op.selectRows, `${c.label}: the operator offers row selection`);
        const rows = someRows(op.outSize, Math.max(1, Math.floor(op.outSize / 40)));
        const selected = op.selectRows(rows);
        assert.ok(selected, `${c.label}: ${rows.length} of ${op.outSize} rows are selected`);
        assert.equal(selected.operator.outSize, rows.length);
        assert.equal(selected.operator.inSize, op.inSize);
        const x = gaussians(op.inSize);
        const full = op.apply(x);
        close(selected.operator.apply(x), Float64Array.from(rows, (r) => full[r]), `${c.label}: A x`);
        const yRows = gaussians(rows.length);
        const scattered = new Float64Array(op.outSize);
        rows.forEach((r, a) => (scattered[r] += yRows[a]));
        close(selected.operator.applyTranspose(yRows), op.applyTranspose(scattered), `${c.label}: Aᵀ y`);
        const d = Float64Array.from(gaussians(op.inSize), Math.abs);
        const norms = op.rowNormsSquared(d);
        close(selected.operator.rowNormsSquared(d), Float64Array.from(rows, (r) => norms[r]), `${c.label}: row norms`);

        // A counted operator counts one application of the selection at the selection's multiply-adds.
        const counters = newCounters();
        const counted = countedOperator(op, 1e9, counters).selectRows?.(rows);
        assert.ok(counted);
        counted.operator.apply(x);
        assert.deepEqual(counters, { applications: 1, multiplyAdds: selected.multiplyAdds });
        assert.ok(selected.multiplyAdds > 0 && selected.multiplyAdds < op.outSize * op.inSize / 10, `${c.label}: ${selected.multiplyAdds} multiply-adds`);
      });
    }

    it('most of the rows are not selected: the whole operator is cheaper there', () => {
      if (backend !== 'typescript') kernelsFor(backend);
      for (const c of CASES) {
        const op = createAffineOperator(c.params, c.inputShape, c.label, backend).linear;
        assert.equal(op.selectRows?.(someRows(op.outSize, Math.ceil((op.outSize * 2) / 3))), null, c.label);
      }
    });
  });
}

describe('passes of the linearised network that read a few rows (the bundled example at ε = 1e-3)', () => {
  for (const backend of ['typescript', 'native'] as const) {
    it(`${backend}: forward and backward with ReadRows equal the full passes masked to the rows, at affine and max-pool reads`, async () => {
      const model = await readModel('examples/mnist/mnist-cnn.onnx');
      const { network } = loadAnalysisNetwork(model);
      const prepared = prepareNetwork(network, backend);
      const x0 = Float64Array.from({ length: prepared.inputSize }, (_v, i) => 0.5 + 0.4 * Math.sin(i));
      const nominal = pureForward(prepared, x0) as NominalValues;
      const run = runEpsilon({ prepared, x0, nominal, spectralCache: new Map(), spectral: DEFAULT_SPECTRAL_OPTIONS }, 1e-3);
      const linearised = new LinearisedNetwork(prepared, run.slopes);
      const kinds = new Set<string>();
      run.slopes.forEach((slopes, k) => {
        if (!slopes?.uncertain.includes(1)) return;
        const read = linearised.readRows(k, slopes.uncertain);
        if (!read) return;
        kinds.add(prepared.layers[k].op.kind);
        const masked = (v: Float64Array) => v.map((x, i) => (slopes.uncertain[i] ? x : 0));
        // An injection at an earlier slope layer and one at the source itself, as the stacked norms have.
        const injections = new Map<number, Injection>();
        for (const j of [0, read.source]) if (j < k) injections.set(j, deviation(gaussians(prepared.layers[j].outSize)));
        const v = gaussians(prepared.inputSize);
        close(linearised.forward(v, injections, k, read), masked(linearised.forward(v, injections, k)), `layer ${k}: forward`);
        const u = gaussians(linearised.unitCount(k));
        const layers = [...injections.keys()];
        const partial = linearised.backward(u, true, layers, k, read);
        const full = linearised.backward(masked(u), true, layers, k);
        close(partial.input as Float64Array, full.input as Float64Array, `layer ${k}: backward to the input`);
        for (const j of layers) close(partial.layers.get(j) as Float64Array, full.layers.get(j) as Float64Array, `layer ${k}: backward to layer ${j}`);
      });
      assert.deepEqual([...kinds].sort(), ['affine', 'maxPool'], 'both kinds of read were exercised');
    });
  }
});
