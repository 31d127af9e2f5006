// The fast path for the linear maps of conv and dense layers: A, Aᵀ, the squared-kernel row norms and
// the two Gram products of method.md §5, run on onnxruntime-node instead of JavaScript loops.
//
// Every layer gets ONE session over one small ONNX graph holding the layer's weights once (for convs
// W∘W is a Mul of the initializer with itself, constant-folded by onnxruntime at load; dense layers
// compute their row norms in JavaScript instead, see denseRowNormsSquared). The graph has one
// branch per product; each branch has its own batched inputs, and a call feeds the branches it does
// not need with empty (batch 0) tensors: onnxruntime runs every node of a graph whatever the fetches,
// and an empty batch makes a branch cost nothing. The scale vectors r and d are inputs, not
// initializers, so one session serves every ε of a sweep.
//
//   x  → Conv(W)                                  → ax    A x
//   y  → ConvTranspose(W)                         → aty   Aᵀ y
//
// (ConvTranspose stands for the adjoint: at stride 1 it is a Conv with the flipped, channel-swapped
// kernel, much faster in onnxruntime; strided layers keep ConvTranspose.)
//
//   n  → Conv(W∘W)                                → rn    (A∘A) n; with a 0/1 mask n: ‖a_iᵀ D‖²
//   g  → ·d → Conv(W) → ·r → ·r → ConvTranspose(W) → ·d  → sg    D Aᵀ R² A D g   (r, d: inputs g_r, g_d)
//   h  → ·r → ConvTranspose(W) → ·d → ·d → Conv(W) → ·r  → sh    R A D² Aᵀ R h   (r, d: inputs h_r, h_d)
//
// (dense layers: Gemm with transB = 1 for A, transB = 0 for Aᵀ). r has the output's shape and d the
// input's, each with a leading axis of 1 (shared by the batch) or of the batch size (one scale per
// vector, e.g. the ε values of a sweep iterated in lockstep).
//
// Arithmetic is float32 with onnxruntime's accumulation order: a caller that certifies a bound from
// these products must account for that rounding (see the report in bench/). session.run is
// asynchronous and blocks no JavaScript thread while it computes.

import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from '../src/onnx/gen/onnx_pb';
import type { AttributeProto, NodeProto, ValueInfoProto } from '../src/onnx/gen/onnx_pb';
import type { ConvParams, DenseParams, Shape } from '../src/engine/network';
import { convGeometry, type ConvGeometry } from '../src/engine/operators/conv';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;
type OrtTensor = import('onnxruntime-node').Tensor;

let ortModule: Ort | undefined;

