// The analysis graph: what the bound engine works on, produced from an ONNX graph by the normaliser.
// Shapes never include the batch dimension (the engine analyses one input at a time).
import type { Tensor } from '../onnx/tensor';

export type Shape = readonly number[];

/** Index of a layer whose output feeds another layer; NETWORK_INPUT is the model input. */
export type TensorRef = number;
export const NETWORK_INPUT: TensorRef = -1;

export interface ConvParams {
  kind: 'conv';
  /** ONNX layout [outChannels, inChannels / group, kernelH, kernelW], C order. */
  weight: Float32Array;
  weightShape: readonly [number, number, number, number];
  bias?: Float32Array;
  strides: readonly [number, number];
  /** [top, left, bottom, right], as ONNX orders 2-D pads. */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  group: number;
}

/**
 * ONNX ConvTranspose: the adjoint of the convolution with this weight read as a conv weight
 * (docs/derivations.md §21). Output extent per axis: s (n − 1) + outputPadding + (k − 1) d + 1 − pads.
 */
export interface ConvTransposeParams {
  kind: 'convTranspose';
  /** ONNX layout [inChannels, outChannels / group, kernelH, kernelW], C order. */
  weight: Float32Array;
  weightShape: readonly [number, number, number, number];
  /** Per output channel (outChannels values). */
  bias?: Float32Array;
  strides: readonly [number, number];
  /** [top, left, bottom, right] */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  group: number;
  outputPadding: readonly [number, number];
}

export interface DenseParams {
  kind: 'dense';
  /** [outFeatures, inFeatures], C order: y = W x + b. */
  weight: Float32Array;
  outFeatures: number;
  inFeatures: number;
  bias?: Float32Array;
}

/** A per-channel affine map y[c,...] = scale[c] x[c,...] + shift[c] (standalone batch normalisation). */
export interface ChannelAffineParams {
  kind: 'channelAffine';
  scale: Float32Array;
  shift: Float32Array;
}

export type LinearParams = ConvParams | ConvTransposeParams | DenseParams | ChannelAffineParams;

export type Activation =
  | { kind: 'relu' }
  | { kind: 'leakyRelu'; alpha: number }
  | { kind: 'clip'; min: number; max: number }
  | { kind: 'hardSigmoid'; alpha: number; beta: number }
  | { kind: 'sigmoid' }
  | { kind: 'tanh' }
  /** y · max(0, min(1, α y + β)) with α > 0 (ONNX HardSwish: α = 1/6, β = 1/2). */
  | { kind: 'hardSwish'; alpha: number; beta: number };

export interface PoolParams {
  kernel: readonly [number, number];
  strides: readonly [number, number];
  /** [top, left, bottom, right] */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
}

/** One term of a row of a per-axis matrix: weight · x[index] along that axis. */
export interface AxisTerm {
  index: number;
  weight: number;
}

/** The matrix M_d of one axis of an 'axisMap' layer: rows[i] lists the terms of output index i. */
export interface AxisMatrix {
  inExtent: number;
  rows: AxisTerm[][];
}

export type LayerOp =
  /** Affine map, optionally followed by an activation in the same unit (the paper's affine-ReLU function). */
  | { kind: 'affine'; linear: LinearParams; activation?: Activation }
  /** An activation that does not follow an affine map directly (e.g. ReLU after a residual Add). */
  | { kind: 'activation'; activation: Activation }
  | ({ kind: 'maxPool' } & PoolParams)
  | ({ kind: 'avgPool'; countIncludePad: boolean } & PoolParams)
  | { kind: 'globalAvgPool' }
  /** Flatten, Reshape, Dropout, Identity: values unchanged, only the shape. */
  | { kind: 'reshape' }
  | { kind: 'add' }
  /**
   * A permutation of the batchless axes (ONNX Transpose with the batch axis left in place): output
   * axis d is input axis perm[d]. The values are only reordered, so it is an isometry.
   */
  | { kind: 'transpose'; perm: number[] }
  /** axis indexes the batchless shapes (ONNX axis − 1 for an NCHW model with a batch axis). */
  | { kind: 'concat'; axis: number }
  /**
   * A linear map acting on each batchless axis separately, A = M_1 ⊗ … ⊗ M_r with weights ≥ 0 (Slice,
   * Split, Gather with constant indices, ReduceMean/ReduceSum, Resize; docs/derivations.md §18). The
   * output shape may differ from the per-axis extents by a reshape (Gather's scalar index, keepdims 0).
   */
  | { kind: 'axisMap'; axes: AxisMatrix[] }
  /**
   * y = a ⊙ B b for two computed tensors (inputs [a, b]): b has a's rank and each of its extents is
   * a's or 1, B replicates it (docs/derivations.md §20). Squeeze-excitation gates, x · gate(x).
   */
  | { kind: 'mul' };

export interface Layer {
  /** Short label for tables: e.g. "conv1+relu". */
  label: string;
  /** The ONNX node names this layer came from, in graph order. */
  nodes: string[];
  /** The ONNX op types of those nodes, same order. */
  opTypes: string[];
  op: LayerOp;
  inputs: TensorRef[];
  inputShapes: Shape[];
  outputShape: Shape;
  /** ONNX tensor holding this layer's output (after the activation, if any). */
  onnxOutput: string;
  /** ONNX tensor holding the affine output before the activation, when the unit has one. */
  onnxPreActivation?: string;
}

/** A graph input held at a fixed value while the bounds are taken with respect to another input. */
export interface FixedInput {
  name: string;
  /** Its value, with the declared data type and the full shape (batch axis included). */
  tensor: Tensor;
  /** The file its values came from, or 'zeros'. */
  source: string;
}

export interface Network {
  /** The graph input the bounds are taken with respect to. */
  inputName: string;
  inputShape: Shape;
  /** Topological order: a layer only refers to earlier layers or to NETWORK_INPUT. */
  layers: Layer[];
  /** The layer whose output is the model output being bounded. */
  output: TensorRef;
  /** The graph outputs bounded (stacked into one vector when there are several). */
  outputNames?: string[];
  /** The other graph inputs, held fixed (folded into the layers as constants). */
  fixedInputs?: FixedInput[];
}
