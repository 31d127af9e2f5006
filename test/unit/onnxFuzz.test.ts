// Fuzz-style robustness: truncations at every offset and seeded random bit flips of a fixture model
// that uses every encoding. Each case must give a Model (whose tensors and attributes then decode or
// fail with OnnxError) or an OnnxError: never another exception, never a hang.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { windowGeometry } from '../../src/onnx/autoPad';
import type { Graph, Model } from '../../src/onnx/model';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModelFromBytes } from '../../src/onnx/reader';
import { buildModelFiles, conv, gemm, maxPool, mulberry32, node, randomTensor, relu, tensor } from '../fixtures/onnxBuilder';

const dir = mkdtempSync(join(tmpdir(), 'll-onnx-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rng = mulberry32(20261125);
const { model: fixture, files } = buildModelFiles({
  inputs: [{ name: 'x', shape: ['N', 1, 6, 6] }],
  outputs: [{ name: 'y', shape: ['N', 3] }],
  initializers: [
    randomTensor('conv.w', [2, 1, 3, 3], rng),
    tensor('conv.b', [2], [0.5, -0.5], { dataType: 'FLOAT16', encoding: 'typed' }),
    tensor('fc.w', [3, 8], Array.from({ length: 24 }, () => rng() - 0.5), { encoding: 'external' }),
    tensor('fc.b', [3], [1, 2, 3], { dataType: 'DOUBLE', storage: 'constant' }),
    tensor('shape', [2], [0n, -1n], { dataType: 'INT64', encoding: 'typed' }),
    tensor('scale', [], [2], { storage: 'value_float' }),
    tensor('bf', [2], [1, -2], { dataType: 'BFLOAT16' }),
  ],
  nodes: [
    conv({ name: 'conv', input: 'x', weight: 'conv.w', bias: 'conv.b', output: 'c', pads: [1, 1, 1, 1], strides: [2, 2] }),
    relu('c', 'r', 'relu'),
    maxPool({ name: 'pool', input: 'r', output: 'p', kernelShape: [2, 2], autoPad: 'SAME_UPPER' }),
    node('Reshape', ['p', 'shape'], ['f'], undefined, 'reshape'),
    node('Cast', ['fc.b'], ['fc.b32'], { to: 1 }, 'cast'),
    gemm({ name: 'fc', a: 'f', b: 'fc.w', c: 'fc.b32', output: 'g', transB: true, alpha: 1 }),
    node('If', ['cond'], ['y'], {
      then_branch: { g: { inputs: [], outputs: [{ name: 'g' }], nodes: [] } },
      else_branch: { g: { inputs: [], outputs: [{ name: 'k' }], nodes: [node('Constant', [], ['k'], { value_floats: { floats: [1, 2, 3] } })] } },
    }, 'if'),
    node('Custom', ['g'], ['z'], { s: 'text', ss: ['a', 'b'], fs: { floats: [0.5] }, t: { t: tensor('tt', [1], [7n], { dataType: 'INT64' }) } }, 'custom'),
  ],
});
for (const [location, bytes] of files) writeFileSync(join(dir, location), bytes);

/** Runs fn; an OnnxError is an accepted outcome, anything else propagates. */
function accepting(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof OnnxError)) throw error;
  }
}

/** Touches everything a later stage would: tensor decoding, typed attribute getters, window geometry. */
function exercise(model: Model): void {
  const visit = (graph: Graph, depth: number) => {
    for (const t of graph.initializers.values()) {
      accepting(() => t.toFloat32());
      accepting(() => t.toFloat64());
      accepting(() => t.toIntegers());
    }
    for (const n of graph.nodes) {
      for (const [name, value] of n.attributes) {
        accepting(() => n.int(name));
        accepting(() => n.ints(name));
        accepting(() => n.float(name));
        accepting(() => n.floats(name));
        accepting(() => n.string(name));
        accepting(() => n.strings(name));
        accepting(() => n.tensor(name).toFloat32());
        if (value.type === 'graph' && depth < 4) visit(value.value, depth + 1);
      }
      if (n.opType === 'Conv' || n.opType.endsWith('Pool')) accepting(() => windowGeometry(n, [1, 1, 6, 6], [3, 3]));
      graph.producer(n.outputs[0] ?? '');
    }
  };
  visit(model.graph, 0);
}

function attempt(bytes: Uint8Array): 'model' | 'error' {
  try {
    exercise(readModelFromBytes(bytes, { path: join(dir, 'fuzz.onnx') }));
    return 'model';
  } catch (error) {
    if (error instanceof OnnxError) return 'error';
    throw error;
  }
}

test('the fixture itself reads and exercises cleanly', () => {
  assert.equal(attempt(fixture), 'model');
});

test('truncation at every offset and 600 seeded bit-flip cases give a Model or an OnnxError', { timeout: 60_000 }, () => {
  const outcomes = { model: 0, error: 0 };
  const failures: string[] = [];
  const run = (label: string, bytes: Uint8Array) => {
    try {
      outcomes[attempt(bytes)]++;
    } catch (error) {
      failures.push(`${label}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  };
  for (let length = 0; length < fixture.length; length++) run(`truncated to ${length} bytes`, fixture.subarray(0, length));
  const flips = mulberry32(7);
  for (let i = 0; i < 600; i++) {
    const mutated = fixture.slice();
    const count = 1 + Math.floor(flips() * 4);
    const positions: string[] = [];
    for (let f = 0; f < count; f++) {
      const at = Math.floor(flips() * mutated.length);
      const bit = Math.floor(flips() * 8);
      mutated[at] ^= 1 << bit;
      positions.push(`${at}.${bit}`);
    }
    run(`bit flips ${positions.join(' ')}`, mutated);
  }
  assert.deepEqual(failures.slice(0, 10), []);
  // Both outcomes occur: the cases reach past the first decoding step.
  assert.ok(outcomes.model > 50, `only ${outcomes.model} cases gave a model`);
  assert.ok(outcomes.error > 50, `only ${outcomes.error} cases gave an error`);
});