function loadOrt(): Ort {
  // Required when first needed, as in ortForward.ts: the binding is native and kept external by esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

export interface OrtLinearOptions {
  /** Threads per operator run (default 2: this machine class has two cores). */
  intraOpNumThreads?: number;
  /**
   * Let onnxruntime pre-pack the weights into its kernels' layouts. Default: for convs only. Dense
   * products on one vector are bound by memory bandwidth, so packing gains nothing there, while it
   * tripled the session creation time of AlexNet's fc6 (0.7 → 2.2 s) and keeps extra weight copies.
   */
  prepackWeights?: boolean;
  /**
   * Keep onnxruntime's per-session memory arena (default true). An arena keeps the largest buffers a
   * session ever used, so with one session per layer and batched products on large feature maps the
   * retained buffers add up to gigabytes; without it each run allocates and frees its intermediates.
   */
  memoryArena?: boolean;
}

/** D Aᵀ R² A D (input side) or R A D² Aᵀ R (output side) for fixed r and d, applied to batches. */
export interface OrtGram {
  /** Length of the vectors it maps (inSize for the input side, outSize for the output side). */
  readonly size: number;
  /** Floating-point operations of one product on one vector (multiply and add counted apart). */
  readonly flops: number;
  /** S x for `batch` vectors stored one after the other in x. */
  applyGram(x: Float32Array, batch?: number): Promise<Float32Array>;
}

const INPUTS = { x: 'x', y: 'y', n: 'n', g: 'g', gr: 'g_r', gd: 'g_d', h: 'h', hr: 'h_r', hd: 'h_d' } as const;
/** Inputs with the shape of A x; the others have the shape of x. */
const OUTPUT_SHAPED: ReadonlySet<string> = new Set([INPUTS.y, INPUTS.h, INPUTS.gr, INPUTS.hr]);
const OUTPUTS = ['ax', 'aty', 'rn', 'sg', 'sh'] as const;
type OutputName = (typeof OUTPUTS)[number];

export class OrtLinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  /** Floating-point operations of one A x (2 per multiply-add; Aᵀ y costs the same). */
  readonly flops: number;
  private readonly empty = new Map<string, OrtTensor>();
  private readonly inputs: string[];

  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    readonly name: string,
    /** Batchless shapes of x and of A x. */
    readonly inputShape: Shape,
    readonly outputShape: Shape,
    multiplyAdds: number,
    /** Dense weights [out, in] when the row norms are computed here rather than in the graph. */
    private readonly denseWeight: Float32Array | null,
  ) {
    this.inputs = Object.values(INPUTS).filter((input) => !(denseWeight && input === INPUTS.n));
    this.inSize = inputShape.reduce((a, b) => a * b, 1);
    this.outSize = outputShape.reduce((a, b) => a * b, 1);
    this.flops = 2 * multiplyAdds;
  }

  /** One session for a conv or dense layer; `inputShape` is the layer's batchless input shape. */
  static async create(
    params: ConvParams | DenseParams,
    inputShape: Shape,
    name: string,
    options: OrtLinearOptions = {},
  ): Promise<OrtLinearOperator> {
    const ort = loadOrt();
    const built = params.kind === 'conv' ? convGraph(params, inputShape, name) : denseGraph(params, inputShape, name);
    let session: Session;
    try {
      session = await ort.InferenceSession.create(built.bytes, {
        intraOpNumThreads: options.intraOpNumThreads ?? 2,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        enableCpuMemArena: options.memoryArena ?? true,
        ...((options.prepackWeights ?? params.kind === 'conv') ? {} : { extra: { session: { disable_prepacking: '1' } } }),
      });
    } catch (cause) {
      throw new Error(`${name}: onnxruntime cannot load the operator graph: ${(cause as Error).message}`);
    }
    const denseWeight = params.kind === 'dense' ? params.weight : null;
    return new OrtLinearOperator(ort, session, name, built.inputShape, built.outputShape, built.multiplyAdds, denseWeight);
  }

  /** A x for `batch` vectors (no bias). */
  async apply(x: Float32Array, batch = 1): Promise<Float32Array> {
    return this.run('ax', { [INPUTS.x]: this.batched(x, this.inputShape, batch, 'apply') });
  }

  /** Aᵀ y for `batch` vectors. */
  async applyTranspose(y: Float32Array, batch = 1): Promise<Float32Array> {
    return this.run('aty', { [INPUTS.y]: this.batched(y, this.outputShape, batch, 'applyTranspose') });
  }

  /** (A∘A) d for `batch` vectors d of input size: ‖a_iᵀ D‖² when d is a 0/1 mask. */
  async rowNormsSquared(d: Float32Array, batch = 1): Promise<Float32Array> {
    const feed = this.batched(d, this.inputShape, batch, 'rowNormsSquared');
    if (this.denseWeight) return denseRowNormsSquared(this.denseWeight, this.outSize, this.inSize, d, batch);
    return this.run('rn', { [INPUTS.n]: feed });
  }

  /**
   * The Gram operator for row scales r (output size; R = diag(r)) and column scales d (input size;
   * usually the 0/1 mask D), each given once or once per vector of the batches it will be applied to.
   * side 'input' is D Aᵀ R² A D (size inSize), 'output' is R A D² Aᵀ R (size outSize): the same
   * non-zero spectrum, so the caller iterates on the smaller.
   */
  gram(r: Float32Array, d: Float32Array, side: 'input' | 'output' = 'input'): OrtGram {
    const rBatch = scaleBatch(r, this.outSize, `${this.name}: gram row scales`);
    const dBatch = scaleBatch(d, this.inSize, `${this.name}: gram column scales`);
    const rTensor = new this.ort.Tensor('float32', r, [rBatch, ...this.outputShape]);
    const dTensor = new this.ort.Tensor('float32', d, [dBatch, ...this.inputShape]);
    const input = side === 'input';
    const shape = input ? this.inputShape : this.outputShape;
    const size = input ? this.inSize : this.outSize;
    const check = (batch: number) => {
      for (const [what, scales] of [['row', rBatch], ['column', dBatch]] as const) {
        if (scales !== 1 && scales !== batch) {
          throw new Error(`${this.name}: gram has ${scales} sets of ${what} scales, applied to a batch of ${batch}`);
        }
      }
    };
    return {
      size,
      flops: 2 * this.flops,
      applyGram: async (x, batch = 1) => {
        check(batch);
        const feed = this.batched(x, shape, batch, 'applyGram');
        return input
          ? this.run('sg', { [INPUTS.g]: feed, [INPUTS.gr]: rTensor, [INPUTS.gd]: dTensor })
          : this.run('sh', { [INPUTS.h]: feed, [INPUTS.hr]: rTensor, [INPUTS.hd]: dTensor });
      },
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private batched(values: Float32Array, shape: Shape, batch: number, what: string): OrtTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batch) || batch < 1 || values.length !== batch * size) {
      throw new Error(`${this.name}: ${what} got ${values.length} values, expected ${batch} × ${size}`);
    }
    return new this.ort.Tensor('float32', values, [batch, ...shape]);
  }

  /** An empty batch for an input this run does not use (its branch then costs nothing). */
  private emptyFeed(input: string): OrtTensor {
    let tensor = this.empty.get(input);
    if (!tensor) {
      const shape = OUTPUT_SHAPED.has(input) ? this.outputShape : this.inputShape;
      tensor = new this.ort.Tensor('float32', new Float32Array(0), [0, ...shape]);
      this.empty.set(input, tensor);
    }
    return tensor;
  }

  private async run(output: OutputName, used: Record<string, OrtTensor>): Promise<Float32Array> {
    const feeds: Record<string, OrtTensor> = {};
    for (const input of this.inputs) feeds[input] = used[input] ?? this.emptyFeed(input);
    let results;
    try {
      results = await this.session.run(feeds, [output]);
    } catch (cause) {
      throw new Error(`${this.name}: onnxruntime failed computing '${output}': ${(cause as Error).message}`);
    }
    return results[output].data as Float32Array;
  }
}

