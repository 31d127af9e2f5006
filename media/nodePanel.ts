// The side panel of the selected graph node: op, attributes, inputs and outputs with shapes,
// parameters and weight statistics, why it is unsupported, and after an analysis its layer's numbers
// (the table's). Plain selectable text, built with textContent only, control and bidi characters
// from the model shown as escapes.

import { escapeControlCharacters, formatNumber, tighteningRatio } from '../src/shared/format';
import type { GraphNodeInfo, GraphTensor } from '../src/shared/protocol';
import { formatMetric, layerMetric } from './graphMetrics';
import { shownLayers, type ViewState } from './viewState';

function element(tag: string, className: string | undefined, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = escapeControlCharacters(text, true);
  return node;
}

function section(title: string, lines: (string | HTMLElement)[]): HTMLElement {
  const part = element('section', 'panel-section');
  part.append(element('h3', undefined, title));
  for (const line of lines) part.append(typeof line === 'string' ? element('div', undefined, line) : line);
  return part;
}

function tensorLine(tensor: GraphTensor): HTMLElement {
  const line = element('div', 'panel-tensor');
  line.append(element('span', 'tensor-name', tensor.name), ` ${tensor.shape ?? '(shape unknown)'}`);
  const weight = tensor.weight;
  if (weight) {
    line.append(element('span', 'muted', ` ${weight.dataType}, ${weight.size.toLocaleString('en-US')} values`));
    if (weight.stats) {
      const { min, max, mean, std, sparsity } = weight.stats;
      line.append(
        element(
          'div',
          'weight-stats',
          `min ${formatNumber(min)}, max ${formatNumber(max)}, mean ${formatNumber(mean)}, std ${formatNumber(std)}, sparsity ${(sparsity * 100).toFixed(1)}%`,
        ),
      );
    }
  }
  return line;
}

export function nodePanel(node: GraphNodeInfo, state: ViewState): HTMLElement[] {
  const parts: HTMLElement[] = [element('h2', 'panel-heading', node.label)];
  const kind = node.kind === 'node' ? `${node.opType}${node.domain ? ` (${node.domain})` : ''}` : node.kind === 'input' ? 'graph input' : 'graph output';
  parts.push(element('div', 'panel-op', kind));
  if (node.unsupported) {
    parts.push(section('Not supported', [node.unsupported]));
  }
  if (node.kind === 'node') {
    parts.push(section('Attributes', node.attributes.length > 0 ? node.attributes : ['none']));
  }
  if (node.inputs.length > 0) parts.push(section('Inputs', node.inputs.map(tensorLine)));
  if (node.outputs.length > 0) parts.push(section('Outputs', node.outputs.map(tensorLine)));
  if (node.kind === 'node') {
    parts.push(section('Parameters', [node.parameterCount.toLocaleString('en-US')]));
  }
  const model = state.model;
  if (node.layer !== undefined && model && model.rowSource !== 'nodes') {
    const row = model.rows[node.layer];
    const lines: string[] = [`${node.layer}. ${row?.label ?? ''} (${row?.opTypes.join('+') ?? ''})`];
    const result = shownLayers(state)?.layers.find((layer) => layer.index === node.layer);
    if (result) {
      const ratio = tighteningRatio(result.spectralNorm, result.localBound);
      lines.push(
        `ε in ${formatNumber(result.epsilonIn)} → ε out ${formatNumber(result.epsilonOut)}`,
        `local bound ${formatNumber(result.localBound)}, ‖A‖ ${formatNumber(result.spectralNorm)}${ratio === undefined ? '' : `, ratio ${formatNumber(ratio)}×`}`,
      );
      const layers = shownLayers(state)?.layers ?? [];
      const share = layerMetric('share', result, layers);
      lines.push(`share of log L ${share === undefined || share === 0 ? '—' : formatMetric('share', share)}`);
      if (result.neurons) {
        const unstable = layerMetric('unstable', result, layers);
        const fraction = unstable === undefined ? '' : ` (unstable fraction ${formatMetric('unstable', unstable)})`;
        lines.push(`neurons on / unstable / off: ${result.neurons.on} / ${result.neurons.unstable} / ${result.neurons.off}${fraction}`);
      }
    }
    parts.push(section('Analysis layer', lines));
  } else if (node.kind === 'node' && model?.rowSource !== 'nodes' && !node.unsupported) {
    parts.push(section('Analysis layer', ['none: folded into a neighbour, after an unsupported node, or off the analysed path']));
  }
  return parts;
}
