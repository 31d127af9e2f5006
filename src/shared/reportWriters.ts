// The three export formats of a bound report, as pure functions of the report.

import { formatNumber, radiusBasis, tighteningRatio } from './format';
import type { BoundReport } from './protocol';
import type { LayerResult } from './results';

/** The CLI's --json schema, pretty-printed. */
export function reportToJson(report: BoundReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
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

/** One row per layer and ε; numbers at full precision, fields quoted as RFC 4180 requires. */
export function reportToCsv(report: BoundReport): string {
  const rows: string[][] = [[...CSV_COLUMNS]];
  for (const run of report.runs) {
    run.layers.forEach((layer, index) => {
      rows.push([
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
      ]);
    });
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
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
    const { localBound, spectralBound, failureProbability } = run.network;
    const ratio = tighteningRatio(spectralBound, localBound);
    lines.push(
      '',
      `## ε = ${formatNumber(run.epsilon)}`,
      '',
      `Network local bound ${formatNumber(localBound)}, spectral product ${formatNumber(spectralBound)}` +
        (ratio === undefined ? '.' : ` (${formatNumber(ratio)}× tighter).`) +
        (failureProbability > 0
          ? ` These hold except with probability at most ${formatNumber(failureProbability)} over the random Lanczos starts.`
          : ' Every norm was computed exactly or in closed form.'),
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
    );
  }
  return `${lines.join('\n')}\n`;
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
