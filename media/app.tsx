// The whole view, from the one store: header, analysis card, sweep chart, the comparison with a
// pinned run, the graph and table tabs, and the status line. Each area is a memoised component whose
// props are slices of the state, so a progress message redraws the status line, not the graph.

import { useEffect, useMemo } from 'preact/hooks';
import { formatNumber } from '../src/shared/format';
import { GraphView } from './graphView';
import type { MetricKey } from './graphMetrics';
import { Header } from './header';
import { formatChange, LayerTable } from './layerTable';
import { useView } from './store';
import { Summary } from './summary';
import { SweepChart } from './sweepChart';
import { phaseLabel, statusText, visible } from './viewText';
import {
  comparedPin,
  isOwnPin,
  layerDeltas,
  mainRun,
  matchPinnedLayers,
  nodesOfRow,
  pinnedRunOf,
  rowOfNode,
  shownLayers,
  type PinnedRun,
  type SortKey,
  type ViewMode,
  type ViewState,
} from './viewState';

const NO_LAYERS: readonly number[] = [];

function Tabs({ view, onView }: { view: ViewMode; onView(view: ViewMode): void }) {
  const tab = (mode: ViewMode, label: string) => (
    <button
      type="button"
      id={`view-${mode}`}
      class="view-tab"
      role="tab"
      aria-controls={mode === 'graph' ? 'graph' : 'layers'}
      aria-selected={view === mode ? 'true' : 'false'}
      tabIndex={view === mode ? 0 : -1}
      onClick={() => onView(mode)}
      onKeyDown={(event) => {
        if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
          const next: ViewMode = mode === 'graph' ? 'table' : 'graph';
          onView(next);
          document.getElementById(`view-${next}`)?.focus();
          event.preventDefault();
        }
      }}
    >
      {label}
    </button>
  );
  return (
    <div id="view-tabs" class="view-tabs" role="tablist" aria-label="View">
      {tab('graph', 'Graph')}
      {tab('table', 'Table')}
    </div>
  );
}

interface ComparisonHandlers {
  onPin(pinned: PinnedRun): void;
  onUnpin(): void;
  onCompare(compare: boolean): void;
}

/**
 * Pin the shown run, or compare with the pinned one: the network's numbers then and now, and how the
 * layers matched. A pin of another model is compared once the user asks (its layers may not match).
 */
function Comparison({ state, onPin, onUnpin, onCompare }: { state: ViewState } & ComparisonHandlers) {
  const current = pinnedRunOf(state);
  const pinned = state.pinned;
  if (!pinned) {
    return current && state.status?.phase !== 'running' ? (
      <div class="comparison">
        <button type="button" id="pin-run" class="secondary" title="Keep this run to compare later runs against it, layer by layer, in this or another model" onClick={() => onPin(current)}>
          Pin this run for comparison
        </button>
      </div>
    ) : null;
  }
  const what = (run: PinnedRun) => visible(`${run.model}, ${run.inputLabel}, ε = ${formatNumber(run.epsilon)}`);
  const own = isOwnPin(state);
  const compared = comparedPin(state) !== undefined;
  const same = current && current.modelPath === pinned.modelPath && current.inputLabel === pinned.inputLabel && current.epsilon === pinned.epsilon && current.localBound === pinned.localBound;
  return (
    <div class="comparison callout" id="comparison">
      <strong>Pinned: </strong>
      {what(pinned)}: network local bound {formatNumber(pinned.localBound)}, spectral product {formatNumber(pinned.spectralBound)}.
      {compared && current && !same && (
        <span>
          {' '}
          Now ({what(current)}): {formatNumber(current.localBound)} ({formatChange(current.localBound / pinned.localBound - 1)}), spectral{' '}
          {formatNumber(current.spectralBound)} ({formatChange(current.spectralBound / pinned.spectralBound - 1)}). The table shows the change of
          every layer; the graph can be coloured by it.
        </span>
      )}
      {compared && !own && <LayerMatching state={state} pinned={pinned} />}
      {current && same && <span> The run shown is the pinned one: change ε, the input or the model file and analyze again to compare.</span>}{' '}
      {!own && !compared && (
        <button type="button" id="compare-pinned" onClick={() => onCompare(true)}>
          {visible(`Compare with pinned run (${pinned.model}, ε = ${formatNumber(pinned.epsilon)})`)}
        </button>
      )}{' '}
      {!own && compared && (
        <button type="button" id="stop-comparing" class="secondary" onClick={() => onCompare(false)}>
          Stop comparing
        </button>
      )}{' '}
      {current && !same && (
        <button type="button" id="pin-run" class="secondary" onClick={() => onPin(current)}>
          Pin this run instead
        </button>
      )}{' '}
      <button type="button" id="unpin-run" class="secondary" onClick={onUnpin}>
        Unpin
      </button>
    </div>
  );
}

