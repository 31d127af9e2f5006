// Errors the engine's callers tell apart.

import { formatBytes, formatNumber } from '../shared/format';

/** Thrown when the caller's signal is aborted; checked between layers and inside Lanczos iterations. */
export class CancelledError extends Error {
  constructor() {
    super('analysis cancelled');
    this.name = 'CancelledError';
  }
}

/** A layer the engine has no sound rule for; names the layer's ONNX nodes. */
export class UnsupportedLayerError extends Error {
  constructor(readonly nodes: string[], reason: string) {
    super(`unsupported layer [${nodes.join(', ')}]: ${reason}`);
    this.name = 'UnsupportedLayerError';
  }
}

/**
 * ε so large that a deviation the bound carries (ε times the layer bounds so far, or the spectral
 * product) leaves the float64 range: there is no finite bound to report, so none is.
 */
export class OverflowError extends Error {
  constructor(
    readonly epsilon: number,
    readonly layerLabel: string,
    readonly quantity: 'deviation' | 'spectral product',
  ) {
    super(
      quantity === 'deviation'
        ? `ε = ${formatNumber(epsilon)} is too large: the output deviation it allows after layer '${layerLabel}' exceeds the float64 range (about 1.8e308); use a smaller ε`
        : `the spectral product of the layers up to '${layerLabel}' exceeds the float64 range (about 1.8e308): no finite global bound exists in float64`,
    );
    this.name = 'OverflowError';
  }
}

/** The cost estimate (costEstimate.ts) exceeds the caller's memory budget; nothing was computed. */
export class BudgetError extends Error {
  constructor(
    readonly neededBytes: number,
    readonly limitBytes: number,
    readonly multiplyAdds: number,
  ) {
    super(
      `the analysis needs about ${formatBytes(neededBytes)} of memory (and about ${formatWork(multiplyAdds)} of operator work); ` +
        `the limit is ${formatBytes(limitBytes)}`,
    );
    this.name = 'BudgetError';
  }
}

function formatWork(multiplyAdds: number): string {
  const flops = 2 * multiplyAdds;
  return flops >= 1e12 ? `${(flops / 1e12).toPrecision(2)} TFLOP` : `${(flops / 1e9).toPrecision(2)} GFLOP`;
}

export interface CancelSignal {
  readonly aborted: boolean;
}

export function throwIfCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
