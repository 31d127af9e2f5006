// The graph view: every ONNX node as an SVG box where the worker's layout put it, edges labelled with
// their shapes, pan (drag), zoom (wheel, + / −), fit (button, F or 0), keyboard focus that walks the
// edges, a search box (Ctrl+F), unsupported nodes marked in place with their reason, and, after an
// analysis, node colours by a chosen metric with a legend. The SVG is built once per model; later
// changes (selection, colours) only toggle classes. Text goes in through textContent only, control and bidi characters
// from the model shown as escapes.

import { escapeControlCharacters } from '../src/shared/format';
import type { GraphNodeInfo, ModelOverview } from '../src/shared/protocol';
import { formatMetric, heat, METRIC_LABELS, type Heat, type MetricKey } from './graphMetrics';
import { nodePanel } from './nodePanel';
import { shownLayers, type ViewState } from './viewState';

const SVG = 'http://www.w3.org/2000/svg';
/** Characters of a label drawn inside a box (describeGraph.ts sizes the boxes for this many). */
const MAX_LABEL_CHARS = 30;
const MAX_REASON_CHARS = 60;
const MIN_SCALE = 0.02;
const MAX_SCALE = 4;

export interface GraphActions {
  select(id: string | undefined): void;
  metric(key: MetricKey): void;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = escapeControlCharacters(text, true);
  return element;
}

function html<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = escapeControlCharacters(text, true);
  return element;
}

