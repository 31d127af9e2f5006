// Number, size and progress formatting shared by the webview, the worker, the CLI and the report
// writers, so all of them show the same digits and sentences.

import type { ProgressEvent } from './results';

/** Six significant digits without trailing zeros; exponent form outside [0.001, 1e6) ("0.001", "104000", "1e-6", "1.5e7"). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  const rounded = Number(value.toPrecision(6));
  const magnitude = Math.abs(rounded);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) {
    return rounded.toExponential().replace('e+', 'e');
  }
  return String(rounded);
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** How many times tighter the local bound is than the spectral one; undefined when the local bound is 0. */
export function tighteningRatio(spectral: number, local: number): number | undefined {
  return local > 0 ? spectral / local : undefined;
}

/** One sentence for an engine progress event, as the editor's notification and the CLI's stderr show it. */
export function progressMessage(event: ProgressEvent): string {
  switch (event.kind) {
    case 'forward':
      return event.done ? 'Nominal forward pass done' : 'Nominal forward pass';
    case 'layer':
      return `ε = ${formatNumber(event.epsilon)}: ${event.label} (${event.layerIndex + 1}/${event.layerCount})`;
    case 'layerResult':
      return `ε = ${formatNumber(event.epsilon)}: ${event.layer.label} done (${event.layer.index + 1}/${event.layerCount})`;
    case 'radius':
      return `Robustness radius: bisection step ${event.iteration}/${event.iterations}`;
  }
}
