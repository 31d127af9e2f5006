// External data: tensors whose bytes live in side files next to the model. Locations must stay inside
// the model's folder; every refusal names the file, the tensor and the location.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { OnnxError } from '../../src/onnx/onnxError';
import { readModel, readModelFromBytes } from '../../src/onnx/reader';
import { buildModel, buildModelFiles, node, tensor, writeModel } from '../fixtures/onnxBuilder';
import type { ExternalOptions, ModelSpec, TensorSpec } from '../fixtures/onnxBuilder';

const root = mkdtempSync(join(tmpdir(), 'll-onnx-external-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh folder per test: model.onnx and its data files, plus an "outside" file next to the folder. */
function freshDir(): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(join(dir, 'model'), { recursive: true });
  writeFileSync(join(dir, 'outside.bin'), new Uint8Array(64));
  return join(dir, 'model');
}

const W = [1, -2, 3.5, 0.25];
const B = [0.5, -0.5];

function spec(external: ExternalOptions = {}, extra: TensorSpec[] = []): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [1] }],
    outputs: [{ name: 'y', shape: [1] }],
    initializers: [tensor('w', [2, 2], W, { encoding: 'external', external }), ...extra],
    nodes: [node('Identity', ['x'], ['y'])],
  };
}

function assertRefused(error: unknown, ...parts: RegExp[]): boolean {
  assert.ok(error instanceof OnnxError, `expected an OnnxError, got ${String(error)}`);
  for (const part of parts) assert.match(error.message, part);
  return true;
}

