// The side panel of the selected graph node: op, attributes, inputs and outputs with shapes,
// parameters and weight statistics, why it is unsupported, and after an analysis its layer's numbers
// (the table's, under the table's names). Plain selectable text.

import { formatNumber, formatPercent, formatRatio, tighteningRatio } from '../src/shared/format';
import type { GraphTensor, ModelOverview } from '../src/shared/protocol';
import type { LayerResult } from '../src/shared/results';
import { formatMetric, layerMetric } from './graphMetrics';
import { visible } from './viewText';

function Section({ title, lines }: { title: string; lines: (string | preact.JSX.Element)[] }) {
  return (
    <section class="panel-section">
      <h3>{title}</h3>
      {lines.map((line, index) => (typeof line === 'string' ? <div key={index}>{visible(line)}</div> : line))}
    </section>
  );
}

function TensorLine({ tensor }: { tensor: GraphTensor }) {
  const weight = tensor.weight;
  return (
    <div class="panel-tensor">
      <span class="tensor-name">{visible(tensor.name)}</span>
      {` ${visible(tensor.shape ?? '(shape unknown)')}`}
      {weight && <span class="muted">{` ${weight.dataType}, ${weight.size.toLocaleString('en-US')} values`}</span>}
      {weight?.stats && (
        <div class="weight-stats">
          {`min ${formatNumber(weight.stats.min)}, max ${formatNumber(weight.stats.max)}, mean ${formatNumber(weight.stats.mean)}, ` +
            `std ${formatNumber(weight.stats.std)}, sparsity ${formatPercent(weight.stats.sparsity)}`}
        </div>
      )}
    </div>
  );
}

export interface NodePanelProps {
  model: ModelOverview;
  layers?: LayerResult[];
  nodeId?: string;
  expanded: ReadonlySet<number>;
  onToggleLayer(layer: number): void;
}

export function NodePanel({ model, layers, nodeId, expanded, onToggleLayer }: NodePanelProps) {
  const node = nodeId === undefined ? undefined : model.graph.nodes.find((entry) => entry.id === nodeId);
  if (!node) {
    return <aside class="node-panel" id="node-panel" aria-label="Selected node" hidden />;
  }
  const kind = node.kind === 'node' ? `${node.opType}${node.domain ? ` (${node.domain})` : ''}` : node.kind === 'input' ? 'graph input' : 'graph output';
  const group = node.layer === undefined ? undefined : model.graph.groups?.find((entry) => entry.layer === node.layer);
  const analysisLayer = () => {
    if (node.layer === undefined || model.rowSource === 'nodes') {
      return node.kind === 'node' && model.rowSource !== 'nodes' && !node.unsupported ? (
        <Section title="Analysis layer" lines={['none: folded into a neighbour, after an unsupported node, or off the analysed path']} />
      ) : null;
    }
    const row = model.rows[node.layer];
    const lines: (string | preact.JSX.Element)[] = [`${node.layer}. ${row?.label ?? ''} (${row?.opTypes.join('+') ?? ''})`];
    const result = layers?.find((layer) => layer.index === node.layer);
    if (result && layers) {
      const ratio = tighteningRatio(result.spectralNorm, result.localBound);
      lines.push(
        `ε in ${formatNumber(result.epsilonIn)} → ε out ${formatNumber(result.epsilonOut)}`,
        `local bound ${formatNumber(result.localBound)}, ‖A‖ ${formatNumber(result.spectralNorm)}${ratio === undefined ? '' : `, ratio ${formatRatio(ratio)}`}`,
      );
      const share = layerMetric('share', result, layers);
      lines.push(`share of log L ${share === undefined || share === 0 ? '—' : formatMetric('share', share)}`);
      if (result.neurons) {
        const unstable = layerMetric('unstable', result, layers);
        const fraction = unstable === undefined ? '' : ` (unstable fraction ${formatMetric('unstable', unstable)})`;
        lines.push(`neurons on / unstable / off: ${result.neurons.on} / ${result.neurons.unstable} / ${result.neurons.off}${fraction}`);
      }
      const tightness = layerMetric('tightness', result, layers);
      if (tightness !== undefined) {
        lines.push(`tightness ${formatMetric('tightness', tightness)} (${result.tightness ? 'local bound ÷ the layer’s witnessed lower value' : 'local bound ÷ ‖A‖'})`);
      }
    }
    if (group) {
      lines.push(
        <div key="group">
          {`fused from ${group.nodes.length} nodes `}
          <button type="button" class="secondary link-button" id="panel-toggle-layer" onClick={() => onToggleLayer(group.layer)}>
            {expanded.has(group.layer) ? 'Collapse to one box' : 'Show its nodes'}
          </button>
        </div>,
      );
    }
    return <Section title="Analysis layer" lines={lines} />;
  };
  return (
    <aside class="node-panel" id="node-panel" aria-label="Selected node" aria-live="polite">
      <h2 class="panel-heading">{visible(node.label)}</h2>
      <div class="panel-op">{visible(kind)}</div>
      {node.unsupported && <Section title="Not supported" lines={[node.unsupported]} />}
      {node.kind === 'node' && <Section title="Attributes" lines={node.attributes.length > 0 ? node.attributes : ['none']} />}
      {node.inputs.length > 0 && <Section title="Inputs" lines={node.inputs.map((tensor, index) => <TensorLine key={index} tensor={tensor} />)} />}
      {node.outputs.length > 0 && <Section title="Outputs" lines={node.outputs.map((tensor, index) => <TensorLine key={index} tensor={tensor} />)} />}
      {node.kind === 'node' && <Section title="Parameters" lines={[node.parameterCount.toLocaleString('en-US')]} />}
      {analysisLayer()}
    </aside>
  );
}
