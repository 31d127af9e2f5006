// DOM rendering of the view's areas: model header, analysis summary and controls, ε sweep chart,
// layer table with its details pop-over, status line. Text goes in via textContent only: names come
// from the model file and must never become markup (the chart's SVG escapes them itself).

import { escapeControlCharacters, formatBytes, formatNumber, radiusBasis, tighteningRatio } from '../src/shared/format';
import type { BoundReport, LayerRow, SweepRange } from '../src/shared/protocol';
import type { Certificate, LayerResult } from '../src/shared/results';
import { chartGeometry, chartPoints, nearestPoint, sweepChartSvg, THEME_CHART_COLOURS } from './chart';
import {
  dominantLayers,
  isComposition,
  logContribution,
  mainRun,
  modelRowFor,
  rowOfNode,
  shownLayers,
  sortedPositions,
  type SortKey,
  type ViewState,
} from './viewState';

export interface ViewActions {
  analyze(epsilon?: number): void;
  cancel(): void;
  runSweep(range: SweepRange): void;
  chooseInput(synthetic: boolean): void;
  exportReport(): void;
  exportChart(format: 'svg' | 'png'): void;
  sort(key: SortKey): void;
  /** Selects the graph nodes of a table row (an analysis layer, or a node when the rows are nodes). */
  selectRow(row: number): void;
}

type Child = Node | string;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; title?: string; text?: string } = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.title) {
    node.title = visible(props.title);
  }
  if (props.text !== undefined) {
    node.textContent = visible(props.text);
  }
  node.append(...children.map((child) => (typeof child === 'string' ? visible(child) : child)));
  return node;
}

/** Control and bidi characters from a model shown as escapes, not obeyed (a right-to-left override would reorder a name). */
function visible(text: string): string {
  return escapeControlCharacters(text, true);
}

function button(label: string, onClick: () => void, options: { secondary?: boolean; title?: string; disabled?: boolean } = {}): HTMLButtonElement {
  const node = h('button', { className: options.secondary ? 'secondary' : undefined, title: options.title, text: label });
  node.type = 'button';
  node.disabled = options.disabled ?? false;
  node.addEventListener('click', onClick);
  return node;
}

const isRunning = (state: ViewState) => state.status?.phase === 'running';

// ---------------------------------------------------------------------------------------------
// Model header