/** How another model's layers matched the pinned ones (by label, else by an ONNX node name), naming the rest. */
function LayerMatching({ state, pinned }: { state: ViewState; pinned: PinnedRun }) {
  const layers = mainRun(state)?.layers;
  if (!layers) return <span> Analyze this model to compare it layer by layer.</span>;
  const matches = matchPinnedLayers(pinned, layers);
  const matched = new Set(matches.values());
  const unmatchedHere = layers.filter((layer) => !matches.has(layer.index)).map((layer) => layer.label);
  const onlyPinned = pinned.layers.filter((layer) => !matched.has(layer)).map((layer) => layer.label);
  const names = (labels: string[]) => labels.slice(0, 5).join(', ') + (labels.length > 5 ? `, and ${labels.length - 5} more` : '');
  return (
    <span id="layer-matching">
      {visible(
        ` ${matches.size} of ${layers.length} layers matched by name` +
          (unmatchedHere.length > 0 ? `; not in the pinned run: ${names(unmatchedHere)}` : '') +
          (onlyPinned.length > 0 ? `; only in the pinned run: ${names(onlyPinned)}` : '') +
          '.',
      )}
    </span>
  );
}

function StatusLine({ state }: { state: ViewState }) {
  const { actions } = useView();
  const status = state.status;
  const running = status?.phase === 'running';
  const { completed = 0, total = 0 } = status?.progress ?? {};
  return (
    <div id="status" class="status" role="status" aria-live="polite">
      <span class={`status-text${status?.phase === 'failed' ? ' error' : ''}`} id="status-text">
        {visible(statusText(state))}
      </span>
      {running && (total > 0 ? <progress max={total} value={completed} /> : <progress />)}
      {running && (
        <button type="button" class="secondary" onClick={actions.cancel}>
          Cancel
        </button>
      )}
    </div>
  );
}

export function App() {
  const { store, actions } = useView();
  const state = store.state.value;
  const update = store.update;
  const model = state.model;
  const view = state.view ?? 'graph';
  const shown = shownLayers(state);
  const running = state.status?.phase === 'running';
  // A sweep leaves the main run as it is, so its numbers stay (and nothing below them moves) while it runs.
  const run = running && state.status?.task !== 'sweep' ? undefined : mainRun(state);
  const comparable = comparedPin(state);
  const deltas = useMemo(
    () => (comparable && shown && !shown.streaming ? layerDeltas(comparable, shown.layers) : undefined),
    [comparable, shown?.layers, shown?.streaming],
  );
  // Made once: the memoised areas compare their props, and a new function would redraw them every time.
  const handlers = useMemo(
    () => ({
      view: (next: ViewMode) => update((current) => ({ ...current, view: next })),
      select: (id: string | undefined) => update((current) => ({ ...current, selectedNode: id })),
      metric: (key: MetricKey) => update((current) => ({ ...current, metric: key })),
      expand: (layers: readonly number[]) => update((current) => ({ ...current, expandedLayers: [...layers] })),
      sort: (key: SortKey) => update((current) => ({ ...current, sort: key })),
      selectRow: (row: number) => {
        const current = store.state.value.model;
        const [first] = current ? nodesOfRow(current, row) : [];
        if (first) update((state) => ({ ...state, selectedNode: first }));
      },
      // The host keeps the pin for every editor and sends it back (a pinnedRun message) to each.
      pin: (pinned: PinnedRun) => actions.pin(pinned),
      unpin: () => actions.pin(null),
      compare: (compare: boolean) => update((current) => ({ ...current, compareWithPinned: compare, metric: !compare && current.metric === 'change' ? undefined : current.metric })),
    }),
    [],
  );

  // Ctrl+F (Cmd+F) finds nodes: it opens the graph view and focuses its search box.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'f' && store.state.value.model) {
        event.preventDefault();
        handlers.view('graph');
        requestAnimationFrame(() => {
          const search = document.getElementById('graph-search') as HTMLInputElement | null;
          search?.focus();
          search?.select();
        });
      }
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);

  return (
    <>
      <Header model={model} modelError={state.modelError} reportNotes={state.report?.notes} />
      {model && (
        <div class="overview">
          <Summary
            canAnalyze={model.rowSource === 'layers'}
            status={state.status}
            phaseLabel={phaseLabel(state)}
            report={state.report}
            run={run}
            exportable={Boolean(state.report || state.sweep)}
          />
          {model.rowSource === 'layers' && (
            <SweepChart
              sweep={state.sweep}
              range={state.sweepRange}
              mainEpsilon={state.status?.epsilon}
              running={running}
              sweepRunning={running && state.status?.task === 'sweep'}
            />
          )}
        </div>
      )}
      {model && (
        <Comparison state={state} onPin={handlers.pin} onUnpin={handlers.unpin} onCompare={handlers.compare} />
      )}
      <main class="layers-area">
        {model && <Tabs view={view} onView={handlers.view} />}
        {model && (
          <GraphView
            model={model}
            layers={shown?.layers}
            selectedNode={state.selectedNode}
            metric={state.metric ?? 'share'}
            expanded={state.expandedLayers ?? NO_LAYERS}
            pinned={comparable}
            shown={view === 'graph'}
            onSelect={handlers.select}
            onMetric={handlers.metric}
            onExpand={handlers.expand}
          />
        )}
        {model && view === 'table' && (
          <LayerTable
            model={model}
            layers={shown?.layers}
            streaming={shown?.streaming ?? false}
            sort={state.sort ?? 'order'}
            selectedRow={rowOfNode(model, state.selectedNode)}
            deltas={deltas}
            onSort={handlers.sort}
            onSelectRow={handlers.selectRow}
          />
        )}
      </main>
      <StatusLine state={state} />
    </>
  );
}