describe('external data', () => {
  test('tensors in a shared data file are read at their offsets', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.onnx');
    await writeModel(path, spec({}, [tensor('b', [2], B, { encoding: 'external' }), tensor('inline', [1], [9])]));
    const model = await readModel(path);
    const w = model.graph.initializers.get('w')!;
    const b = model.graph.initializers.get('b')!;
    assert.equal(w.storage, 'external');
    assert.equal(w.externalLocation, 'weights.bin');
    assert.deepEqual(Array.from(w.toFloat32()), W);
    assert.deepEqual(Array.from(b.toFloat32()), B);
    assert.deepEqual(Array.from(model.graph.initializers.get('inline')!.toFloat32()), [9]);
    // The weights' view reads the same values, each time afresh from the file.
    assert.deepEqual(Array.from(w.float32View()), W);
    assert.deepEqual(Array.from(b.float32View()), B);
    assert.notEqual(w.float32View().buffer, w.float32View().buffer);
  });

  test('a location in a subfolder of the model folder is allowed', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'data'));
    await writeModel(join(dir, 'model.onnx'), spec({ location: 'data/w.bin' }));
    const model = await readModel(join(dir, 'model.onnx'));
    assert.deepEqual(Array.from(model.graph.initializers.get('w')!.toFloat32()), W);
  });

  test('a symbolic link that stays inside the folder is allowed', async () => {
    const dir = freshDir();
    await writeModel(join(dir, 'model.onnx'), spec({ location: 'real.bin' }));
    symlinkSync('real.bin', join(dir, 'link.bin'));
    const { model } = buildModelFiles(spec({ location: 'link.bin' }));
    const read = readModelFromBytes(model, { path: join(dir, 'other.onnx') });
    assert.deepEqual(Array.from(read.graph.initializers.get('w')!.toFloat32()), W);
  });

  test('an absolute location is refused', async () => {
    const dir = freshDir();
    const outside = join(dir, '..', 'outside.bin');
    const { model } = buildModelFiles(spec({ location: outside, omitFile: true, offset: 0, length: 16 }));
    assert.throws(
      () => readModelFromBytes(model, { path: join(dir, 'model.onnx') }),
      (e) => assertRefused(e, /model\.onnx: initializer 'w': external data location '.*outside\.bin' is an absolute path/),
    );
  });

  test('a Windows drive path is refused as absolute on every platform', () => {
    const dir = freshDir();
    const { model } = buildModelFiles(spec({ location: 'C:\\weights.bin', omitFile: true }));
    assert.throws(
      () => readModelFromBytes(model, { path: join(dir, 'model.onnx') }),
      (e) => assertRefused(e, /initializer 'w'/, /is an absolute path/),
    );
  });

  for (const location of ['../outside.bin', 'data/../../outside.bin', '..\\outside.bin']) {
    test(`a location with '..' is refused: ${location}`, () => {
      const dir = freshDir();
      const { model } = buildModelFiles(spec({ location, omitFile: true, length: 16 }));
      assert.throws(
        () => readModelFromBytes(model, { path: join(dir, 'model.onnx') }),
        (e) => assertRefused(e, /model\.onnx: initializer 'w': external data location/, /contains '\.\.'/),
      );
    });
  }

  test('a symbolic link leading outside the folder is refused', () => {
    const dir = freshDir();
    symlinkSync(join(dir, '..', 'outside.bin'), join(dir, 'escape.bin'));
    const { model } = buildModelFiles(spec({ location: 'escape.bin', omitFile: true, length: 16 }));
    assert.throws(
      () => readModelFromBytes(model, { path: join(dir, 'model.onnx') }),
      (e) => assertRefused(e, /initializer 'w': external data location 'escape\.bin' resolves through a symbolic link/, /outside the model's folder/),
    );
  });

  test('a missing data file is an error naming tensor and location', async () => {
    const dir = freshDir();
    await writeModel(join(dir, 'model.onnx'), spec({ location: 'gone.bin', omitFile: true }));
    await assert.rejects(readModel(join(dir, 'model.onnx')), (e) =>
      assertRefused(e, /model\.onnx: initializer 'w': external data location 'gone\.bin' names a missing file/),
    );
  });

  test('a data file too short for offset + length is an error', async () => {
    const dir = freshDir();
    await writeModel(join(dir, 'model.onnx'), spec({ offset: 8 }));
    await assert.rejects(readModel(join(dir, 'model.onnx')), (e) =>
      assertRefused(e, /initializer 'w': external data file 'weights\.bin' has 16 bytes, too short for 16 bytes at offset 8/),
    );
  });

  test('a length that does not match the dims is an error', async () => {
    const dir = freshDir();
    await writeModel(join(dir, 'model.onnx'), spec({ length: 12 }));
    await assert.rejects(readModel(join(dir, 'model.onnx')), (e) =>
      assertRefused(e, /initializer 'w': external data length is 12 bytes but FLOAT dims \[2,2\] need 16/),
    );
  });

  test('a data file shortened after the model was opened is reported when the tensor is decoded', async () => {
    const dir = freshDir();
    await writeModel(join(dir, 'model.onnx'), spec());
    const model = await readModel(join(dir, 'model.onnx'));
    truncateSync(join(dir, 'weights.bin'), 10);
    assert.throws(
      () => model.graph.initializers.get('w')!.toFloat32(),
      (e) => assertRefused(e, /initializer 'w': external data file 'weights\.bin' ended after 10 of 16 bytes/),
    );
  });

  test('a non-numeric offset is an error', () => {
    const dir = freshDir();
    const files = buildModelFiles(spec());
    const text = Buffer.from(files.model).toString('latin1').replace('offset\x12\x010', 'offset\x12\x01x');
    assert.throws(
      () => readModelFromBytes(Buffer.from(text, 'latin1'), { path: join(dir, 'model.onnx') }),
      (e) => assertRefused(e, /initializer 'w': external_data 'offset' is 'x'/),
    );
  });

  test('external data of a model read from memory without a folder is an error', () => {
    const { model } = buildModelFiles(spec());
    assert.throws(
      () => readModelFromBytes(model),
      (e) => assertRefused(e, /<bytes>: initializer 'w': external data location 'weights\.bin' cannot be resolved/),
    );
  });

  test('buildModel refuses external tensors (they need files)', () => {
    assert.throws(() => buildModel(spec()), /uses external data/);
  });
});
