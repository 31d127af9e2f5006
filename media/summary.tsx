// The analysis card: the phase, the nominal input and the scale of ε, the network's numbers after a
// run (local bound, layer product, spectral product, radius, the witnessed lower bound and how far
// the upper bound may be above the true value, fidelity), and the controls (ε, input, run, export).

import { useEffect, useState } from 'preact/hooks';
import { memo } from 'preact/compat';
import { composedNote, formatNumber, overflowNote, radiusBasis, tighteningRatio } from '../src/shared/format';
import type { AnalysisStatus, BoundReport } from '../src/shared/protocol';
import type { EpsilonRun } from '../src/shared/results';
import { useView } from './store';
import { epsilonProblem, epsilonScale, visible } from './viewText';

function Metric({ label, value, detail, className }: { label: string; value: string; detail?: string; className?: string }) {
  return (
    <div class={`metric${className ? ` ${className}` : ''}`}>
      <div class="metric-label">{label}</div>
      <div class="metric-value">{value}</div>
      {detail && <div class="metric-detail">{detail}</div>}
    </div>
  );
}

function InputLine({ report, epsilon }: { report: BoundReport; epsilon: number }) {
  const { source, origin, shape } = report.input;
  const kinds: Record<string, string> = { example: 'bundled example', json: 'JSON file', npy: 'NumPy file', synthetic: 'synthetic' };
  const text = visible(`${origin} (${kinds[source] ?? source}), shape [${shape.join('×')}]`);
  const scale = epsilonScale(epsilon, report.input);
  if (source === 'synthetic') {
    return (
      <p class="callout warning-callout">
        <strong>Synthetic nominal input. </strong>
        The bounds hold around an artificial point, not a real sample: {text}. Choose a real input for meaningful numbers.
        {scale && <span class="epsilon-scale"> ε = {formatNumber(epsilon)} is {scale}.</span>}
      </p>
    );
  }
  return (
    <p class="input-line">
      <span class="muted">Nominal input: </span>
      {text}
      {scale && <span class="epsilon-scale muted"> — ε = {formatNumber(epsilon)} is {scale}.</span>}
    </p>
  );
}

/** The upper bound against the witnessed lower one: where the true value lies, and the largest possible overestimate. */
export function boundGap(localBound: number, lower: number): string {
  if (!(lower > 0)) return 'no positive ratio was witnessed, so the gap to the true value is unknown';
  const factor = localBound / lower;
  return factor <= 1 + 1e-9
    ? 'the upper bound is attained: it is the true local constant'
    : `the true value lies between ${formatNumber(lower)} and ${formatNumber(localBound)}; the upper bound is at most ${formatNumber(factor)}× too high`;
}

function Metrics({ run, report }: { run: EpsilonRun; report?: BoundReport }) {
  const { localBound, layerProduct, method, spectralBound, failureProbability } = run.network;
  const ratio = tighteningRatio(spectralBound, localBound);
  const lower = run.lowerBound;
  const fidelity = report?.fidelity;
  return (
    <>
      <div class="metrics">
        <Metric label="ε" value={formatNumber(run.epsilon)} detail="input ball radius (2-norm)" />
        <Metric
          label="Network local bound"
          value={formatNumber(localBound)}
          detail={
            method === 'composed'
              ? 'around x0, ‖x − x0‖ ≤ ε: the whole network at midpoint slopes, plus certified corrections for units that can switch'
              : method === 'spectral-product'
                ? 'around x0, ‖x − x0‖ ≤ ε: the spectral product (∏ ‖A_k‖, sound at every ε) is below the local bounds here'
                : 'around x0, ‖x − x0‖ ≤ ε'
          }
          className="metric-local"
        />
        <Metric label="Layer product" value={formatNumber(layerProduct)} detail="product of the per-layer bounds (the paper)" />
        <Metric label="Spectral product" value={formatNumber(spectralBound)} detail="∏ ‖A_k‖, for any x0, ε" className="metric-spectral" />
        <Metric label="Ratio" value={ratio === undefined ? '—' : `${formatNumber(ratio)}×`} detail={method === 'spectral-product' ? 'the local bounds did not beat the spectral product here' : 'local is this much tighter'} />
        {report?.radius && (
          <Metric
            label="Certified radius"
            value={`${formatNumber(report.radius.local)} vs ${formatNumber(report.radius.spectral)}`}
            detail={`local vs spectral; class ${report.radius.predictedClass}, logit gap ${formatNumber(report.radius.gap)}; local certified ${radiusBasis(report.radius)}`}
          />
        )}
        {lower && (
          <Metric
            label="Lower bound"
            value={formatNumber(lower.value)}
            detail={`witnessed by ${lower.method} at ‖x − x0‖ = ${formatNumber(lower.witnessNorm)}: ${boundGap(localBound, lower.value)}`}
          />
        )}
        {fidelity &&
          ('notChecked' in fidelity ? (
            <Metric label="Fidelity" value="not checked" detail={visible(fidelity.notChecked)} />
          ) : (
            <Metric
              label="Fidelity"
              value={`matches ${fidelity.runtime}`}
              detail={`the model file at ${fidelity.points} points in the ball; output within ${formatNumber(fidelity.maxAbsDifference)}`}
            />
          ))}
      </div>
      {overflowNote(run.network) && <p class="muted small">{visible(`Overflow: ${overflowNote(run.network)}`)}</p>}
      {composedNote(run.network) && <p class="muted small">{visible(composedNote(run.network) as string)}</p>}
      <p class="muted small">
        {failureProbability > 0
          ? `Every number is an upper bound except with probability at most ${formatNumber(failureProbability)} (randomly started Lanczos, union bound).`
          : 'Every norm was computed exactly or in closed form.'}
      </p>
    </>
  );
}

