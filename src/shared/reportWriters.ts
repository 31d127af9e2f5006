// The export formats of a bound report, as pure functions of the report.

import { formatNumber, overflowNote, radiusBasis, tighteningRatio } from './format';
import { NODE_METRICS, type NodeMetric } from './layerMetrics';
import type { BoundReport } from './protocol';
import type { LayerResult } from './results';

/**
 * The CLI's --json schema, pretty-printed. JSON has no ∞: an overflowed bound (docs/derivations.md §57)
 * is written as the string "Infinity" (JSON.stringify alone would write null).
 */
export function reportToJson(report: BoundReport): string {
  return `${JSON.stringify(report, nonFiniteAsText, 2)}\n`;
}

/** A JSON.stringify replacer writing ∞ (and NaN) as strings: JSON has no such numbers, and null would hide them. */
export function nonFiniteAsText(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

export const CSV_COLUMNS = [
  'epsilon',
  'layer',
  'label',
  'nodes',
  'kind',
  'epsilon_in',
  'epsilon_out',
  'local_bound',
  'spectral_norm',
  'ratio',
  'neurons_on',
  'neurons_unstable',
  'neurons_off',
  'certificate_method',
  'certificate_iterations',
  'certificate_delta',
  'certificate_failure_probability',
  'spectral_certificate_method',
  'time_ms',
] as const;

/** Layer fields the fixed columns already carry (the rest get columns of their own). */
const LAYER_FIELDS_IN_COLUMNS = new Set(['index', 'label', 'nodes', 'kind', 'epsilonIn', 'epsilonOut', 'localBound', 'spectralNorm', 'neurons', 'certificate', 'spectralCertificate', 'timeMs']);

/**
 * The scalar values of a (nested) object as [snake_case path, text] pairs, arrays of scalars joined by
 * ';'. What the engine adds to its results later reaches the exports without a writer change.
 */
function flattenScalars(value: unknown, prefix: string, skip: ReadonlySet<string> = new Set()): [string, string][] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) {
    return value.every((item) => typeof item !== 'object') ? [[prefix, value.map(String).join(';')]] : [];
  }
  if (typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) =>
      skip.has(key) ? [] : flattenScalars(item, prefix ? `${prefix}_${snakeCase(key)}` : snakeCase(key)),
    );
  }
  return [[prefix, String(value)]];
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * One row per layer and ε; numbers at full precision, fields quoted as RFC 4180 requires. After the
 * fixed columns, every other scalar of the layer (e.g. tightness_lower) and of its run (network_…,
 * lower_bound_…) has a column, in order of first appearance.
 */
