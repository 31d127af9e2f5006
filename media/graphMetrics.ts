// What the graph view colours its nodes by after an analysis: one number per analysis layer, the same
// numbers the layer table prints, put into a few classes for the colour scale. Pure, so it is unit-tested.

import { formatNumber, formatPercent, formatRatio, tighteningRatio } from '../src/shared/format';
import type { LayerResult } from '../src/shared/results';
import { logContribution } from './viewState';

export type MetricKey = 'none' | 'ratio' | 'share' | 'bound' | 'unstable' | 'tightness' | 'change';

export const METRIC_LABELS: Record<MetricKey, string> = {
  none: 'no colouring',
  ratio: 'local / spectral ratio (‖A‖ / local bound)',
  share: 'share of log L',
  bound: 'local bound',
  unstable: 'unstable fraction',
  tightness: 'tightness (local bound ÷ the layer’s witnessed lower value, else ÷ ‖A‖)',
  change: 'change against the pinned run (local bound now ÷ then)',
};

/** The matched pinned layer's local bound, by layer index: what the 'change' metric divides by. */
export type PinnedBounds = ReadonlyMap<number, number>;

/** Number of colour classes; CSS has one rule per class (.heat-0 … .heat-4). */
export const HEAT_CLASSES = 5;

/** The metric of one layer, as the table shows it; undefined where the table shows nothing. */
export function layerMetric(key: MetricKey, layer: LayerResult, layers: readonly LayerResult[], pinned?: PinnedBounds): number | undefined {
  switch (key) {
    case 'none':
      return undefined;
    case 'ratio':
      return tighteningRatio(layer.spectralNorm, layer.localBound);
    case 'share': {
      const total = layers.reduce((sum, entry) => sum + logContribution(entry), 0);
      return total > 0 ? logContribution(layer) / total : undefined;
    }
    case 'bound':
      return layer.localBound;
    case 'unstable': {
      if (!layer.neurons) return undefined;
      const { on, unstable, off } = layer.neurons;
      const total = on + unstable + off;
      return total > 0 ? unstable / total : undefined;
    }
    case 'tightness': {
      // How far the bound may be above the layer's true local constant: 1 is exact. Without a witnessed
      // lower value (large layers), how much of the global bound the local one still spends.
      const lower = layer.tightness?.lower;
      if (lower !== undefined && lower > 0) return layer.localBound / lower;
      return layer.spectralNorm > 0 ? layer.localBound / layer.spectralNorm : undefined;
    }
    case 'change': {
      const before = pinned?.get(layer.index);
      return before !== undefined && before > 0 ? layer.localBound / before : undefined;
    }
  }
}

/** How a metric is shown: shares and fractions as percentages, the rest as the table prints them. */
export function formatMetric(key: MetricKey, value: number): string {
  switch (key) {
    case 'share':
    case 'unstable':
      return formatPercent(value);
    case 'ratio':
    case 'tightness':
    case 'change':
      return formatRatio(value);
    default:
      return formatNumber(value);
  }
}

export interface Heat {
  /** Colour class (0 … HEAT_CLASSES − 1) by layer index. */
  classOf: Map<number, number>;
  /** Value by layer index. */
  valueOf: Map<number, number>;
  /** The legend: one range per class, lowest first. */
  legend: { from: number; to: number }[];
}

/**
 * Classes of equal width: linear for the fractions (0 to the largest), logarithmic for bounds and
 * ratios, which span orders of magnitude. Non-positive values of a logarithmic metric go to class 0.
 */
export function heat(key: MetricKey, layers: readonly LayerResult[], pinned?: PinnedBounds): Heat | undefined {
  if (key === 'none') return undefined;
  const valueOf = new Map<number, number>();
  for (const layer of layers) {
    const value = layerMetric(key, layer, layers, pinned);
    if (value !== undefined && Number.isFinite(value)) valueOf.set(layer.index, value);
  }
  if (valueOf.size === 0) return undefined;
  const logarithmic = key === 'ratio' || key === 'bound' || key === 'tightness' || key === 'change';
  const values = [...valueOf.values()].filter((value) => !logarithmic || value > 0);
  let low = logarithmic ? Math.log10(Math.min(...values)) : 0;
  let high = logarithmic ? Math.log10(Math.max(...values)) : Math.max(...values);
  if (!(high > low)) {
    // All equal: one value, shown in the middle class.
    low -= 0.5;
    high += 0.5;
  }
  const step = (high - low) / HEAT_CLASSES;
  const classOf = new Map<number, number>();
  for (const [index, value] of valueOf) {
    const position = logarithmic ? (value > 0 ? Math.log10(value) : low) : value;
    classOf.set(index, Math.min(HEAT_CLASSES - 1, Math.max(0, Math.floor((position - low) / step))));
  }
  const edge = (position: number) => (logarithmic ? 10 ** position : Math.max(0, position));
  const legend = Array.from({ length: HEAT_CLASSES }, (_unused, k) => ({ from: edge(low + k * step), to: edge(low + (k + 1) * step) }));
  return { classOf, valueOf, legend };
}
