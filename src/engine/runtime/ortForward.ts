// The nominal forward pass on onnxruntime-node: every tensor the engine needs (each layer's output and
// pre-activation) is added to the model as a name-only graph output, the ModelProto is re-encoded in
// memory and run once on x0. For a model file the re-encoded copy is graph-only: its weights point
// (as external data) at their bytes in the original file, which onnxruntime reads from the model's
// folder, so no weight is copied by us and no temporary file is written. The model file is only
// read. onnxruntime-node is required at call time, so modules
// that never run a model do not load the native binding.

import { basename, dirname, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, ValueInfoProtoSchema } from '../../onnx/gen/onnx_pb';
import type { ModelProto, TensorProto, TensorShapeProto_Dimension, ValueInfoProto } from '../../onnx/gen/onnx_pb';
import { OnnxError } from '../../onnx/onnxError';
import { graphBytes } from '../../onnx/payloadLayout';
import { DataType, type Tensor } from '../../onnx/tensor';
import type { ForwardProvider, NominalValues } from '../forward';
import { NETWORK_INPUT, type FixedInput, type Network } from '../network';

type Ort = typeof import('onnxruntime-node');

let ortModule: Ort | undefined;

function loadOrt(): Ort {
  // A plain require, resolved when first needed: the native binding is heavy and esbuild keeps this
  // package external (dynamic import() cannot resolve its legacy "main" field from ESM).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

export interface OrtForwardOptions {
  /** Threads for one operator (default 2: this machine class has two cores and the UI must stay responsive). */
  intraOpNumThreads?: number;
  /** Graph inputs held at fixed values, fed on every run beside the varying input. */
  fixedInputs?: readonly FixedInput[];
}

export interface OrtInput {
  name: string;
  /** Full ONNX shape, batch axis included. */
  shape: readonly number[];
  data: Float32Array;
}

export interface OrtForwardResult {
  values: Map<string, Float32Array>;
  /** Shapes the runtime reports (batch axis included), for checking our shape inference. */
  dims: Map<string, number[]>;
}

const MIN_EXTERNAL_BYTES = 1024;

/** Turns an inline raw_data tensor into an external-data pointer at its own bytes in the model file. */
function pointIntoFile(tensor: TensorProto, bytes: Uint8Array, location: string): void {
  const raw = tensor.rawData;
  if (tensor.dataLocation === TensorProto_DataLocation.EXTERNAL || raw.length < MIN_EXTERNAL_BYTES || raw.buffer !== bytes.buffer) return;
  const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
  tensor.externalData = [entry('location', location), entry('offset', String(raw.byteOffset - bytes.byteOffset)), entry('length', String(raw.length))];
  tensor.dataLocation = TensorProto_DataLocation.EXTERNAL;
  tensor.rawData = new Uint8Array(0);
}

function hasExternalData(proto: ModelProto): boolean {
  const graph = proto.graph!;
  return (
    graph.initializer.some((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL) ||
    graph.node.some((n) => n.attribute.some((a) => a.t?.dataLocation === TensorProto_DataLocation.EXTERNAL))
  );
}

export interface ForwardModel {
  /** The ModelProto to load, with the requested tensors as graph outputs. */
  buffer: Uint8Array;
  /** Folder that external-data locations in `buffer` are relative to (the model's own folder). */
  externalFolder?: string;
}

/**
 * The model prepared for the forward pass: `names` added as graph outputs (names already there, or
 * the input, are skipped). Given the model's path, every sizeable raw_data tensor becomes an
 * external-data pointer at its own bytes in the model file, so the buffer is a small graph-only copy
 * and onnxruntime reads the weights straight from the file (resolved in the model's folder, as are
 * the model's own external data files). Given bytes alone, the weights are re-encoded inline.
 */
export function prepareForwardModel(bytes: Uint8Array, names: readonly string[], path?: string, batchInput?: string): ForwardModel {
  const file = path ?? '<bytes>';
  let proto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (cause) {
    throw new OnnxError(`cannot be decoded for the forward pass: ${(cause as Error).message}`, { file });
  }
  const graph = proto.graph;
  if (!graph) throw new OnnxError('has no graph', { file, field: 'graph' });
  const present = new Set([...graph.output.map((o) => o.name), ...graph.input.map((i) => i.name)]);
  for (const name of names) {
    if (present.has(name)) continue;
    present.add(name);
    graph.output.push(create(ValueInfoProtoSchema, { name }));
  }
  if (batchInput !== undefined) openBatchAxis(graph, batchInput);
  if (!path) {
    if (hasExternalData(proto)) {
      throw new OnnxError('keeps weights in external data files, which cannot be located for a model given as bytes; pass its path', { file });
    }
    return { buffer: toBinary(ModelProtoSchema, proto) };
  }
  const location = basename(path);
  for (const tensor of graph.initializer) pointIntoFile(tensor, bytes, location);
  for (const node of graph.node) for (const attribute of node.attribute) if (attribute.t) pointIntoFile(attribute.t, bytes, location);
  return { buffer: toBinary(ModelProtoSchema, proto), externalFolder: dirname(resolve(path)) };
}

const BATCH = 'lipschitz_lens_batch';

/**
 * Declares the leading axis of `input` and of every graph output symbolic where the model fixes it
 * at 1, so one run can evaluate several points; the recorded intermediate shapes (value_info, which
 * say 1 there too) are dropped for the runtime to infer again. A model whose nodes fix the batch
 * themselves (a Reshape to [1, -1]) still runs one point at a time (OrtModelSession.run).
 */
function leadingDimension(info: ValueInfoProto): TensorShapeProto_Dimension | undefined {
  const type = info.type?.value;
  return type?.case === 'tensorType' ? type.value.shape?.dim[0] : undefined;
}

function openBatchAxis(graph: NonNullable<ModelProto['graph']>, input: string): void {
  const target = graph.input.find((i) => i.name === input);
  const first = target ? leadingDimension(target) : undefined;
  // Symbolic or unknown already (nothing to open), or a real batch larger than 1 (nothing to vary).
  if (!first || first.value.case !== 'dimValue' || first.value.value !== 1n) return;
  first.value = { case: 'dimParam', value: BATCH };
  for (const output of graph.output) {
    const dim = leadingDimension(output);
    if (dim && dim.value.case === 'dimValue' && dim.value.value === 1n) dim.value = { case: 'dimParam', value: BATCH };
  }
  graph.valueInfo = [];
}

/** The onnxruntime-node version that runs the forward passes. */
export function ortVersion(): string {
  return loadOrt().env.versions.node ?? 'unknown version';
}

/** Runs the model once on `input` and returns the named tensors (float32). */
export async function ortForward(
  model: Uint8Array | string,
  input: OrtInput,
  outputs: readonly string[],
  options: OrtForwardOptions = {},
): Promise<OrtForwardResult> {
  return (await ortForwardAll(model, [input], outputs, options))[0];
}

/** Runs the model on each input in turn (one session) and returns the named tensors of each run. */
export async function ortForwardAll(
  model: Uint8Array | string,
  inputs: readonly OrtInput[],
  outputs: readonly string[],
  options: OrtForwardOptions = {},
): Promise<OrtForwardResult[]> {
  for (const input of inputs) {
    const expected = input.shape.reduce((a, b) => a * b, 1);
    if (input.data.length !== expected) {
      throw new Error(`input '${input.name}': ${input.data.length} values, shape [${input.shape.join(',')}] needs ${expected}`);
    }
  }
  const session = await OrtModelSession.open(model, outputs, options);
  try {
    const results: OrtForwardResult[] = [];
    for (const input of inputs) results.push((await session.runEach(input.name, input.shape.slice(1), [input.data], outputs))[0]);
    return results;
  } finally {
    await session.release();
  }
}

/**
 * One onnxruntime session on a model, with the requested tensors as graph outputs, kept open for
 * several runs: the fidelity check and the lower-bound search of one analysis share it (creating a
 * session costs seconds on a large model). Where `batchInput` is given, that input's leading axis is
 * declared open (openBatchAxis), and runEach evaluates several points in one run where the model
 * allows it.
 */
export class OrtModelSession {
  /** null until a batched run has been tried; then whether batches give what single runs give. */
  private batches: boolean | null = null;

  private constructor(
    private readonly ort: Ort,
    private readonly session: Awaited<ReturnType<Ort['InferenceSession']['create']>>,
    private readonly fixedFeeds: Record<string, InstanceType<Ort['Tensor']>>,
    private readonly file: string,
    private readonly batchable: boolean,
  ) {}

  static async open(model: Uint8Array | string, outputs: readonly string[], options: OrtForwardOptions & { batchInput?: string } = {}): Promise<OrtModelSession> {
    const file = typeof model === 'string' ? model : '<bytes>';
    const ort = loadOrt();
    // Only the graph is read (graphBytes skips the large weights, which the copy points at in the file),
    // and no reference to it is kept while the runtime loads the weights.
    const bytes = typeof model === 'string' ? await graphBytes(model) : model;
    const create = (prepared: ForwardModel) =>
      ort.InferenceSession.create(prepared.buffer, {
        intraOpNumThreads: options.intraOpNumThreads ?? 2,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // Errors only: warnings such as "removing unused initializer" are not the user's concern here.
        logSeverityLevel: 3,
        extra: {
          session: {
            // Where a model loaded from memory finds its external data (onnxruntime session config key).
            ...(prepared.externalFolder ? { model_external_initializers_file_folder_path: prepared.externalFolder } : {}),
            // The session stays open while the engine computes between runs: idle runtime threads must
            // sleep, not spin on the cores the native kernels need.
            intra_op: { allow_spinning: '0' },
          },
        },
      });
    const prepare = (batchInput?: string) =>
      typeof model === 'string' ? prepareForwardModel(bytes, outputs, model, batchInput) : prepareForwardModel(bytes, outputs, undefined, batchInput);
    let session;
    let batchable = options.batchInput !== undefined;
    try {
      try {
        session = await create(prepare(options.batchInput));
      } catch (cause) {
        // The open batch axis is an optimisation: the model as written must still load.
        if (!batchable) throw cause;
        batchable = false;
        session = await create(prepare());
      }
    } catch (cause) {
      throw new OnnxError(`onnxruntime cannot load the model: ${(cause as Error).message}`, { file });
    }
    const fixedFeeds = Object.fromEntries((options.fixedInputs ?? []).map((fixed) => [fixed.name, ortTensor(ort, fixed.tensor)]));
    // Fixed inputs carry a batch of their own, which does not follow the varying input's.
    return new OrtModelSession(ort, session, fixedFeeds, file, batchable && Object.keys(fixedFeeds).length === 0);
  }

  /**
   * The named tensors at each point (`shape`: the input's shape without the batch axis): in batches
   * where the model takes them and batches give what single runs give (checked on the first batch),
   * else one run per point.
   */
  async runEach(inputName: string, shape: readonly number[], points: readonly Float32Array[], outputs: readonly string[]): Promise<OrtForwardResult[]> {
    if (points.length > 1 && this.batchable && this.batches !== false) {
      const batched = await this.runBatch(inputName, shape, points, outputs);
      if (batched && this.batches === null) {
        const single = await this.runBatch(inputName, shape, [points[0]], outputs);
        this.batches = single !== null && sameValues(single[0], batched[0]);
      }
      if (batched && this.batches) return batched;
      this.batches = false;
    }
    const results: OrtForwardResult[] = [];
    for (const point of points) {
      const result = await this.runBatch(inputName, shape, [point], outputs, true);
      results.push(result![0]);
    }
    return results;
  }

  /** One run on `points` stacked along the batch axis; null where the model refuses the batch (unless `strict`). */
  private async runBatch(inputName: string, shape: readonly number[], points: readonly Float32Array[], outputs: readonly string[], strict = false): Promise<OrtForwardResult[] | null> {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size * points.length);
    points.forEach((point, p) => data.set(point, p * size));
    let fetched;
    try {
      const feeds = { ...this.fixedFeeds, [inputName]: new this.ort.Tensor('float32', data, [points.length, ...shape]) };
      // A refused batch is expected (the caller runs the points one by one): fatal errors only in the log.
      fetched = await this.session.run(feeds, [...new Set(outputs)], strict ? {} : { logSeverityLevel: 4 });
    } catch (cause) {
      if (strict) throw new OnnxError(`onnxruntime cannot run the model: ${(cause as Error).message}`, { file: this.file });
      return null;
    }
    const results: OrtForwardResult[] = points.map(() => ({ values: new Map(), dims: new Map() }));
    for (const name of outputs) {
      const tensor = fetched[name];
      if (!tensor) throw new OnnxError(`onnxruntime returned no value for tensor '${name}'`, { file: this.file });
      if (tensor.type !== 'float32') throw new OnnxError(`tensor '${name}' is ${tensor.type}, expected float32`, { file: this.file });
      const dims = tensor.dims.map(Number);
      const values = tensor.data as Float32Array;
      if (points.length === 1) {
        results[0].values.set(name, values);
        results[0].dims.set(name, dims);
        continue;
      }
      // A tensor without the batch as its leading axis (a node that fixes or folds it): no batches here.
      if (dims[0] !== points.length) return null;
      const each = values.length / points.length;
      results.forEach((result, p) => {
        result.values.set(name, values.subarray(p * each, (p + 1) * each));
        result.dims.set(name, [1, ...dims.slice(1)]);
      });
    }
    return results;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Whether a batched run's first point agrees with its single run (float32 kernels may differ by rounding only). */
function sameValues(a: OrtForwardResult, b: OrtForwardResult): boolean {
  for (const [name, x] of a.values) {
    const y = b.values.get(name);
    if (!y || y.length !== x.length) return false;
    let scale = 0;
    let difference = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]));
      difference = Math.max(difference, Math.abs(x[i] - y[i]));
    }
    if (!(difference <= 1e-4 * Math.max(scale, 1e-3))) return false;
  }
  return true;
}

