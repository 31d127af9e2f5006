// The README's list of supported operators names every op type the normaliser has a handler for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { supportedOpTypes } from '../../src/engine/normalise/registry';

test("README's supported-operator list names every op type of the registry", () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const start = readme.indexOf('- Supported operators:');
  assert.ok(start >= 0, 'README has a supported-operator list');
  const list = readme.slice(start, readme.indexOf('\n- ', start + 1));
  const named = new Set(list.match(/[A-Za-z]+/g));
  const missing = supportedOpTypes().filter((opType) => !named.has(opType));
  assert.deepEqual(missing, []);
});
