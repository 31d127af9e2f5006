// DOM rendering of the three areas: header (model), layers table, status line. Text goes in via
// textContent only: names come from the model file and must never become markup.

import { formatBytes, formatNumber, tighteningRatio } from '../src/shared/format';
import type { LayerRow } from '../src/shared/protocol';
import type { LayerResult } from '../src/shared/results';
import { mainRun, type ViewState } from './viewState';

export interface StatusActions {
  analyze(): void;
  cancel(): void;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

export function renderHeader(container: HTMLElement, state: ViewState): void {
  container.replaceChildren();
  if (state.modelError) {
    container.append(
      element('h1', state.modelError.fileName),
      element('p', state.modelError.message, 'error'),
    );
    return;
  }
  const { model } = state;
  if (!model) {
    container.append(element('p', 'Reading the model…', 'muted'));
    return;
  }
  container.append(element('h1', model.fileName));
  const facts: [string, string][] = [['Size', formatBytes(model.sizeBytes)]];
  if (model.producerName) {
    facts.push(['Producer', [model.producerName, model.producerVersion].filter(Boolean).join(' ')]);
  }
  facts.push(
    ['IR version', String(model.irVersion)],
    ['Opsets', model.opsets.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ') || 'none'],
    ['Inputs', model.inputs.join(', ')],
    ['Outputs', model.outputs.join(', ')],
  );
  if (state.status) {
    facts.push(['ε', formatNumber(state.status.epsilon)], ['Nominal input', state.status.inputLabel]);
  }
  if (state.report) {
    facts.push(['Last run’s input', `${state.report.input.origin} [${state.report.input.shape.join('×')}]`]);
  }
  const list = element('dl', undefined, 'facts');
  for (const [term, value] of facts) {
    list.append(element('dt', term), element('dd', value));
  }
  container.append(list);
  const notes = state.report?.notes ?? [];
  if (notes.length > 0) {
    const items = element('ul', undefined, 'notes');
    items.append(...notes.map((note) => element('li', note)));
    container.append(items);
  }
}

export function renderLayers(container: HTMLElement, state: ViewState): void {
  container.replaceChildren();
  const run = mainRun(state);
  if (run) {
    container.append(
      table(
        ['#', 'Layer', 'Kind', 'ε in', 'Local bound', '‖A‖', 'Ratio', 'On / unstable / off', 'Certified by'],
        run.layers.map(boundCells),
        [0, 3, 4, 5, 6],
        run.layers.map((layer) => `${layer.nodes.join(', ')}\n${layer.certificate.detail}`),
      ),
    );
  } else if (state.model && state.model.rows.length > 0) {
    container.append(
      table(
        ['#', 'Node', 'Op', 'Inputs', 'Outputs', 'Parameters'],
        state.model.rows.map(rowCells),
        [0, 5],
        state.model.rows.map((row) => row.attributes.join('\n')),
      ),
    );
  }
}

/** `titles[i]`, when given, is row i's hover text. */
function table(headings: string[], rows: string[][], numericColumns: number[], titles: string[] = []): HTMLTableElement {
  const result = element('table', undefined, 'layer-table');
  const head = result.createTHead().insertRow();
  for (const heading of headings) {
    head.append(element('th', heading));
  }
  const body = result.createTBody();
  for (const [index, cells] of rows.entries()) {
    const tr = body.insertRow();
    if (titles[index]) {
      tr.title = titles[index];
    }
    cells.forEach((text, column) => tr.append(element('td', text, numericColumns.includes(column) ? 'number' : undefined)));
  }
  return result;
}

function rowCells(row: LayerRow, index: number): string[] {
  return [
    String(index),
    row.label,
    row.opTypes.join('+'),
    row.inputs.join(', '),
    row.outputs.join(', '),
    row.parameterCount.toLocaleString('en-US'),
  ];
}

function boundCells(layer: LayerResult, index: number): string[] {
  const ratio = tighteningRatio(layer.spectralNorm, layer.localBound);
  const neurons = layer.neurons ? `${layer.neurons.on} / ${layer.neurons.unstable} / ${layer.neurons.off}` : '';
  return [
    String(index),
    layer.label,
    layer.kind,
    formatNumber(layer.epsilonIn),
    formatNumber(layer.localBound),
    formatNumber(layer.spectralNorm),
    ratio === undefined ? '' : `${formatNumber(ratio)}×`,
    neurons,
    layer.certificate.method,
  ];
}

export function renderStatus(container: HTMLElement, state: ViewState, actions: StatusActions): void {
  container.replaceChildren();
  const status = state.status;
  const text = element('span', statusText(state), 'status-text');
  if (status?.phase === 'failed') {
    text.classList.add('error');
  }
  container.append(text);
  if (status?.phase === 'running') {
    const progress = element('progress');
    const { completed = 0, total = 0 } = status.progress ?? {};
    if (total > 0) {
      progress.max = total;
      progress.value = completed;
    }
    const cancel = element('button', 'Cancel', 'secondary');
    cancel.addEventListener('click', actions.cancel);
    container.append(progress, cancel);
  } else if (state.model) {
    const analyze = element('button', state.report ? 'Analyze again' : 'Analyze');
    analyze.addEventListener('click', actions.analyze);
    container.append(analyze);
  }
}

function statusText(state: ViewState): string {
  const status = state.status;
  if (!status) {
    return '';
  }
  switch (status.phase) {
    case 'idle':
      return `${status.message ?? 'Not analyzed yet.'} ε = ${formatNumber(status.epsilon)}, ${status.inputLabel}.`;
    case 'running': {
      const progress = status.progress;
      const steps = progress && progress.total > 0 ? ` (${progress.completed}/${progress.total})` : '';
      return `Analyzing at ε = ${formatNumber(status.epsilon)}: ${progress?.message ?? 'starting'}${steps}…`;
    }
    case 'done': {
      const run = mainRun(state);
      if (!run) {
        return 'Done.';
      }
      const { localBound, spectralBound, failureProbability } = run.network;
      const ratio = tighteningRatio(spectralBound, localBound);
      return (
        `Done at ε = ${formatNumber(run.epsilon)}: network local bound ${formatNumber(localBound)}, ` +
        `spectral product ${formatNumber(spectralBound)}` +
        (ratio === undefined ? '.' : ` (${formatNumber(ratio)}× tighter).`) +
        (failureProbability > 0 ? ` Certified except with probability ${formatNumber(failureProbability)}.` : '')
      );
    }
    case 'cancelled':
      return 'Analysis cancelled.';
    case 'failed':
      return `Analysis failed: ${status.message ?? 'no reason given.'}`;
  }
}
