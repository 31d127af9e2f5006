import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAnalyzeArguments, UsageError } from '../../src/cli/args';
import { formatReport, layoutColumns } from '../../src/cli/table';
import type { BoundReport } from '../../src/shared/protocol';
import type { LayerResult } from '../../src/shared/results';
import { cli, EXAMPLE } from './helpers/runCli';
import { assertTightestNetworkBound } from './helpers/networkMethod';


test('arguments: repeated --eps make a sweep, defaults fill in', () => {
  const args = parseAnalyzeArguments(['analyze', 'm.onnx', '--eps', '0.1', '--eps', '1e-3', '--radius', '--json']);
  assert.ok(args !== 'help');
  assert.deepEqual(args.epsilons, [0.1, 0.001]);
  assert.equal(args.radius, true);
  assert.equal(args.json, true);
  const defaults = parseAnalyzeArguments(['analyze', 'm.onnx']);
  assert.ok(defaults !== 'help');
  assert.deepEqual(defaults.epsilons, [0.001]);
  assert.equal(parseAnalyzeArguments(['--help']), 'help');
  const shaped = parseAnalyzeArguments(['analyze', 'm.onnx', '--input-shape', '3,48,192']);
  assert.ok(shaped !== 'help');
  assert.deepEqual(shaped.inputShape, [3, 48, 192]);
});

