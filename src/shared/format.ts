// Number, size and progress formatting shared by the webview, the worker, the CLI and the report
// writers, so all of them show the same digits and sentences.

import type { EngineStats, NetworkMethod, ProgressEvent, RadiusResult } from './results';

/**
 * C0 controls (ESC starts terminal escape sequences), DEL, C1 controls (CSI), the line separators and
 * the bidirectional overrides and isolates (which reorder what a reader sees): never printed raw.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_KEEPING_NEWLINES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function escapeCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * Text from a model or input file (node, tensor and file names, producer strings, messages quoting
 * them) made safe for a terminal or a log: control and bidi characters become visible escapes (ESC →
 * "\x1b"). With keepNewlines, line breaks of a multi-line message stay line breaks.
 */
export function escapeControlCharacters(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? UNSAFE_KEEPING_NEWLINES : UNSAFE_CHARACTERS, escapeCharacter);
}

/**
 * How every sentence names a node: "Conv 'conv1'", or "Conv #3" (its position in the file) when it
 * has no name; both strings from the file escaped (a name may hold line breaks too).
 */
export function nodeText(opType: string, name: string, index: number): string {
  const type = escapeControlCharacters(opType);
  return name ? `${type} '${escapeControlCharacters(name)}'` : `${type} #${index}`;
}

/**
 * Significant digits of every number shown to a reader: the view (graph, table, pop-over, summary,
 * chart), the CLI table and the Markdown report (JSON and CSV keep full precision). Four, not three: a
 * layer's bound is within 1–5 % of its witnessed lower value and the lower-bound search moves by
 * 0.4–0.6 %, which three digits would hide (12.28 and 12.32 both "12.3"); more than four is noise the
 * reader has to skip, since the Lanczos certificates stop within 1e-4 relative of their estimate.
 */
export const SIGNIFICANT_DIGITS = 4;

/**
 * A number rounded to SIGNIFICANT_DIGITS, trailing zeros dropped (∞ for an overflowed bound); exponent form ("1.235e4", "1e-6")
 * outside [0.001, 10⁴), so no printed digit is a rounding filler (12345 is "1.235e4", not "12350").
 * The range is checked after rounding (9999.5 → "1e4", 0.00099995 → "0.001").
 */
export function formatNumber(value: number): string {
  // An overflowed bound (docs/derivations.md §57) reads as ∞; NaN stays visible as NaN.
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? '∞' : '-∞';
  }
  const rounded = Number(value.toPrecision(SIGNIFICANT_DIGITS));
  const magnitude = Math.abs(rounded);
  if (magnitude === 0) {
    return '0';
  }
  if (magnitude < 1e-3 || magnitude >= 1e4) {
    return rounded.toExponential().replace('e+', 'e');
  }
  return String(rounded);
}

/** A fraction as a percentage by the same rule: 0.2134567 → "21.35%". */
export function formatPercent(fraction: number): string {
  return `${formatNumber(100 * fraction)}%`;
}

