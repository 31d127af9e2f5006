// Fuzz-style robustness. First the reader alone: truncations at every offset and seeded random bit flips
// of a fixture model that uses every encoding; each case must give a Model (whose tensors and attributes
// then decode or fail with OnnxError) or an OnnxError: never another exception, never a hang. Then the
// whole analysis path under mutation (below).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { pureForward, tensorValue, type NominalValues } from '../../src/engine/forward';
import { loadAnalysisNetwork } from '../../src/engine/loadNetwork';
import { InputError, syntheticInput } from '../../src/engine/nominalInput';
import { analyzeModelFile } from '../../src/engine/pipeline';
import { prepareNetwork } from '../../src/engine/prepared';
import { windowGeometry } from '../../src/onnx/autoPad';
import { AttributeProto_AttributeType, AttributeProtoSchema, ModelProtoSchema } from '../../src/onnx/gen/onnx_pb';
import type { ModelProto } from '../../src/onnx/gen/onnx_pb';
import type { Graph, Model } from '../../src/onnx/model';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModelFromBytes } from '../../src/onnx/reader';
import {
  add,
  batchNormalization,
  buildModel,
  buildModelFiles,
  conv,
  flatten,
  gemm,
  matMul,
  maxPool,
  mulberry32,
  node,
  randomTensor,
  relu,
  tensor,
} from '../fixtures/onnxBuilder';

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

// ---------------------------------------------------------------------------------------------------
// The whole analysis path under mutation. Real models (the bundled MNIST example, the tiny fixture) and
// small built ones are truncated, bit-flipped, overwritten, and mutated field by field (dims, data types,
// attributes, names, NaN/Inf, cycles, huge dimensions, hostile names). Every mutant runs reading,
// normalising and the bound engine in-process at one small ε. Each must end in a clean error (one line,
// naming the file, no stack trace, no raw control characters) or a finite bound that no sampled point of
// the ball beats under the engine's own forward pass. Seeded: the same mutants every run.

const MUTANTS_PER_BASE = { truncation: 12, bitFlips: 18, overwrite: 12, field: 60 };
const EPSILON = 1e-3;

const pipelineDir = join(dir, 'pipeline');
mkdirSync(pipelineDir);

function builtCnn(): Uint8Array {
  const r = mulberry32(11);
  return buildModel({
    inputs: [{ name: 'x', shape: [1, 1, 6, 6] }],
    outputs: [{ name: 'y', shape: [1, 3] }],
    initializers: [
      randomTensor('c.w', [2, 1, 3, 3], r),
      randomTensor('c.b', [2], r),
      tensor('bn.s', [2], [1.5, 0.5]),
      tensor('bn.b', [2], [0.1, -0.1]),
      tensor('bn.m', [2], [0, 0.2]),
      tensor('bn.v', [2], [1, 2]),
      randomTensor('fc.w', [3, 18], r),
      tensor('fc.b', [3], [0.1, 0.2, 0.3], { encoding: 'typed' }),
    ],
    nodes: [
      conv({ name: 'conv', input: 'x', weight: 'c.w', bias: 'c.b', output: 'c', pads: [1, 1, 1, 1], strides: [1, 1] }),
      batchNormalization({ name: 'bn', input: 'c', scale: 'bn.s', bias: 'bn.b', mean: 'bn.m', variance: 'bn.v', output: 'n', epsilon: 1e-5 }),
      relu('n', 'r', 'relu'),
      maxPool({ name: 'pool', input: 'r', output: 'p', kernelShape: [2, 2], strides: [2, 2] }),
      flatten('p', 'f', 1, 'flat'),
      gemm({ name: 'fc', a: 'f', b: 'fc.w', c: 'fc.b', output: 'y', transB: true, alpha: 1, beta: 1 }),
    ],
  });
}

