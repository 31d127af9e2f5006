// Max pooling: not linear, bounded by window overlap. For any two inputs,
// |max_W x − max_W x'| ≤ max_{j∈W} |x_j − x'_j|, so ‖Δy‖² ≤ Σ_W Σ_{j∈W} Δx_j² ≤ c ‖Δx‖², where c is
// the largest number of windows that contain one movable input position. We count c exactly, which is
// at most Π ceil(k/s) (method.md §3) and never more than the number of kernel taps.
import { forEachPoolTap, poolGeometry, poolInputSize, poolOutputSize, type PoolGeometry } from './pooling';
import type { PoolParams, Shape } from '../network';

/**
 * Max-pool windows as slope units (docs/derivations.md §22): edge e routes input[e] to output[e] with
 * midpoint weight mid[e]; the weights of an uncertain window deviate from their midpoints by a vector
 * of length at most outputRadius[window]; uncertain[e] marks the edges of uncertain windows.
 */
export interface PoolEdges {
  input: Int32Array;
  output: Int32Array;
  mid: Float64Array;
  uncertain: Uint8Array;
  outputRadius: Float64Array;
  /** Uncertain windows whose weights sum to exactly 1 (every candidate can move): deviations sum to 0. */
  centred: Uint8Array;
}

/** Relative slack on the winner comparisons: keeping a few extra candidates is always sound. */
const CANDIDATE_SLACK = 1e-14;

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
   * The windows as a linear map with uncertain weights (docs/derivations.md §22). Input j is known to
   * lie within tau + reach[j] of values[j] everywhere in the ball. An entry that can never reach the
   * window's guaranteed floor never wins; if no remaining candidate can move, the window's maximum is
   * constant (no edge); one candidate is a certain winner (weight exactly 1); otherwise the change of
   * the maximum is a convex combination of the candidates' changes, the fixed candidates' being 0:
   * weights w on the movable candidates M in the simplex (Σ w = 1), or in conv{0, e_j} (Σ w ≤ 1) when
   * some candidate cannot move. Midpoint: 1/|candidates| on each movable one; radius: the largest
   * distance from it to a vertex of that set.
   */
  slopeEdges(values: Float64Array, tau: number, reach: Float64Array): PoolEdges {
    const windows: number[][] = Array.from({ length: poolOutputSize(this.geometry) }, () => []);
    forEachPoolTap(this.geometry, (o, i) => {
      windows[o].push(i);
    });
    const input: number[] = [];
    const output: number[] = [];
    const mid: number[] = [];
    const uncertain: number[] = [];
    const outputRadius = new Float64Array(windows.length);
    const centred = new Uint8Array(windows.length);
    windows.forEach((taps, o) => {
      let floor = -Infinity;
      for (const j of taps) floor = Math.max(floor, values[j] - tau - reach[j]);
      const candidates = taps.filter((j) => {
        const top = values[j] + tau + reach[j];
        return top + CANDIDATE_SLACK * (Math.abs(top) + Math.abs(floor)) >= floor;
      });
      const movable = candidates.filter((j) => reach[j] > 0);
      if (movable.length === 0) return;
      const weight = 1 / candidates.length;
      const certain = candidates.length === 1;
      for (const j of movable) {
        input.push(j);
        output.push(o);
        mid.push(certain ? 1 : weight);
        uncertain.push(certain ? 0 : 1);
      }
      if (!certain) {
        const toVertex = Math.sqrt((1 - weight) ** 2 + (movable.length - 1) * weight * weight);
        const toZero = movable.length < candidates.length ? weight * Math.sqrt(movable.length) : 0;
        outputRadius[o] = Math.max(toVertex, toZero) * (1 + 1e-15);
        if (movable.length === candidates.length) centred[o] = 1;
      }
    });
    return {
      input: Int32Array.from(input), output: Int32Array.from(output), mid: Float64Array.from(mid),
      uncertain: Uint8Array.from(uncertain), outputRadius, centred,
    };
  }
}