test('arguments: bad values are usage errors that say what is wrong', () => {
  const bad: [string[], RegExp][] = [
    [['analyze', 'm.onnx', '--eps', '0'], /--eps: ε must be greater than 0/],
    [['analyze', 'm.onnx', '--eps', 'NaN'], /--eps: Enter a positive decimal/],
    [['analyze', 'm.onnx', '--eps'], /^Option '--eps <value>' argument missing$/],
    [['analyze'], /no model given/],
    [['analyse', 'm.onnx'], /unknown command 'analyse'/],
    [['analyze', 'm.onnx', '--frobnicate'], /^Unknown option '--frobnicate'$/],
    [['analyze', 'm.onnx', '--json=yes'], /--json/],
    [['analyze', 'a.onnx', 'b.onnx'], /one model at a time/],
    [['analyze', 'm.onnx', '--input', 'x.npy', '--synthetic'], /--input and --synthetic exclude each other/],
    [['analyze', 'm.onnx', '--progress', '--quiet'], /--progress and --quiet exclude each other/],
    [['analyze', 'm.onnx', '--failure-probability', '2'], /^--failure-probability must be a number above 0 and at most 0.01, got '2'$/],
    [['analyze', 'm.onnx', '--lanczos-steps', '2.5'], /^--lanczos-steps must be an integer from 1 to 10000, got '2.5'$/],
    [['analyze', 'm.onnx', '--input-shape', '3,0,2'], /--input-shape takes positive integers/],
    [['analyze', 'm.onnx', '--input-shape', '0x10,2'], /--input-shape takes positive integers/],
    [['analyze', 'm.onnx', '--threads', '1e300'], /^--threads must be an integer from 1 to 64, got '1e300'$/],
    [['analyze', 'm.onnx', '--threads', '9'.repeat(300)], /^--threads must be an integer from 1 to 64, got '9{37}\.\.\.'$/],
    [['analyze', 'm.onnx', '--threads', '0'], /^--threads must be an integer from 1 to 64/],
    [['analyze', 'm.onnx', '--seed', '1e300'], /^--seed must be an integer from 0 to 4294967295, got '1e300'$/],
    [['analyze', 'm.onnx', '--seed', '9007199254740993'], /^--seed must be an integer from 0 to 4294967295/],
    [['analyze', 'm.onnx', '--seed', '4294967296'], /^--seed must be an integer from 0 to 4294967295/],
    [['analyze', 'm.onnx', '--exact-cutoff', '0x10'], /^--exact-cutoff must be an integer from 0 to 4096/],
    [['analyze', 'm.onnx', '--max-memory', '0'], /^--max-memory must be a number above 0 and at most 1024, got '0'$/],
    [['analyze', 'm.onnx', '--backend', 'gpu'], /^--backend takes native, webassembly or typescript, got 'gpu'$/],
    [['analyze', 'm.onnx', '--radius', '--radius-tolerance', '0'], /^--radius-tolerance must be a number above 0 and at most 1, got '0'$/],
    [['analyze', 'm.onnx', '--radius-tolerance', '0.01'], /^--radius-tolerance applies to the certified radius: add --radius$/],
    [['analyze', 'm.onnx', '--composed-budget=-1'], /^--composed-budget must be a number from 0 to 1000, got '-1'$/],
    [['analyze', 'm.onnx', '--composed-budget', '1001'], /^--composed-budget must be a number from 0 to 1000, got '1001'$/],
    [['analyze', 'm.onnx', '--composed-budget', 'off'], /^--composed-budget must be a number from 0 to 1000, got 'off'$/],
  ];
  for (const [argv, message] of bad) assert.throws(() => parseAnalyzeArguments(argv), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
});

test('arguments: progress follows --json unless asked for; seeds and memory budgets parse', () => {
  const parse = (argv: string[]) => {
    const args = parseAnalyzeArguments(['analyze', 'm.onnx', ...argv]);
    assert.ok(args !== 'help');
    return args;
  };
  assert.equal(parse([]).progress, true);
  assert.equal(parse(['--quiet']).progress, false);
  assert.equal(parse(['--json']).progress, false);
  assert.equal(parse(['--json', '--progress']).progress, true);
  assert.equal(parse(['--seed', '4294967295']).seed, 4294967295);
  assert.equal(parse([]).maxMemoryGB, 4);
  assert.equal(parse(['--max-memory', '0.5']).maxMemoryGB, 0.5);
  assert.equal(parse(['--radius']).radiusTolerance, undefined);
  assert.equal(parse(['--radius', '--radius-tolerance', '2e-3']).radiusTolerance, 0.002);
  assert.equal(parse(['--threads', '64']).threads, 64);
  assert.equal(parse([]).composedBudget, undefined);
  assert.equal(parse(['--composed-budget', '0']).composedBudget, 0);
  assert.equal(parse(['--composed-budget', '1.5']).composedBudget, 1.5);
});

test('table layout pads columns and right-aligns numbers', () => {
  const text = layoutColumns(['a', 'num'], [['x', '1'], ['long', '22']], [false, true]);
  assert.deepEqual(text.split('\n'), ['a     num', '────  ───', 'x       1', 'long   22']);
});

test('residual Add rows are marked as a ratio of radii, not a Lipschitz constant', () => {
  const layer = (index: number, kind: string): LayerResult => ({
    index, label: `${kind}${index}`, nodes: [`n${index}`], kind, epsilonIn: 0.1, epsilonOut: 0.2, localBound: 2, spectralNorm: 3,
    certificate: { method: 'composition', detail: '' }, spectralCertificate: { method: 'composition', detail: '' }, timeMs: 1,
  });
  const report = (kinds: string[]): BoundReport => ({
    model: 'm.onnx', input: { source: 'synthetic', origin: 'synthetic input', shape: [1] }, outputSize: 1,
    runs: [{ epsilon: 0.1, network: { localBound: 2, layerProduct: 2, method: 'layer-product', spectralBound: 3, failureProbability: 0 }, layers: kinds.map((k, i) => layer(i, k)) }],
  });
  const residual = formatReport(report(['conv+relu', 'add']));
  assert.match(residual, /add1 +n1 .* 2† +3†/);
  assert.match(residual, /† residual Add \/ Concat: ratio of radii/);
  assert.doesNotMatch(formatReport(report(['conv+relu'])), /†/);
});

test('--json prints exactly one object in the documented schema', async () => {
  const { code, stdout } = await cli(['analyze', EXAMPLE, '--eps', '0.01', '--eps', '0.1', '--json', '--quiet']);
  assert.equal(code, 0);
  const report = JSON.parse(stdout);
  assert.equal(report.model, 'mnist-cnn.onnx');
  assert.equal(report.input.source, 'example');
  assert.deepEqual(report.input.shape, [1, 1, 28, 28]);
  assert.deepEqual(report.runs.map((r: { epsilon: number }) => r.epsilon), [0.01, 0.1]);
  for (const run of report.runs) {
    assert.ok(run.network.localBound > 0 && run.network.localBound <= run.network.spectralBound);
    assert.ok(run.lowerBound.value > 0 && run.lowerBound.value <= run.network.localBound, 'lower ≤ local');
    assert.deepEqual(run.layers.map((l: { nodes: string[] }) => l.nodes.join('+')), ['conv1+relu1', 'pool1', 'conv2+relu2', 'pool2', 'flatten', 'fc']);
    for (const layer of run.layers) {
      for (const key of ['nodes', 'kind', 'epsilonIn', 'localBound', 'spectralNorm', 'certificate']) assert.ok(key in layer, key);
    }
    // The layer product is the product of the layer bounds for a chain.
    const product = run.layers.reduce((p: number, l: { localBound: number }) => p * l.localBound, 1);
    assert.ok(Math.abs(product - run.network.layerProduct) <= 1e-9 * product);
    // The reported bound is the tightest of the layer product, the composed bound and the spectral product, and says which.
    assertTightestNetworkBound(run.network);
  }
  assert.ok(report.runs[0].network.localBound <= report.runs[1].network.localBound, 'bound grows with ε');
});

test('the readable table names every layer and the totals', async () => {
  const { code, stdout } = await cli(['analyze', EXAMPLE, '--synthetic', '--quiet', '--no-lower-bound']);
  assert.equal(code, 0);
  assert.match(stdout, /nominal input: synthetic input/);
  for (const label of ['conv1+relu1', 'pool1', 'conv2+relu2', 'fc']) assert.match(stdout, new RegExp(label.replace('+', '\\+')));
  assert.match(stdout, /network: local bound [\d.e+-]+ \((composed|layer product)\) +layer product [\d.e+-]+ +spectral product [\d.e+-]+/);
  assert.doesNotMatch(stdout, /lower bound/, '--no-lower-bound skips the search');
});

test('--backend webassembly runs the WebAssembly kernels, says so, and gives the native run\'s bounds', async () => {
  const args = ['analyze', EXAMPLE, '--eps', '0.01', '--quiet', '--no-lower-bound'];
  const [native, wasm] = await Promise.all([cli([...args, '--json']), cli([...args, '--json', '--backend', 'webassembly'])]);
  assert.equal(native.code, 0, native.stderr);
  assert.equal(wasm.code, 0, wasm.stderr);
  const [n, w] = [JSON.parse(native.stdout), JSON.parse(wasm.stdout)];
  assert.equal(n.stats.backend, 'native');
  assert.deepEqual([w.stats.backend, w.stats.isa, w.stats.threads], ['webassembly', 'WebAssembly SIMD128', 1]);
  // Asked for explicitly: no fallback note.
  assert.ok(!(w.notes ?? []).some((note: string) => note.startsWith('Operators:')), JSON.stringify(w.notes));
  // Lanczos bounds agree within their tolerance (nativeEngine.test.ts), the rest to rounding.
  for (const key of ['localBound', 'layerProduct', 'spectralBound']) {
    const [a, b] = [n.runs[0].network[key], w.runs[0].network[key]];
    assert.ok(Math.abs(a - b) <= 1e-3 * Math.abs(a), `${key}: native ${a}, WebAssembly ${b}`);
  }
  const table = await cli(['analyze', EXAMPLE, '--eps', '0.01', '--quiet', '--no-lower-bound', '--backend', 'webassembly']);
  assert.match(table.stdout, /^engine: WebAssembly SIMD128, 1 thread, /m);
});

test('--eps 1e308: the layer product overflows, the table says where and shows ∞, the spectral product (below the composed bound there) gives the bound (derivations §57, §61.1)', async () => {
  const { code, stdout } = await cli(['analyze', EXAMPLE, '--eps=1e308', '--quiet', '--no-lower-bound']);
  assert.equal(code, 0);
  // No "local is 1× tighter": the spectral product is the bound itself here.
  assert.match(stdout, /^network: local bound ([\d.]+) \(spectral product\) +layer product ∞ +spectral product \1$/m);
  assert.match(stdout, /the layer product overflowed at layer 'conv1\+relu1' \(∞\); network bound from the spectral product\./);
  assert.match(stdout, /spectral product: ∏ ‖A_k‖ \(the conservative column\) is sound at every ε, and at this one it is below the local bounds/);
  assert.doesNotMatch(stdout, /Infinity|NaN/);
  const json = await cli(['analyze', EXAMPLE, '--eps=1e308', '--quiet', '--no-lower-bound', '--json']);
  const network = JSON.parse(json.stdout).runs[0].network;
  assert.equal(network.layerProduct, 'Infinity');
  assert.equal(network.layerProductOverflowedAt, 'conv1+relu1');
  assert.equal(network.method, 'spectral-product');
  assert.ok(typeof network.localBound === 'number' && Number.isFinite(network.localBound));
  assert.equal(network.localBound, network.spectralBound);
});

test('bad input exits non-zero with one line naming the problem', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'lipschitz-cli-'));
  const notOnnx = join(folder, 'notes.onnx');
  await writeFile(notOnnx, 'hello, this is not a model');
  const wrongShape = join(folder, 'x.json');
  await writeFile(wrongShape, '[1, 2, 3]');
  const cases: [string[], number, RegExp][] = [
    [['analyze', join(folder, 'missing.onnx')], 1, /missing\.onnx/],
    [['analyze', notOnnx], 1, /notes\.onnx/],
    [['analyze', EXAMPLE, '--input', wrongShape], 1, /x\.json: shape \[3\] does not match model input 'image'/],
    [['analyze', EXAMPLE, '--eps', '-1'], 2, /Option '--eps' argument is ambiguous/],
    [['analyze', EXAMPLE, '--eps', '-0.5e-3x'], 2, /--eps/],
    [['analyze', EXAMPLE, '--max-memory', '0.01'], 1, /^lipschitz-lens: mnist-cnn\.onnx: the analysis needs about [\d.]+ MB of memory \(the largest parts: Node and the engine 128 MB, onnxruntime's session [\d.]+ MB, exact-path blocks [\d.]+ MB\) and about [\d.]+ GFLOP of operator work; the limit is 10.24 MB; use --max-memory to raise it$/m],
  ];
  for (const [argv, expectedCode, message] of cases) {
    const { code, stdout, stderr } = await cli([...argv, '--quiet']);
    assert.equal(code, expectedCode, argv.join(' '));
    assert.equal(stdout, '');
    assert.match(stderr, message);
  }
});