function builtResidual(): Uint8Array {
  const r = mulberry32(12);
  return buildModel({
    inputs: [{ name: 'x', shape: ['N', 4] }],
    outputs: [{ name: 'y', shape: ['N', 2] }],
    initializers: [
      tensor('w1', [4, 4], Array.from({ length: 16 }, () => r() - 0.5), { dataType: 'FLOAT16' }),
      tensor('w2', [4, 2], Array.from({ length: 8 }, () => r() - 0.5), { storage: 'constant' }),
      tensor('scale', [], [0.5], { storage: 'value_float' }),
    ],
    nodes: [
      matMul('x', 'w1', 'h', 'mm1'),
      node('Cast', ['h'], ['h32'], { to: 1 }, 'cast'),
      node('LeakyRelu', ['h32'], ['a'], { alpha: { f: 0.1 } }, 'leaky'),
      add('a', 'x', 's', 'residual'),
      node('Mul', ['s', 'scale'], ['m'], undefined, 'scale'),
      matMul('m', 'w2', 'y', 'mm2'),
    ],
  });
}

// Plain Uint8Array copies: a Node Buffer's slice() is a view, and the mutations below must not touch the bases.
const bases: { label: string; bytes: Uint8Array }[] = [
  { label: 'mnist', bytes: new Uint8Array(readFileSync(join(__dirname, '../../examples/mnist/mnist-cnn.onnx'))) },
  { label: 'tiny', bytes: new Uint8Array(readFileSync(join(__dirname, '../fixtures/tiny.onnx'))) },
  { label: 'cnn', bytes: builtCnn() },
  { label: 'residual', bytes: builtResidual() },
];

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];