/** A fixed input's value as the runtime takes it, in its declared data type. */
function ortTensor(ort: Ort, tensor: Tensor): InstanceType<Ort['Tensor']> {
  const dims = [...tensor.dims];
  const values = tensor.toFloat64();
  switch (tensor.dataType) {
    case DataType.FLOAT:
      return new ort.Tensor('float32', Float32Array.from(values), dims);
    case DataType.DOUBLE:
      return new ort.Tensor('float64', values, dims);
    case DataType.INT64:
      return new ort.Tensor('int64', tensor.toBigInt64(), dims);
    case DataType.INT32:
      return new ort.Tensor('int32', Int32Array.from(values), dims);
    case DataType.INT16:
      return new ort.Tensor('int16', Int16Array.from(values), dims);
    case DataType.INT8:
      return new ort.Tensor('int8', Int8Array.from(values), dims);
    case DataType.UINT8:
      return new ort.Tensor('uint8', Uint8Array.from(values), dims);
    case DataType.BOOL:
      return new ort.Tensor('bool', Uint8Array.from(values), dims);
    default:
      throw new Error(`input '${tensor.name}': data type ${tensor.dataTypeName} cannot be fed to onnxruntime`);
  }
}

/** Every ONNX tensor the engine reads: each layer's output and, for affine-activation units, the pre-activation. */
export function tensorsNeeded(network: Network): string[] {
  const names = new Set<string>();
  for (const layer of network.layers) {
    // Empty for the steps that stack several outputs: no ONNX node computes them.
    if (layer.onnxOutput) names.add(layer.onnxOutput);
    if (layer.onnxPreActivation) names.add(layer.onnxPreActivation);
  }
  return [...names];
}

