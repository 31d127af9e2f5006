// The ε sweep card: the range form, the chart (chart.ts draws it as SVG; an overlay of the same
// geometry shows the values at the cursor), and its export. The chart's box keeps one size whether a
// sweep is shown, running or not run yet, so nothing below it moves while a sweep runs. A click on a
// radius, or Enter on the one chosen with the arrow keys, loads that ε as the main analysis.

import { useMemo, useState } from 'preact/hooks';
import { memo } from 'preact/compat';
import { formatNumber, tighteningRatio } from '../src/shared/format';
import type { BoundReport, SweepRange } from '../src/shared/protocol';
import { chartGeometry, chartPoints, nearestPoint, sweepChartSvg, THEME_CHART_COLOURS, type ChartPoint } from './chart';
import { useView } from './store';
import { epsilonProblem } from './viewText';

const CHART_WIDTH = 800;
const CHART_HEIGHT = 340;

/** The values at one radius, as the cursor's read-out shows them. */
function pointText(point: ChartPoint): string {
  const ratio = tighteningRatio(point.spectral, point.local);
  return (
    `ε = ${formatNumber(point.epsilon)}: local ${formatNumber(point.local)}, spectral ${formatNumber(point.spectral)}` +
    (ratio === undefined ? '' : ` (${formatNumber(ratio)}× tighter)`) +
    (point.lower !== undefined ? `, lower ${formatNumber(point.lower)}` : '')
  );
}

function resolveVariable(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function RangeForm({ range, running }: { range: SweepRange; running: boolean }) {
  const { actions } = useView();
  const [fields, setFields] = useState({ min: String(range.min), max: String(range.max), points: String(range.points) });
  const [problem, setProblem] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    const min = Number(fields.min.trim());
    const max = Number(fields.max.trim());
    const points = Number(fields.points.trim());
    const found =
      epsilonProblem(fields.min) ??
      epsilonProblem(fields.max) ??
      (max > min ? undefined : 'The sweep needs from < to.') ??
      (Number.isInteger(points) && points >= 2 && points <= 100 ? undefined : 'Points must be an integer from 2 to 100.');
    setProblem(found ?? '');
    if (!found && !running) actions.runSweep({ min, max, points });
  };
  const field = (label: string, key: keyof typeof fields) => (
    <label>
      {`${label} `}
      <input
        type="text"
        name={`sweep-${key}`}
        size={7}
        aria-label={label}
        value={fields[key]}
        onInput={(event) => setFields({ ...fields, [key]: event.currentTarget.value })}
      />
    </label>
  );
  return (
    <form class="controls sweep-form" onSubmit={submit}>
      {field('from', 'min')}
      {field('to', 'max')}
      {field('points', 'points')}
      <button type="submit" disabled={running} title="Analyze at log-spaced radii (reusing radii already computed)">
        Run ε sweep
      </button>
      <span class="field-error" role="alert">
        {problem}
      </span>
    </form>
  );
}

