// Errors the engine's callers tell apart.

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

export interface CancelSignal {
  readonly aborted: boolean;
}

export function throwIfCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
