// The nominal forward pass on onnxruntime-node: every tensor the engine needs (each layer's output and
// pre-activation) is added to the model as a name-only graph output, the ModelProto is re-encoded in
// memory and run once on x0. For a model file the re-encoded copy is graph-only: its weights point
// (as external data) at their bytes in the original file, which onnxruntime reads from the model's
// folder, so no weight is copied by us and no temporary file is written. The model file is only
// read. onnxruntime-node is required at call time, so modules
// that never run a model do not load the native binding.

import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, ValueInfoProtoSchema } from '../../onnx/gen/onnx_pb';
import type { ModelProto, TensorProto } from '../../onnx/gen/onnx_pb';
import { OnnxError } from '../../onnx/onnxError';
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
export function prepareForwardModel(bytes: Uint8Array, names: readonly string[], path?: string): ForwardModel {
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
  const file = typeof model === 'string' ? model : '<bytes>';
  for (const input of inputs) {
    const expected = input.shape.reduce((a, b) => a * b, 1);
    if (input.data.length !== expected) {
      throw new Error(`input '${input.name}': ${input.data.length} values, shape [${input.shape.join(',')}] needs ${expected}`);
    }
  }
  const ort = loadOrt();
  // The file's bytes are only needed to build the graph-only copy: no reference is kept while the
  // runtime loads the weights, so they can be collected.
  const prepared =
    typeof model === 'string' ? prepareForwardModel(await readFile(model, { flag: 'r' }), outputs, model) : prepareForwardModel(model, outputs);
  let session;
  try {
    session = await ort.InferenceSession.create(prepared.buffer, {
      intraOpNumThreads: options.intraOpNumThreads ?? 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // Errors only: warnings such as "removing unused initializer" are not the user's concern here.
      logSeverityLevel: 3,
      // Where a model loaded from memory finds its external data (onnxruntime session config key).
      ...(prepared.externalFolder ? { extra: { session: { model_external_initializers_file_folder_path: prepared.externalFolder } } } : {}),
    });
  } catch (cause) {
    throw new OnnxError(`onnxruntime cannot load the model: ${(cause as Error).message}`, { file });
  }
  const fixedFeeds = Object.fromEntries((options.fixedInputs ?? []).map((fixed) => [fixed.name, ortTensor(ort, fixed.tensor)]));
  try {
    const results: OrtForwardResult[] = [];
    for (const input of inputs) {
      const feeds = { ...fixedFeeds, [input.name]: new ort.Tensor('float32', input.data, [...input.shape]) };
      const fetched = await session.run(feeds, [...new Set(outputs)]);
      const values = new Map<string, Float32Array>();
      const dims = new Map<string, number[]>();
      for (const name of outputs) {
        const tensor = fetched[name];
        if (!tensor) throw new OnnxError(`onnxruntime returned no value for tensor '${name}'`, { file });
        if (tensor.type !== 'float32') throw new OnnxError(`tensor '${name}' is ${tensor.type}, expected float32`, { file });
        values.set(name, tensor.data as Float32Array);
        dims.set(name, tensor.dims.map(Number));
      }
      results.push({ values, dims });
    }
    return results;
  } finally {
    await session.release();
  }
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
