// The graph view: every ONNX node as an SVG box where the worker's layout put it, edges labelled with
// their shapes, the layers the engine fuses as groups (one box until expanded), pan (drag), zoom
// (wheel, + / −), fit (button, F or 0), keyboard focus that walks the edges, a search box (Ctrl+F),
// unsupported nodes marked in place with their reason, and, after an analysis, node colours by a
// chosen metric with a legend. Pan and zoom move one transform attribute, never the boxes.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { memo } from 'preact/compat';
import type { ModelGraph, ModelOverview } from '../src/shared/protocol';
import type { LayerResult } from '../src/shared/results';
import { formatMetric, heat, METRIC_LABELS, type Heat, type MetricKey } from './graphMetrics';
import { findNodes, graphScene, neighbourBox, type DrawnEdge, type GraphScene, type VisibleBox } from './graphLayout';
import { NodePanel } from './nodePanel';
import { visible } from './viewText';
import { pinnedBounds, type PinnedRun } from './viewState';

/** Characters of a label drawn inside a box (describeGraph.ts sizes the boxes for this many). */
const MAX_LABEL_CHARS = 30;
const MAX_REASON_CHARS = 60;
const MIN_SCALE = 0.02;
const MAX_SCALE = 4;

function truncate(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

interface Transform {
  x: number;
  y: number;
  scale: number;
}

export interface GraphViewProps {
  model: ModelOverview;
  /** Layer results to colour by (absent before an analysis). */
  layers?: LayerResult[];
  selectedNode?: string;
  metric: MetricKey;
  /** Fused layers shown as their nodes. */
  expanded: readonly number[];
  pinned?: PinnedRun;
  /** False while the table tab is shown: the canvas has no size to fit into then. */
  shown: boolean;
  onSelect(id: string | undefined): void;
  onMetric(key: MetricKey): void;
  onExpand(layers: readonly number[]): void;
}

const Edges = memo(function Edges({ graph, drawn }: { graph: ModelGraph; drawn: DrawnEdge[] }) {
  return (
    <g class="edges">
      {drawn.map(({ index, points }) => {
        const edge = graph.edges[index];
        if (points.length < 2) return null;
        const d = points.map((point, at) => `${at === 0 ? 'M' : 'L'}${point.x.toFixed(1)},${point.y.toFixed(1)}`).join(' ');
        return (
          <g key={index}>
            <path d={d} class="edge" marker-end="url(#arrow)">
              <title>{visible(`${edge.tensor}${edge.shape ? ` ${edge.shape}` : ''}`)}</title>
            </path>
            {edge.shape && (
              <text x={edge.labelX.toFixed(1)} y={(edge.labelY + 4).toFixed(1)} class="edge-label" text-anchor="middle">
                {visible(edge.shape)}
              </text>
            )}
          </g>
        );
      })}
    </g>
  );
});

interface BoxProps {
  box: VisibleBox;
  className: string;
  focusable: boolean;
  /** For a collapsed fused layer: its label and ops. */
  layerText?: { label: string; ops: string };
}

const Box = memo(function Box({ box, className, focusable, layerText }: BoxProps) {
  const { node, group } = box;
  const left = box.x - box.width / 2;
  const top = box.y - box.height / 2;
  const opText = layerText?.ops ?? node.opType;
  const nameText = layerText?.label ?? node.label;
  const description = group
    ? `fused layer ${nameText} (${opText}), ${group.nodes.length} nodes; E expands it`
    : `${node.opType} ${node.label}${node.unsupported ? `, not supported: ${node.unsupported}` : ''}`;
  // tabindex in lower case: SVG attributes are case-sensitive, and Preact sets them as written.
  return (
    <g class={className} tabindex={focusable ? 0 : -1} role="button" data-id={box.id} data-group={group?.layer} aria-label={visible(description)}>
      <rect x={left} y={top} width={box.width} height={box.height} rx={node.kind === 'node' ? 4 : box.height / 2} />
      {node.kind === 'node' ? (
        <>
          <text x={box.x} y={group ? box.y - 6 : top + 17} class="node-op" text-anchor="middle">
            {visible(truncate(opText, MAX_LABEL_CHARS))}
          </text>
          <text x={box.x} y={group ? box.y + 10 : top + 33} class="node-name" text-anchor="middle">
            {visible(truncate(nameText, MAX_LABEL_CHARS))}
          </text>
        </>
      ) : (
        <text x={box.x} y={box.y + 4} class="node-name" text-anchor="middle">
          {visible(truncate(node.label, MAX_LABEL_CHARS))}
        </text>
      )}
      {group && (
        // Beside the box, vertically centred: inside a box one node tall it would cover the op's name.
        <text x={left + box.width + 4} y={box.y + 4} class="group-toggle" text-anchor="start" data-toggle={group.layer}>
          ⊕<title>Expand the fused layer (E)</title>
        </text>
      )}
      {node.unsupported && (
        // The reason beside the box, so it is visible where the node is without selecting it.
        <text x={left + box.width + 8} y={box.y + 4} class="unsupported-reason">
          {visible(`⚠ ${truncate(node.unsupported, MAX_REASON_CHARS)}`)}
        </text>
      )}
      <title>{visible(group ? description : `${node.opType} ${node.label}${node.unsupported ? `\nnot supported: ${node.unsupported}` : ''}`)}</title>
    </g>
  );
});

function Legend({ model, heat: colours, metric }: { model: ModelOverview; heat?: Heat; metric: MetricKey }) {
  const unsupported = model.graph.nodes.filter((node) => node.unsupported).length;
  return (
    <div class="graph-legend">
      {unsupported > 0 && <span class="legend-unsupported">{`⚠ ${unsupported} unsupported node${unsupported === 1 ? '' : 's'}, marked in place`}</span>}
      {colours && (
        <>
          <span class="muted">{`${METRIC_LABELS[metric]}:`}</span>
          {colours.legend.map((range, k) => (
            <span key={k} class="legend-item">
              <span class={`swatch heat-${k}`} />
              {`${formatMetric(metric, range.from)} – ${formatMetric(metric, range.to)}`}
            </span>
          ))}
        </>
      )}
    </div>
  );
}

export const GraphView = memo(function GraphView(props: GraphViewProps) {
  const { model, layers, selectedNode, metric, expanded, pinned, shown, onSelect, onMetric, onExpand } = props;
  const graph = model.graph;
  const canvas = useRef<HTMLDivElement>(null);
  const viewport = useRef<SVGGElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const transform = useRef<Transform>({ x: 0, y: 0, scale: 1 });
  const initialViewPending = useRef(true);
  const [query, setQuery] = useState('');
  const [hitPosition, setHitPosition] = useState(0);

  const expandedSet = useMemo(() => new Set(expanded), [expanded]);
  const scene: GraphScene = useMemo(() => graphScene(graph, expandedSet), [graph, expandedSet]);
  const analysed = (layers?.length ?? 0) > 0;
  // The app passes a pin only where it is compared (this model's, or another's the user chose).
  const comparable = pinned !== undefined;
  const shownMetric: MetricKey = metric === 'change' && !comparable ? 'share' : metric;
  const colours = useMemo(
    () => (analysed ? heat(shownMetric, layers!, comparable ? pinnedBounds(pinned!, layers!) : undefined) : undefined),
    [analysed, shownMetric, layers, comparable, pinned],
  );
  const hits = useMemo(() => findNodes(graph, query), [graph, query]);
  const hitSet = useMemo(() => new Set(hits.map((id) => scene.boxOf.get(id)?.id)), [hits, scene]);
  const selectedBox = selectedNode ? scene.boxOf.get(selectedNode) : undefined;
  const selectedLayer = graph.nodes.find((node) => node.id === selectedNode)?.layer;

  const apply = () => {
    const { x, y, scale } = transform.current;
    viewport.current?.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${scale.toFixed(4)})`);
  };
  const fitScale = () => {
    const element = canvas.current;
    if (!element || graph.width === 0 || graph.height === 0) return 1;
    return Math.max(MIN_SCALE, Math.min(1, element.clientWidth / graph.width, element.clientHeight / graph.height));
  };
  const fit = () => {
    const element = canvas.current;
    if (!element) return;
    const scale = fitScale();
    transform.current = { scale, x: (element.clientWidth - graph.width * scale) / 2, y: (element.clientHeight - graph.height * scale) / 2 };
    apply();
  };
  const zoomBy = (factor: number, centreX?: number, centreY?: number) => {
    const element = canvas.current;
    if (!element) return;
    const cx = centreX ?? element.clientWidth / 2;
    const cy = centreY ?? element.clientHeight / 2;
    const { x, y, scale } = transform.current;
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * factor));
    transform.current = { scale: next, x: cx - ((cx - x) * next) / scale, y: cy - ((cy - y) * next) / scale };
    apply();
  };
  /** Pans so the box is inside the view (centred when it was outside). */
  const reveal = (box: VisibleBox) => {
    const element = canvas.current;
    if (!element) return;
    const { x, y, scale } = transform.current;
    const screenX = box.x * scale + x;
    const screenY = box.y * scale + y;
    const margin = 40;
    if (screenX < margin || screenX > element.clientWidth - margin || screenY < margin || screenY > element.clientHeight - margin) {
      const readable = Math.max(scale, 0.8);
      transform.current = { scale: readable, x: element.clientWidth / 2 - box.x * readable, y: element.clientHeight / 2 - box.y * readable };
      apply();
    }
  };
  const focusBox = (id: string) => canvas.current?.querySelector<SVGGElement>(`.graph-node[data-id="${CSS.escape(id)}"]`)?.focus({ preventScroll: true });

  // A new model starts from its initial view; small graphs fitted, large ones readable at the top.
  useLayoutEffect(() => {
    initialViewPending.current = true;
  }, [graph]);
  useLayoutEffect(() => {
    const element = canvas.current;
    if (!initialViewPending.current || !shown || !element || element.clientWidth === 0) {
      apply();
      return;
    }
    initialViewPending.current = false;
    if (fitScale() >= 0.6) {
      fit();
    } else {
      const scale = 0.8;
      transform.current = { scale, x: (element.clientWidth - graph.width * scale) / 2, y: 8 };
      apply();
    }
    if (selectedBox) reveal(selectedBox);
  });
  // A selection made elsewhere (the table, the search) is brought into view, and focused if the graph has the focus.
  useEffect(() => {
    if (!selectedBox || !shown) return;
    reveal(selectedBox);
    if (canvas.current?.contains(document.activeElement)) focusBox(selectedBox.id);
  }, [selectedNode, shown]);

  const find = (text: string, position: number) => {
    setQuery(text);
    const found = findNodes(graph, text);
    if (found.length === 0) return;
    const wrapped = ((position % found.length) + found.length) % found.length;
    setHitPosition(wrapped);
    const hit = found[wrapped];
    // A hit inside a collapsed layer opens that layer, so the node itself is shown.
    const layer = graph.groups?.find((group) => group.nodes.includes(hit) && group.nodes[0] !== hit)?.layer;
    if (layer !== undefined && !expandedSet.has(layer)) onExpand([...expanded, layer]);
    onSelect(hit);
  };
  const toggleGroup = (layer: number) => onExpand(expandedSet.has(layer) ? expanded.filter((entry) => entry !== layer) : [...expanded, layer]);

  // Pointer: drag pans, a click selects (or toggles a layer's group), the wheel zooms at the pointer.
  const drag = useRef<{ x: number; y: number; startX: number; startY: number; moved: boolean } | undefined>(undefined);
  const onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, startX: transform.current.x, startY: transform.current.y, moved: false };
  };
  const onPointerMove = (event: PointerEvent) => {
    const state = drag.current;
    if (!state) return;
    const dx = event.clientX - state.x;
    const dy = event.clientY - state.y;
    if (!state.moved && Math.hypot(dx, dy) < 4) return;
    if (!state.moved) canvas.current?.setPointerCapture(event.pointerId);
    state.moved = true;
    canvas.current?.classList.add('panning');
    transform.current = { ...transform.current, x: state.startX + dx, y: state.startY + dy };
    apply();
  };
  const endDrag = (event: PointerEvent) => {
    const wasDrag = drag.current?.moved ?? false;
    drag.current = undefined;
    canvas.current?.classList.remove('panning');
    if (wasDrag || event.type !== 'pointerup') return;
    const target = event.target as Element;
    const toggle = target.closest?.('[data-toggle]')?.getAttribute('data-toggle');
    if (toggle) {
      toggleGroup(Number(toggle));
      return;
    }
    // A click without a drag: select the node under the pointer, or clear the selection on the background.
    const id = target.closest?.('.graph-node')?.getAttribute('data-id') ?? undefined;
    onSelect(id);
    if (id) focusBox(id);
  };
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const box = element.getBoundingClientRect();
      zoomBy(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    };
    // Not passive, so the page does not scroll as well.
    element.addEventListener('wheel', onWheel, { passive: false });
    return () => element.removeEventListener('wheel', onWheel);
  });
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const focusedId = (event.target as Element).closest?.('.graph-node')?.getAttribute('data-id') ?? undefined;
    const focused = focusedId ? scene.boxOf.get(focusedId) : undefined;
    switch (event.key) {
      case '+':
      case '=':
        zoomBy(1.25);
        break;
      case '-':
      case '_':
        zoomBy(1 / 1.25);
        break;
      case 'f':
      case 'F':
      case '0':
        fit();
        break;
      case 'e':
      case 'E': {
        const layer = (focused ?? selectedBox)?.node.layer;
        if (layer === undefined || !graph.groups?.some((group) => group.layer === layer)) return;
        toggleGroup(layer);
        break;
      }
      case 'Enter':
      case ' ':
        if (!focused) return;
        onSelect(focused.id);
        break;
      case 'Escape':
        onSelect(undefined);
        break;
      case 'ArrowDown':
      case 'ArrowUp':
      case 'ArrowLeft':
      case 'ArrowRight': {
        const from = focused ?? selectedBox;
        const next = from ? neighbourBox(graph, scene, from, event.key) : scene.boxes.find((box) => box.node.kind === 'input') ?? scene.boxes[0];
        if (!next) return;
        onSelect(next.id);
        focusBox(next.id);
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  };

  const layerTexts = useMemo(() => {
    const texts = new Map<number, { label: string; ops: string }>();
    for (const group of graph.groups ?? []) {
      const row = model.rowSource === 'nodes' ? undefined : model.rows[group.layer];
      if (row) texts.set(group.layer, { label: row.label, ops: row.opTypes.join('+') });
    }
    return texts;
  }, [graph, model]);
  const focusableId = selectedBox?.id ?? scene.boxes[0]?.id;
  const expandedAll = (graph.groups?.length ?? 0) > 0 && graph.groups!.every((group) => expandedSet.has(group.layer));
  const metricOptions = (Object.keys(METRIC_LABELS) as MetricKey[]).filter((key) => key !== 'change' || comparable);

  return (
    <div id="graph" class="graph-area" role="tabpanel" aria-label="Graph" hidden={!shown}>
      <div class="graph-toolbar">
        <input
          ref={search}
          type="search"
          id="graph-search"
          placeholder="Find node by name or op (Ctrl+F)"
          aria-label="Find node by name or op"
          value={query}
          onInput={(event) => find(event.currentTarget.value, 0)}
          onKeyDown={(event) => {
            if (event.key === 'Enter') {
              event.preventDefault();
              find(query, event.shiftKey ? hitPosition - 1 : hitPosition + 1);
            } else if (event.key === 'Escape') {
              find('', 0);
            }
          }}
        />
        <span class="muted small">{query.trim() ? (hits.length === 0 ? 'no match' : `${Math.min(hitPosition, hits.length - 1) + 1} of ${hits.length}`) : ''}</span>
        <label class="graph-metric" hidden={!analysed}>
          {'Colour by '}
          <select id="graph-metric" aria-label="Colour nodes by" value={shownMetric} onChange={(event) => onMetric(event.currentTarget.value as MetricKey)}>
            {metricOptions.map((key) => (
              <option key={key} value={key}>
                {METRIC_LABELS[key]}
              </option>
            ))}
          </select>
        </label>
        <span class="toolbar-gap" />
        {(graph.groups?.length ?? 0) > 0 && (
          <button
            type="button"
            id="graph-expand-all"
            class="secondary"
            title="Show every fused layer as its ONNX nodes, or each as one box"
            onClick={() => onExpand(expandedAll ? [] : graph.groups!.map((group) => group.layer))}
          >
            {expandedAll ? 'Collapse fused layers' : 'Expand fused layers'}
          </button>
        )}
        <button type="button" id="graph-zoom-out" class="secondary icon-button" title="Zoom out (−)" aria-label="Zoom out (−)" onClick={() => zoomBy(1 / 1.25)}>
          −
        </button>
        <button type="button" id="graph-zoom-in" class="secondary icon-button" title="Zoom in (+)" aria-label="Zoom in (+)" onClick={() => zoomBy(1.25)}>
          +
        </button>
        <button type="button" id="graph-fit" class="secondary icon-button" title="Fit the graph to the view (F)" aria-label="Fit the graph to the view (F)" onClick={fit}>
          Fit
        </button>
      </div>
      <Legend model={model} heat={colours} metric={shownMetric} />
      <div class="graph-body">
        <div
          ref={canvas}
          class="graph-canvas"
          id="graph-canvas"
          tabIndex={0}
          role="application"
          aria-label="Model graph: arrow keys move between connected nodes, E expands or collapses a fused layer, + and − zoom, F fits, drag to pan"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={endDrag}
          onPointerCancel={endDrag}
          onKeyDown={onKeyDown}
        >
          <svg class="graph-svg" role="presentation">
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX={9} refY={5} markerWidth={7} markerHeight={7} orient="auto-start-reverse">
                <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
              </marker>
            </defs>
            <g class="graph-viewport" ref={viewport}>
              <g class="frames">
                {scene.frames.map((group) => {
                  const text = layerTexts.get(group.layer);
                  const left = group.x - group.width / 2;
                  const top = group.y - group.height / 2;
                  return (
                    <g key={group.layer} class={`layer-frame${group.layer === selectedLayer ? ' same-layer' : ''}`}>
                      <rect x={left} y={top} width={group.width} height={group.height} rx={6} />
                      {/* Left of the frame: edge labels sit right of their edges, inside it. */}
                      <text x={left - 6} y={top + 12} class="frame-label" text-anchor="end">
                        {visible(truncate(text ? `${text.label} (${text.ops})` : `layer ${group.layer}`, MAX_LABEL_CHARS + 12))}
                      </text>
                      <text x={left + group.width - 6} y={top + 12} class="group-toggle" text-anchor="end" data-toggle={group.layer}>
                        ⊖<title>Collapse the fused layer (E)</title>
                      </text>
                    </g>
                  );
                })}
              </g>
              <Edges graph={graph} drawn={scene.edges} />
              <g class="nodes">
                {scene.boxes.map((box) => {
                  const layer = box.node.layer;
                  const heatClass = layer === undefined ? undefined : colours?.classOf.get(layer);
                  const classes = ['graph-node', `kind-${box.node.kind}`];
                  if (box.group) classes.push('group');
                  if (box.node.unsupported) classes.push('unsupported');
                  if (heatClass !== undefined) classes.push(`heat-${heatClass}`);
                  if (box === selectedBox) classes.push('selected');
                  else if (selectedLayer !== undefined && layer === selectedLayer) classes.push('same-layer');
                  if (hitSet.has(box.id)) classes.push('search-hit');
                  return (
                    <Box
                      key={box.id}
                      box={box}
                      className={classes.join(' ')}
                      focusable={box.id === focusableId}
                      layerText={box.group ? layerTexts.get(box.group.layer) : undefined}
                    />
                  );
                })}
              </g>
            </g>
          </svg>
        </div>
        <NodePanel model={model} layers={layers} nodeId={selectedNode} expanded={expandedSet} onToggleLayer={toggleGroup} />
      </div>
    </div>
  );
});
