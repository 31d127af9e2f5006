// Per-layer tightness: the layer's own local constant over the ball its bound speaks about (radius
// epsilonIn around the layer's nominal input, moving only the inputs the run marked movable), from
// below, next to the layer's upper bound. Only single-input affine and activation layers, and only
// when cheap:
// - exact when the layer is affine on the whole ball (no coordinate's reachable interval
//   [y0_i − reach_i, y0_i + reach_i] straddles a kink) and the run computed its norm exactly: the layer
//   is then x ↦ J x + c on the ball, its local constant is ‖J D‖, which the dense eigen-decomposition
//   gave (the certificate's estimate, before the rounding margin);
// - exact for a lone piecewise-linear activation: ‖σ(x) − σ(x0)‖² / ‖x − x0‖² is a weighted mean of the
//   per-coordinate chord slopes squared, so the supremum is the largest per-coordinate supremum, reached
//   by moving one coordinate alone; slopeBound computes exactly that supremum (activations.ts);
// - otherwise witnessed: the lower-bound search (lowerBound.ts) run on the layer alone.
import type { LayerResult, LayerTightness } from '../../shared/results';
import { activate, isSmoothWithSingularity, slopeBound } from '../activations';
import { throwIfCancelled, type CancelSignal } from '../errors';
import { LowerBoundSearch } from '../lowerBound';
import { NETWORK_INPUT, type Activation, type Network } from '../network';
import { applyAffine } from '../operators/linearOperator';
import { inputRange, prepareNetwork, type PreparedNetwork } from '../prepared';

export interface LayerTightnessOptions {
  /** Evaluations of the layer alone per witnessed search (default 60). */
  budget?: number;
  /** Layers with more input or output values are skipped (default 20000). */
  maxSize?: number;
  seed?: number;
  /**
   * The run's bound τ on the error of its nominal values (0 if exact). The run's norm estimate is the
   * layer's ‖J D‖ only where every row stays in one linear piece over [y0 − τ − reach, y0 + τ + reach]:
   * then its slopes are the piece slopes whatever the admissible nominal value.
   */
  nominalError?: number;
  signal?: CancelSignal;
}

function kinks(activation: Activation): number[] | null {
  switch (activation.kind) {
    case 'relu':
    case 'leakyRelu':
      return [0];
    case 'clip':
      return [activation.min, activation.max];
    case 'hardSigmoid':
      return activation.alpha === 0 ? [] : [-activation.beta / activation.alpha, (1 - activation.beta) / activation.alpha];
    default:
      return null;
  }
}

/** Every coordinate that can move stays inside one linear piece over [y0 − tau − reach, y0 + tau + reach]. */
function affineOnIntervals(activation: Activation | undefined, y0: Float64Array, reach: (i: number) => number, tau: number): boolean {
  if (!activation) return true;
  const points = kinks(activation);
  for (let i = 0; i < y0.length; i++) {
    const r = reach(i);
    if (r === 0) continue;
    if (!points) return false;
    for (const k of points) if (y0[i] - tau - r < k && k < y0[i] + tau + r) return false;
  }
  return true;
}

/**
 * Tightness entries for the layers of one ε run (undefined where skipped). `nominalOutputs` holds the
 * pure forward values at x0; `masks` are the run's movable-coordinate masks per layer output.
 */
export function layerTightness(
  prepared: PreparedNetwork,
  x0: Float64Array,
  nominalOutputs: (Float64Array | null)[],
  layers: LayerResult[],
  masks: (Uint8Array | null)[],
  options: LayerTightnessOptions = {},
): (LayerTightness | undefined)[] {
  const maxSize = options.maxSize ?? 20000;
  return prepared.layers.map((p, k): LayerTightness | undefined => {
    throwIfCancelled(options.signal);
    const lop = p.layer.op;
    if ((lop.kind !== 'affine' && lop.kind !== 'activation') || p.inSizes[0] > maxSize || p.outSize > maxSize) return undefined;
    const ref = p.layer.inputs[0];
    const input = ref === NETWORK_INPUT ? x0 : nominalOutputs[ref];
    if (!input) return undefined;
    const mask = ref === NETWORK_INPUT ? null : masks[ref];
    const epsilon = layers[k].epsilonIn;
    if (epsilon === 0) return { lower: 0, kind: 'exact', detail: 'the layer input cannot move' };
    // Behind an overflowed reach (docs/derivations.md §57) the layer has no finite ball to search.
    if (!Number.isFinite(epsilon)) return undefined;
    const activation = lop.activation;

    if (lop.kind === 'activation' && kinks(lop.activation)) {
      let best = 0;
      for (let i = 0; i < input.length; i++) {
        if (mask && !mask[i]) continue;
        best = Math.max(best, slopeBound(lop.activation, input[i] - epsilon, input[i], input[i] + epsilon));
      }
      return { lower: best, kind: 'exact', detail: 'largest supremum of a single coordinate’s chord slope (moving one coordinate alone attains it)' };
    }
    if (lop.kind === 'activation' && isSmoothWithSingularity(lop.activation)) {
      // Moving one coordinate alone to either end of its reachable interval (cut to the input's range):
      // attained ratios, so a lower bound (the layer's own ball would also leave the map's domain).
      const [low, high] = inputRange(prepared, ref);
      let best = 0;
      for (let i = 0; i < input.length; i++) {
        if (mask && !mask[i]) continue;
        for (const end of [Math.max(low, input[i] - epsilon), Math.min(high, input[i] + epsilon)]) {
          if (end === input[i]) continue;
          const ratio = Math.abs(activate(lop.activation, end) - activate(lop.activation, input[i])) / Math.abs(end - input[i]);
          if (Number.isFinite(ratio)) best = Math.max(best, ratio);
        }
      }
      return { lower: best, kind: 'witnessed', detail: 'largest chord slope of one coordinate moved alone to an end of its reachable interval' };
    }
    if (p.op.kind === 'affine' && layers[k].certificate.method === 'exact-eigen') {
      const linear = p.op.affine.linear;
      const d = new Float64Array(linear.inSize);
      for (let j = 0; j < d.length; j++) d[j] = mask ? mask[j] : 1;
      const rowSq = linear.rowNormsSquared(d);
      const pre = applyAffine(p.op.affine, input);
      const tau = options.nominalError ?? 0;
      if (affineOnIntervals(activation, pre, (i) => epsilon * Math.sqrt(rowSq[i]) * (1 + 1e-10), tau)) {
        const estimate = layers[k].certificate.estimate;
        if (estimate !== undefined) {
          return { lower: estimate, kind: 'exact', detail: 'affine on the whole ball: the local constant is ‖J D‖, computed exactly (before the rounding margin)' };
        }
      }
    }
    const single: Network = {
      inputName: `${p.layer.label} input`,
      inputShape: p.layer.inputShapes[0],
      layers: [{ ...p.layer, inputs: [NETWORK_INPUT] }],
      output: 0,
    };
    const search = new LowerBoundSearch(prepareNetwork(single, prepared.backend), input, {
      budget: options.budget ?? 60,
      seed: options.seed,
      inputMask: mask,
      restarts: 2,
      signal: options.signal,
    });
    const found = search.run(epsilon);
    return {
      lower: found.value,
      kind: 'witnessed',
      detail: `best ratio found by ${found.method} on the layer alone (${found.evaluations} evaluations): a lower bound`,
    };
  });
}
