// Attribute defaults of the default-domain (ai.onnx) operators, as the ONNX operator specification
// (docs/Operators.md) states them. Only defaults that do not depend on a tensor's rank are listed;
// rank-dependent ones (strides, dilations, pads, Transpose perm) are resolved where the rank is known
// (see autoPad.ts). A default that changed between opset versions is a function of the opset.

export type DefaultValue = number | string | readonly number[];
type DefaultEntry = DefaultValue | ((opset: number) => DefaultValue | undefined);

const FLOAT_MAX = 3.4028234663852886e38;

const AUTO_PAD = { auto_pad: 'NOTSET' };
const REDUCE = { keepdims: 1, noop_with_empty_axes: 0 };
const ARG_REDUCE = { axis: 0, keepdims: 1, select_last_index: 0 };
const SOFTMAX_AXIS = { axis: (opset: number) => (opset < 13 ? 1 : -1) };

const DEFAULTS: Record<string, Record<string, DefaultEntry>> = {
  Conv: { ...AUTO_PAD, group: 1 },
  ConvTranspose: { ...AUTO_PAD, group: 1 },
  ConvInteger: { ...AUTO_PAD, group: 1 },
  QLinearConv: { ...AUTO_PAD, group: 1 },
  MaxPool: { ...AUTO_PAD, ceil_mode: 0, storage_order: 0 },
  AveragePool: { ...AUTO_PAD, ceil_mode: 0, count_include_pad: 0 },
  LpPool: { ...AUTO_PAD, ceil_mode: 0, p: 2 },
  GlobalLpPool: { p: 2 },
  Gemm: { alpha: 1, beta: 1, transA: 0, transB: 0 },
  BatchNormalization: {
    epsilon: 1e-5,
    momentum: 0.9,
    training_mode: 0,
    spatial: (opset: number) => (opset < 9 ? 1 : undefined),
  },
  InstanceNormalization: { epsilon: 1e-5 },
  LayerNormalization: { axis: -1, epsilon: 1e-5, stash_type: 1 },
  GroupNormalization: { epsilon: 1e-5, stash_type: 1 },
  LRN: { alpha: 0.0001, beta: 0.75, bias: 1 },
  Flatten: { axis: 1 },
  Concat: { axis: (opset: number) => (opset < 4 ? 1 : undefined) },
  Softmax: SOFTMAX_AXIS,
  LogSoftmax: SOFTMAX_AXIS,
  Hardmax: SOFTMAX_AXIS,
  LeakyRelu: { alpha: 0.01 },
  Elu: { alpha: 1 },
  Celu: { alpha: 1 },
  Selu: { alpha: 1.67326319217681884765625, gamma: 1.05070102214508056640625 },
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  ThresholdedRelu: { alpha: 1 },
  Gelu: { approximate: 'none' },
  Clip: {
    min: (opset: number) => (opset < 11 ? -FLOAT_MAX : undefined),
    max: (opset: number) => (opset < 11 ? FLOAT_MAX : undefined),
  },
  Dropout: { ratio: (opset: number) => (opset < 12 ? 0.5 : undefined) },
  Reshape: { allowzero: 0 },
  Gather: { axis: 0 },
  GatherElements: { axis: 0 },
  Split: { axis: 0 },
  Pad: {
    mode: 'constant',
    value: (opset: number) => (opset < 11 ? 0 : undefined),
  },
  Shape: { start: 0 },
  DepthToSpace: { mode: 'DCR' },
  ReduceMean: REDUCE,
  ReduceSum: REDUCE,
  ReduceMax: REDUCE,
  ReduceMin: REDUCE,
  ReduceProd: REDUCE,
  ReduceL1: REDUCE,
  ReduceL2: REDUCE,
  ReduceLogSum: REDUCE,
  ReduceLogSumExp: REDUCE,
  ReduceSumSquare: REDUCE,
  ArgMax: ARG_REDUCE,
  ArgMin: ARG_REDUCE,
  CumSum: { exclusive: 0, reverse: 0 },
  Resize: {
    mode: 'nearest',
    coordinate_transformation_mode: 'half_pixel',
    nearest_mode: 'round_prefer_floor',
    cubic_coeff_a: -0.75,
    exclude_outside: 0,
    extrapolation_value: 0,
    antialias: 0,
    keep_aspect_ratio_policy: 'stretch',
  },
  Upsample: { mode: 'nearest' },
  TopK: { axis: -1, largest: 1, sorted: 1 },
};

/** The specification's default for an attribute of a default-domain operator, or undefined if it has none. */
export function attributeDefault(opType: string, name: string, opset: number): DefaultValue | undefined {
  // hasOwn: operator and attribute names come from the file and may be "constructor" or "__proto__".
  const op = Object.hasOwn(DEFAULTS, opType) ? DEFAULTS[opType] : undefined;
  const entry = op && Object.hasOwn(op, name) ? op[name] : undefined;
  return typeof entry === 'function' ? entry(opset) : entry;
}
