// One build script, one entry per runtime: extension host, engine worker, CLI, webview.
import * as esbuild from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  // onnxruntime-node ships native binaries next to its JS; it must be required from node_modules.
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const builds = [
  { ...nodeCommon, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...nodeCommon, entryPoints: ['src/worker/engineWorker.ts'], outfile: 'dist/worker.js' },
  {
    ...nodeCommon,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    entryPoints: ['media/main.ts'],
    outfile: 'dist/webview.js',
    logLevel: 'warning',
  },
];

// Integration tests (test/host/run.mjs) load in the extension host: CommonJS, with vscode and every
// package resolved from node_modules at run time. Helpers such as probe.ts are bundled into each test.
// test/packaged holds the tests run against the unpacked .vsix (test/host/runPackaged.mjs).
if (tests) {
  for (const suite of ['integration', 'packaged']) {
    const testDir = `test/${suite}`;
    // The test module runs every *.test.js it finds: a deleted test must not linger as a stale bundle.
    await rm(`out/test/${suite}`, { recursive: true, force: true });
    const entryPoints = (await readdir(testDir, { recursive: true }))
      .filter((file) => file === 'index.ts' || file.endsWith('.test.ts'))
      .map((file) => `${testDir}/${file}`);
    builds.push({
      ...nodeCommon,
      packages: 'external',
      sourcemap: true,
      minify: false,
      entryPoints,
      outbase: testDir,
      outdir: `out/test/${suite}`,
    });
  }
}

// The native float64 kernels (src/native): one object per instruction set, linked into
// dist/native/kernels.node against Node's own N-API headers. Rebuilt only when a source is newer.
// libstdc++ and libgcc are linked in statically and glibcCompat.cc binds the newer glibc symbols they
// need to their oldest versions (--wrap), so the object loads on glibc 2.28 and newer (README).
// A machine without a C++ compiler still gets a working build: the engine then runs its TypeScript
// operators and says so.
const NATIVE_SOURCES = ['kernels.cc', 'operations.cc', 'kernelsAvx512.cc', 'kernelsAvx2.cc', 'kernelsGeneric.cc', 'glibcCompat.cc'];
const WRAPPED_GLIBC_SYMBOLS = [
  'pthread_create', 'pthread_detach', 'pthread_join', 'pthread_once', 'pthread_key_create', '__pthread_key_create',
  'pthread_key_delete', 'pthread_getspecific', 'pthread_setspecific', '__libc_single_threaded', '_dl_find_object', 'arc4random',
];
const NATIVE_OUTPUT = 'dist/native/kernels.node';
const ISA_FLAGS = {
  'kernels.cc': [],
  'operations.cc': [],
  'kernelsAvx512.cc': ['-mavx512f', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma'],
  'kernelsAvx2.cc': ['-mavx2', '-mfma'],
  'kernelsGeneric.cc': [],
  'glibcCompat.cc': [],
};

function nodeHeaders() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node')];
  return candidates.find((dir) => dir && existsSync(join(dir, 'node_api.h')));
}

async function buildNative() {
  const sources = [...[...NATIVE_SOURCES, 'kernels.h', 'kernelsImpl.h', 'operations.h'].map((file) => join('src/native', file)), 'esbuild.mjs'];
  if (existsSync(NATIVE_OUTPUT)) {
    const built = statSync(NATIVE_OUTPUT).mtimeMs;
    if (sources.every((file) => statSync(file).mtimeMs <= built)) return;
  }
  const headers = nodeHeaders();
  if (!headers) {
    console.warn('native kernels not built: node_api.h not found beside this Node (the engine falls back to TypeScript)');
    return;
  }
  const run = promisify(execFile);
  const compiler = process.env.CXX ?? 'g++';
  const x64 = process.arch === 'x64';
  // The symbol versions glibcCompat.cc names are those of glibc on x86-64.
  const glibcX64 = x64 && process.platform === 'linux' && Boolean(process.report?.getReport().header.glibcVersionRuntime);
  await mkdir('dist/native/obj', { recursive: true });
  const common = ['-O3', '-std=gnu++17', '-fPIC', '-pthread', '-ffp-contract=fast', '-fvisibility=hidden', '-Wall', `-I${headers}`];
  try {
    const objects = await Promise.all(
      NATIVE_SOURCES.filter((file) => glibcX64 || file !== 'glibcCompat.cc').map(async (file) => {
        const object = join('dist/native/obj', file.replace(/\.cc$/, '.o'));
        await run(compiler, [...common, ...(x64 ? ISA_FLAGS[file] : []), '-c', join('src/native', file), '-o', object]);
        return object;
      }),
    );
    // -s: the statically linked runtime's symbol table is a fifth of the object and of no use to a user.
    const portable = glibcX64 ? ['-s', '-static-libstdc++', '-static-libgcc', ...WRAPPED_GLIBC_SYMBOLS.map((name) => `-Wl,--wrap=${name}`)] : [];
    await run(compiler, ['-shared', '-pthread', ...portable, '-o', NATIVE_OUTPUT, ...objects]);
  } catch (error) {
    console.warn(`native kernels not built (${compiler}): ${String(error.stderr || error.message).trim().split('\n').slice(0, 8).join('\n')}`);
    console.warn('the engine falls back to its TypeScript operators');
  }
}

// The same kernels as WebAssembly (dist/native/kernels.wasm) for platforms without a native build:
// kernelsWasm.cc, operations.cc and the generic kernels, compiled by Debian's clang for wasm32-wasi
// with SIMD128 against wasi-libc and libc++ (no threads, no imports). Rebuilt only when a source is
// newer. Without clang and those libraries (apt: clang lld wasi-libc libc++-14-dev-wasm32
// libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32; `npm test` installs them) the build warns and goes
// on: the native kernels or the TypeScript operators serve instead.
const WASM_SOURCES = ['kernelsWasm.cc', 'operations.cc', 'kernelsGeneric.cc'];
const WASM_OUTPUT = 'dist/native/kernels.wasm';