export function renderHeader(container: HTMLElement, state: ViewState): void {
  container.replaceChildren();
  if (state.modelError) {
    container.append(h('h1', { text: state.modelError.fileName }), h('p', { className: 'error', text: state.modelError.message }));
    return;
  }
  const { model } = state;
  if (!model) {
    container.append(h('p', { className: 'muted', text: 'Reading the model…' }));
    return;
  }
  container.append(h('h1', { text: model.fileName }));
  const facts: [string, string][] = [];
  if (model.producerName) {
    facts.push(['Producer', [model.producerName, model.producerVersion].filter(Boolean).join(' ')]);
  }
  facts.push(
    ['Opset', model.opsets.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ') || 'none'],
    ['IR version', String(model.irVersion)],
    ['Inputs', model.inputs.join(', ')],
    ['Outputs', model.outputs.join(', ')],
    ['File size', formatBytes(model.sizeBytes)],
    [model.rowSource === 'nodes' ? 'Nodes' : 'Layers', String(model.rows.length)],
  );
  const list = h('dl', { className: 'facts' });
  for (const [term, value] of facts) {
    list.append(h('div', {}, [h('dt', { text: term }), h('dd', { text: value })]));
  }
  container.append(list);
  if (model.unsupportedSummary) {
    const box = h('div', { className: 'callout error-callout' }, [h('strong', { text: model.unsupportedSummary })]);
    const items = h('ul');
    items.append(...model.unsupported.map((node) => h('li', { text: `${node.text}: ${node.reason}` })));
    box.append(
      items,
      h('p', {
        text:
          model.rowSource === 'prefix'
            ? 'The table shows the supported layers before the first of them; the model cannot be analyzed as a whole.'
            : 'The model cannot be analyzed; the table lists its graph nodes.',
      }),
    );
    container.append(box);
  }
  const notes = [...model.notes, ...(state.report?.notes ?? []).filter((note) => !model.notes.includes(note))];
  if (notes.length > 0) {
    container.append(h('ul', { className: 'notes' }, notes.map((note) => h('li', { text: note }))));
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis summary and controls

function metric(label: string, value: string, detail?: string, className?: string): HTMLElement {
  return h('div', { className: `metric${className ? ` ${className}` : ''}` }, [
    h('div', { className: 'metric-label', text: label }),
    h('div', { className: 'metric-value', text: value }),
    ...(detail ? [h('div', { className: 'metric-detail', text: detail })] : []),
  ]);
}

function inputDescription(report: BoundReport): { text: string; synthetic: boolean } {
  const { source, origin, shape } = report.input;
  const kinds: Record<string, string> = { example: 'bundled example', json: 'JSON file', npy: 'NumPy file', synthetic: 'synthetic' };
  return { text: `${origin} (${kinds[source] ?? source}), shape [${shape.join('×')}]`, synthetic: source === 'synthetic' };
}

export function renderSummary(container: HTMLElement, state: ViewState, actions: ViewActions): void {
  container.replaceChildren();
  if (!state.model) {
    return;
  }
  const canAnalyze = state.model.rowSource === 'layers';
  const status = state.status;
  const run = mainRun(state);
  const report = state.report;

  const heading = h('h2', { text: 'Analysis' });
  const phase = status?.phase ?? 'idle';
  heading.append(h('span', { className: `badge phase-${phase}`, text: phaseLabel(state) }));
  container.append(heading);

  if (report) {
    const input = inputDescription(report);
    const line = h('p', { className: input.synthetic ? 'callout warning-callout' : 'input-line' });
    if (input.synthetic) {
      line.append(
        h('strong', { text: 'Synthetic nominal input. ' }),
        `The bounds hold around an artificial point, not a real sample: ${input.text}. Choose a real input for meaningful numbers.`,
      );
    } else {
      line.append(h('span', { className: 'muted', text: 'Nominal input: ' }), input.text);
    }
    container.append(line);
  }

  if (run && !isRunning(state)) {
    const { localBound, layerProduct, method, spectralBound, failureProbability } = run.network;
    const ratio = tighteningRatio(spectralBound, localBound);
    const metrics = h('div', { className: 'metrics' }, [
      metric('ε', formatNumber(run.epsilon), 'input ball radius (2-norm)'),
      metric('Network local bound', formatNumber(localBound), method === 'composed'
        ? 'around x0, ‖x − x0‖ ≤ ε: the whole network at midpoint slopes, plus certified corrections for units that can switch'
        : 'around x0, ‖x − x0‖ ≤ ε', 'metric-local'),
      metric('Layer product', formatNumber(layerProduct), 'product of the per-layer bounds (the paper)'),
      metric('Spectral product', formatNumber(spectralBound), '∏ ‖A_k‖, for any x0, ε', 'metric-spectral'),
      metric('Ratio', ratio === undefined ? '—' : `${formatNumber(ratio)}×`, 'local is this much tighter'),
    ]);
    if (report?.radius) {
      const { local, spectral, predictedClass, gap } = report.radius;
      metrics.append(
        metric(
          'Certified radius',
          `${formatNumber(local)} vs ${formatNumber(spectral)}`,
          `local vs spectral; class ${predictedClass}, logit gap ${formatNumber(gap)}; local certified ${radiusBasis(report.radius)}`,
        ),
      );
    }
    if (run.lowerBound) {
      metrics.append(
        metric('Lower bound', formatNumber(run.lowerBound.value), `witnessed by ${run.lowerBound.method}, ‖x − x0‖ = ${formatNumber(run.lowerBound.witnessNorm)}` +
          (run.lowerBound.value > 0 ? `; interval width ${formatNumber(localBound / run.lowerBound.value)}×` : '')),
      );
    }
    if (report?.fidelity) {
      const fidelity = report.fidelity;
      metrics.append(
        'notChecked' in fidelity
          ? metric('Fidelity', 'not checked', fidelity.notChecked)
          : metric(
              'Fidelity',
              `matches ${fidelity.runtime}`,
              `the model file at ${fidelity.points} points in the ball; output within ${formatNumber(fidelity.maxAbsDifference)}`,
            ),
      );
    }
    container.append(metrics);
    container.append(
      h('p', {
        className: 'muted small',
        text:
          failureProbability > 0
            ? `Every number is an upper bound except with probability at most ${formatNumber(failureProbability)} (randomly started Lanczos, union bound).`
            : 'Every norm was computed exactly or in closed form.',
      }),
    );
  }

  // Controls: ε, nominal input, run / cancel, export.
  const controls = h('form', { className: 'controls' });
  const epsilonField = h('input');
  epsilonField.type = 'text';
  epsilonField.id = 'epsilon-input';
  epsilonField.inputMode = 'decimal';
  epsilonField.value = status ? String(status.epsilon) : '';
  epsilonField.setAttribute('aria-label', 'Perturbation radius ε');
  epsilonField.size = 10;
  const epsilonError = h('span', { className: 'field-error', text: '' });
  epsilonError.setAttribute('role', 'alert');
  const running = isRunning(state);
  controls.append(h('label', { text: 'ε ' }, [epsilonField]));
  controls.addEventListener('submit', (event) => {
    event.preventDefault();
    if (running || !canAnalyze) {
      return;
    }
    const problem = epsilonProblem(epsilonField.value);
    epsilonError.textContent = problem ?? '';
    epsilonField.setAttribute('aria-invalid', problem ? 'true' : 'false');
    if (!problem) {
      actions.analyze(Number(epsilonField.value.trim()));
    }
  });
  epsilonField.addEventListener('input', () => {
    const problem = epsilonProblem(epsilonField.value);
    epsilonError.textContent = problem ?? '';
    epsilonField.setAttribute('aria-invalid', problem ? 'true' : 'false');
  });
  const analyze = h('button', { text: report ? 'Analyze again' : 'Analyze' });
  analyze.type = 'submit';
  analyze.disabled = running || !canAnalyze;
  controls.append(analyze);
  if (running) {
    const cancel = button('Cancel', actions.cancel, { secondary: true });
    cancel.id = 'cancel-button';
    controls.append(cancel);
  }
  controls.append(epsilonError, h('span', { className: 'separator' }));
  controls.append(
    h('span', { className: 'input-label', title: 'Nominal input x0 for the next run', text: `Input: ${status?.inputLabel ?? '—'}` }),
    button('Choose input…', () => actions.chooseInput(false), { secondary: true, disabled: running }),
    button('Use synthetic', () => actions.chooseInput(true), { secondary: true, disabled: running }),
    h('span', { className: 'separator' }),
    button('Export report…', actions.exportReport, { secondary: true, disabled: !report && !state.sweep, title: 'JSON (the CLI schema), CSV or Markdown' }),
  );
  container.append(controls);
}

const DECIMAL_NUMBER = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Mirrors parseEpsilonInput in src/shared/settings.ts (the host validates again). */
export function epsilonProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!DECIMAL_NUMBER.test(trimmed)) {
    return 'Enter a positive decimal number such as 0.001 or 1e-3.';
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) {
    return 'ε must be a finite number.';
  }
  return value > 0 ? undefined : 'ε must be greater than 0.';
}

function phaseLabel(state: ViewState): string {
  const status = state.status;
  if (!status) {
    return 'not analyzed';
  }
  const task = status.task === 'sweep' ? 'sweep ' : '';
  switch (status.phase) {
    case 'idle':
      return 'not analyzed';
    case 'running':
      return `${task}running`;
    case 'done':
      return `${task}done`;
    case 'cancelled':
      return `${task}cancelled`;
    case 'failed':
      return `${task}failed`;
  }
}

// ---------------------------------------------------------------------------------------------
// ε sweep chart

export interface ChartHandle {
  /** The chart's SVG with the theme variables resolved, for export; undefined without a sweep. */
  exportSvg(resolve: (variable: string) => string): string | undefined;
}

const CHART_WIDTH = 560;
const CHART_HEIGHT = 280;

export function renderChart(container: HTMLElement, state: ViewState, actions: ViewActions): ChartHandle {
  container.replaceChildren();
  const handle: ChartHandle = { exportSvg: () => undefined };
  if (!state.model || state.model.rowSource !== 'layers') {
    return handle;
  }
  container.append(h('h2', { text: 'ε sweep' }));
  const range = state.sweepRange ?? { min: 1e-4, max: 10, points: 11 };
  const form = h('form', { className: 'controls sweep-form' });
  const field = (label: string, value: number, name: string) => {
    const input = h('input');
    input.type = 'text';
    input.name = name;
    input.size = 7;
    input.value = String(value);
    input.setAttribute('aria-label', label);
    form.append(h('label', { text: `${label} ` }, [input]));
    return input;
  };
  const minField = field('from', range.min, 'sweep-min');
  const maxField = field('to', range.max, 'sweep-max');
  const pointsField = field('points', range.points, 'sweep-points');
  const formError = h('span', { className: 'field-error' });
  formError.setAttribute('role', 'alert');
  const running = isRunning(state);
  const submit = h('button', { text: 'Run ε sweep', title: 'Analyze at log-spaced radii (reusing radii already computed)' });
  submit.type = 'submit';
  submit.disabled = running;
  form.append(submit, formError);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const min = Number(minField.value.trim());
    const max = Number(maxField.value.trim());
    const points = Number(pointsField.value.trim());
    const problem =
      epsilonProblem(minField.value) ??
      epsilonProblem(maxField.value) ??
      (max > min ? undefined : 'The sweep needs from < to.') ??
      (Number.isInteger(points) && points >= 2 && points <= 100 ? undefined : 'Points must be an integer from 2 to 100.');
    formError.textContent = problem ?? '';
    if (!problem && !running) {
      actions.runSweep({ min, max, points });
    }
  });
  container.append(form);

  const sweep = state.sweep;
  if (!sweep || sweep.runs.length === 0) {
    container.append(
      h('p', {
        className: 'muted',
        text: 'Not run yet. A sweep analyzes the model at every radius of the range; on large models that takes a while, so it is a separate action.',
      }),
    );
    return handle;
  }
  const points = chartPoints(sweep.runs);
  const mainEpsilon = state.status?.epsilon;
  const figure = h('div', { className: 'chart' });
  const svgText = sweepChartSvg(points, THEME_CHART_COLOURS, { width: CHART_WIDTH, height: CHART_HEIGHT, mainEpsilon });
  // Built from numbers and escaped labels only (chart.ts), so parsing it as SVG markup is safe.
  const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
  const svg = document.importNode(parsed, true) as unknown as SVGSVGElement;
  svg.setAttribute('width', '100%');
  svg.removeAttribute('height');
  figure.append(svg);
  const readout = h('div', { className: 'chart-readout', text: 'Hover the chart for values.' });
  readout.setAttribute('aria-live', 'polite');
  const geometry = chartGeometry(points, CHART_WIDTH, CHART_HEIGHT);
  const guide = document.createElementNS('http://www.w3.org/2000/svg', 'line');
  guide.setAttribute('class', 'chart-guide');
  guide.setAttribute('y1', String(geometry.top));
  guide.setAttribute('y2', String(geometry.bottom));
  guide.setAttribute('visibility', 'hidden');
  svg.append(guide);
  svg.addEventListener('mousemove', (event) => {
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * CHART_WIDTH;
    const point = nearestPoint(points, geometry, x);
    if (!point) {
      return;
    }
    const px = geometry.x(point.epsilon).toFixed(1);
    guide.setAttribute('x1', px);
    guide.setAttribute('x2', px);
    guide.setAttribute('visibility', 'visible');
    const ratio = tighteningRatio(point.spectral, point.local);
    readout.textContent =
      `ε = ${formatNumber(point.epsilon)}: local ${formatNumber(point.local)}, spectral ${formatNumber(point.spectral)}` +
      (ratio === undefined ? '' : ` (${formatNumber(ratio)}× tighter)`) +
      (point.lower !== undefined ? `, lower ${formatNumber(point.lower)}` : '');
  });
  svg.addEventListener('mouseleave', () => guide.setAttribute('visibility', 'hidden'));
  container.append(
    figure,
    readout,
    h('div', { className: 'controls' }, [
      Object.assign(button('Export SVG…', () => actions.exportChart('svg'), { secondary: true }), { id: 'export-svg' }),
      Object.assign(button('Export PNG…', () => actions.exportChart('png'), { secondary: true }), { id: 'export-png' }),
    ]),
  );
  return {
    exportSvg: (resolve) =>
      sweepChartSvg(
        points,
        {
          background: resolve('--vscode-editor-background'),
          foreground: resolve('--vscode-foreground'),
          muted: resolve('--vscode-descriptionForeground'),
          grid: resolve('--vscode-editorWidget-border') || resolve('--vscode-panel-border'),
          local: resolve('--vscode-charts-blue'),
          spectral: resolve('--vscode-charts-orange'),
          lower: resolve('--vscode-charts-green'),
          font: resolve('--vscode-font-family') || 'sans-serif',
        },
        { width: CHART_WIDTH, height: CHART_HEIGHT, mainEpsilon },
      ),
  };
}