function truncate(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

interface Transform {
  x: number;
  y: number;
  scale: number;
}

export class GraphView {
  private model: ModelOverview | undefined;
  private readonly canvas = html('div', 'graph-canvas');
  private readonly panel = html('aside', 'node-panel');
  private readonly legend = html('div', 'graph-legend');
  private readonly metricSelect = html('select');
  private readonly search = html('input');
  private readonly searchResult = html('span', 'muted small');
  private viewport = svg('g');
  private boxes = new Map<string, SVGGElement>();
  private transform: Transform = { x: 0, y: 0, scale: 1 };
  private state: ViewState = {};
  private heat: Heat | undefined;
  private searchHits: string[] = [];
  private searchPosition = 0;
  /** Set by build until the canvas has a size to fit the graph into (it has none while its tab is hidden). */
  private initialViewPending = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly actions: GraphActions,
  ) {
    const toolbar = html('div', 'graph-toolbar');
    this.search.type = 'search';
    this.search.id = 'graph-search';
    this.search.placeholder = 'Find node by name or op (Ctrl+F)';
    this.search.setAttribute('aria-label', 'Find node by name or op');
    this.search.addEventListener('input', () => this.find(this.search.value, 0));
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.find(this.search.value, event.shiftKey ? this.searchPosition - 1 : this.searchPosition + 1);
      } else if (event.key === 'Escape') {
        this.search.value = '';
        this.find('', 0);
      }
    });
    this.metricSelect.id = 'graph-metric';
    this.metricSelect.setAttribute('aria-label', 'Colour nodes by');
    for (const [key, label] of Object.entries(METRIC_LABELS)) {
      const option = html('option', undefined, label);
      option.value = key;
      this.metricSelect.append(option);
    }
    this.metricSelect.addEventListener('change', () => actions.metric(this.metricSelect.value as MetricKey));
    const colourLabel = html('label', 'graph-metric', 'Colour by ');
    colourLabel.append(this.metricSelect);
    const button = (id: string, text: string, title: string, onClick: () => void) => {
      const element = html('button', 'secondary icon-button', text);
      element.type = 'button';
      element.id = id;
      element.title = title;
      element.setAttribute('aria-label', title);
      element.addEventListener('click', onClick);
      return element;
    };
    toolbar.append(
      this.search,
      this.searchResult,
      colourLabel,
      html('span', 'toolbar-gap'),
      button('graph-zoom-out', '−', 'Zoom out (−)', () => this.zoomBy(1 / 1.25)),
      button('graph-zoom-in', '+', 'Zoom in (+)', () => this.zoomBy(1.25)),
      button('graph-fit', 'Fit', 'Fit the graph to the view (F)', () => this.fit()),
    );
    this.canvas.tabIndex = 0;
    this.canvas.id = 'graph-canvas';
    this.canvas.setAttribute('role', 'application');
    this.canvas.setAttribute('aria-label', 'Model graph: arrow keys move between connected nodes, + and − zoom, F fits, drag to pan');
    this.panel.id = 'node-panel';
    this.panel.setAttribute('aria-label', 'Selected node');
    this.panel.setAttribute('aria-live', 'polite');
    const body = html('div', 'graph-body');
    body.append(this.canvas, this.panel);
    container.append(toolbar, this.legend, body);
    this.listen();
  }

  /** Redraws what changed: the whole drawing for a new model, else classes, legend and panel. */
  update(state: ViewState): void {
    const previous = this.state;
    this.state = state;
    if (state.model !== this.model) {
      this.model = state.model;
      this.build();
    }
    const layers = shownLayers(state)?.layers ?? [];
    const metric = state.metric ?? 'share';
    const analysed = layers.length > 0;
    this.metricSelect.parentElement!.hidden = !analysed;
    this.metricSelect.value = metric;
    this.heat = analysed ? heat(metric, layers) : undefined;
    this.paint();
    this.renderLegend(metric);
    this.renderPanel();
    if (this.initialViewPending) {
      requestAnimationFrame(() => this.initialView());
    } else if (state.selectedNode !== previous.selectedNode && state.selectedNode) {
      this.reveal(state.selectedNode);
    }
  }

  /** Gives the search box the focus (Ctrl+F). */
  focusSearch(): void {
    this.search.focus();
    this.search.select();
  }

  private build(): void {
    this.boxes.clear();
    this.canvas.replaceChildren();
    this.panel.replaceChildren();
    const graph = this.model?.graph;
    if (!graph) return;
    const root = svg('svg', { class: 'graph-svg', role: 'presentation' });
    const defs = svg('defs');
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }));
    defs.append(marker);
    this.viewport = svg('g', { class: 'graph-viewport' });
    const edges = svg('g', { class: 'edges' });
    for (const edge of graph.edges) {
      if (edge.points.length < 2) continue;
      const d = edge.points.map((point, index) => `${index === 0 ? 'M' : 'L'}${point.x.toFixed(1)},${point.y.toFixed(1)}`).join(' ');
      const path = svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' });
      path.append(svg('title', {}, `${edge.tensor}${edge.shape ? ` ${edge.shape}` : ''}`));
      edges.append(path);
      if (edge.shape) {
        edges.append(svg('text', { x: edge.labelX.toFixed(1), y: (edge.labelY + 4).toFixed(1), class: 'edge-label', 'text-anchor': 'middle' }, edge.shape));
      }
    }
    const nodes = svg('g', { class: 'nodes' });
    for (const node of graph.nodes) {
      nodes.append(this.box(node));
    }
    this.viewport.append(edges, nodes);
    root.append(defs, this.viewport);
    this.canvas.append(root);
    this.initialViewPending = true;
  }

  private box(node: GraphNodeInfo): SVGGElement {
    const left = node.x - node.width / 2;
    const top = node.y - node.height / 2;
    const group = svg('g', { class: `graph-node kind-${node.kind}${node.unsupported ? ' unsupported' : ''}`, tabindex: -1, role: 'button', 'data-id': node.id });
    group.setAttribute('aria-label', escapeControlCharacters(`${node.opType} ${node.label}${node.unsupported ? `, not supported: ${node.unsupported}` : ''}`));
    group.append(svg('rect', { x: left, y: top, width: node.width, height: node.height, rx: node.kind === 'node' ? 4 : node.height / 2 }));
    if (node.kind === 'node') {
      group.append(
        svg('text', { x: node.x, y: top + 17, class: 'node-op', 'text-anchor': 'middle' }, node.opType),
        svg('text', { x: node.x, y: top + 33, class: 'node-name', 'text-anchor': 'middle' }, truncate(node.label, MAX_LABEL_CHARS)),
      );
    } else {
      group.append(svg('text', { x: node.x, y: node.y + 4, class: 'node-name', 'text-anchor': 'middle' }, truncate(node.label, MAX_LABEL_CHARS)));
    }
    if (node.unsupported) {
      // The reason beside the box, so it is visible where the node is without selecting it.
      group.append(svg('text', { x: left + node.width + 8, y: node.y + 4, class: 'unsupported-reason' }, `⚠ ${truncate(node.unsupported, MAX_REASON_CHARS)}`));
    }
    group.append(svg('title', {}, `${node.opType} ${node.label}${node.unsupported ? `\nnot supported: ${node.unsupported}` : ''}`));
    this.boxes.set(node.id, group);
    return group;
  }

  /** Selection, the selected layer's other nodes, search hits and metric colours, as classes. */
  private paint(): void {
    const selected = this.state.selectedNode;
    const graph = this.model?.graph;
    if (!graph) return;
    const selectedLayer = graph.nodes.find((node) => node.id === selected)?.layer;
    const hits = new Set(this.searchHits);
    for (const node of graph.nodes) {
      const group = this.boxes.get(node.id);
      if (!group) continue;
      const heatClass = node.layer === undefined ? undefined : this.heat?.classOf.get(node.layer);
      const classes = [`graph-node`, `kind-${node.kind}`];
      if (node.unsupported) classes.push('unsupported');
      if (heatClass !== undefined) classes.push(`heat-${heatClass}`);
      if (node.id === selected) classes.push('selected');
      else if (selectedLayer !== undefined && node.layer === selectedLayer) classes.push('same-layer');
      if (hits.has(node.id)) classes.push('search-hit');
      group.setAttribute('class', classes.join(' '));
      group.setAttribute('tabindex', node.id === (selected ?? graph.nodes[0]?.id) ? '0' : '-1');
    }
  }

  private renderLegend(metric: MetricKey): void {
    this.legend.replaceChildren();
    const unsupported = this.model?.graph.nodes.filter((node) => node.unsupported).length ?? 0;
    if (unsupported > 0) {
      this.legend.append(html('span', 'legend-unsupported', `⚠ ${unsupported} unsupported node${unsupported === 1 ? '' : 's'}, marked in place`));
    }
    if (!this.heat) return;
    this.legend.append(html('span', 'muted', `${METRIC_LABELS[metric]}:`));
    this.heat.legend.forEach((range, k) => {
      const item = html('span', 'legend-item');
      item.append(html('span', `swatch heat-${k}`), `${formatMetric(metric, range.from, 3)} – ${formatMetric(metric, range.to, 3)}`);
      this.legend.append(item);
    });
  }

  private renderPanel(): void {
    const node = this.model?.graph.nodes.find((entry) => entry.id === this.state.selectedNode);
    this.panel.hidden = !node;
    if (!node || !this.model) {
      this.panel.replaceChildren();
      return;
    }
    this.panel.replaceChildren(...nodePanel(node, this.state));
  }

  private find(query: string, position: number): void {
    const text = query.trim().toLowerCase();
    const nodes = this.model?.graph.nodes ?? [];
    this.searchHits = text ? nodes.filter((node) => node.label.toLowerCase().includes(text) || node.opType.toLowerCase().includes(text)).map((node) => node.id) : [];
    if (this.searchHits.length === 0) {
      this.searchResult.textContent = text ? 'no match' : '';
      this.paint();
      return;
    }
    this.searchPosition = ((position % this.searchHits.length) + this.searchHits.length) % this.searchHits.length;
    this.searchResult.textContent = `${this.searchPosition + 1} of ${this.searchHits.length}`;
    this.actions.select(this.searchHits[this.searchPosition]);
  }

  // ---- pan, zoom, fit, keyboard -------------------------------------------------------------

  private apply(): void {
    const { x, y, scale } = this.transform;
    this.viewport.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${scale.toFixed(4)})`);
  }

  private fitScale(): number {
    const graph = this.model?.graph;
    if (!graph || graph.width === 0 || graph.height === 0) return 1;
    return Math.max(MIN_SCALE, Math.min(1, this.canvas.clientWidth / graph.width, this.canvas.clientHeight / graph.height));
  }

  fit(): void {
    const graph = this.model?.graph;
    if (!graph) return;
    const scale = this.fitScale();
    this.transform = { scale, x: (this.canvas.clientWidth - graph.width * scale) / 2, y: (this.canvas.clientHeight - graph.height * scale) / 2 };
    this.apply();
  }

  /** Small graphs start fitted; large ones start readable at the top instead of as a speck. */
  private initialView(): void {
    const graph = this.model?.graph;
    if (!graph || !this.initialViewPending || this.canvas.clientWidth === 0) return;
    this.initialViewPending = false;
    if (this.fitScale() >= 0.6) {
      this.fit();
    } else {
      const scale = 0.8;
      this.transform = { scale, x: (this.canvas.clientWidth - graph.width * scale) / 2, y: 8 };
      this.apply();
    }
    if (this.state.selectedNode) this.reveal(this.state.selectedNode);
  }

  private zoomBy(factor: number, centreX = this.canvas.clientWidth / 2, centreY = this.canvas.clientHeight / 2): void {
    const { x, y, scale } = this.transform;
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * factor));
    this.transform = { scale: next, x: centreX - ((centreX - x) * next) / scale, y: centreY - ((centreY - y) * next) / scale };
    this.apply();
  }

  /** Pans so the node is inside the view (centred when it was outside), and focuses it if the graph has focus. */
  private reveal(id: string): void {
    const node = this.model?.graph.nodes.find((entry) => entry.id === id);
    if (!node) return;
    const { x, y, scale } = this.transform;
    const screenX = node.x * scale + x;
    const screenY = node.y * scale + y;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const margin = 40;
    if (screenX < margin || screenX > width - margin || screenY < margin || screenY > height - margin) {
      const readable = Math.max(scale, 0.8);
      this.transform = { scale: readable, x: width / 2 - node.x * readable, y: height / 2 - node.y * readable };
      this.apply();
    }
    if (this.container.contains(document.activeElement) && document.activeElement !== this.search) {
      this.boxes.get(id)?.focus({ preventScroll: true });
    }
  }

  /** The neighbour of the focused node in a direction: along edges for up and down, within the rank for left and right. */
  private neighbour(id: string, key: string): string | undefined {
    const graph = this.model?.graph;
    const node = graph?.nodes.find((entry) => entry.id === id);
    if (!graph || !node) return undefined;
    const byId = new Map(graph.nodes.map((entry) => [entry.id, entry]));
    const nearest = (candidates: (GraphNodeInfo | undefined)[]) =>
      candidates
        .filter((entry): entry is GraphNodeInfo => entry !== undefined)
        .sort((a, b) => Math.abs(a.x - node.x) - Math.abs(b.x - node.x))[0]?.id;
    switch (key) {
      case 'ArrowDown':
        return nearest(graph.edges.filter((edge) => edge.from === id).map((edge) => byId.get(edge.to)));
      case 'ArrowUp':
        return nearest(graph.edges.filter((edge) => edge.to === id).map((edge) => byId.get(edge.from)));
      default: {
        const sign = key === 'ArrowRight' ? 1 : -1;
        const sameRow = graph.nodes.filter((entry) => Math.abs(entry.y - node.y) < node.height && sign * (entry.x - node.x) > 0);
        return sameRow.sort((a, b) => sign * (a.x - b.x))[0]?.id;
      }
    }
  }

  private listen(): void {
    let drag: { x: number; y: number; startX: number; startY: number; moved: boolean } | undefined;
    this.canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, startX: this.transform.x, startY: this.transform.y, moved: false };
    });
    this.canvas.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) this.canvas.setPointerCapture(event.pointerId);
      drag.moved = true;
      this.canvas.classList.add('panning');
      this.transform = { ...this.transform, x: drag.startX + dx, y: drag.startY + dy };
      this.apply();
    });
    const endDrag = (event: PointerEvent) => {
      const wasDrag = drag?.moved ?? false;
      drag = undefined;
      this.canvas.classList.remove('panning');
      if (wasDrag) return;
      if (event.type !== 'pointerup') return;
      // A click without a drag: select the node under the pointer, or clear the selection on the background.
      const group = (event.target as Element).closest?.('.graph-node');
      const id = group?.getAttribute('data-id') ?? undefined;
      this.actions.select(id);
      if (id) this.boxes.get(id)?.focus({ preventScroll: true });
    };
    this.canvas.addEventListener('pointerup', endDrag);
    this.canvas.addEventListener('pointercancel', endDrag);
    this.canvas.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        const box = this.canvas.getBoundingClientRect();
        this.zoomBy(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false },
    );
    this.canvas.addEventListener('keydown', (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const focused = (event.target as Element).closest?.('.graph-node')?.getAttribute('data-id') ?? undefined;
      switch (event.key) {
        case '+':
        case '=':
          this.zoomBy(1.25);
          break;
        case '-':
        case '_':
          this.zoomBy(1 / 1.25);
          break;
        case 'f':
        case 'F':
        case '0':
          this.fit();
          break;
        case 'Enter':
        case ' ':
          if (!focused) return;
          this.actions.select(focused);
          break;
        case 'Escape':
          this.actions.select(undefined);
          break;
        case 'ArrowDown':
        case 'ArrowUp':
        case 'ArrowLeft':
        case 'ArrowRight': {
          const from = focused ?? this.state.selectedNode ?? this.model?.graph.nodes[0]?.id;
          const next = from && (focused || this.state.selectedNode ? this.neighbour(from, event.key) : from);
          if (!next) return;
          this.actions.select(next);
          this.boxes.get(next)?.focus({ preventScroll: true });
          break;
        }
        default:
          return;
      }
      event.preventDefault();
    });
  }
}