/**
 * (W∘W) d for a dense layer, in JavaScript with float64 sums: a dense graph holding W∘W would keep a
 * second copy of the layer's weights in onnxruntime for the whole analysis (234 MB for AlexNet's fc
 * layers), while this runs once per ε and reads W once.
 */
function denseRowNormsSquared(weight: Float32Array, rows: number, cols: number, d: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    const mask = d.subarray(b * cols, (b + 1) * cols);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const w = weight[base + j];
        sum += w * w * mask[j];
      }
      out[b * rows + i] = sum;
    }
  }
  return out;
}

function scaleBatch(values: Float32Array, size: number, what: string): number {
  if (values.length === 0 || values.length % size !== 0) {
    throw new Error(`${what}: ${values.length} values is not a whole number of vectors of ${size}`);
  }
  return values.length / size;
}

interface BuiltGraph {
  bytes: Uint8Array;
  inputShape: Shape;
  outputShape: Shape;
  multiplyAdds: number;
}

function ints(name: string, values: readonly number[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map((v) => BigInt(v)) });
}

function int(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
}

function onnxNode(opType: string, inputs: string[], output: string, attribute: AttributeProto[] = []): NodeProto {
  return create(NodeProtoSchema, { name: output, opType, input: inputs, output: [output], attribute });
}