function EpsilonForm({ status, canAnalyze, analyzed, exportable }: { status?: AnalysisStatus; canAnalyze: boolean; analyzed: boolean; exportable: boolean }) {
  const { actions } = useView();
  const running = status?.phase === 'running';
  const [text, setText] = useState(status ? String(status.epsilon) : '');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  // A new ε from the host (palette command, a point of the chart) replaces what the field shows.
  useEffect(() => {
    if (status) setText(String(status.epsilon));
  }, [status?.epsilon]);
  const onInput = (value: string) => {
    setText(value);
    setProblem(epsilonProblem(value));
  };
  const submit = (event: Event) => {
    event.preventDefault();
    if (running || !canAnalyze) return;
    const found = epsilonProblem(text);
    setProblem(found);
    if (!found) actions.analyze(Number(text.trim()));
  };
  return (
    <form class="controls" onSubmit={submit}>
      <label>
        {'ε '}
        <input
          type="text"
          id="epsilon-input"
          inputMode="decimal"
          size={10}
          aria-label="Perturbation radius ε"
          aria-invalid={problem ? 'true' : 'false'}
          value={text}
          onInput={(event) => onInput(event.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={running || !canAnalyze}>
        {analyzed ? 'Analyze again' : 'Analyze'}
      </button>
      {running && (
        <button type="button" id="cancel-button" class="secondary" onClick={actions.cancel}>
          Cancel
        </button>
      )}
      <span class="field-error" role="alert">
        {problem ?? ''}
      </span>
      <span class="separator" />
      <span class="input-label" title="Nominal input x0 for the next run">
        Input: {visible(status?.inputLabel ?? '—')}
      </span>
      <button type="button" class="secondary" disabled={running} onClick={() => actions.chooseInput(false)}>
        Choose input…
      </button>
      <button type="button" class="secondary" disabled={running} onClick={() => actions.chooseInput(true)}>
        Use synthetic
      </button>
      <span class="separator" />
      <button type="button" class="secondary" disabled={!exportable} title="JSON (the CLI schema), CSV or Markdown" onClick={actions.exportReport}>
        Export report…
      </button>
    </form>
  );
}

export interface SummaryProps {
  canAnalyze: boolean;
  status?: AnalysisStatus;
  phaseLabel: string;
  report?: BoundReport;
  /** The main run, absent while one runs. */
  run?: EpsilonRun;
  exportable: boolean;
}

export const Summary = memo(function Summary({ canAnalyze, status, phaseLabel, report, run, exportable }: SummaryProps) {
  const phase = status?.phase ?? 'idle';
  return (
    <section id="summary" class="card summary" aria-label="Analysis">
      <h2>
        Analysis<span class={`badge phase-${phase}`}>{phaseLabel}</span>
      </h2>
      {report && <InputLine report={report} epsilon={run?.epsilon ?? status?.epsilon ?? report.runs[0]?.epsilon ?? 0} />}
      {run && <Metrics run={run} report={report} />}
      <EpsilonForm status={status} canAnalyze={canAnalyze} analyzed={Boolean(report)} exportable={exportable} />
    </section>
  );
});
