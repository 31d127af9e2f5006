// Fidelity: does the network the engine analyses compute what the ONNX file computes? A sound bound
// of the wrong function (a misread attribute, a fused node applied twice) is worth nothing, so every
// analysis evaluates the original file on onnxruntime at x0 and at points in the ε-ball around it,
// and compares every layer output the network output depends on with the engine's own float64
// evaluation of the same points. A difference beyond float32 rounding stops the analysis, naming the
// first tensor (in graph order) where the two part.

import type { FidelityReport } from '../shared/results';
import { NETWORK_INPUT, type Network } from './network';
import type { PreparedNetwork } from './prepared';
import { throwIfCancelled, type CancelSignal } from './errors';
import { SeededRandom } from './random';
import { ModelRuntime } from './runtime/modelRuntime';
import { ortVersion, tensorsNeeded } from './runtime/ortForward';
import { NetworkTape } from './tightness/tape';

/**
 * Allowed difference per tensor, relative to its largest magnitude: onnxruntime computes in float32
 * (about 6e-8 relative per operation, growing with the sum lengths and the depth: 1e-6 to 1e-5 is
 * typical of the deep models measured here), while a misread model differs at order 1.
 */
export const FIDELITY_RELATIVE_TOLERANCE = 1e-3;
/** Below this magnitude a tensor counts as zero (all units off): the tolerance does not shrink further. */
const ZERO_SCALE = 1e-3;

export class FidelityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FidelityError';
  }
}

export interface FidelityCheckOptions {
  modelPath: string;
  /** Radius of the sphere the extra points lie on (the analysis's largest ε). */
  epsilon: number;
  /** Points besides x0 (default 2). */
  extraPoints?: number;
  seed?: number;
  threads?: number;
  signal?: CancelSignal;
  /** The session to run on, kept open for the rest of the analysis; absent: one of its own, released after the check. */
  runtime?: ModelRuntime;
}

export type FidelityCheck = (prepared: PreparedNetwork, x0: Float64Array) => Promise<FidelityReport>;

/**
 * Points x0 + r u with seeded random unit directions u, each rounded to float32 as the runtime reads it.
 * r = min(ε, 1 + max|x0|): inside the ball, and never so far out that float32 overflows (ε = 1e308
 * is a valid radius, but not a point a float32 runtime can evaluate).
 */
function checkPoints(x0: Float64Array, epsilon: number, extra: number, seed: number): { points: Float32Array[]; radius: number } {
  const radius = Math.min(epsilon, 1 + x0.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
  const random = new SeededRandom(seed);
  const points = [Float32Array.from(x0)];
  for (let p = 0; p < extra; p++) {
    // Gaussian directions are uniform on the sphere once normalised.
    const direction = Float64Array.from(x0, () => random.gaussian());
    const norm = Math.sqrt(direction.reduce((sum, v) => sum + v * v, 0)) || 1;
    points.push(Float32Array.from(x0, (v, i) => v + (radius * direction[i]) / norm));
  }
  return { points, radius };
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0];
}

/** The layers holding the bounded graph outputs: the output layer, or the parts a stacking step joins. */
function outputLayers(network: Network): Set<number> {
  const found = new Set<number>();
  const stack = [network.output];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (k === NETWORK_INPUT) continue;
    const layer = network.layers[k];
    if (layer.onnxOutput) found.add(k);
    else stack.push(...layer.inputs);
  }
  return found;
}

export function onnxruntimeFidelity(options: FidelityCheckOptions): FidelityCheck {
  return async (prepared, x0) => {
    const network = prepared.network;
    const { points, radius } = checkPoints(x0, options.epsilon, options.extraPoints ?? 2, options.seed ?? 1);
    // Every layer an ONNX tensor holds (not the steps that stack several outputs into one vector).
    const layerIndexes = network.layers.flatMap((layer, k) => (layer.onnxOutput ? [k] : []));
    const boundedOutputs = outputLayers(network);
    const names = tensorsNeeded(network);
    const session = options.runtime ?? new ModelRuntime(options.modelPath, { intraOpNumThreads: options.threads });
    let runtime;
    try {
      runtime = await (await session.session(network)).runEach(network.inputName, network.inputShape, points, names);
    } catch (error) {
      // The engine's network may still be right; the report says plainly that nobody checked it.
      return { runtime: 'onnxruntime', notChecked: firstLine((error as Error).message) };
    } finally {
      if (!options.runtime) await session.release();
    }
    const tape = new NetworkTape(prepared);
    let maxAbsDifference = 0;
    let maxRelativeDifference = 0;
    let tensors = 0;
    points.forEach((point, p) => {
      throwIfCancelled(options.signal);
      const ours = tape.forward(Float64Array.from(point)).outputs;
      for (const k of layerIndexes) {
        const value = ours[k];
        if (!value) continue;
        const layer = network.layers[k];
        const reference = runtime[p].values.get(layer.onnxOutput)!;
        let difference = 0;
        let scale = 0;
        for (let i = 0; i < value.length; i++) {
          difference = Math.max(difference, Math.abs(value[i] - reference[i]));
          scale = Math.max(scale, Math.abs(reference[i]));
        }
        const relative = difference / Math.max(scale, ZERO_SCALE);
        if (!(relative <= FIDELITY_RELATIVE_TOLERANCE)) {
          const where = p === 0 ? 'at x0' : `at a point ${radius.toPrecision(3)} from x0`;
          throw new FidelityError(
            `the analysed network does not compute what the model file computes: tensor '${layer.onnxOutput}' ` +
              `(layer ${k}, ${layer.label}) differs from onnxruntime's by ${difference.toPrecision(3)} ` +
              `(${relative.toPrecision(3)} of its magnitude ${scale.toPrecision(3)}) ${where}; ` +
              'no bound is reported for a network that is not the model',
          );
        }
        if (boundedOutputs.has(k) || network.output === NETWORK_INPUT) {
          maxAbsDifference = Math.max(maxAbsDifference, difference);
          maxRelativeDifference = Math.max(maxRelativeDifference, relative);
        }
        tensors++;
      }
    });
    return { runtime: `onnxruntime ${ortVersion()}`, points: points.length, tensors, maxAbsDifference, maxRelativeDifference };
  };
}
