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
 * 3-D convolution (ONNX Conv over [N, C, D, H, W]): the same map as ConvParams with a depth axis
 * (docs/derivations.md §34). Kept a kind of its own so the 2-D kernels' fixed geometry stays as it is.
 */
export interface Conv3dParams {
  kind: 'conv3d';
  /** ONNX layout [outChannels, inChannels / group, kernelD, kernelH, kernelW], C order. */
  weight: Float32Array;
  weightShape: readonly [number, number, number, number, number];
  bias?: Float32Array;
  strides: readonly [number, number, number];
  /** [front, top, left, back, bottom, right], as ONNX orders 3-D pads. */
  pads: readonly [number, number, number, number, number, number];
  dilations: readonly [number, number, number];
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

/** ConvTransposeParams with a depth axis: the adjoint of a Conv3dParams convolution (docs/derivations.md §21, §34). */
export interface ConvTranspose3dParams {
  kind: 'convTranspose3d';
  /** ONNX layout [inChannels, outChannels / group, kernelD, kernelH, kernelW], C order. */
  weight: Float32Array;
  weightShape: readonly [number, number, number, number, number];
  /** Per output channel (outChannels values). */
  bias?: Float32Array;
  strides: readonly [number, number, number];
  /** [front, top, left, back, bottom, right] */
  pads: readonly [number, number, number, number, number, number];
  dilations: readonly [number, number, number];
  group: number;
  outputPadding: readonly [number, number, number];
}

export interface DenseParams {
  kind: 'dense';
  /** [outFeatures, inFeatures], C order: y = W x + b. */
  weight: Float32Array;
  outFeatures: number;
  inFeatures: number;
  bias?: Float32Array;
  /**
   * The map applied to each of this many consecutive rows (MatMul of a [.., rows, inFeatures] tensor;
   * absent: 1). The bias is per output feature, the same for every row.
   */
  rows?: number;
}

/** A per-channel affine map y[c,...] = scale[c] x[c,...] + shift[c] (standalone batch normalisation). */
export interface ChannelAffineParams {
  kind: 'channelAffine';
  scale: Float32Array;
  shift: Float32Array;
  /**
   * The batchless axis the scale and shift vary along (default 0, the channels): a constant Mul or Add
   * along the features of [tokens, features] (LayerNorm's scale and shift, a bias after a row-wise MatMul).
   */
  axis?: number;
  /**
   * A constant added element by element, one value per coordinate of the layer (x + C, x − C, C − x for
   * a constant C of the data's shape or broadcasting to it: positional tables, additive masks;
   * docs/derivations.md §33). Given with a zero shift, so the bias is exactly C. Such a layer, like one
   * along another axis, is emitted on its own and never fused.
   */
  offset?: Float32Array;
}

export type LinearParams = ConvParams | Conv3dParams | ConvTransposeParams | ConvTranspose3dParams | DenseParams | ChannelAffineParams;

export type Activation =
  | { kind: 'relu' }
  | { kind: 'leakyRelu'; alpha: number }
  | { kind: 'clip'; min: number; max: number }
  | { kind: 'hardSigmoid'; alpha: number; beta: number }
  | { kind: 'sigmoid' }
  | { kind: 'tanh' }
  /** y · max(0, min(1, α y + β)) with α > 0 (ONNX HardSwish: α = 1/6, β = 1/2). */
  | { kind: 'hardSwish'; alpha: number; beta: number }
  /**
   * Smooth maps with a singularity or a growing slope and no global Lipschitz constant: natural log,
   * square root, 1/y, y^exponent (docs/derivations.md §24). Their slopes come from the reachable
   * interval only; an interval reaching a singularity has no bound and the layer is refused.
   */
  | { kind: 'log' }
  | { kind: 'sqrt' }
  | { kind: 'reciprocal' }
  | { kind: 'power'; exponent: number };

/** A 2-D ([H, W]) or 3-D ([D, H, W]) pooling window; 1-D pooling is 2-D over a height-1 input. */
export interface PoolParams {
  kernel: readonly number[];
  strides: readonly number[];
  /** Begin pads of every spatial axis, then end pads: [top, left, bottom, right] in 2-D. */
  pads: readonly number[];
  dilations: readonly number[];
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
  /** Σ signs[k] a_k (all +1 when absent): residual Add, and Sub of two computed tensors (signs [1, −1]). */
  | { kind: 'add'; signs?: number[] }
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
   * Softmax over one batchless axis, anywhere but the analysed output (docs/derivations.md §30); with
   * flattenTail, over every axis from `axis` on at once (ONNX before opset 13 coerces to 2-D).
   */
  | { kind: 'softmax'; axis: number; flattenTail?: boolean }
  /**
   * C = A B for two computed tensors (inputs [A, B]): [..., m, k] times [..., k, n] with the same
   * leading dims, one matrix product per leading index (attention's QKᵀ and P·V; §31).
   */
  | { kind: 'matMul' }
  /**
   * y = a ⊙ B b for two computed tensors (inputs [a, b]): b has a's rank and each of its extents is
   * a's or 1, B replicates it (docs/derivations.md §20). Squeeze-excitation gates, x · gate(x).
   * With divide: y = a ⊘ B b, b's reachable values bounded away from 0 (§28).
   */
  | { kind: 'mul'; divide?: boolean }
  /**
   * Layer normalisation (docs/derivations.md §23): each group of n = Π outputShape[axis..] consecutive
   * values is centred and divided by sqrt(its variance + epsilon), then multiplied by scale and shifted
   * by bias (both of length n, broadcast over the groups; absent: 1 and 0). axis is batchless.
   */
  | { kind: 'layerNorm'; axis: number; epsilon: number; scale?: Float32Array; bias?: Float32Array }
  /**
   * The largest value over the given batchless axes (ONNX ReduceMax): disjoint windows of equal size,
   * one per combination of the other axes (docs/derivations.md §26). The output shape may drop the
   * reduced axes (keepdims 0).
   */
  | { kind: 'reduceMax'; axes: number[] }
  /**
   * y = max(a, B b) elementwise for two computed tensors (inputs [a, b]): b's shape, aligned to the
   * right, has a's extents or 1 and B replicates it (Max of two computed tensors, Clip with a computed
   * min; docs/derivations.md §27).
   */
  | { kind: 'maximum' };

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
