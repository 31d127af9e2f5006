// Operators: adjoint identity ⟨Ax, y⟩ = ⟨x, Aᵀy⟩, squared-kernel row norms against the materialised
// matrix, and the pure forward pass against an independent direct-formula evaluation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pureForward } from '../../src/engine/forward';
import type { ConvParams } from '../../src/engine/network';
import { AvgPoolOperator, GlobalAvgPoolOperator } from '../../src/engine/operators/avgPool';
import { ChannelAffineOperator } from '../../src/engine/operators/channelAffine';
import { ConvOperator, convGeometry } from '../../src/engine/operators/conv';
import { DenseOperator } from '../../src/engine/operators/dense';
import type { LinearOperator } from '../../src/engine/operators/linearOperator';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { randomArray, referenceForward } from './helpers/engineNetworks';
import { randomConvNetwork, randomDenseNetwork, randomGraphNetwork } from './helpers/engineRandomNetworks';

const random = new SeededRandom(20261125);

function gaussianVector(n: number): Float64Array {
  return Float64Array.from({ length: n }, () => random.gaussian());
}

function dot(a: Float64Array, b: Float64Array): number {
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** Column j of A by applying A to the basis vector e_j. */
function materialise(op: LinearOperator): Float64Array[] {
  const columns: Float64Array[] = [];
  for (let j = 0; j < op.inSize; j++) {
    const e = new Float64Array(op.inSize);
    e[j] = 1;
    columns.push(op.apply(e));
  }
  return columns;
}

function checkOperator(op: LinearOperator, what: string): void {
  for (let trial = 0; trial < 3; trial++) {
    const x = gaussianVector(op.inSize);
    const y = gaussianVector(op.outSize);
    const lhs = dot(op.apply(x), y);
    const rhs = dot(x, op.applyTranspose(y));
    // Both sides are float64 sums of the same products in different orders: agree to ~1e-12 relative.
    assert.ok(Math.abs(lhs - rhs) <= 1e-11 * (Math.abs(lhs) + 1), `${what}: ⟨Ax,y⟩=${lhs} vs ⟨x,Aᵀy⟩=${rhs}`);
  }
  const columns = materialise(op);
  const mask = Float64Array.from({ length: op.inSize }, () => (random.uniform() < 0.6 ? 1 : 0));
  const rowSq = op.rowNormsSquared(mask);
  for (let i = 0; i < op.outSize; i++) {
    let expected = 0;
    for (let j = 0; j < op.inSize; j++) expected += columns[j][i] * columns[j][i] * mask[j];
    assert.ok(Math.abs(rowSq[i] - expected) <= 1e-12 * (expected + 1), `${what}: row ${i} norm² ${rowSq[i]} vs ${expected}`);
  }
}

function convParams(c: number, m: number, group: number, k: [number, number], s: [number, number], pads: [number, number, number, number], d: [number, number]): ConvParams {
  return {
    kind: 'conv',
    weight: randomArray(random, m * (c / group) * k[0] * k[1]),
    weightShape: [m, c / group, k[0], k[1]],
    strides: s,
    pads,
    dilations: d,
    group,
  };
}

describe('engine operators', () => {
  it('conv: adjoint and squared-kernel row norms over strides, asymmetric pads, dilations and groups', () => {
    const cases: [number, number, number, [number, number], [number, number], [number, number, number, number], [number, number], [number, number]][] = [
      [1, 2, 1, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1], [6, 6]],
      [2, 4, 1, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], [7, 7]],
      [4, 4, 4, [3, 3], [1, 2], [1, 0, 2, 1], [1, 1], [6, 5]],
      [4, 6, 2, [2, 3], [2, 1], [0, 2, 1, 0], [2, 2], [8, 7]],
      [3, 3, 3, [5, 1], [3, 1], [2, 0, 0, 0], [1, 3], [9, 4]],
    ];
    for (const [c, m, group, k, s, pads, d, [h, w]] of cases) {
      const params = convParams(c, m, group, k, s, pads, d);
      const op = new ConvOperator(params.weight, convGeometry(params, [c, h, w], 'test conv'));
      checkOperator(op, `conv c${c} m${m} g${group} k${k} s${s} p${pads} d${d}`);
    }
  });

  it('dense, channel affine, average pools: adjoint and row norms', () => {
    checkOperator(new DenseOperator(randomArray(random, 7 * 5), 7, 5, 'dense'), 'dense 7×5');
    checkOperator(new ChannelAffineOperator(randomArray(random, 3), [3, 2, 2], 'bn'), 'channel affine');
    checkOperator(new ChannelAffineOperator(randomArray(random, 4), [3, 4, 2], 'features', 1), 'affine along axis 1');
    for (const countIncludePad of [false, true]) {
      const pool = new AvgPoolOperator(
        { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], countIncludePad },
        [2, 5, 5], [2, 3, 3], 'avg',
      );
      checkOperator(pool, `avgPool countIncludePad=${countIncludePad}`);
    }
    checkOperator(new GlobalAvgPoolOperator([3, 4, 2], [3, 1, 1], 'gap'), 'globalAvgPool');
  });

  it('pure forward pass equals the direct-formula reference on random networks', () => {
    const builders = [randomDenseNetwork, randomConvNetwork, randomGraphNetwork];
    let compared = 0;
    for (let t = 0; t < 30; t++) {
      const build = builders[t % builders.length];
      const { network } = build(random);
      const x = gaussianVector(network.inputShape.reduce((a, b) => a * b, 1));
      const ours = pureForward(prepareNetwork(network), x);
      if (ours instanceof Promise) throw new Error('pure forward must be synchronous');
      const reference = referenceForward(network, x);
      reference.forEach((expected, i) => {
        const actual = ours.outputs[i];
        assert.equal(actual.length, expected.length, `layer ${i} size`);
        for (let k = 0; k < expected.length; k++) {
          assert.ok(Math.abs(actual[k] - expected[k]) <= 1e-10 * (1 + Math.abs(expected[k])), `layer ${i}[${k}]: ${actual[k]} vs ${expected[k]}`);
        }
        compared++;
      });
    }
    assert.ok(compared > 100);
  });
});
