// A rough, deliberately conservative estimate of what an analysis will cost, computed from the
// normalised network before anything runs, so that a valid model too large for the machine (a
// 30000×30000 input, a 4096×4096 image through a CNN) is refused or confirmed up front instead of
// running for minutes and gigabytes. Memory adds up what every phase holds (the layer run, the
// composed bound's second run and passes, the lower-bound tape, the onnxruntime session), as if all
// were alive at once: phases overlap (the session and every ε's slopes stay open until the search), and
// a sum cannot fall below the peak. Work counts the operator multiply-adds of the spectral norms and
// the lower-bound search.

import type { Layer, Network } from './network';
import { DEFAULT_LOWER_BOUND_BUDGET } from './lowerBound';
import { searchBatchSize } from './runtime/modelRuntime';
import { DEFAULT_SPECTRAL_OPTIONS } from './spectral/certifiedNorm';

export interface CostRequest {
  /** ε values analysed (each one a full bound run). */
  epsilonCount: number;
  radius: boolean;
  lowerBound: boolean;
  lanczosSteps?: number;
  exactCutoff?: number;
  /** Whether the composed network bound runs (a composed budget above 0; default true). */
  composed?: boolean;
  /** Whether the model file is opened on onnxruntime (the fidelity check; default true). */
  fidelity?: boolean;
}

export interface CostEstimate {
  /** Peak memory, bytes, and its parts. */
  bytes: number;
  parts: {
    weights: number;
    activations: number;
    lanczos: number;
    packedConv: number;
    exactBlocks: number;
    runtime: number;
    /** The layer run's reach intervals, kept where the network multiplies two computed tensors. */
    layerRunIntervals: number;
    /** The composed bound: its slopes-only layer run, slope units, edges, pass and prefix-norm Lanczos vectors. */
    composed: number;
    /** The lower-bound search's float64 tape and its passes. */
    lowerBoundTape: number;
    /** onnxruntime's session on the model file: float32 weights and its tensors for a batch of points. */
    onnxruntime: number;
  };
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
 * Float64 vectors per layer output kept for the whole run: nominal outputs, pre-activations, masks and
 * slopes, each unit's reach, the search's perturbed pass.
 */
const VECTORS_PER_ACTIVATION = 5;
/** Float64 vectors per tensor of reachInterval.ts's intervals: the lower and the upper end. */
const INTERVAL_VECTORS = 2;
/**
 * Float64 vectors per layer output of the composed bound (composed/*, analyze.ts composedFor): the
 * slopes-only layer run's own state (its units' reach, pre-activation bounds, slopes: 3) and its
 * intervals (INTERVAL_VECTORS), the slope units' mid and outputRadius (2; the uncertain flags, one
 * byte, below), and the linearised network's forward tangents and backward adjoints of one pass (2).
 */
const COMPOSED_VECTORS_PER_ACTIVATION = 3 + INTERVAL_VECTORS + 2 + 2;
/** Float64 vectors per layer output of each ε's slope units (mid, outputRadius), kept for the search's start. */
const KEPT_SLOPE_VECTORS_PER_EPSILON = 2;
/** The uncertain flag of every slope unit (Uint8Array) and of every window's centred flag. */
const FLAG_BYTES = 1;
/** A max window's edge: its input entry and its output entry (two Int32). */
const BYTES_PER_EDGE = 2 * 4;
/**
 * Float64 vectors per layer output of the lower-bound tape (tightness/tape.ts): each layer's output
 * and derivative, a backward pass's gradients, a tangent pass's tangents.
 */
const TAPE_VECTORS_PER_ACTIVATION = 4;
const FLOAT32 = 4;
/** onnxruntime's library, thread pools and arena headroom, loaded once per analysis. */
const ONNXRUNTIME_BYTES = 64 * 2 ** 20;
/** Float32 copies of each parameter in the session: the initializer as loaded and the kernels' pre-packed weights. */
const ONNXRUNTIME_WEIGHT_COPIES = 2;
/**
 * Float32 copies of each requested tensor per point: the session's output tensor, its copy read into
 * the engine, and the model's own tensors between them that the network fuses away (a batch norm's).
 */
const ONNXRUNTIME_TENSOR_COPIES = 3;
/** Points the fidelity check runs: x0 and two more (fidelity.ts). */
const FIDELITY_POINTS = 3;
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
  // Counted from the declared shapes, which the normaliser checked against the weights' lengths.
  const weights = linear.kind === 'dense' ? linear.outFeatures * linear.inFeatures : elements(linear.weightShape);
  const all = weights + (linear.bias?.length ?? 0);
  return { all, conv: linear.kind === 'conv' || linear.kind === 'conv3d' ? weights : 0 };
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

/** What each part of the memory estimate holds, as a refusal names it. */
const PART_NAMES: Record<keyof CostEstimate['parts'], string> = {
  weights: 'the weights',
  activations: "the layer run's vectors",
  lanczos: 'Lanczos vectors',
  packedConv: 'packed conv weights',
  exactBlocks: 'exact-path blocks',
  runtime: 'Node and the engine',
  layerRunIntervals: "the layer run's intervals",
  composed: 'the composed bound',
  lowerBoundTape: 'the lower-bound tape',
  onnxruntime: "onnxruntime's session",
};

/** The largest parts of an estimate, largest first, named for the user: what to turn off or shrink. */
export function largestParts(cost: CostEstimate, count: number): { name: string; bytes: number }[] {
  return (Object.entries(cost.parts) as [keyof CostEstimate['parts'], number][])
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([part, bytes]) => ({ name: PART_NAMES[part], bytes }));
}