const HOSTILE_NAMES = ['\x1b[31mred\x1b[0m', 'bell\x07\x08', 'line\nbreak\r', 'nul\x00byte', 'bidi\u202egnp.exe', '\x9bcsi', 'x'.repeat(100_000), '', "quote'd"];
const INTEGERS = [-7n, -1n, 0n, 1n, 2n, 3n, 5n, 2n ** 31n, 2n ** 40n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const FLOATS = [NaN, Infinity, -Infinity, 1e30, -1, 0, 1e-30];
const DIMS = [0n, 1n, 2n, 7n, -1n, -5n, 2n ** 31n, 2n ** 40n];

/** Field-level mutations of a decoded model; each returns what it did, or undefined if it did not apply. */
const FIELD_MUTATIONS: Record<string, (proto: ModelProto, rng: Rng) => string | undefined> = {
  dims(proto, rng) {
    const t = proto.graph?.initializer.length ? pick(rng, proto.graph.initializer) : undefined;
    if (!t) return undefined;
    if (t.dims.length === 0 || rng() < 0.2) {
      t.dims.push(pick(rng, DIMS));
      return `dims of '${t.name}' get one more`;
    }
    const i = Math.floor(rng() * t.dims.length);
    t.dims[i] = pick(rng, DIMS);
    return `dims[${i}] of '${t.name}' = ${t.dims[i]}`;
  },
  dataType(proto, rng) {
    const t = proto.graph?.initializer.length ? pick(rng, proto.graph.initializer) : undefined;
    if (!t) return undefined;
    t.dataType = Math.floor(rng() * 28);
    return `data type of '${t.name}' = ${t.dataType}`;
  },
  intAttribute(proto, rng) {
    const attrs = (proto.graph?.node ?? []).flatMap((n) => n.attribute.filter((a) => a.ints.length > 0 || a.type === AttributeProto_AttributeType.INT).map((a) => ({ n, a })));
    if (attrs.length === 0) return undefined;
    const { n, a } = pick(rng, attrs);
    const value = pick(rng, INTEGERS);
    if (a.ints.length > 0) a.ints[Math.floor(rng() * a.ints.length)] = value;
    else a.i = value;
    return `attribute '${a.name}' of '${n.name}' gets ${value}`;
  },
  floatAttribute(proto, rng) {
    const nodes = proto.graph?.node ?? [];
    if (nodes.length === 0) return undefined;
    const value = pick(rng, FLOATS);
    const existing = nodes.flatMap((n) => n.attribute.filter((a) => a.type === AttributeProto_AttributeType.FLOAT || a.type === AttributeProto_AttributeType.FLOATS).map((a) => ({ n, a })));
    if (existing.length > 0 && rng() < 0.8) {
      const { n, a } = pick(rng, existing);
      if (a.type === AttributeProto_AttributeType.FLOATS && a.floats.length > 0) a.floats[0] = value;
      else a.f = value;
      return `attribute '${a.name}' of '${n.name}' = ${value}`;
    }
    const n = pick(rng, nodes);
    n.attribute.push(create(AttributeProtoSchema, { name: pick(rng, ['alpha', 'beta', 'epsilon']), type: AttributeProto_AttributeType.FLOAT, f: value }));
    return `node '${n.name}' gets a float attribute ${value}`;
  },
  nonFiniteWeight(proto, rng) {
    const tensors = [
      ...(proto.graph?.initializer ?? []),
      ...(proto.graph?.node ?? []).flatMap((n) => n.attribute.flatMap((a) => (a.t ? [a.t] : []))),
    ].filter((t) => t.dataType === 1 && (t.rawData.length >= 4 || t.floatData.length > 0));
    if (tensors.length === 0) return undefined;
    const t = pick(rng, tensors);
    const value = pick(rng, [NaN, Infinity, -Infinity]);
    if (t.floatData.length > 0) {
      t.floatData[Math.floor(rng() * t.floatData.length)] = value;
    } else {
      const raw = t.rawData.slice();
      new DataView(raw.buffer).setFloat32(4 * Math.floor((rng() * raw.length) / 4), value, true);
      t.rawData = raw;
    }
    return `a weight of '${t.name}' = ${value}`;
  },
  hostileName(proto, rng) {
    const graph = proto.graph;
    if (!graph || graph.node.length === 0) return undefined;
    const name = pick(rng, HOSTILE_NAMES);
    const n = pick(rng, graph.node);
    const where = rng();
    if (where < 0.4) {
      n.name = name;
      return `node renamed ${JSON.stringify(name.slice(0, 20))}`;
    }
    // Rename a tensor everywhere (still a valid graph) or in one place only (a dangling reference).
    const old = n.output[0];
    const everywhere = where < 0.7;
    for (const other of graph.node) {
      other.input = other.input.map((i) => (i === old && everywhere ? name : i));
      other.output = other.output.map((o) => (o === old ? name : o));
    }
    for (const info of graph.output) if (info.name === old && everywhere) info.name = name;
    return `tensor '${old}' renamed ${JSON.stringify(name.slice(0, 20))}${everywhere ? '' : ' at its producer only'}`;
  },
  cycle(proto, rng) {
    const nodes = proto.graph?.node ?? [];
    if (nodes.length === 0) return undefined;
    const i = Math.floor(rng() * nodes.length);
    const j = i + Math.floor(rng() * (nodes.length - i));
    if (nodes[i].input.length === 0 || nodes[j].output.length === 0) return undefined;
    nodes[i].input[0] = nodes[j].output[0];
    return `node ${i} reads the output of node ${j}`;
  },
  inputDims(proto, rng) {
    const dims = proto.graph?.input[0]?.type?.value.case === 'tensorType' ? proto.graph.input[0].type.value.value.shape?.dim : undefined;
    if (!dims || dims.length === 0) return undefined;
    const i = Math.floor(rng() * dims.length);
    const value = pick(rng, DIMS);
    dims[i].value = rng() < 0.15 ? { case: 'dimParam', value: 'H' } : { case: 'dimValue', value };
    return `input dim ${i} = ${dims[i].value.value}`;
  },
  removeNode(proto, rng) {
    const nodes = proto.graph?.node ?? [];
    if (nodes.length === 0) return undefined;
    const [removed] = nodes.splice(Math.floor(rng() * nodes.length), 1);
    return `node '${removed.name}' removed`;
  },
  duplicateNode(proto, rng) {
    const nodes = proto.graph?.node ?? [];
    if (nodes.length === 0) return undefined;
    const i = Math.floor(rng() * nodes.length);
    nodes.splice(i, 0, nodes[i]);
    return `node ${i} listed twice`;
  },
  opType(proto, rng) {
    const nodes = proto.graph?.node ?? [];
    if (nodes.length === 0) return undefined;
    const n = pick(rng, nodes);
    n.opType = pick(rng, ['Relu', 'Conv', 'Gemm', 'MaxPool', 'Add', 'Softplus', 'Identity', 'Flatten', 'Loop', 'Constant', '']);
    return `node '${n.name}' becomes ${n.opType || 'no op type'}`;
  },
  dropInitializer(proto, rng) {
    const list = proto.graph?.initializer ?? [];
    if (list.length === 0) return undefined;
    const [dropped] = list.splice(Math.floor(rng() * list.length), 1);
    return `initializer '${dropped.name}' dropped`;
  },
  rawDataLength(proto, rng) {
    const t = (proto.graph?.initializer ?? []).filter((x) => x.rawData.length > 0);
    if (t.length === 0) return undefined;
    const target = pick(rng, t);
    target.rawData = target.rawData.subarray(0, Math.floor(rng() * target.rawData.length));
    return `raw_data of '${target.name}' cut to ${target.rawData.length} bytes`;
  },
  outputName(proto) {
    if (!proto.graph?.output.length) return undefined;
    proto.graph.output[0].name = 'no such tensor';
    return 'graph output renamed';
  },
};

function mutants(): { label: string; bytes: Uint8Array }[] {
  const rng = mulberry32(20261205);
  const out: { label: string; bytes: Uint8Array }[] = [];
  for (const base of bases) {
    const { bytes } = base;
    for (let i = 0; i < MUTANTS_PER_BASE.truncation; i++) {
      const length = Math.floor(rng() * bytes.length);
      out.push({ label: `${base.label}: truncated to ${length} bytes`, bytes: bytes.subarray(0, length) });
    }
    for (let i = 0; i < MUTANTS_PER_BASE.bitFlips; i++) {
      const mutated = bytes.slice();
      const at: string[] = [];
      for (let f = 1 + Math.floor(rng() * 4); f > 0; f--) {
        const position = Math.floor(rng() * mutated.length);
        const bit = Math.floor(rng() * 8);
        mutated[position] ^= 1 << bit;
        at.push(`${position}.${bit}`);
      }
      out.push({ label: `${base.label}: bit flips ${at.join(' ')}`, bytes: mutated });
    }
    for (let i = 0; i < MUTANTS_PER_BASE.overwrite; i++) {
      const mutated = bytes.slice();
      const start = Math.floor(rng() * mutated.length);
      const fill = pick(rng, ['random', 0x00, 0xff] as const);
      const length = 1 + Math.floor(rng() * 8);
      for (let p = start; p < Math.min(mutated.length, start + length); p++) mutated[p] = fill === 'random' ? Math.floor(rng() * 256) : fill;
      out.push({ label: `${base.label}: ${length} bytes from ${start} overwritten (${fill})`, bytes: mutated });
    }
    const kinds = Object.keys(FIELD_MUTATIONS);
    for (let made = 0, tries = 0; made < MUTANTS_PER_BASE.field && tries < 10 * MUTANTS_PER_BASE.field; tries++) {
      const proto = fromBinary(ModelProtoSchema, bytes);
      const kind = kinds[made % kinds.length];
      const what = FIELD_MUTATIONS[kind](proto, rng);
      if (what === undefined) continue;
      out.push({ label: `${base.label}: ${kind}: ${what}`, bytes: toBinary(ModelProtoSchema, proto) });
      made++;
    }
  }
  return out;
}

type Outcome = 'refused when read' | 'refused after reading' | 'bound';

/** Checks an error the analysis ended in: the kind, one line, the file named, nothing raw. */
function checkError(error: unknown, file: string): string | undefined {
  if (!(error instanceof OnnxError || error instanceof InputError)) {
    return `not a clean error: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`;
  }
  const { message } = error;
  if (/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/.test(message)) return `raw control characters or a line break in: ${JSON.stringify(message.slice(0, 300))}`;
  if (/\bat .*:\d+:\d+/.test(message)) return `stack trace in: ${message.slice(0, 300)}`;
  if (!message.startsWith(file) && !message.startsWith(basename(file))) return `does not name the file: ${message.slice(0, 300)}`;
  return undefined;
}

/** ‖f(x) − f(x0)‖ / ‖x − x0‖ at seeded points of the ε-ball, by the engine's own float64 forward pass. */
function sampledRatios(bytes: Uint8Array, file: string, rng: Rng): number[] {
  const { network } = loadAnalysisNetwork(readModelFromBytes(bytes, { path: file }));
  const prepared = prepareNetwork(network, 'typescript');
  const x0 = syntheticInput(network.inputShape).values;
  const output = (x: Float64Array) => tensorValue(pureForward(prepared, x) as NominalValues, x, network.output);
  const f0 = output(x0);
  const ratios: number[] = [];
  for (let k = 0; k < 4; k++) {
    const direction = Float64Array.from(x0, () => rng() - 0.5);
    const norm = Math.hypot(...direction);
    const radius = EPSILON * (k === 0 ? 1 : rng());
    const x = Float64Array.from(x0, (v, i) => v + (radius * direction[i]) / norm);
    const fx = output(x);
    ratios.push(Math.hypot(...fx.map((v, i) => v - f0[i])) / Math.hypot(...x.map((v, i) => v - x0[i])));
  }
  return ratios;
}

test('at least 300 mutants of real and built models end in a clean one-line error or a sound finite bound', { timeout: 600_000 }, async (t) => {
  const cases = mutants();
  assert.ok(cases.length >= 300, `${cases.length} mutants`);
  const outcomes: Record<Outcome, number> = { 'refused when read': 0, 'refused after reading': 0, bound: 0 };
  const failures: string[] = [];
  const rng = mulberry32(99);
  let slowest = { ms: 0, label: '' };
  const started = performance.now();
  for (const [index, { label, bytes }] of cases.entries()) {
    const file = join(pipelineDir, `mutant-${index}.onnx`);
    writeFileSync(file, bytes);
    const caseStarted = performance.now();
    try {
      const report = await analyzeModelFile({ modelPath: file, input: { kind: 'synthetic' }, epsilons: [EPSILON], options: { lowerBound: false } });
      const bound = report.runs[0].network.localBound;
      if (typeof bound !== 'number' || !Number.isFinite(bound) || bound < 0) {
        failures.push(`${label}: bound ${bound}`);
      } else {
        const worst = Math.max(...sampledRatios(bytes, file, rng));
        if (!(worst <= bound * (1 + 1e-6) + 1e-12)) failures.push(`${label}: a sampled point gives ratio ${worst} > bound ${bound}`);
        outcomes.bound++;
      }
    } catch (error) {
      const problem = checkError(error, file);
      if (problem) failures.push(`${label}: ${problem}`);
      let readable = true;
      try {
        readModelFromBytes(bytes, { path: file });
      } catch {
        readable = false;
      }
      outcomes[readable ? 'refused after reading' : 'refused when read']++;
    }
    const ms = performance.now() - caseStarted;
    if (ms > slowest.ms) slowest = { ms, label };
  }
  t.diagnostic(`${cases.length} mutants in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(outcomes)}; slowest ${slowest.ms.toFixed(0)} ms (${slowest.label.slice(0, 120)})`);
  assert.deepEqual(failures.slice(0, 10), []);
  // Every outcome occurs: the mutants reach past the reader into the normaliser and the engine.
  for (const [outcome, count] of Object.entries(outcomes)) assert.ok(count >= 20, `only ${count} mutants ended as '${outcome}'`);
});
