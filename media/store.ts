// The webview's one state store: a signal holding the ViewState (viewState.ts), changed only through
// update(), which also saves it with the webview's setState so a re-shown editor paints at once.
// Components read the store through the context below; what they may ask of the host goes through
// the ViewActions the entry point (main.tsx) wires to the request client.

import { signal, type Signal } from '@preact/signals';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { PinnedRun, SweepRange } from '../src/shared/protocol';
import type { ViewState } from './viewState';

export interface Store {
  readonly state: Signal<ViewState>;
  /** Replaces the state with change(state) and schedules saving it. */
  update(change: (state: ViewState) => ViewState): void;
}

/**
 * The saved state holds the model's laid-out graph (hundreds of KB for a few hundred nodes): saving
 * it on every progress message of a streaming analysis would copy it to the workbench hundreds of
 * times. So a change is saved at once (a pin, a tab: the editor may be hidden right after, and a
 * hidden webview is rebuilt from what was saved), and further changes within `saveIntervalMs`
 * once at its end.
 */
export function createStore(initial: ViewState, save: (state: ViewState) => void, saveIntervalMs = 300): Store {
  const state = signal(initial);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsaved = false;
  const quietPeriod = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (unsaved) {
        unsaved = false;
        save(state.value);
        quietPeriod();
      }
    }, saveIntervalMs);
  };
  return {
    state,
    update(change) {
      state.value = change(state.value);
      if (timer === undefined) {
        save(state.value);
        quietPeriod();
      } else {
        unsaved = true;
      }
    },
  };
}

/** What the view asks of the host (each a request through postMessage), and the chart export. */
export interface ViewActions {
  analyze(epsilon?: number): void;
  cancel(): void;
  runSweep(range: SweepRange): void;
  chooseInput(synthetic: boolean): void;
  exportReport(): void;
  /** Saves the chart as drawn: svg is the chart with its theme colours resolved. */
  exportChart(format: 'svg' | 'png', svg: string): void;
  /** Pins a run for every editor of the window (null unpins); the host sends the pin back. */
  pin(run: PinnedRun | null): void;
}

export interface ViewContextValue {
  store: Store;
  actions: ViewActions;
}

export const ViewContext = createContext<ViewContextValue | undefined>(undefined);

export function useView(): ViewContextValue {
  const value = useContext(ViewContext);
  if (!value) throw new Error('a view component was rendered outside ViewContext');
  return value;
}