/** Edges of the max windows a layer's composed slopes list (selectionSlopes.ts): one per window entry. */
function windowEdges(layer: Layer): number {
  const op = layer.op;
  const out = elements(layer.outputShape);
  if (op.kind === 'maxPool') return op.kernel.reduce((taps, k) => taps * k, out);
  if (op.kind === 'reduceMax') return elements(layer.inputShapes[0]);
  if (op.kind === 'maximum') return 2 * out;
  return 0;
}

export function estimateCost(network: Network, request: CostRequest): CostEstimate {
  const steps = request.lanczosSteps ?? DEFAULT_SPECTRAL_OPTIONS.lanczosSteps;
  const cutoff = request.exactCutoff ?? DEFAULT_SPECTRAL_OPTIONS.exactCutoff;
  let parameterCount = elements(network.inputShape);
  let convWeights = 0;
  let activationValues = elements(network.inputShape);
  let widestLayer = 0;
  let perPass = 0;
  let edges = 0;
  let runtimeValues = 0;
  let products = false;
  for (const layer of network.layers) {
    const counted = parameters(layer);
    parameterCount += counted.all;
    convWeights += counted.conv;
    const out = elements(layer.outputShape);
    activationValues += out;
    widestLayer = Math.max(widestLayer, out + layer.inputShapes.reduce((sum, shape) => sum + elements(shape), 0));
    perPass += applicationCost(layer);
    edges += windowEdges(layer);
    // The session returns every layer's ONNX tensor, and a fused activation's input as well (tensorsNeeded).
    runtimeValues += (layer.onnxOutput ? out : 0) + (layer.onnxPreActivation ? out : 0);
    products ||= layer.op.kind === 'mul' || layer.op.kind === 'matMul';
  }
  const exactSide = Math.min(cutoff, widestLayer);
  const lanczos = widestLayer * LANCZOS_VECTORS * FLOAT64;
  const composedVectors = COMPOSED_VECTORS_PER_ACTIVATION + KEPT_SLOPE_VECTORS_PER_EPSILON * request.epsilonCount;
  // The search screens a batch of points at once; without it the session only runs the fidelity check's.
  const runtimePoints = request.lowerBound ? Math.max(searchBatchSize(network), FIDELITY_POINTS) : FIDELITY_POINTS;
  const parts = {
    weights: parameterCount * BYTES_PER_PARAMETER,
    activations: activationValues * VECTORS_PER_ACTIVATION * FLOAT64,
    lanczos,
    packedConv: convWeights * BYTES_PER_PACKED_CONV_WEIGHT,
    // The materialised block A D, its Gram matrix and the Cholesky factor (spectral/certifiedNorm.ts).
    exactBlocks: (DEFAULT_SPECTRAL_OPTIONS.maxExactEntries + 2 * exactSide * exactSide) * FLOAT64,
    runtime: RUNTIME_BYTES,
    // The products read their factors' reach from intervals of every tensor (layerBounds.ts).
    layerRunIntervals: products ? activationValues * INTERVAL_VECTORS * FLOAT64 : 0,
    // Its prefix norms run Lanczos over the whole network up to a layer: vectors as wide as the widest layer's.
    composed: request.composed === false
      ? 0
      : activationValues * (composedVectors * FLOAT64 + FLAG_BYTES) + edges * (BYTES_PER_EDGE + FLAG_BYTES) + lanczos,
    lowerBoundTape: request.lowerBound ? activationValues * TAPE_VECTORS_PER_ACTIVATION * FLOAT64 : 0,
    onnxruntime: request.fidelity === false
      ? 0
      : ONNXRUNTIME_BYTES + parameterCount * ONNXRUNTIME_WEIGHT_COPIES * FLOAT32 + runtimePoints * runtimeValues * ONNXRUNTIME_TENSOR_COPIES * FLOAT32,
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  const boundRuns = request.epsilonCount + (request.radius ? RADIUS_RUNS : 0);
  // A Gram product applies A and Aᵀ: two applications per Lanczos step.
  const spectralWork = boundRuns * NORMS_PER_LAYER * 2 * steps * perPass;
  // Each lower-bound evaluation is a forward, tangent or backward pass through the network.
  const lowerBoundWork = request.lowerBound ? request.epsilonCount * DEFAULT_LOWER_BOUND_BUDGET * perPass : 0;
  return { bytes, parts, multiplyAdds: spectralWork + lowerBoundWork };
}