// ---------------------------------------------------------------------------------------------
// Layer table

export function renderLayers(container: HTMLElement, state: ViewState, actions: ViewActions, details: HTMLElement): void {
  container.replaceChildren();
  details.hidden = true;
  const shown = shownLayers(state);
  if (shown && shown.layers.length > 0) {
    renderBoundTable(container, state, shown.layers, shown.streaming, actions, details);
  } else if (state.model && state.model.rows.length > 0) {
    renderModelTable(container, state);
  }
  const body = container.querySelector('tbody');
  if (!body || !state.model) {
    return;
  }
  // The row of the node selected in the graph is selected here too; clicking a row (or Enter) selects its nodes there.
  const selectedRow = rowOfNode(state.model, state.selectedNode);
  for (const tr of body.querySelectorAll<HTMLTableRowElement>('tr[data-row]')) {
    const selected = Number(tr.dataset.row) === selectedRow;
    tr.classList.toggle('selected', selected);
    tr.setAttribute('aria-selected', String(selected));
  }
  const select = (event: Event) => {
    const tr = (event.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-row]');
    if (tr) {
      actions.selectRow(Number(tr.dataset.row));
    }
  };
  body.addEventListener('click', select);
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      select(event);
    }
  });
}

/** A table in a box that scrolls sideways on its own, so a wide table never widens the page. */
function scrolling(table: HTMLTableElement): HTMLElement {
  return h('div', { className: 'table-scroll' }, [table]);
}

