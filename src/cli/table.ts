// The CLI's readable output: one table per ε with the network totals under it.
import { composedNote, escapeControlCharacters as safe, formatNumber, formatRatio, kernelsLabel, NETWORK_METHOD_WORDS, operatorWork, overflowNote, phaseTimes, radiusBasis, tighteningRatio } from '../shared/format';
import type { BoundReport } from '../shared/protocol';
import type { Certificate, EngineStats, EpsilonRun } from '../shared/results';

/** Short names of how a number was certified, for a table column. */
const CERTIFICATE_LABELS: Record<Certificate['method'], string> = {
  'exact-eigen': 'exact',
  'lanczos-random-start': 'lanczos',
  'closed-form': 'closed form',
  composition: 'composition',
};

function certificateLabel(certificate: Certificate): string {
  const label = CERTIFICATE_LABELS[certificate.method] ?? certificate.method;
  if (certificate.method === 'lanczos-random-start' && certificate.failureProbability !== undefined) {
    return `${label} k=${certificate.iterations} p=${formatNumber(certificate.failureProbability)}`;
  }
  return label;
}

function ratioText(spectral: number, local: number): string {
  const ratio = tighteningRatio(spectral, local);
  return ratio === undefined ? '—' : formatRatio(ratio);
}

/** Lays out rows as columns padded to their widest cell; numeric columns are right-aligned. */
export function layoutColumns(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Layers whose "bound" is a ratio of radii (ε out / ε in) from a composition rule, not a Lipschitz constant. */
const COMPOSITION_KINDS = new Set(['add', 'concat', 'mul', 'maximum', 'matMul']);

function runTable(run: EpsilonRun): string {
  const header = ['#', 'layer', 'ONNX nodes', 'ε in', 'local bound', '‖A‖', 'ratio', 'on/unstable/off', 'certified by', 'layer lower'];
  const rows = run.layers.map((layer) => [
    String(layer.index + 1),
    safe(layer.label),
    safe(layer.nodes.join(', ')),
    formatNumber(layer.epsilonIn),
    `${formatNumber(layer.localBound)}${COMPOSITION_KINDS.has(layer.kind) ? '†' : ''}`,
    `${formatNumber(layer.spectralNorm)}${COMPOSITION_KINDS.has(layer.kind) ? '†' : ''}`,
    ratioText(layer.spectralNorm, layer.localBound),
    layer.neurons ? `${layer.neurons.on}/${layer.neurons.unstable}/${layer.neurons.off}` : '',
    certificateLabel(layer.certificate),
    layer.tightness ? `${formatNumber(layer.tightness.lower)}${layer.tightness.kind === 'exact' ? ' (exact)' : ''}` : '',
  ]);
  const table = layoutColumns(header, rows, [true, false, false, true, true, true, true, true, false, true]);
  return run.layers.some((layer) => COMPOSITION_KINDS.has(layer.kind))
    ? `${table}\n† residual Add / Concat: ratio of radii (ε out / ε in) from the composition rule (products of computed tensors too), not a Lipschitz constant of the layer`
    : table;
}

export function formatReport(report: BoundReport): string {
  const out: string[] = [];
  // Names, notes and paths come from the model and input files: escaped before they reach a terminal.
  out.push(`Lipschitz Lens — ${safe(report.model)}`);
  const inputName = report.input.name !== undefined && (report.fixedInputs?.length ?? 0) > 0 ? ` '${safe(report.input.name)}'` : '';
  out.push(`nominal input${inputName}: ${safe(report.input.origin)} (${report.input.source}, shape [${report.input.shape.join(', ')}])`);
  for (const note of report.notes ?? []) out.push(`note: ${safe(note)}`);
  for (const run of report.runs) {
    out.push('');
    out.push(`ε = ${formatNumber(run.epsilon)}`);
    out.push(runTable(run));
    const { localBound, layerProduct, spectralBound, method } = run.network;
    out.push(
      `network: local bound ${formatNumber(localBound)} (${NETWORK_METHOD_WORDS[method]})   ` +
        `layer product ${formatNumber(layerProduct)}   spectral product ${formatNumber(spectralBound)}` +
        (method === 'spectral-product' ? '' : `   (local is ${ratioText(spectralBound, localBound)} tighter)`),
    );
    const overflow = overflowNote(run.network);
    if (overflow) out.push(`         ${overflow}`);
    const skipped = composedNote(run.network);
    if (skipped) out.push(`         ${safe(skipped)}`);
    if (method === 'composed') {
      out.push(
        '         composed: the norm of the whole network linearised at each unit\'s midpoint slope (exact when no unit ' +
          'can switch), plus certified corrections for the units that can; the layer product multiplies per-layer bounds',
      );
    }
    if (method === 'spectral-product') {
      out.push('         spectral product: ∏ ‖A_k‖ (the conservative column) is sound at every ε, and at this one it is below the local bounds');
    }
    if (run.lowerBound) {
      const lower = run.lowerBound.value;
      out.push(
        `         lower bound ${formatNumber(lower)} (witnessed by ${run.lowerBound.method} at ‖x − x0‖ = ` +
          `${formatNumber(run.lowerBound.witnessNorm)}): the true local constant lies in ` +
          `[${formatNumber(lower)}, ${formatNumber(localBound)}]${lower > 0 ? `, width ${ratioText(localBound, lower)}` : ''}`,
      );
    }
  }
  if (report.radius) {
    const { local, spectral, gap, predictedClass } = report.radius;
    out.push('');
    out.push(
      `certified robustness radius for class ${predictedClass} (logit gap ${formatNumber(gap)}): ` +
        `local ${formatNumber(local)}   spectral ${formatNumber(spectral)}`,
    );
    if (report.radius.zeroBecause) out.push(`radius 0 because ${safe(report.radius.zeroBecause)}`);
    else out.push(`         certified ${radiusBasis(report.radius)}`);
  }
  if (report.fidelity && !('notChecked' in report.fidelity)) {
    const { runtime, points, tensors, maxAbsDifference, maxRelativeDifference } = report.fidelity;
    out.push('');
    out.push(
      `fidelity: the analysed network matches the model file on ${runtime} at ${points} points (${tensors} tensors compared); ` +
        `output differs by at most ${formatNumber(maxAbsDifference)} (${formatNumber(maxRelativeDifference)} relative)`,
    );
  }
  if (report.stats) out.push('', engineLine(report.stats));
  out.push('');
  out.push('Bounds hold for ‖x − x0‖ ≤ ε and are anchored at x0: ‖f(x) − f(x0)‖ ≤ L‖x − x0‖ (not a pairwise constant over the ball).');
  return out.join('\n');
}

/** One line on where the time went, e.g. "engine: native kernels (avx512, 2 threads), 1.4 s (…); …". */
export function engineLine(stats: EngineStats): string {
  return `engine: ${kernelsLabel(stats)}, ${phaseTimes(stats)}; ${operatorWork(stats)}`;
}
