// The built native kernels load on the older Linux distributions VS Code supports: they need no
// libstdc++ or libgcc_s (linked statically) and no glibc symbol version above the floor README.md
// states (glibcCompat.cc binds the newer ones to their oldest versions). Reads the object's
// .gnu.version_r itself (helpers/elfVersionNeeds.ts), checked first on an object that does need a
// newer version, so the check is seen to catch one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { compareVersions, elfVersionNeeds, type VersionNeed } from './helpers/elfVersionNeeds';

const ROOT = join(__dirname, '..', '..');
const KERNELS = join(ROOT, 'dist', 'native', 'kernels.node');

/** "glibc 2.28 or newer", as README.md states it. */
function statedGlibcFloor(): string {
  const stated = /glibc (\d+\.\d+) or newer/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(stated, 'README.md states the glibc the native kernels need ("glibc X.Y or newer")');
  return stated[1];
}

function glibcVersions(needs: VersionNeed[]): string[] {
  return needs.flatMap((need) => need.versions).filter((name) => name.startsWith('GLIBC_')).map((name) => name.slice('GLIBC_'.length));
}

test('the version reader finds a GLIBC_2.34 need in an object that calls pthread_once unwrapped', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'lipschitz-lens-elf-'));
  try {
    writeFileSync(join(folder, 'once.c'), '#include <pthread.h>\nstatic pthread_once_t once = PTHREAD_ONCE_INIT;\nstatic void nothing(void) {}\nint callOnce(void) { return pthread_once(&once, nothing); }\n');
    await promisify(execFile)(process.env.CC ?? 'gcc', ['-shared', '-fPIC', '-o', join(folder, 'once.so'), join(folder, 'once.c')]);
    const needs = elfVersionNeeds(readFileSync(join(folder, 'once.so')));
    assert.deepEqual(needs.map((need) => need.file), ['libc.so.6']);
    assert.ok(glibcVersions(needs).includes('2.34'), `pthread_once needs GLIBC_2.34 on this glibc; read ${JSON.stringify(needs)}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('dist/native/kernels.node needs no libstdc++ and no glibc version above the floor README.md states', () => {
  assert.ok(existsSync(KERNELS), `${KERNELS} is missing: build it with \`npm run build\` (g++ and Node's headers)`);
  const needs = elfVersionNeeds(readFileSync(KERNELS));
  const libraries = needs.map((need) => need.file);
  assert.ok(libraries.includes('libc.so.6'), `the kernels' version needs were read: ${JSON.stringify(needs)}`);
  for (const library of libraries) assert.match(library, /^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2)$/, `kernels.node needs versions from ${library}`);
  const foreign = needs.flatMap((need) => need.versions).filter((name) => !name.startsWith('GLIBC_'));
  assert.deepEqual(foreign, [], 'no GLIBCXX_/CXXABI_/GCC_ versions: libstdc++ and libgcc are linked statically');
  const floor = statedGlibcFloor();
  const above = glibcVersions(needs).filter((version) => compareVersions(version, floor) > 0);
  assert.deepEqual(above, [], `glibc versions above the stated floor ${floor}`);
});