function renderModelTable(container: HTMLElement, state: ViewState): void {
  const model = state.model!;
  const unsupported = new Set(model.unsupported.map((node) => node.label));
  const title =
    model.rowSource === 'nodes' ? 'Graph nodes' : model.rowSource === 'prefix' ? 'Supported layers (before the first unsupported node)' : 'Layers';
  container.append(h('h2', { text: title }));
  const table = h('table', { className: 'layer-table' });
  const head = table.createTHead().insertRow();
  for (const heading of ['#', 'Layer', 'Op', 'Nodes', model.rowSource === 'nodes' ? 'Inputs → outputs' : 'Shape in → out', 'Parameters']) {
    head.append(h('th', { text: heading }));
  }
  const body = table.createTBody();
  const fragment = document.createDocumentFragment();
  model.rows.forEach((row, index) => {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.row = String(index);
    tr.title = row.attributes.length > 0 ? visible(row.attributes.join('\n')) : 'no attributes';
    if (unsupported.has(row.label)) {
      tr.className = 'unsupported';
    }
    tr.append(
      h('td', { className: 'number', text: String(index) }),
      h('td', { text: row.label }),
      h('td', { text: row.opTypes.join('+') }),
      h('td', { className: 'muted', text: row.nodes.filter(Boolean).join(', ') }),
      h('td', { className: 'shape', text: shapeText(row) }),
      h('td', { className: 'number', text: row.parameterCount.toLocaleString('en-US') }),
    );
    fragment.append(tr);
  });
  body.append(fragment);
  container.append(scrolling(table));
}