/** A ratio by the same rule: 2.5 → "2.5×". */
export function formatRatio(ratio: number): string {
  return `${formatNumber(ratio)}×`;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${formatNumber(value)} ${units[unit]}`;
}

/** How many times tighter the local bound is than the spectral one; undefined when the local bound is 0. */
export function tighteningRatio(spectral: number, local: number): number | undefined {
  // No finite local bound (an overflowed layer, §57): no ratio to show.
  return local > 0 && Number.isFinite(local) ? spectral / local : undefined;
}

/** Which bound gave the network local bound, in words (the CLI table, the view's summary). */
export const NETWORK_METHOD_WORDS: Record<NetworkMethod, string> = {
  composed: 'composed',
  'layer-product': 'layer product',
  'spectral-product': 'spectral product',
};

/**
 * Why the network bound is not the composed one although it was attempted (over its budget, turned off,
 * not finite), as one sentence for the CLI table and the view's summary; undefined otherwise.
 */
export function composedNote(network: { method: NetworkMethod; composedSkipped?: string }): string | undefined {
  if (network.method === 'composed' || network.composedSkipped === undefined) return undefined;
  return `composed network bound not used: ${network.composedSkipped}`;
}

/**
 * Where the layer product or the spectral product overflowed float64 (docs/derivations.md §57), as one
 * sentence for the CLI table, the Markdown report and the view's summary; undefined when neither did.
 */
export function overflowNote(network: { method: NetworkMethod; layerProductOverflowedAt?: string; spectralOverflowedAt?: string }): string | undefined {
  const parts: string[] = [];
  if (network.layerProductOverflowedAt !== undefined) {
    const source = network.method === 'spectral-product' ? 'the spectral product' : 'the composed network';
    parts.push(`the layer product overflowed at layer '${escapeControlCharacters(network.layerProductOverflowedAt)}' (∞); network bound from ${source}`);
  }
  if (network.spectralOverflowedAt !== undefined) {
    parts.push(`the spectral product overflowed at layer '${escapeControlCharacters(network.spectralOverflowedAt)}' (∞)`);
  }
  return parts.length > 0 ? `${parts.join('; ')}.` : undefined;
}

/** One sentence for an engine progress event, as the editor's notification and the CLI's stderr show it. */
export function progressMessage(event: ProgressEvent): string {
  switch (event.kind) {
    case 'forward':
      return event.done ? 'Nominal forward pass done' : 'Nominal forward pass';
    case 'layer':
      return `ε = ${formatNumber(event.epsilon)}: ${escapeControlCharacters(event.label)} (${event.layerIndex + 1}/${event.layerCount})`;
    case 'layerResult':
      return `ε = ${formatNumber(event.epsilon)}: ${escapeControlCharacters(event.layer.label)} done (${event.layer.index + 1}/${event.layerCount})`;
    case 'networkBound':
      return `ε = ${formatNumber(event.epsilon)}: network bound ${formatNumber(event.network.localBound)}`;
    case 'composedNorm': {
      const norm = event.readsLayer === null ? 'the whole network' : `the layers into '${escapeControlCharacters(event.readsLayer)}'`;
      return `ε = ${formatNumber(event.epsilon)}: composed network bound, certifying the norm of ${norm} (${event.applications} of at most ${event.budget} operator applications)`;
    }
    case 'radius':
      return `Robustness radius: search step ${event.iteration}/${event.iterations}`;
  }
}

/** The operators that ran: "native kernels (avx512, 2 threads)", "WebAssembly SIMD128, 1 thread" or "TypeScript operators". */
export function kernelsLabel(stats: Pick<EngineStats, 'backend' | 'isa' | 'threads'>): string {
  switch (stats.backend) {
    case 'native':
      return `native kernels (${stats.isa ?? '?'}, ${stats.threads ?? '?'} threads)`;
    case 'webassembly':
      return `${stats.isa ?? 'WebAssembly'}, ${stats.threads ?? 1} thread${stats.threads === undefined || stats.threads === 1 ? '' : 's'}`;
    case 'typescript':
      return 'TypeScript operators';
  }
}

/** What a fallback from the native kernels costs, before the reason: "TypeScript operators, tens of times slower than the native kernels". */
export function fallbackLabel(stats: Pick<EngineStats, 'backend' | 'isa' | 'threads'>): string {
  return stats.backend === 'typescript'
    ? 'TypeScript operators, tens of times slower than the native kernels'
    : `${kernelsLabel(stats)}, slower than the native kernels on all cores`;
}

/** Wall time in all and by phase: "0.35 s (load 0.04 s, forward 0.07 s, fidelity 0.05 s, row norms 0.00 s, spectral norms 0.20 s)". */
export function phaseTimes(stats: EngineStats): string {
  const p = stats.phases;
  const seconds = (ms: number) => `${formatNumber(ms / 1000)} s`;
  const phases = [
    ...(p.loadMs !== undefined ? [`load ${seconds(p.loadMs)}`] : []),
    `forward ${seconds(p.forwardMs)}`,
    ...(p.fidelityMs > 0 ? [`fidelity ${seconds(p.fidelityMs)}`] : []),
    `row norms ${seconds(p.rowNormsMs)}`,
    `spectral norms ${seconds(p.spectralMs)}`,
    ...(p.composedMs > 0 ? [`composed bound ${seconds(p.composedMs)}`] : []),
    ...(p.lowerBoundMs > 0 ? [`lower bounds ${seconds(p.lowerBoundMs)}`] : []),
    ...(p.radiusMs > 0 ? [`radius ${seconds(p.radiusMs)}`] : []),
  ];
  return `${seconds(p.totalMs + (p.loadMs ?? 0))} (${phases.join(', ')})`;
}

/** "595 operator applications, 0.5 GFLOP". */
export function operatorWork(stats: EngineStats): string {
  return `${stats.operatorApplications.toLocaleString('en-US')} operator applications, ${formatNumber(stats.multiplyAdds * 2e-9)} GFLOP`;
}

/** Which bound certified the robustness radius, as a phrase after "certified" (CLI, Markdown report, view). */
export function radiusBasis(radius: RadiusResult): string {
  const basis = radius.method === 'margins'
    ? `from the logit margins f_c − f_j bounded one by one (binding class ${radius.bindingClass ?? '?'}, ` +
      `bound ${formatNumber(radius.marginBound ?? NaN)}), larger than gap/(√2 · L)`
    : 'from gap/(√2 · L), L the network local bound';
  return `${basis}${radiusSearchNote(radius)}`;
}

/** Where the radius search stopped, so a user knows what a finer tolerance could still gain. */
function radiusSearchNote(radius: RadiusResult): string {
  const upperEnd = radius.search?.upperEnd;
  // Within rounding of the radius: nothing left to search for.
  if (upperEnd === undefined || !(upperEnd > radius.local * (1 + 1e-6))) return '';
  return `; the search stopped within ${formatNumber(radius.search!.tolerance * 100)} % of ${formatNumber(upperEnd)}, ` +
    'the most its bounds certify (a finer radius tolerance searches closer)';
}
