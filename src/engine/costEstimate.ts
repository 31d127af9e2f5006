// A rough, deliberately conservative estimate of what an analysis will cost, computed from the
// normalised network before anything runs, so that a valid model too large for the machine (a
// 30000×30000 input, a 4096×4096 image through a CNN) is refused or confirmed up front instead of
// running for minutes and gigabytes. Memory counts what the engine holds at once; work counts the
// operator multiply-adds of the spectral norms and the lower-bound search.

import type { Layer, Network } from './network';
import { DEFAULT_LOWER_BOUND_BUDGET } from './lowerBound';
import { DEFAULT_SPECTRAL_OPTIONS } from './spectral/certifiedNorm';

export interface CostRequest {
  /** ε values analysed (each one a full bound run). */
  epsilonCount: number;
  radius: boolean;
  lowerBound: boolean;
  lanczosSteps?: number;
  exactCutoff?: number;
}

export interface CostEstimate {
  /** Peak memory, bytes, and its parts. */
  bytes: number;
  parts: { weights: number; activations: number; lanczos: number; packedConv: number; exactBlocks: number; runtime: number };
  /** Operator multiply-adds of the whole analysis. */
  multiplyAdds: number;
}

const FLOAT64 = 8;
/** Node, V8 and the engine's code: what an empty analysis of a tiny model already holds. */
const RUNTIME_BYTES = 128 * 2 ** 20;
/**
 * Float32 parameters are held by the file buffer and the decoded model, plus float64 copies where the
 * kernels need them (dense weights are used in place; this errs high for them).
 */
const BYTES_PER_PARAMETER = 3 * 4;
/** Conv weights packed as float64 panels for the native kernels (forward and adjoint). */
const BYTES_PER_PACKED_CONV_WEIGHT = 2 * FLOAT64;
/**
 * Float64 vectors per layer output kept for the whole run: nominal outputs, pre-activations, the
 * float64 tape of the lower bounds, masks and slopes, the search's perturbed pass.
 */
const VECTORS_PER_ACTIVATION = 5;
/** Float64 vectors of one Lanczos run on a layer: three recurrence vectors and the product's temporaries. */
const LANCZOS_VECTORS = 6;
/** Bisection steps of the radius (analyze.ts) plus its bracket. */
const RADIUS_RUNS = 18;
/** Gram products per norm (Lanczos steps) and norms per layer and ε (local and conservative). */
const NORMS_PER_LAYER = 2;

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function parameters(layer: Layer): { all: number; conv: number } {
  if (layer.op.kind !== 'affine') return { all: 0, conv: 0 };
  const linear = layer.op.linear;
  if (linear.kind === 'channelAffine') return { all: linear.scale.length + linear.shift.length + (linear.offset?.length ?? 0), conv: 0 };
  const all = linear.weight.length + (linear.bias?.length ?? 0);
  return { all, conv: linear.kind === 'conv' || linear.kind === 'conv3d' ? linear.weight.length : 0 };
}

/** Multiply-adds of one application of the layer's operator (A x). */
function applicationCost(layer: Layer): number {
  const out = elements(layer.outputShape);
  const op = layer.op;
  if (op.kind === 'affine') {
    const linear = op.linear;
    if (linear.kind === 'conv') return out * linear.weightShape[1] * linear.weightShape[2] * linear.weightShape[3];
    if (linear.kind === 'conv3d') return out * linear.weightShape[1] * linear.weightShape[2] * linear.weightShape[3] * linear.weightShape[4];
    // One product per (input value, output channel of its group, kernel tap).
    if (linear.kind === 'convTranspose' || linear.kind === 'convTranspose3d') return elements(layer.inputShapes[0]) * linear.weightShape.slice(1).reduce((a, b) => a * b, 1);
    if (linear.kind === 'dense') return linear.weight.length * (linear.rows ?? 1);
    return out;
  }
  if (op.kind === 'maxPool' || op.kind === 'avgPool') return op.kernel.reduce((taps, k) => taps * k, out);
  return layer.inputShapes.reduce((sum, shape) => sum + elements(shape), 0);
}

export function estimateCost(network: Network, request: CostRequest): CostEstimate {
  const steps = request.lanczosSteps ?? DEFAULT_SPECTRAL_OPTIONS.lanczosSteps;
  const cutoff = request.exactCutoff ?? DEFAULT_SPECTRAL_OPTIONS.exactCutoff;
  let parameterCount = elements(network.inputShape);
  let convWeights = 0;
  let activationValues = elements(network.inputShape);
  let widestLayer = 0;
  let perPass = 0;
  for (const layer of network.layers) {
    const counted = parameters(layer);
    parameterCount += counted.all;
    convWeights += counted.conv;
    const out = elements(layer.outputShape);
    activationValues += out;
    widestLayer = Math.max(widestLayer, out + layer.inputShapes.reduce((sum, shape) => sum + elements(shape), 0));
    perPass += applicationCost(layer);
  }
  const exactSide = Math.min(cutoff, widestLayer);
  const parts = {
    weights: parameterCount * BYTES_PER_PARAMETER,
    activations: activationValues * VECTORS_PER_ACTIVATION * FLOAT64,
    lanczos: widestLayer * LANCZOS_VECTORS * FLOAT64,
    packedConv: convWeights * BYTES_PER_PACKED_CONV_WEIGHT,
    // The materialised block A D, its Gram matrix and the Cholesky factor (spectral/certifiedNorm.ts).
    exactBlocks: (DEFAULT_SPECTRAL_OPTIONS.maxExactEntries + 2 * exactSide * exactSide) * FLOAT64,
    runtime: RUNTIME_BYTES,
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  const boundRuns = request.epsilonCount + (request.radius ? RADIUS_RUNS : 0);
  // A Gram product applies A and Aᵀ: two applications per Lanczos step.
  const spectralWork = boundRuns * NORMS_PER_LAYER * 2 * steps * perPass;
  // Each lower-bound evaluation is a forward, tangent or backward pass through the network.
  const lowerBoundWork = request.lowerBound ? request.epsilonCount * DEFAULT_LOWER_BOUND_BUDGET * perPass : 0;
  return { bytes, parts, multiplyAdds: spectralWork + lowerBoundWork };
}
