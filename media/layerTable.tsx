// The table tab: before an analysis the model's layers (or graph nodes), after it the bound of every
// layer. Both name a layer and its ops as the graph's panel does (label "conv1+relu1", ops
// "Conv+Relu"), and both keep the Parameters column. Hovering or focusing a row opens a pop-over with
// how its bound was certified, in a reader's words; clicking the row (or Enter) pins it open, so its
// text can be selected and copied, until Escape or its close button.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { memo } from 'preact/compat';
import { formatNumber, formatPercent, formatRatio, SIGNIFICANT_DIGITS, tighteningRatio } from '../src/shared/format';
import type { LayerRow, ModelOverview } from '../src/shared/protocol';
import type { LayerResult } from '../src/shared/results';
import { COMPOSITION_NOTE, certificateLines, formulaFor, visible } from './viewText';
import { dominantLayers, isComposition, logContribution, sortedPositions, type LayerDelta, type SortKey } from './viewState';

export interface LayerTableProps {
  model: ModelOverview;
  /** The layers to show bounds for; absent before an analysis. */
  layers?: LayerResult[];
  /** The layers are still streaming in: no shares or ranks yet, they would rank the first row #1 at 100 %. */
  streaming: boolean;
  sort: SortKey;
  selectedRow?: number;
  /** Change of each layer against the pinned run, by layer index (absent: nothing pinned, or another model). */
  deltas?: Map<number, LayerDelta>;
  onSort(key: SortKey): void;
  onSelectRow(row: number): void;
}

const parameters = (count: number | undefined) => (count === undefined ? '' : count.toLocaleString('en-US'));

function shapeText(row: LayerRow): string {
  return `${row.inputs.join(', ')} → ${row.outputs.join(', ')}`;
}

/** The model row describing an analysis layer, when the model's rows are that network's layers. */
function rowFor(model: ModelOverview, layer: LayerResult): LayerRow | undefined {
  if (model.rowSource !== 'layers') return undefined;
  const row = model.rows[layer.index];
  return row?.label === layer.label ? row : undefined;
}

