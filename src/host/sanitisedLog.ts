// The output channel as every host module sees it: each line written is escaped first, since messages
// quote node names, tensor names and paths straight from a model or input file.

import type * as vscode from 'vscode';
import { escapeControlCharacters } from '../shared/format';

const WRITERS = new Set<string | symbol>(['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace']);

export function sanitisedLog(channel: vscode.LogOutputChannel): vscode.LogOutputChannel {
  return new Proxy(channel, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!WRITERS.has(property)) return value.bind(target);
      return (message: unknown, ...rest: unknown[]) =>
        value.call(target, typeof message === 'string' ? escapeControlCharacters(message, true) : message, ...rest);
    },
  });
}