function shapeText(row: LayerRow): string {
  return `${row.inputs.join(', ')} → ${row.outputs.join(', ')}`;
}

const SORT_LABELS: Record<SortKey, string> = {
  order: 'graph order',
  ratio: 'ratio (largest first)',
  bound: 'local bound (largest first)',
  contribution: 'share of log L (largest first)',
};

function renderBoundTable(
  container: HTMLElement,
  state: ViewState,
  layers: LayerResult[],
  streaming: boolean,
  actions: ViewActions,
  details: HTMLElement,
): void {
  const sort = state.sort ?? 'order';
  const title = h('div', { className: 'table-title' }, [h('h2', { text: streaming ? `Layers (${layers.length} done so far)` : 'Layers' })]);
  const select = h('select');
  select.setAttribute('aria-label', 'Sort layers by');
  for (const [key, label] of Object.entries(SORT_LABELS)) {
    const option = h('option', { text: label });
    option.value = key;
    option.selected = key === sort;
    select.append(option);
  }
  select.addEventListener('change', () => actions.sort(select.value as SortKey));
  title.append(h('label', { className: 'sort', text: 'Sort by ' }, [select]));
  container.append(title);

  const dominant = dominantLayers(layers);
  const totalLog = layers.reduce((sum, layer) => sum + logContribution(layer), 0);
  const positive = layers.flatMap((layer) => [layer.localBound, layer.spectralNorm]).filter((value) => value > 0 && Number.isFinite(value));
  const barMin = Math.log10(Math.min(1, ...positive)) - 0.3;
  const barMax = Math.log10(Math.max(1, ...positive));
  const barWidth = (value: number) => (value > 0 ? Math.max(2, (100 * (Math.log10(value) - barMin)) / (barMax - barMin)) : 0);

  const table = h('table', { className: 'layer-table bound-table' });
  const head = table.createTHead().insertRow();
  const headings: [string, string?][] = [
    ['#'],
    ['Layer (nodes)'],
    ['Op'],
    ['Shape in → out'],
    ['ε in', 'radius of the deviation reaching this layer'],
    ['Local bound', 'bound of this layer on the ball around its nominal input'],
    ['‖A‖', 'conservative counterpart: spectral norm times the activation’s global slope'],
    ['Ratio', '‖A‖ / local bound'],
    ['On / unstable / off', 'neurons active / able to switch / off throughout the ball'],
    ['Local vs spectral (log)', 'filled: local bound; outline: ‖A‖; common log scale'],
    ['Share of log L', 'log(local bound) as a share of the sum over layers that grow the product'],
  ];
  for (const [text, tip] of headings) {
    head.append(h('th', { text, title: tip }));
  }
  const body = table.createTBody();
  const fragment = document.createDocumentFragment();
  const rank = [...dominant].sort((a, b) => logContribution(layers[b]) - logContribution(layers[a]));
  for (const position of sortedPositions(layers, sort)) {
    const layer = layers[position];
    const row = modelRowFor(state, layer);
    const composition = isComposition(layer);
    const ratio = tighteningRatio(layer.spectralNorm, layer.localBound);
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.position = String(position);
    tr.dataset.row = String(layer.index);
    if (dominant.has(position)) {
      tr.className = 'dominant';
    }
    const nodes = layer.nodes.filter(Boolean).join(', ') || layer.label;
    const bar = h('div', { className: 'bar' }, [h('span', { className: 'bar-spectral' }), h('span', { className: 'bar-local' })]);
    (bar.children[0] as HTMLElement).style.width = `${barWidth(layer.spectralNorm)}%`;
    (bar.children[1] as HTMLElement).style.width = `${barWidth(layer.localBound)}%`;
    const share = totalLog > 0 ? logContribution(layer) / totalLog : 0;
    const shareCell = h('td', { className: 'number' });
    if (dominant.has(position)) {
      shareCell.append(h('span', { className: 'rank', text: `#${rank.indexOf(position) + 1} ` }));
    }
    shareCell.append(share > 0 ? `${(share * 100).toFixed(1)}%` : '—');
    tr.append(
      h('td', { className: 'number', text: String(layer.index) }),
      h('td', { className: 'layer-name', text: nodes }),
      h('td', { text: layer.kind }),
      h('td', { className: 'shape', text: row ? shapeText(row) : '' }),
      h('td', { className: 'number', text: formatNumber(layer.epsilonIn) }),
      h('td', { className: 'number', text: `${formatNumber(layer.localBound)}${composition ? ' ⁽ʳ⁾' : ''}`, title: composition ? 'ratio of radii (output/input), not a Lipschitz constant' : undefined }),
      h('td', { className: 'number', text: formatNumber(layer.spectralNorm) }),
      h('td', { className: 'number', text: ratio === undefined ? '' : `${formatNumber(ratio)}×` }),
      h('td', { className: 'number', text: layer.neurons ? `${layer.neurons.on} / ${layer.neurons.unstable} / ${layer.neurons.off}` : '' }),
      h('td', {}, [bar]),
      shareCell,
    );
    fragment.append(tr);
  }
  body.append(fragment);
  container.append(scrolling(table));
  if (layers.some(isComposition)) {
    container.append(h('p', { className: 'muted small', text: '⁽ʳ⁾ Add and Concat layers: the local bound is the ratio of output to input radius, not a Lipschitz constant.' }));
  }

  // Details pop-over: built on demand for the hovered or focused row only.
  const show = (tr: HTMLTableRowElement) => {
    const position = Number(tr.dataset.position);
    const layer = layers[position];
    if (!layer) {
      return;
    }
    details.replaceChildren(...layerDetails(layer, modelRowFor(state, layer)));
    details.hidden = false;
    const rowBox = tr.getBoundingClientRect();
    const hostBox = (details.offsetParent ?? document.body).getBoundingClientRect();
    // Below the row, unless that would run off the bottom of the view and there is more room above.
    const below = rowBox.bottom + 4 + details.offsetHeight <= window.innerHeight || rowBox.top < window.innerHeight - rowBox.bottom;
    const top = below ? rowBox.bottom + 4 : rowBox.top - 4 - details.offsetHeight;
    details.style.top = `${top - hostBox.top}px`;
    // Within the view's width: a pop-over past the right edge would scroll the page sideways.
    const room = hostBox.width - details.offsetWidth;
    details.style.left = `${Math.max(0, Math.min(rowBox.left - hostBox.left + 24, room))}px`;
  };
  const hide = () => {
    details.hidden = true;
  };
  body.addEventListener('mouseover', (event) => {
    const tr = (event.target as HTMLElement).closest('tr');
    if (tr) {
      show(tr);
    }
  });
  body.addEventListener('mouseleave', hide);
  body.addEventListener('focusin', (event) => {
    const tr = (event.target as HTMLElement).closest('tr');
    if (tr) {
      show(tr);
    }
  });
  body.addEventListener('focusout', hide);
  body.addEventListener('keydown', (event) => {
    const tr = (event.target as HTMLElement).closest('tr');
    if (!tr) {
      return;
    }
    if (event.key === 'Escape') {
      hide();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const next = (event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
      next?.focus();
      event.preventDefault();
    }
  });
}

/** The formula behind a layer's local bound, by the engine's layer kind. */
export function formulaFor(layer: LayerResult): string {
  const [linear, activation] = layer.kind.split('+');
  if (activation) {
    return activation === 'relu'
      ? `‖R A D‖: the ${linear} map A with its rows restricted to ReLU neurons that are on or unstable in the ball (R) and its columns to inputs that can move (D)`
      : `‖R A D‖: the ${linear} map A, rows scaled by the ${activation} slope bounds over the ball (R), columns restricted to inputs that can move (D)`;
  }
  switch (layer.kind) {
    case 'conv':
    case 'convTranspose':
    case 'dense':
    case 'channelAffine':
      return `‖A D‖: the lone ${layer.kind} map A, columns restricted to inputs that can move (D)`;
    case 'maxPool':
      return '√(largest number of pooling windows sharing a movable input)';
    case 'avgPool':
    case 'globalAvgPool':
      return '‖A D‖ of the averaging operator (closed form when the windows are disjoint)';
    case 'axisMap':
      return '‖A D‖ of the per-axis linear map (slice, gather, reduction or resize; closed form when its rows or columns are disjoint)';
    case 'reshape':
      return '1: values unchanged, only the shape';
    case 'transpose':
      return '1: a permutation of the values (an isometry)';
    case 'add':
      return 'ratio of radii: (Σ ε of the summed inputs) / ε in; a composition rule, not a Lipschitz constant';
    case 'concat':
      return 'ratio of radii: √(Σ ε² of the parts) / ε in; a composition rule, not a Lipschitz constant';
    case 'mul':
      return 'ratio of radii: ((β + ε_b) ε_a + α ε_b) / ε in for the product a ⊙ b (β: largest |b|, α: largest norm of a over one b entry); depends on ε, a composition rule';
    default:
      return `max_i r_i: the largest ${layer.kind} slope bound over each coordinate's interval [x_i − ε, x_i + ε]`;
  }
}

function certificateLines(certificate: Certificate): string[] {
  const lines = [`${certificate.method}: ${certificate.detail}`];
  const facts: string[] = [];
  if (certificate.iterations !== undefined) facts.push(`${certificate.iterations} iterations`);
  if (certificate.dimension !== undefined) facts.push(`dimension ${certificate.dimension}`);
  if (certificate.delta !== undefined) facts.push(`δ = ${formatNumber(certificate.delta)}`);
  if (certificate.failureProbability !== undefined) facts.push(`failure probability ${formatNumber(certificate.failureProbability)}`);
  if (certificate.seed !== undefined) facts.push(`seed ${certificate.seed}`);
  if (certificate.estimate !== undefined) facts.push(`estimate ${formatNumber(certificate.estimate)}`);
  if (certificate.roundingMargin !== undefined) facts.push(`rounding margin ${formatNumber(certificate.roundingMargin)}`);
  if (facts.length > 0) lines.push(facts.join(', '));
  return lines;
}

function layerDetails(layer: LayerResult, row: LayerRow | undefined): Node[] {
  const section = (title: string, lines: string[]) =>
    h('div', { className: 'detail-section' }, [h('div', { className: 'detail-title', text: title }), ...lines.map((line) => h('div', { text: line }))]);
  const parts: Node[] = [h('div', { className: 'detail-heading', text: `${layer.index}. ${layer.label}` })];
  const about = [`${layer.kind}; nodes ${layer.nodes.filter(Boolean).join(', ') || layer.label}`];
  if (row) {
    about.push(`shape ${shapeText(row)}, ${row.parameterCount.toLocaleString('en-US')} parameters`);
    about.push(...row.attributes);
  }
  parts.push(section('Layer', about));
  parts.push(section('Formula', [formulaFor(layer)]));
  parts.push(
    section(isComposition(layer) ? 'Ratio of radii' : 'Local bound', [
      `${formatNumber(layer.localBound)}: ε in ${formatNumber(layer.epsilonIn)} → ε out ${formatNumber(layer.epsilonOut)}`,
      ...certificateLines(layer.certificate),
    ]),
  );
  parts.push(section(`‖A‖ = ${formatNumber(layer.spectralNorm)}`, certificateLines(layer.spectralCertificate)));
  if (layer.neurons) {
    const { on, unstable, off } = layer.neurons;
    const total = on + unstable + off;
    const percent = (value: number) => (total > 0 ? ` (${((100 * value) / total).toFixed(1)}%)` : '');
    parts.push(section('Neurons in the ball', [`on ${on}${percent(on)}, unstable ${unstable}${percent(unstable)}, off ${off}${percent(off)}`]));
  }
  if (layer.tightness) {
    parts.push(section('Tightness', [`${layer.tightness.kind} lower value ${formatNumber(layer.tightness.lower)}: ${layer.tightness.detail}`]));
  }
  parts.push(section('Time', [`${formatNumber(layer.timeMs)} ms`]));
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Status line

interface StatusParts {
  text: HTMLSpanElement;
  progress: HTMLProgressElement;
  cancel: HTMLButtonElement;
}

const statusParts = new WeakMap<HTMLElement, StatusParts>();

/**
 * Updates the status line in place: progress arrives several times a second, and a Cancel button
 * rebuilt on every update could vanish under the user's click.
 */
export function renderStatus(container: HTMLElement, state: ViewState, actions: ViewActions): void {
  let parts = statusParts.get(container);
  if (!parts) {
    const text = h('span', { className: 'status-text' });
    text.id = 'status-text';
    parts = { text, progress: h('progress'), cancel: button('Cancel', () => actions.cancel(), { secondary: true }) };
    container.replaceChildren(parts.text, parts.progress, parts.cancel);
    statusParts.set(container, parts);
  }
  const status = state.status;
  parts.text.textContent = statusText(state);
  parts.text.classList.toggle('error', status?.phase === 'failed');
  const running = status?.phase === 'running';
  parts.progress.hidden = !running;
  parts.cancel.hidden = !running;
  const { completed = 0, total = 0 } = status?.progress ?? {};
  if (running && total > 0) {
    parts.progress.max = total;
    parts.progress.value = completed;
  } else {
    parts.progress.removeAttribute('value');
  }
}

export function statusText(state: ViewState): string {
  const status = state.status;
  if (!status) {
    return '';
  }
  const sweep = status.task === 'sweep';
  switch (status.phase) {
    case 'idle':
      return `${status.message ?? 'Not analyzed yet.'} ε = ${formatNumber(status.epsilon)}, ${status.inputLabel}.`;
    case 'running': {
      const progress = status.progress;
      const steps = progress && progress.total > 0 ? ` (${progress.completed}/${progress.total})` : '';
      const what = sweep ? 'Running the ε sweep' : `Analyzing at ε = ${formatNumber(status.epsilon)}`;
      return `${what}: ${progress?.message ?? 'starting'}${steps}…`;
    }
    case 'done': {
      const suffix = status.message ? ` ${status.message}` : '';
      if (sweep) {
        return `ε sweep done: ${state.sweep?.runs.length ?? 0} radii.${suffix}`;
      }
      const run = mainRun(state);
      if (!run) {
        return `Done.${suffix}`;
      }
      const { localBound, spectralBound } = run.network;
      const ratio = tighteningRatio(spectralBound, localBound);
      return (
        `Done at ε = ${formatNumber(run.epsilon)}: network local bound ${formatNumber(localBound)}, ` +
        `spectral product ${formatNumber(spectralBound)}` +
        (ratio === undefined ? '.' : ` (${formatNumber(ratio)}× tighter).`) +
        suffix
      );
    }
    case 'cancelled':
      return sweep ? 'ε sweep cancelled.' : 'Analysis cancelled.';
    case 'failed':
      return `${sweep ? 'ε sweep' : 'Analysis'} failed: ${status.message ?? 'no reason given.'}`;
  }
}
