// Max pooling: not linear, bounded by window overlap. For any two inputs,
// |max_W x − max_W x'| ≤ max_{j∈W} |x_j − x'_j|, so ‖Δy‖² ≤ Σ_W Σ_{j∈W} Δx_j² ≤ c ‖Δx‖², where c is
// the largest number of windows that contain one movable input position. We count c exactly, which is
// at most Π ceil(k/s) (method.md §3) and never more than the number of kernel taps.
import { forEachPoolTap, poolGeometry, poolInputSize, poolOutputSize, type PoolGeometry } from './pooling';
import type { PoolParams, Shape } from '../network';
import type { SlopeUnits } from '../composed/linearisedNetwork';
import type { Interval } from '../reachInterval';
import { windowSlopes } from '../composed/selectionSlopes';

export class MaxPool {
  readonly geometry: PoolGeometry;

  constructor(params: PoolParams, inputShape: Shape, outputShape: Shape, name: string) {
    this.geometry = poolGeometry(params, inputShape, outputShape, name);
  }

  forward(x: Float64Array): Float64Array {
    const y = new Float64Array(poolOutputSize(this.geometry)).fill(-Infinity);
    forEachPoolTap(this.geometry, (o, i) => {
      if (x[i] > y[o]) y[o] = x[i];
    });
    return y;
  }

  /** Largest number of windows sharing one input position where mask is set (all positions if mask is null). */
  maxOverlap(mask: Uint8Array | null): number {
    const counts = new Int32Array(poolInputSize(this.geometry));
    forEachPoolTap(this.geometry, (_o, i) => {
      counts[i]++;
    });
    let max = 0;
    for (let i = 0; i < counts.length; i++) if ((!mask || mask[i]) && counts[i] > max) max = counts[i];
    return max;
  }

  /** An output can move only if its window holds a movable input. */
  outputMask(mask: Uint8Array | null): Uint8Array {
    const out = new Uint8Array(poolOutputSize(this.geometry));
    forEachPoolTap(this.geometry, (o, i) => {
      if (!mask || mask[i]) out[o] = 1;
    });
    return out;
  }

  /**
   * The windows as slope units with uncertain selection weights (docs/derivations.md §22): input j is
   * known to lie within tau + reach[j] of values[j] everywhere in the ball.
   */
  slopeEdges(values: Float64Array, tau: number, reach: Float64Array, radius: number, bounds?: Interval): SlopeUnits {
    const windows: number[][] = Array.from({ length: poolOutputSize(this.geometry) }, () => []);
    forEachPoolTap(this.geometry, (o, i) => {
      windows[o].push(i);
    });
    return windowSlopes(windows, values, new Float64Array(values.length).fill(tau), reach, radius, bounds);
  }
}