/** Selection by click or Enter, arrow keys between rows: shared by both tables. */
function rowKeys(onSelectRow: (row: number) => void) {
  const rowOf = (event: Event) => (event.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-row]');
  return {
    onClick: (event: MouseEvent) => {
      const tr = rowOf(event);
      if (tr) onSelectRow(Number(tr.dataset.row));
    },
    onKeyDown: (event: KeyboardEvent) => {
      const tr = rowOf(event);
      if (!tr) return;
      if (event.key === 'Enter') {
        onSelectRow(Number(tr.dataset.row));
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        const next = (event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
        next?.focus();
        event.preventDefault();
      }
    },
  };
}

function ModelTable({ model, selectedRow, onSelectRow }: Pick<LayerTableProps, 'model' | 'selectedRow' | 'onSelectRow'>) {
  const unsupported = new Set(model.unsupported.map((node) => node.label));
  const title = model.rowSource === 'nodes' ? 'Graph nodes' : model.rowSource === 'prefix' ? 'Supported layers (before the first unsupported node)' : 'Layers';
  return (
    <>
      <h2>{title}</h2>
      <div class="table-scroll">
        <table class="layer-table">
          <thead>
            <tr>
              {['#', 'Layer', 'Op', model.rowSource === 'nodes' ? 'Inputs → outputs' : 'Shape in → out', 'Nodes', 'Parameters'].map((heading) => (
                <th key={heading}>{heading}</th>
              ))}
            </tr>
          </thead>
          <tbody {...rowKeys(onSelectRow)}>
            {model.rows.map((row, index) => (
              <tr
                key={index}
                tabIndex={0}
                data-row={index}
                class={[unsupported.has(row.label) && 'unsupported', index === selectedRow && 'selected'].filter(Boolean).join(' ') || undefined}
                aria-selected={index === selectedRow ? 'true' : 'false'}
                title={visible(row.attributes.length > 0 ? row.attributes.join('\n') : 'no attributes')}
              >
                <td class="number">{index}</td>
                <td class="layer-name">{visible(row.label)}</td>
                <td>{visible(row.opTypes.join('+'))}</td>
                <td class="shape">{visible(shapeText(row))}</td>
                <td class="muted">{visible(row.nodes.filter(Boolean).join(', '))}</td>
                <td class="number">{parameters(row.parameterCount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

const SORT_LABELS: Record<SortKey, string> = {
  order: 'graph order',
  ratio: 'ratio (largest first)',
  bound: 'local bound (largest first)',
  contribution: 'share of log L (largest first)',
};

/** A delta cell of a layer the pinned run has none like (by label or ONNX node name). */
const NO_MATCH = 'no match';

/** "+12.5%" / "−3%": the relative change of a value against the pinned run. */
export function formatChange(change: number | undefined): string {
  if (change === undefined || !Number.isFinite(change)) return '';
  const percent = Number((100 * change).toPrecision(SIGNIFICANT_DIGITS));
  return `${percent > 0 ? '+' : percent < 0 ? '−' : '±'}${formatPercent(Math.abs(change))}`;
}

export function LayerDetails({ layer, row }: { layer: LayerResult; row?: LayerRow }) {
  const section = (title: string, lines: string[]) => (
    <div class="detail-section">
      <div class="detail-title">{title}</div>
      {lines.map((line, index) => (
        <div key={index}>{visible(line)}</div>
      ))}
    </div>
  );
  const about = [`${row ? row.opTypes.join('+') : layer.kind} (bound rule ${layer.kind}); nodes ${layer.nodes.filter(Boolean).join(', ') || layer.label}`];
  if (row) {
    about.push(`shape ${shapeText(row)}, ${parameters(row.parameterCount)} parameters`);
    about.push(...row.attributes);
  }
  const neurons = layer.neurons;
  const total = neurons ? neurons.on + neurons.unstable + neurons.off : 0;
  const percent = (value: number) => (total > 0 ? ` (${formatPercent(value / total)})` : '');
  return (
    <>
      <div class="detail-heading">{visible(`${layer.index}. ${layer.label}`)}</div>
      {section('Layer', about)}
      {section('Formula', [formulaFor(layer)])}
      {section(isComposition(layer) ? 'Ratio of radii' : 'Local bound', [
        `${formatNumber(layer.localBound)}: ε in ${formatNumber(layer.epsilonIn)} → ε out ${formatNumber(layer.epsilonOut)}`,
        ...certificateLines(layer.certificate),
      ])}
      {section(`‖A‖ = ${formatNumber(layer.spectralNorm)}`, certificateLines(layer.spectralCertificate))}
      {neurons &&
        section('Neurons in the ball', [
          `on ${neurons.on}${percent(neurons.on)}, unstable ${neurons.unstable}${percent(neurons.unstable)}, off ${neurons.off}${percent(neurons.off)}`,
        ])}
      {layer.tightness &&
        section('Tightness', [
          `${layer.tightness.kind} lower value ${formatNumber(layer.tightness.lower)}: ${layer.tightness.detail}` +
            (layer.tightness.lower > 0 ? `; the local bound is ${formatRatio(layer.localBound / layer.tightness.lower)} it` : ''),
        ])}
      {section('Time', [`${formatNumber(layer.timeMs)} ms`])}
    </>
  );
}

interface Anchor {
  /** The row's position in the layers. */
  position: number;
  /** Opened by a click or Enter: it takes the pointer and stays until closed. */
  pinned: boolean;
}

function BoundTable({ model, layers, streaming, sort, selectedRow, deltas, onSort, onSelectRow }: LayerTableProps & { layers: LayerResult[] }) {
  const [anchor, setAnchor] = useState<Anchor | undefined>(undefined);
  const details = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLTableSectionElement>(null);
  const dominant = streaming ? new Set<number>() : dominantLayers(layers);
  const rank = [...dominant].sort((a, b) => logContribution(layers[b]) - logContribution(layers[a]));
  const totalLog = layers.reduce((sum, layer) => sum + logContribution(layer), 0);
  const positive = layers.flatMap((layer) => [layer.localBound, layer.spectralNorm]).filter((value) => value > 0 && Number.isFinite(value));
  const barMin = Math.log10(Math.min(1, ...positive)) - 0.3;
  const barMax = Math.log10(Math.max(1, ...positive));
  const barWidth = (value: number) => (value > 0 ? Math.max(2, (100 * (Math.log10(value) - barMin)) / (barMax - barMin)) : 0);

  // Below the row, unless that runs off the bottom of the view and there is more room above; within the
  // view's width. Measured here, after the pop-over is in the page (CSS puts it at the top of the area
  // first, so its first layout never lengthens the page and moves the row).
  useLayoutEffect(() => {
    const box = details.current;
    const tr = anchor && body.current?.querySelector(`tr[data-position="${anchor.position}"]`);
    if (!box || !tr) return;
    const row = tr.getBoundingClientRect();
    const hostBox = (box.offsetParent ?? document.body).getBoundingClientRect();
    const below = row.bottom + 4 + box.offsetHeight <= window.innerHeight || row.top < window.innerHeight - row.bottom;
    const top = below ? row.bottom + 4 : row.top - 4 - box.offsetHeight;
    box.style.top = `${top - hostBox.top}px`;
    box.style.left = `${Math.max(0, Math.min(row.left - hostBox.left + 24, hostBox.width - box.offsetWidth))}px`;
  }, [anchor]);

  const show = (target: EventTarget | null, pinned: boolean) => {
    const tr = (target as HTMLElement | null)?.closest?.<HTMLTableRowElement>('tr[data-position]');
    // A pinned pop-over stays until another row is pinned or it is closed.
    if (!tr || (anchor?.pinned && !pinned)) return;
    const position = Number(tr.dataset.position);
    if (anchor?.position === position && anchor.pinned === pinned) return;
    setAnchor({ position, pinned });
  };
  /** Hides a passing pop-over when the pointer or focus leaves the rows. */
  const hidePassing = (event: MouseEvent | FocusEvent) => {
    const next = event.relatedTarget as Node | null;
    if (anchor?.pinned || (next && body.current?.contains(next))) return;
    setAnchor(undefined);
  };
  const keys = rowKeys(onSelectRow);
  const shown = anchor ? layers[anchor.position] : undefined;
  const headings: [string, string?][] = [
    ['#'],
    ['Layer'],
    ['Op'],
    ['Shape in → out'],
    ['ε in', 'radius of the deviation reaching this layer'],
    ['Local bound', 'bound of this layer on the ball around its nominal input'],
    ['‖A‖', 'conservative counterpart: spectral norm times the activation’s global slope'],
    ['Ratio', '‖A‖ / local bound'],
    ['On / unstable / off', 'neurons active / able to switch / off throughout the ball'],
    ['Local vs spectral (log)', 'filled: local bound; outline: ‖A‖; common log scale'],
    ['Share of log L', 'log(local bound) as a share of the sum over layers that grow the product (once every layer is done)'],
    ['Parameters'],
    ...(deltas ? ([['Δ local bound', 'change of the local bound against the pinned run'], ['Δ ‖A‖', 'change of ‖A‖ against the pinned run']] as [string, string][]) : []),
  ];
  return (
    <>
      <div class="table-title">
        <h2>{streaming ? `Layers (${layers.length} done so far)` : 'Layers'}</h2>
        <label class="sort">
          {'Sort by '}
          <select aria-label="Sort layers by" value={sort} onChange={(event) => onSort(event.currentTarget.value as SortKey)}>
            {Object.entries(SORT_LABELS).map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="table-scroll">
        <table class="layer-table bound-table">
          <thead>
            <tr>
              {headings.map(([text, tip]) => (
                <th key={text} title={tip}>
                  {text}
                </th>
              ))}
            </tr>
          </thead>
          <tbody
            ref={body}
            onClick={(event) => {
              show(event.target, true);
              keys.onClick(event);
            }}
            onKeyDown={(event) => {
              if (event.key === 'Escape') setAnchor(undefined);
              if (event.key === 'Enter') show(event.target, true);
              keys.onKeyDown(event);
            }}
            onMouseOver={(event) => show(event.target, false)}
            onFocusIn={(event) => show(event.target, false)}
            onMouseLeave={hidePassing}
            onFocusOut={hidePassing}
          >
            {sortedPositions(layers, sort).map((position) => {
              const layer = layers[position];
              const row = rowFor(model, layer);
              const composition = isComposition(layer);
              const ratio = tighteningRatio(layer.spectralNorm, layer.localBound);
              const share = totalLog > 0 ? logContribution(layer) / totalLog : 0;
              const delta = deltas?.get(layer.index);
              const selected = layer.index === selectedRow;
              return (
                <tr
                  key={position}
                  tabIndex={0}
                  data-position={position}
                  data-row={layer.index}
                  class={[dominant.has(position) && 'dominant', selected && 'selected'].filter(Boolean).join(' ') || undefined}
                  aria-selected={selected ? 'true' : 'false'}
                >
                  <td class="number">{layer.index}</td>
                  <td class="layer-name">{visible(layer.label)}</td>
                  <td>{visible(row ? row.opTypes.join('+') : layer.kind)}</td>
                  <td class="shape">{row ? visible(shapeText(row)) : ''}</td>
                  <td class="number">{formatNumber(layer.epsilonIn)}</td>
                  <td class="number" title={composition ? 'ratio of radii (output/input), not a Lipschitz constant' : undefined}>
                    {`${formatNumber(layer.localBound)}${composition ? ' ⁽ʳ⁾' : ''}`}
                  </td>
                  <td class="number">{formatNumber(layer.spectralNorm)}</td>
                  <td class="number">{ratio === undefined ? '' : `${formatRatio(ratio)}${composition && ratio < 1 ? ' ⁽ʳ⁾' : ''}`}</td>
                  <td class="number">{layer.neurons ? `${layer.neurons.on} / ${layer.neurons.unstable} / ${layer.neurons.off}` : ''}</td>
                  <td>
                    <svg class="bar" width={140} height={12} aria-hidden="true">
                      <rect class="bar-spectral" x={0.5} y={0.5} height={10} width={`${barWidth(layer.spectralNorm)}%`} />
                      <rect class="bar-local" x={0} y={3.5} height={4} width={`${barWidth(layer.localBound)}%`} />
                    </svg>
                  </td>
                  <td class="number">
                    {dominant.has(position) && <span class="rank">{`#${rank.indexOf(position) + 1} `}</span>}
                    {streaming ? '…' : share > 0 ? formatPercent(share) : '—'}
                  </td>
                  <td class="number">{parameters(row?.parameterCount)}</td>
                  {deltas && <td class="number delta">{delta ? formatChange(delta.localBound) : NO_MATCH}</td>}
                  {deltas && <td class="number delta">{delta ? formatChange(delta.spectralNorm) : NO_MATCH}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {layers.some(isComposition) && <p class="muted small">{COMPOSITION_NOTE}</p>}
      {shown && (
        <div
          id="details"
          class={`details${anchor?.pinned ? ' pinned' : ''}`}
          role={anchor?.pinned ? 'dialog' : 'tooltip'}
          aria-label="Layer details"
          ref={details}
          onKeyDown={(event) => event.key === 'Escape' && setAnchor(undefined)}
        >
          {anchor?.pinned && (
            <button type="button" id="details-close" class="secondary icon-button details-close" title="Close (Escape)" aria-label="Close (Escape)" onClick={() => setAnchor(undefined)}>
              ✕
            </button>
          )}
          <LayerDetails layer={shown} row={rowFor(model, shown)} />
        </div>
      )}
    </>
  );
}

export const LayerTable = memo(function LayerTable(props: LayerTableProps) {
  return (
    <div id="layers" class="layers" role="tabpanel" aria-label="Layers">
      {props.layers && props.layers.length > 0 ? (
        <BoundTable {...props} layers={props.layers} />
      ) : props.model.rows.length > 0 ? (
        <ModelTable model={props.model} selectedRow={props.selectedRow} onSelectRow={props.onSelectRow} />
      ) : null}
    </div>
  );
});