function Plot({ points, mainEpsilon }: { points: ChartPoint[]; mainEpsilon?: number }) {
  const { actions } = useView();
  const [active, setActive] = useState<number | undefined>(undefined);
  const geometry = useMemo(() => chartGeometry(points, CHART_WIDTH, CHART_HEIGHT), [points]);
  // Built from numbers and escaped labels only (chart.ts), so it is safe to insert as markup.
  const svg = useMemo(() => sweepChartSvg(points, THEME_CHART_COLOURS, { width: CHART_WIDTH, height: CHART_HEIGHT, mainEpsilon }), [points, mainEpsilon]);
  const pointAt = (event: MouseEvent): number | undefined => {
    const box = (event.currentTarget as Element).getBoundingClientRect();
    const point = nearestPoint(points, geometry, ((event.clientX - box.left) / box.width) * CHART_WIDTH);
    return point ? points.indexOf(point) : undefined;
  };
  const load = (index: number | undefined) => {
    if (index !== undefined) actions.analyze(points[index].epsilon);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const last = points.length - 1;
    const current = active ?? points.findIndex((point) => point.epsilon === mainEpsilon);
    switch (event.key) {
      case 'ArrowRight':
      case 'ArrowUp':
        setActive(Math.min(last, current < 0 ? 0 : current + 1));
        break;
      case 'ArrowLeft':
      case 'ArrowDown':
        setActive(Math.max(0, current < 0 ? last : current - 1));
        break;
      case 'Home':
        setActive(0);
        break;
      case 'End':
        setActive(last);
        break;
      case 'Enter':
      case ' ':
        load(active);
        break;
      case 'Escape':
        setActive(undefined);
        break;
      default:
        return;
    }
    event.preventDefault();
  };
  const point = active === undefined ? undefined : points[active];
  const px = point ? geometry.x(point.epsilon) : 0;
  const py = point ? geometry.y(point.local) : 0;
  return (
    <div class="chart-plot">
      <div class="chart-drawing" dangerouslySetInnerHTML={{ __html: svg }} />
      <svg
        class="chart-overlay"
        id="chart-overlay"
        viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`}
        // Lower case: SVG attributes are case-sensitive, and Preact sets them as written.
        tabindex={0}
        role="application"
        aria-label="ε sweep chart: arrow keys choose a radius, Enter analyzes at it"
        onMouseMove={(event) => setActive(pointAt(event))}
        onMouseLeave={() => setActive(undefined)}
        onClick={(event) => load(pointAt(event))}
        onKeyDown={onKeyDown}
        onBlur={() => setActive(undefined)}
      >
        {point && (
          <>
            <line class="chart-guide" x1={px} x2={px} y1={geometry.top} y2={geometry.bottom} />
            <circle class="chart-cursor" cx={px} cy={py} r={7} />
          </>
        )}
      </svg>
      <div
        class={`chart-tooltip${point && px > CHART_WIDTH / 2 ? ' flip' : ''}`}
        role="status"
        aria-live="polite"
        hidden={!point}
        style={point ? { left: `${(100 * px) / CHART_WIDTH}%`, top: `${(100 * py) / CHART_HEIGHT}%` } : undefined}
      >
        {point && (
          <>
            <div>{pointText(point)}</div>
            <div class="muted small">{point.epsilon === mainEpsilon ? 'the analysis shown below' : 'click or Enter: analyze at this ε'}</div>
          </>
        )}
      </div>
    </div>
  );
}

export interface SweepChartProps {
  sweep?: BoundReport;
  range?: SweepRange;
  mainEpsilon?: number;
  running: boolean;
  sweepRunning: boolean;
}

export const SweepChart = memo(function SweepChart({ sweep, range, mainEpsilon, running, sweepRunning }: SweepChartProps) {
  const { actions } = useView();
  const points = useMemo(() => chartPoints(sweep?.runs ?? []), [sweep]);
  const shown = points.length > 0;
  const exportAs = (format: 'svg' | 'png') => {
    const colours = {
      background: resolveVariable('--vscode-editor-background'),
      foreground: resolveVariable('--vscode-foreground'),
      muted: resolveVariable('--vscode-descriptionForeground'),
      grid: resolveVariable('--vscode-editorWidget-border') || resolveVariable('--vscode-panel-border'),
      local: resolveVariable('--vscode-charts-blue'),
      spectral: resolveVariable('--vscode-charts-orange'),
      lower: resolveVariable('--vscode-charts-green'),
      font: resolveVariable('--vscode-font-family') || 'sans-serif',
    };
    actions.exportChart(format, sweepChartSvg(points, colours, { width: CHART_WIDTH, height: CHART_HEIGHT, mainEpsilon }));
  };
  const shownRange = range ?? { min: 1e-4, max: 10, points: 11 };
  return (
    <section id="chart" class="card chart-card" aria-label="ε sweep">
      <h2>ε sweep</h2>
      {/* Keyed by the range, so a new range from the settings refills the fields. */}
      <RangeForm key={`${shownRange.min},${shownRange.max},${shownRange.points}`} range={shownRange} running={running} />
      <div class="chart">
        {shown ? (
          <Plot points={points} mainEpsilon={mainEpsilon} />
        ) : (
          <div class="chart-plot chart-empty">
            <p class="muted">
              {sweepRunning
                ? 'The sweep is running; the chart appears when every radius is done.'
                : 'Not run yet. A sweep analyzes the model at every radius of the range; on large models that takes a while, so it is a separate action.'}
            </p>
          </div>
        )}
      </div>
      <div class="controls">
        <button type="button" id="export-svg" class="secondary" disabled={!shown} onClick={() => exportAs('svg')}>
          Export SVG…
        </button>
        <button type="button" id="export-png" class="secondary" disabled={!shown} onClick={() => exportAs('png')}>
          Export PNG…
        </button>
      </div>
    </section>
  );
});
