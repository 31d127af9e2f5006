// What the engine log says about every finished analysis: which operators ran (and, when the native
// kernels could not and the WebAssembly kernels or the TypeScript operators ran instead, why and what
// to do, as a warning), the input file actually used, and where the
// time went. Free of vscode so that unit tests check the lines on reports from the real worker.

import { dirname, join } from 'node:path';
import { fallbackLabel, kernelsLabel, operatorWork, phaseTimes } from '../shared/format';
import type { AnalyzeParams, BoundReport } from '../shared/protocol';

export interface LogEntry {
  level: 'info' | 'warn';
  message: string;
}

/** The input's path (an example beside the model or a chosen file), or the engine's "synthetic input (how it was made)". */
export function inputUsed(params: Pick<AnalyzeParams, 'modelPath' | 'input'>, report: Pick<BoundReport, 'input'>): string {
  const { source, origin } = report.input;
  if (source === 'synthetic') return origin;
  if (source === 'example') return join(dirname(params.modelPath), origin);
  return params.input.kind === 'file' ? params.input.path : origin;
}

export function analysisLogEntries(params: Pick<AnalyzeParams, 'modelPath' | 'input'>, report: BoundReport): LogEntry[] {
  const entries: LogEntry[] = [{ level: 'info', message: `Input: ${inputUsed(params, report)}, shape [${report.input.shape.join(', ')}].` }];
  const stats = report.stats;
  if (!stats) return entries;
  entries.push(
    stats.nativeUnavailable
      ? { level: 'warn', message: `Kernels: ${fallbackLabel(stats)}: ${stats.nativeUnavailable}` }
      : { level: 'info', message: `Kernels: ${kernelsLabel(stats)}.` },
  );
  entries.push({ level: 'info', message: `Time: ${phaseTimes(stats)}; ${operatorWork(stats)}.` });
  return entries;
}
