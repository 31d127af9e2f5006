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
 * ε so large that the deviation the layer product carries (ε times the layer bounds so far) leaves the
 * float64 range and the composed bound is not finite either (docs/derivations.md §57): there is no
 * finite bound to report, so none is.
 */
export class OverflowError extends Error {
  constructor(
    readonly epsilon: number,
    readonly layerLabel: string,
    /** Why the composed bound gave no finite value, when it was skipped. */
    readonly composedReason?: string,
  ) {
    super(
      `ε = ${formatNumber(epsilon)} is too large: the output deviation it allows after layer '${layerLabel}' exceeds the float64 range (about 1.8e308)` +
        `, and the composed bound is not finite either${composedReason ? ` (${composedReason})` : ''}; use a smaller ε`,
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
    /** The largest parts of the estimate (costEstimate.ts), so the user sees which phase to turn off. */
    largestParts: readonly { name: string; bytes: number }[],
  ) {
    const parts = largestParts.map((p) => `${p.name} ${formatBytes(p.bytes)}`).join(', ');
    super(
      `the analysis needs about ${formatBytes(neededBytes)} of memory (the largest parts: ${parts}) and about ${formatWork(multiplyAdds)} of operator work; ` +
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