async function buildWasm() {
  const sources = [...[...WASM_SOURCES, 'kernels.h', 'kernelsImpl.h', 'operations.h'].map((file) => join('src/native', file)), 'esbuild.mjs'];
  if (existsSync(WASM_OUTPUT)) {
    const built = statSync(WASM_OUTPUT).mtimeMs;
    if (sources.every((file) => statSync(file).mtimeMs <= built)) return;
  }
  const compiler = process.env.WASM_CXX ?? 'clang++';
  await mkdir('dist/native', { recursive: true });
  try {
    await promisify(execFile)(compiler, [
      '--target=wasm32-wasi', '-mexec-model=reactor', '-O3', '-msimd128', '-std=gnu++17', '-ffp-contract=fast', '-fno-exceptions',
      '-fvisibility=hidden', '-Wall', '-Wl,--max-memory=4294967296', '-Wl,--strip-all',
      ...WASM_SOURCES.map((file) => join('src/native', file)), '-o', WASM_OUTPUT,
    ]);
  } catch (error) {
    await rm(WASM_OUTPUT, { force: true });
    console.warn(`WebAssembly kernels not built (${compiler}): ${String(error.stderr || error.message).trim().split('\n').slice(0, 8).join('\n')}`);
    console.warn('platforms without the native kernels fall back to the TypeScript operators');
  }
}

async function copyStatic() {
  await mkdir('dist', { recursive: true });
  await copyFile('media/main.css', 'dist/webview.css');
}

// The CLI as an npm package for CI (`npm run package:cli` packs it): the bundle, the native kernels
// and their WebAssembly build beside it where they were built (src/engine/native/kernels.ts looks in ./native), a README and the
// licence, and onnxruntime-node, which the bundle requires for the fidelity check, as a bundled
// dependency: its JS and this platform's CPU binaries with onnxruntime-common, as in the .vsix, so the
// tarball installs without a registry. Its package.json loses the install script and the installer's
// own dependencies (they fetch optional CUDA libraries; nothing at run time needs them).
const CLI_PACKAGE = 'dist/cli-package';

async function copyMatching(from, to, keep) {
  for (const file of (await readdir(from, { recursive: true })).filter(keep)) {
    await mkdir(dirname(join(to, file)), { recursive: true });
    await copyFile(join(from, file), join(to, file));
  }
}

async function vendorOnnxruntime(target) {
  const ortNode = JSON.parse(await readFile('node_modules/onnxruntime-node/package.json', 'utf8'));
  const binaries = `bin/napi-v6/${process.platform}/${process.arch}/`;
  await copyMatching('node_modules/onnxruntime-node', join(target, 'onnxruntime-node'), (file) => /^dist\/[^/]+\.js$/.test(file) || file.startsWith(binaries));
  const { scripts: _scripts, devDependencies: _devDependencies, ...runtimeManifest } = ortNode;
  runtimeManifest.dependencies = { 'onnxruntime-common': ortNode.dependencies['onnxruntime-common'] };
  await writeFile(join(target, 'onnxruntime-node', 'package.json'), `${JSON.stringify(runtimeManifest, null, 2)}\n`);
  await copyMatching('node_modules/onnxruntime-common', join(target, 'onnxruntime-common'), (file) => file === 'package.json' || /^dist\/cjs\/[^/]+\.(js|json)$/.test(file));
  const common = JSON.parse(await readFile('node_modules/onnxruntime-common/package.json', 'utf8'));
  return { 'onnxruntime-node': ortNode.version, 'onnxruntime-common': common.version };
}

async function writeCliPackage() {
  await chmod('dist/cli.js', 0o755);
  await rm(CLI_PACKAGE, { recursive: true, force: true });
  await mkdir(join(CLI_PACKAGE, 'native'), { recursive: true });
  await copyFile('dist/cli.js', join(CLI_PACKAGE, 'cli.js'));
  await chmod(join(CLI_PACKAGE, 'cli.js'), 0o755);
  await copyFile('packaging/cli/README.md', join(CLI_PACKAGE, 'README.md'));
  await copyFile('LICENSE', join(CLI_PACKAGE, 'LICENSE'));
  const files = ['cli.js', 'README.md', 'LICENSE'];
  for (const [built, name] of [[NATIVE_OUTPUT, 'kernels.node'], [WASM_OUTPUT, 'kernels.wasm']]) {
    if (!existsSync(built)) continue;
    await copyFile(built, join(CLI_PACKAGE, 'native', name));
    files.push(`native/${name}`);
  }
  const runtime = await vendorOnnxruntime(join(CLI_PACKAGE, 'node_modules'));
  const extension = JSON.parse(await readFile('package.json', 'utf8'));
  const manifest = {
    name: 'lipschitz-lens',
    version: extension.version,
    description: 'Certified local Lipschitz bounds of ReLU networks in ONNX files, from the command line (the engine of the Lipschitz Lens VS Code extension).',
    license: extension.license,
    keywords: extension.keywords,
    bin: { 'lipschitz-lens': 'cli.js' },
    files,
    dependencies: runtime,
    bundleDependencies: Object.keys(runtime),
    // The bundled onnxruntime binaries are this build machine's.
    os: [process.platform],
    cpu: [process.arch],
    engines: { node: extension.engines.node },
  };
  await writeFile(join(CLI_PACKAGE, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
  await copyStatic();
} else {
  await Promise.all([...builds.map((options) => esbuild.build(options)), buildNative(), buildWasm()]);
  await copyStatic();
  await writeCliPackage();
}
