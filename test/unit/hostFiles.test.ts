// Host helpers free of vscode: the export's same-file check by what paths resolve to (a symbolic or
// hard link to the model is the model), and the output channel that escapes every line it is given.
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type * as vscode from 'vscode';
import { isSameFile } from '../../src/host/sameFile';
import { sanitisedLog } from '../../src/host/sanitisedLog';

describe('host helpers', () => {
  it('a symbolic link and a hard link to the model are the model; other paths are not', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'lipschitz-same-'));
    const model = join(folder, 'model.onnx');
    writeFileSync(model, 'model bytes');
    const other = join(folder, 'other.json');
    writeFileSync(other, 'model bytes');
    symlinkSync(model, join(folder, 'report.json'));
    linkSync(model, join(folder, 'hard.json'));
    assert.equal(await isSameFile(join(folder, 'report.json'), model), true);
    assert.equal(await isSameFile(join(folder, 'hard.json'), model), true);
    assert.equal(await isSameFile(join(folder, '.', 'model.onnx'), model), true);
    assert.equal(await isSameFile(other, model), false, 'same bytes, another file');
    assert.equal(await isSameFile(join(folder, 'new.json'), model), false, 'a file not written yet');
  });

  it('the output channel escapes control and bidi characters in every line, keeping line breaks', () => {
    const lines: string[] = [];
    const channel = {
      info: (message: string) => lines.push(`info ${message}`),
      error: (message: string) => lines.push(`error ${message}`),
      appendLine: (message: string) => lines.push(`line ${message}`),
      name: 'Lipschitz Lens',
    } as unknown as vscode.LogOutputChannel;
    const log = sanitisedLog(channel);
    log.info('node \x1b[2J\u202eevil');
    log.error('two\nlines\x07');
    log.appendLine('\x9b31m');
    assert.equal(log.name, 'Lipschitz Lens');
    assert.deepEqual(lines, ['info node \\x1b[2J\\u{202e}evil', 'error two\nlines\\x07', 'line \\x9b31m']);
  });
});