function valueInfo(name: string, shape: readonly (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  const tensorType = create(TypeProto_TensorSchema, {
    elemType: TensorProto_DataType.FLOAT,
    shape: create(TensorShapeProtoSchema, { dim }),
  });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

interface WeightTensor {
  data: Float32Array;
  dims: readonly number[];
}

function weightInitializer(name: string, weight: WeightTensor) {
  return create(TensorProtoSchema, {
    name,
    dims: weight.dims.map((d) => BigInt(d)),
    dataType: TensorProto_DataType.FLOAT,
    rawData: new Uint8Array(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength),
  });
}

/**
 * The five-branch graph around a forward node `A(in, out)` and its adjoint `At(in, out)`: the weight
 * initializer W (a view of the caller's array; toBinary copies it once into the model bytes),
 * W2 = W∘W for the row norms, and the adjoint's own weights WT when it needs them rearranged.
 */
function operatorGraph(
  name: string,
  weight: WeightTensor,
  adjointWeight: WeightTensor | null,
  inputShape: Shape,
  outputShape: Shape,
  forward: (input: string, weight: string, output: string) => NodeProto,
  adjoint: (input: string, weight: string, output: string) => NodeProto,
  rowNorms: boolean,
): Uint8Array {
  const W = 'W';
  const W2 = 'W2';
  const WT = adjointWeight ? 'WT' : W;
  const nodes: NodeProto[] = [
    ...(rowNorms ? [onnxNode('Mul', [W, W], W2), forward(INPUTS.n, W2, 'rn')] : []),
    forward(INPUTS.x, W, 'ax'),
    adjoint(INPUTS.y, WT, 'aty'),
    onnxNode('Mul', [INPUTS.g, INPUTS.gd], 'g_dg'),
    forward('g_dg', W, 'g_adg'),
    onnxNode('Mul', ['g_adg', INPUTS.gr], 'g_radg'),
    onnxNode('Mul', ['g_radg', INPUTS.gr], 'g_rradg'),
    adjoint('g_rradg', WT, 'g_atrradg'),
    onnxNode('Mul', ['g_atrradg', INPUTS.gd], 'sg'),
    onnxNode('Mul', [INPUTS.h, INPUTS.hr], 'h_rh'),
    adjoint('h_rh', WT, 'h_atrh'),
    onnxNode('Mul', ['h_atrh', INPUTS.hd], 'h_datrh'),
    onnxNode('Mul', ['h_datrh', INPUTS.hd], 'h_ddatrh'),
    forward('h_ddatrh', W, 'h_addatrh'),
    onnxNode('Mul', ['h_addatrh', INPUTS.hr], 'sh'),
  ];
  const inputShapeOf = (input: string) => (OUTPUT_SHAPED.has(input) ? outputShape : inputShape);
  const outputShapeOf = (output: OutputName) => (output === 'aty' || output === 'sg' ? inputShape : outputShape);
  // One symbolic batch size per branch: onnxruntime plans buffers by dim_param and fails when two
  // tensors that share a name get different sizes (a used branch beside an empty one).
  const branchOf: Record<OutputName, string> = { ax: INPUTS.x, aty: INPUTS.y, rn: INPUTS.n, sg: INPUTS.g, sh: INPUTS.h };
  const graph = create(GraphProtoSchema, {
    name,
    node: nodes,
    initializer: adjointWeight ? [weightInitializer(W, weight), weightInitializer(WT, adjointWeight)] : [weightInitializer(W, weight)],
    input: Object.values(INPUTS)
      .filter((input) => rowNorms || input !== INPUTS.n)
      .map((input) => valueInfo(input, [`${input}_batch`, ...inputShapeOf(input)])),
    output: OUTPUTS.filter((output) => rowNorms || output !== 'rn').map((output) =>
      valueInfo(output, [`${branchOf[output]}_batch`, ...outputShapeOf(output)]),
    ),
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'lipschitz-lens',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
    graph,
  });
  return toBinary(ModelProtoSchema, model);
}

/** output_padding that makes the transposed convolution return exactly the input's spatial size. */
export function outputPadding(g: ConvGeometry, padBottom: number, padRight: number): [number, number] {
  const restored = (out: number, stride: number, kernel: number, dilation: number, padBegin: number, padEnd: number) =>
    stride * (out - 1) + dilation * (kernel - 1) + 1 - padBegin - padEnd;
  return [
    g.inHeight - restored(g.outHeight, g.strideH, g.kernelH, g.dilationH, g.padTop, padBottom),
    g.inWidth - restored(g.outWidth, g.strideW, g.kernelW, g.dilationW, g.padLeft, padRight),
  ];
}

/**
 * Pads of the stride-1 convolution that is the adjoint of this one (kernel flipped, channels swapped):
 * output position o reads input o + k·dilation − padBegin, so the adjoint reads with the complementary
 * pads dilation·(kernel − 1) − pad, which restore the input size. Null when the forward conv is strided
 * or pads more than dilation·(kernel − 1) (the adjoint would need negative pads).
 */
export function flippedConvPads(g: ConvGeometry, padBottom: number, padRight: number): number[] | null {
  if (g.strideH !== 1 || g.strideW !== 1) return null;
  const spanH = g.dilationH * (g.kernelH - 1);
  const spanW = g.dilationW * (g.kernelW - 1);
  const pads = [spanH - g.padTop, spanW - g.padLeft, spanH - padBottom, spanW - padRight];
  return pads.every((p) => p >= 0) ? pads : null;
}

/** W'[c, m, i, j] = W[m, c, kH−1−i, kW−1−j] within each group: the kernel of the adjoint convolution. */
function flippedTransposedKernel(weight: Float32Array, g: ConvGeometry): Float32Array {
  const outPerGroup = g.outChannels / g.group;
  const inPerGroup = g.inChannels / g.group;
  const taps = g.kernelH * g.kernelW;
  const flipped = new Float32Array(weight.length);
  for (let group = 0; group < g.group; group++) {
    for (let m = 0; m < outPerGroup; m++) {
      for (let c = 0; c < inPerGroup; c++) {
        const from = ((group * outPerGroup + m) * inPerGroup + c) * taps;
        const to = ((group * inPerGroup + c) * outPerGroup + m) * taps;
        for (let t = 0; t < taps; t++) flipped[to + t] = weight[from + taps - 1 - t];
      }
    }
  }
  return flipped;
}

function convGraph(params: ConvParams, inputShape: Shape, name: string): BuiltGraph {
  const g = convGeometry(params, inputShape, name);
  const [, , padBottom, padRight] = params.pads;
  const geometry = [
    ints('kernel_shape', [g.kernelH, g.kernelW]),
    ints('strides', [g.strideH, g.strideW]),
    ints('pads', [...params.pads]),
    ints('dilations', [g.dilationH, g.dilationW]),
    int('group', g.group),
  ];
  const outputShape = [g.outChannels, g.outHeight, g.outWidth];
  const forward = (input: string, weight: string, output: string) => onnxNode('Conv', [input, weight], output, geometry);
  const adjointPads = flippedConvPads(g, padBottom, padRight);
  let bytes: Uint8Array;
  if (adjointPads) {
    // onnxruntime's ConvTranspose goes through a column buffer of kernel × input size and runs at a
    // fraction of Conv's speed on large maps; at stride 1 the adjoint is itself a convolution.
    const adjointGeometry = [
      ints('kernel_shape', [g.kernelH, g.kernelW]),
      ints('pads', adjointPads),
      ints('dilations', [g.dilationH, g.dilationW]),
      int('group', g.group),
    ];
    bytes = operatorGraph(
      name,
      { data: params.weight, dims: params.weightShape },
      { data: flippedTransposedKernel(params.weight, g), dims: [g.inChannels, g.outChannels / g.group, g.kernelH, g.kernelW] },
      inputShape,
      outputShape,
      forward,
      (input, weight, output) => onnxNode('Conv', [input, weight], output, adjointGeometry),
      true,
    );
  } else {
    const outputPads = outputPadding(g, padBottom, padRight);
    bytes = operatorGraph(
      name,
      { data: params.weight, dims: params.weightShape },
      null,
      inputShape,
      outputShape,
      forward,
      (input, weight, output) => onnxNode('ConvTranspose', [input, weight], output, [...geometry, ints('output_padding', outputPads)]),
      true,
    );
  }
  const multiplyAdds = g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.group) * g.kernelH * g.kernelW;
  return { bytes, inputShape, outputShape, multiplyAdds };
}

function denseGraph(params: DenseParams, inputShape: Shape, name: string): BuiltGraph {
  const { outFeatures, inFeatures } = params;
  if (params.weight.length !== outFeatures * inFeatures) {
    throw new Error(`${name}: dense weight has ${params.weight.length} values, expected ${outFeatures}×${inFeatures}`);
  }
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (size !== inFeatures) throw new Error(`${name}: dense input shape [${inputShape.join(', ')}] has ${size} values, expected ${inFeatures}`);
  const bytes = operatorGraph(
    name,
    { data: params.weight, dims: [outFeatures, inFeatures] },
    null,
    [inFeatures],
    [outFeatures],
    (input, weight, output) => onnxNode('Gemm', [input, weight], output, [int('transB', 1)]),
    (input, weight, output) => onnxNode('Gemm', [input, weight], output),
    false,
  );
  return { bytes, inputShape: [inFeatures], outputShape: [outFeatures], multiplyAdds: outFeatures * inFeatures };
}