export function reportToCsv(report: BoundReport): string {
  const extraColumns: string[] = [];
  const rows: { fixed: string[]; extra: Map<string, string> }[] = [];
  for (const run of report.runs) {
    const runFields = flattenScalars(run, '', new Set(['epsilon', 'layers']));
    run.layers.forEach((layer, index) => {
      const extra = new Map([...flattenScalars(layer, '', LAYER_FIELDS_IN_COLUMNS), ...runFields]);
      for (const column of extra.keys()) {
        if (!extraColumns.includes(column)) extraColumns.push(column);
      }
      rows.push({ extra, fixed: [
        String(run.epsilon),
        String(index),
        layer.label,
        layer.nodes.join(';'),
        layer.kind,
        String(layer.epsilonIn),
        String(layer.epsilonOut),
        String(layer.localBound),
        String(layer.spectralNorm),
        optional(tighteningRatio(layer.spectralNorm, layer.localBound)),
        optional(layer.neurons?.on),
        optional(layer.neurons?.unstable),
        optional(layer.neurons?.off),
        layer.certificate.method,
        optional(layer.certificate.iterations),
        optional(layer.certificate.delta),
        optional(layer.certificate.failureProbability),
        layer.spectralCertificate.method,
        String(layer.timeMs),
      ] });
    });
  }
  const lines = [[...CSV_COLUMNS, ...extraColumns], ...rows.map(({ fixed, extra }) => [...fixed, ...extraColumns.map((column) => extra.get(column) ?? '')])];
  return lines.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function optional(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function reportToMarkdown(report: BoundReport): string {
  const lines: string[] = [
    `# Lipschitz bound report: ${markdownText(report.model)}`,
    '',
    `Nominal input: ${markdownText(report.input.origin)} (${report.input.source}), shape [${report.input.shape.join(', ')}].`,
    '',
    'Each local bound holds for inputs within ε of the nominal input x0 and is anchored at x0: it bounds ' +
      '‖f(x) − f(x0)‖ / ‖x − x0‖, not the Lipschitz constant between two arbitrary points of the ball.',
  ];
  if (report.notes && report.notes.length > 0) {
    lines.push('', ...report.notes.map((note) => `- ${markdownText(note)}`));
  }
  for (const run of report.runs) {
    const { localBound, spectralBound, failureProbability, method } = run.network;
    // The spectral product itself is no tighter than itself: no ratio then.
    const ratio = method === 'spectral-product' ? undefined : tighteningRatio(spectralBound, localBound);
    lines.push(
      '',
      `## ε = ${formatNumber(run.epsilon)}`,
      '',
      `Network local bound ${formatNumber(localBound)}, spectral product ${formatNumber(spectralBound)}` +
        (ratio === undefined ? '.' : ` (${formatNumber(ratio)}× tighter).`) +
        (overflowNote(run.network) ? ` ${markdownText(overflowNote(run.network) as string)}` : '') +
        (failureProbability > 0
          ? ` These hold except with probability at most ${formatNumber(failureProbability)} over the random Lanczos starts.`
          : ' Every norm was computed exactly or in closed form.'),
      ...otherFigures(flattenScalars(run, '', new Set(['epsilon', 'layers', 'network'])).concat(flattenScalars(run.network, 'network', new Set(['localBound', 'spectralBound', 'failureProbability'])))),
      '',
      '| # | Layer | Nodes | Kind | ε in | Local bound | ‖A‖ | Ratio | On / unstable / off | Certified by |',
      '|---:|---|---|---|---:|---:|---:|---:|---|---|',
      ...run.layers.map((layer, index) => markdownRow(layer, index)),
    );
  }
  if (report.radius) {
    const { local, spectral, gap, predictedClass } = report.radius;
    lines.push(
      '',
      '## Certified robustness radius',
      '',
      `Predicted class ${predictedClass}, logit gap ${formatNumber(gap)}: no input within ${formatNumber(local)} ` +
        `(local bound) or ${formatNumber(spectral)} (spectral bound) of the nominal input changes the prediction; ` +
        `the local radius is certified ${radiusBasis(report.radius)}.`,
      ...otherFigures(flattenScalars(report.radius, 'radius', new Set(['local', 'spectral', 'gap', 'predictedClass', 'method', 'bindingClass', 'marginBound']))),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The figures the sentences above do not mention, as a list (numbers as the view formats them). */
function otherFigures(fields: [string, string][]): string[] {
  if (fields.length === 0) return [];
  const shown = (text: string) => (text !== '' && Number.isFinite(Number(text)) ? formatNumber(Number(text)) : markdownText(text));
  return ['', ...fields.map(([name, text]) => `- ${name.replace(/_/g, ' ')}: ${shown(text)}`)];
}

function markdownRow(layer: LayerResult, index: number): string {
  const ratio = tighteningRatio(layer.spectralNorm, layer.localBound);
  const neurons = layer.neurons ? `${layer.neurons.on} / ${layer.neurons.unstable} / ${layer.neurons.off}` : '';
  const cells = [
    String(index),
    markdownText(layer.label),
    markdownText(layer.nodes.join(', ')),
    markdownText(layer.kind),
    formatNumber(layer.epsilonIn),
    formatNumber(layer.localBound),
    formatNumber(layer.spectralNorm),
    ratio === undefined ? '' : formatNumber(ratio),
    neurons,
    markdownText(describeCertificate(layer)),
  ];
  return `| ${cells.join(' | ')} |`;
}

function describeCertificate(layer: LayerResult): string {
  const { method, iterations, delta, failureProbability } = layer.certificate;
  const parts: string[] = [method];
  if (iterations !== undefined) {
    parts.push(`${iterations} iterations`);
  }
  if (delta !== undefined) {
    parts.push(`δ = ${formatNumber(delta)}`);
  }
  if (failureProbability !== undefined) {
    parts.push(`failure probability ${formatNumber(failureProbability)}`);
  }
  return parts.join(', ');
}

/** Node names come from the model file: keep them from breaking the table or injecting markup. */
function markdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|#]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

/**
 * One metric per ONNX node of the main run, as a file Model Explorer's node data provider loads (its
 * GraphNodeData: `results` keyed by node name, each `{ value }`, and a `gradient` from the smallest
 * value's colour, stop 0, to the largest's, stop 1). A layer's value goes to each of its nodes. Unnamed
 * nodes are left out, as Model Explorer's ONNX adapter leaves them out of its graph; so are values JSON
 * cannot carry (an infinite bound).
 */
export function reportToModelExplorer(report: BoundReport, metric: NodeMetric): string {
  const layers = report.runs[0]?.layers ?? [];
  const results: Record<string, { value: number }> = {};
  for (const layer of layers) {
    const value = NODE_METRICS[metric].value(layer, layers);
    if (value === undefined || !Number.isFinite(value)) continue;
    for (const node of layer.nodes) {
      if (node) results[node] = { value };
    }
  }
  const data = {
    results,
    gradient: [
      { stop: 0, bgColor: '#e8f1fa' },
      { stop: 1, bgColor: '#d1495b' },
    ],
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}
