// Per-layer figures derived from a report, computed the same way wherever they are shown or exported.
import { tighteningRatio } from './format';
import type { LayerResult } from './results';

/** A layer's part in log L: log of its bound where it grows the product (bounds ≤ 1 shrink it and count 0). */
export function logContribution(layer: LayerResult): number {
  return layer.localBound > 1 ? Math.log(layer.localBound) : 0;
}

/** log L_k over the sum of log L_j of the layers that grow the product; undefined when none does. */
export function logShare(layer: LayerResult, layers: readonly LayerResult[]): number | undefined {
  const total = layers.reduce((sum, entry) => sum + logContribution(entry), 0);
  return total > 0 ? logContribution(layer) / total : undefined;
}

/** The per-node metrics an export can carry. */
export const NODE_METRICS = {
  localBound: { label: 'local bound', value: (layer: LayerResult) => layer.localBound },
  spectralNorm: { label: 'spectral norm ‖A‖', value: (layer: LayerResult) => layer.spectralNorm },
  ratio: { label: '‖A‖ / local bound ratio', value: (layer: LayerResult) => tighteningRatio(layer.spectralNorm, layer.localBound) },
  logShare: { label: 'share of log L', value: (layer: LayerResult, layers: readonly LayerResult[]) => logShare(layer, layers) },
} as const satisfies Record<string, { label: string; value(layer: LayerResult, layers: readonly LayerResult[]): number | undefined }>;

export type NodeMetric = keyof typeof NODE_METRICS;