/** A ForwardProvider for analyzeNetwork that takes the nominal values from onnxruntime. */
export function ortForwardProvider(model: Uint8Array | string, options: OrtForwardOptions = {}): ForwardProvider {
  return async (prepared, x0) => {
    const network = prepared.network;
    const { values } = await ortForward(
      model,
      { name: network.inputName, shape: [1, ...network.inputShape], data: Float32Array.from(x0) },
      tensorsNeeded(network),
      { ...options, fixedInputs: network.fixedInputs },
    );
    const nominal: NominalValues = { outputs: [], preActivations: [] };
    for (const layer of network.layers) {
      // The steps that stack several outputs (no ONNX tensor) only flatten and join their inputs.
      const output = layer.onnxOutput
        ? Float64Array.from(values.get(layer.onnxOutput)!)
        : Float64Array.from(layer.inputs.flatMap((ref) => Array.from(ref === NETWORK_INPUT ? x0 : nominal.outputs[ref])));
      nominal.outputs.push(output);
      // As in pureForward: every affine layer has a pre-activation, equal to its output when no activation follows.
      const pre = layer.onnxPreActivation ? Float64Array.from(values.get(layer.onnxPreActivation)!) : output;
      nominal.preActivations.push(layer.op.kind === 'affine' ? pre : null);
    }
    return nominal;
  };
}
