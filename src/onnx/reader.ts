// Reads an ONNX file into our own Model types (model.ts). The protobuf is decoded with @bufbuild/protobuf;
// bytes fields stay views into the file buffer and tensors are decoded only when asked (tensor.ts),
// so a large model costs about its file size in memory. The file is only ever opened for reading.
// Every failure is an OnnxError naming the file and the node, tensor or field at fault.

import { realpathSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep, win32 } from 'node:path';
import { fromBinary, isFieldSet } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  TensorProto_DataLocation,
  TensorProtoSchema,
} from './gen/onnx_pb';
import type { AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto } from './gen/onnx_pb';
import { Graph, Node } from './model';
import type { AttributeValue, Dim, Model, OpsetImport, ValueInfo } from './model';
import { OnnxError } from './onnxError';
import { DataType, dataTypeName, fileVersion, firstNaN, halfIsNaN, nanWeight, rawByteLength, Tensor, typedFieldFor } from './tensor';
import type { TensorData, TensorOrigin, TypedField } from './tensor';

/** Where a tensor read from the file was written in it. */
type FileTensorOrigin = Exclude<TensorOrigin, { kind: 'input' }>;

/** Protobuf messages cannot exceed 2 GiB; larger ONNX models must keep weights in external data. */
export const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;

/**
 * Largest dimension, kernel size, stride, dilation or pad accepted. No real network comes near it, and
 * refusing larger values here keeps absurd ones out of every shape computation and loop after reading.
 */
export const MAX_DIMENSION = 2 ** 31 - 1;

export interface ReadOptions {
  /** Shown in error messages and kept as Model.path; default "<bytes>". */
  path?: string;
  /** Folder that external data locations are relative to (and confined to); default: the folder of `path`. */
  baseDir?: string;
}

/**
 * Reads the model file through one open handle and checks that it did not change while it was read: a
 * model rewritten in place mid-read would otherwise decode as a mix of old and new weights. The file's
 * stamp (fileVersion) must agree before and after, and a second pass must find the same bytes, because
 * file times tick coarsely (a few milliseconds) and two writes within one tick leave the same stamp.
 */
export async function readModel(path: string): Promise<Model> {
  let size: number;
  try {
    // Refuse devices and FIFOs before opening: opening a FIFO for reading would block.
    const stats = await stat(path);
    if (!stats.isFile()) throw new OnnxError('is not a file', { file: path });
    size = stats.size;
  } catch (cause) {
    if (cause instanceof OnnxError) throw cause;
    throw new OnnxError(`cannot be read: ${(cause as Error).message}`, { file: path });
  }
  if (size === 0) throw new OnnxError('is empty (0 bytes), not an ONNX model', { file: path });
  if (size > MAX_MODEL_FILE_BYTES) {
    const gib = (size / 2 ** 30).toFixed(2);
    throw new OnnxError(
      `is ${gib} GiB; a protobuf file cannot exceed 2 GiB, so a model this large must store its weights as external data`,
      { file: path },
    );
  }
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new OnnxError(`cannot be read: ${(cause as Error).message}`, { file: path });
  }
  let bytes: Uint8Array;
  let version: string;
  try {
    const before = await handle.stat({ bigint: true });
    bytes = new Uint8Array(Number(before.size));
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const unchanged = done === bytes.length && (await sameBytes(handle, bytes));
    const after = await handle.stat({ bigint: true });
    version = fileVersion(before);
    if (!unchanged || fileVersion(after) !== version) {
      throw new OnnxError(
        'changed while it was being read (its size, modification time or content differ before and after); nothing from it was used — read it again once it is no longer being written',
        { file: path },
      );
    }
  } catch (cause) {
    if (cause instanceof OnnxError) throw cause;
    throw new OnnxError(`cannot be read: ${(cause as Error).message}`, { file: path });
  } finally {
    await handle.close();
  }
  return { ...readModelFromBytes(bytes, { path, baseDir: dirname(resolve(path)) }), fileVersion: version };
}

/** Whether the file holds exactly `bytes` (compared a chunk at a time, so it costs no second copy). */
async function sameBytes(handle: FileHandle, bytes: Uint8Array): Promise<boolean> {
  const chunk = new Uint8Array(Math.min(bytes.length + 1, 1 << 20));
  for (let at = 0; ; ) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
    if (bytesRead === 0) return at === bytes.length;
    if (at + bytesRead > bytes.length || Buffer.compare(chunk.subarray(0, bytesRead), bytes.subarray(at, at + bytesRead)) !== 0) return false;
    at += bytesRead;
  }
}

export function readModelFromBytes(bytes: Uint8Array, options: ReadOptions = {}): Model {
  const file = options.path ?? '<bytes>';
  const baseDir = options.baseDir ?? (options.path ? dirname(resolve(options.path)) : undefined);
  // A plain Uint8Array view (no copy) rather than a Node Buffer, whose slice() would not copy.
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 0) throw new OnnxError('is empty (0 bytes), not an ONNX model', { file });
  if (bytes.length > MAX_MODEL_FILE_BYTES) {
    throw new OnnxError('exceeds the 2 GiB protobuf limit; store the weights as external data', { file });
  }
  let proto;
  try {
    // Unknown fields are dropped: we never re-encode the user's model, and keeping them would copy bytes.
    proto = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw describeDecodeFailure(bytes, file, cause);
  }
  const hasGraph = isFieldSet(proto, ModelProtoSchema.field.graph);
  if (!hasGraph) {
    const looksLikeOnnx = isFieldSet(proto, ModelProtoSchema.field.irVersion) || proto.opsetImport.length > 0;
    throw new OnnxError(
      looksLikeOnnx
        ? 'has no graph (ModelProto.graph is missing)'
        : 'is not an ONNX model: it decodes as protobuf but has no IR version, opset import or graph',
      { file, field: 'graph' },
    );
  }
  const opsetImports: OpsetImport[] = [];
  const opsets = new Map<string, number>();
  proto.opsetImport.forEach((entry, i) => {
    const domain = entry.domain === 'ai.onnx' ? '' : entry.domain;
    const version = safeNumber(entry.version, { file, field: `opset_import[${i}].version` });
    opsetImports.push({ domain, version });
    opsets.set(domain, Math.max(version, opsets.get(domain) ?? 0));
  });
  const context: Context = { file, baseDir, bytes, opsets, externalFiles: new Map() };
  const metadata = new Map<string, string>();
  for (const entry of proto.metadataProps) metadata.set(entry.key, entry.value);
  return {
    path: file,
    byteLength: bytes.length,
    irVersion: safeNumber(proto.irVersion, { file, field: 'ir_version' }),
    producerName: proto.producerName,
    producerVersion: proto.producerVersion,
    domain: proto.domain,
    modelVersion: safeNumber(proto.modelVersion, { file, field: 'model_version' }),
    docString: proto.docString,
    opsetImports,
    opset: opsets.get('') ?? 0,
    metadata,
    graph: convertGraph(proto.graph!, context, 'graph'),
  };
}

interface ExternalFile {
  path: string;
  size: number;
  version: string;
}

interface Context {
  file: string;
  baseDir?: string;
  bytes: Uint8Array;
  opsets: Map<string, number>;
  /** External data files already resolved: location -> real path, size and version (see fileVersion). */
  externalFiles: Map<string, ExternalFile>;
}

function safeNumber(value: bigint, where: { file: string; subject?: string; field: string }): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new OnnxError(`${where.field} is ${value}, outside the exactly representable range ±2^53`, where);
  }
  return Number(value);
}

const CONSTANT_VALUE_ATTRIBUTES = new Set(['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);

function convertGraph(proto: GraphProto, context: Context, path: string): Graph {
  const { file } = context;
  const initializers = new Map<string, Tensor>();
  proto.initializer.forEach((tensorProto, i) => {
    const field = `${path}.initializer[${i}]`;
    if (!tensorProto.name) throw new OnnxError('has no name', { file, subject: `initializer #${i}`, field });
    if (initializers.has(tensorProto.name)) {
      throw new OnnxError('appears twice among the initializers', { file, subject: `initializer '${tensorProto.name}'`, field });
    }
    initializers.set(tensorProto.name, convertTensor(tensorProto, context, { kind: 'initializer' }, field));
  });

  const nodes: Node[] = [];
  const producers = new Map<string, Node | string>();
  for (const name of initializers.keys()) producers.set(name, `initializer '${name}'`);
  proto.node.forEach((nodeProto, index) => {
    const node = convertNode(nodeProto, index, context, `${path}.node[${index}]`);
    for (const output of node.outputs) {
      if (!output) continue;
      const previous = producers.get(output);
      if (previous !== undefined) {
        const other = typeof previous === 'string' ? previous : previous.description;
        throw node.error(`output '${output}' is already produced by ${other}; ONNX graphs assign each tensor once`);
      }
      producers.set(output, node);
    }
    const constant = constantTensor(node, file);
    if (constant) initializers.set(constant.name, constant);
    else nodes.push(node);
  });

  const valueInfo = new Map<string, ValueInfo>();
  const convertInfos = (list: ValueInfoProto[], field: string) =>
    list.map((info, i) => {
      const converted = convertValueInfo(info, context, `${path}.${field}[${i}]`);
      valueInfo.set(converted.name, converted);
      return converted;
    });
  convertInfos(proto.valueInfo, 'value_info');
  const allInputs = convertInfos(proto.input, 'input');
  const outputs = convertInfos(proto.output, 'output');
  for (const input of allInputs) {
    const initializer = initializers.get(input.name);
    if (initializer && input.shape && !shapeAgrees(input.shape, initializer.dims)) {
      throw new OnnxError(
        `inconsistent shapes: graph input declares [${input.shape.join(',')}] but the initializer has dims [${initializer.dims.join(',')}]`,
        { file, subject: `initializer '${input.name}'`, field: `${path}.input` },
      );
    }
  }
  return new Graph({
    name: proto.name,
    nodes,
    initializers,
    inputs: allInputs.filter((input) => !initializers.has(input.name)),
    outputs,
    valueInfo,
    sparseInitializers: new Set(proto.sparseInitializer.map((sparse) => sparse.values?.name ?? '').filter(Boolean)),
  });
}

function shapeAgrees(shape: readonly Dim[], dims: readonly number[]): boolean {
  return shape.length === dims.length && shape.every((d, i) => typeof d !== 'number' || d === dims[i]);
}

/** The tensor a Constant node defines, exposed like an initializer; undefined for other nodes. */
function constantTensor(node: Node, file: string): Tensor | undefined {
  if (node.opType !== 'Constant' || node.domain !== '' || node.outputs.length !== 1 || node.attributes.size !== 1) {
    return undefined;
  }
  const [[attribute, value]] = node.attributes;
  if (!CONSTANT_VALUE_ATTRIBUTES.has(attribute)) return undefined;
  const name = node.outputs[0];
  const origin: FileTensorOrigin = { kind: 'constant', node: node.name || `#${node.index}`, attribute };
  switch (value.type) {
    case 'tensor':
      return value.value.withName(name, origin);
    case 'float':
      return new Tensor({ name, dataType: DataType.FLOAT, dims: [], origin, file, data: { kind: 'typed', field: 'float_data', values: [value.value] } });
    case 'floats':
      return new Tensor({ name, dataType: DataType.FLOAT, dims: [value.value.length], origin, file, data: { kind: 'typed', field: 'float_data', values: value.value } });
    case 'int':
      return new Tensor({ name, dataType: DataType.INT64, dims: [], origin, file, data: { kind: 'typed', field: 'int64_data', values: [value.value] } });
    case 'ints':
      return new Tensor({ name, dataType: DataType.INT64, dims: [value.value.length], origin, file, data: { kind: 'typed', field: 'int64_data', values: value.value } });
    default:
      throw node.error(`attribute '${attribute}' is ${value.type.toUpperCase()}, which does not match its name`, attribute);
  }
}

function convertNode(proto: NodeProto, index: number, context: Context, path: string): Node {
  const domain = proto.domain === 'ai.onnx' ? '' : proto.domain;
  const attributes = new Map<string, AttributeValue>();
  const subject = proto.name ? `node '${proto.name}' (${proto.opType})` : `node #${index} (${proto.opType})`;
  if (!proto.opType) throw new OnnxError('has no op_type', { file: context.file, subject, field: `${path}.op_type` });
  proto.attribute.forEach((attr, i) => {
    const field = `${path}.attribute[${i}]`;
    if (!attr.name) throw new OnnxError(`attribute #${i} has no name`, { file: context.file, subject, field });
    if (attributes.has(attr.name)) {
      throw new OnnxError(`attribute '${attr.name}' appears twice`, { file: context.file, subject, field });
    }
    const origin: FileTensorOrigin =
      proto.opType === 'Constant' && domain === ''
        ? { kind: 'constant', node: proto.name || `#${index}`, attribute: attr.name }
        : { kind: 'attribute', node: proto.name || `#${index}`, attribute: attr.name };
    attributes.set(attr.name, convertAttribute(attr, context, field, subject, origin));
  });
  checkWindowAttributes(proto.opType, domain, attributes, (name, detail) => {
    const i = proto.attribute.findIndex((a) => a.name === name);
    return new OnnxError(detail, { file: context.file, subject, field: `${path}.attribute[${i}]` });
  });
  return new Node({
    name: proto.name,
    opType: proto.opType,
    domain,
    inputs: proto.input,
    outputs: proto.output,
    attributes,
    index,
    opset: context.opsets.get(domain) ?? 0,
    file: context.file,
  });
}

/** IR version 1 files carry no attribute type; infer it from the field in use, as the IR spec allows. */
function attributeType(attr: AttributeProto): AttributeProto_AttributeType {
  if (attr.type !== AttributeProto_AttributeType.UNDEFINED) return attr.type;
  const T = AttributeProto_AttributeType;
  const F = AttributeProtoSchema.field;
  if (isFieldSet(attr, F.f)) return T.FLOAT;
  if (isFieldSet(attr, F.i)) return T.INT;
  if (isFieldSet(attr, F.s)) return T.STRING;
  if (isFieldSet(attr, F.t)) return T.TENSOR;
  if (isFieldSet(attr, F.g)) return T.GRAPH;
  if (attr.floats.length) return T.FLOATS;
  if (attr.ints.length) return T.INTS;
  if (attr.strings.length) return T.STRINGS;
  if (attr.tensors.length) return T.TENSORS;
  if (attr.graphs.length) return T.GRAPHS;
  return T.UNDEFINED;
}

const utf8 = new TextDecoder();

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Within ±2^53, or one of the INT64 sentinels exporters write for "unbounded" (Slice ends, Clip limits). */
function isExactInteger(value: bigint): boolean {
  return value === INT64_MAX || value === INT64_MIN || (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER));
}

/** Operators whose integer attributes size a sliding window. */
const WINDOW_OPERATORS = new Set(['Conv', 'ConvInteger', 'ConvTranspose', 'QLinearConv', 'DeformConv', 'MaxPool', 'AveragePool', 'LpPool', 'MaxUnpool']);

/** The smallest valid value of each window attribute; the largest is MAX_DIMENSION. */
const WINDOW_ATTRIBUTE_MINIMA = new Map([
  ['kernel_shape', 1n],
  ['strides', 1n],
  ['dilations', 1n],
  ['pads', 0n],
  ['group', 1n],
  ['output_padding', 0n],
  ['output_shape', 0n],
]);

/**
 * Refuses window attributes (kernel sizes, strides, dilations, pads, groups) out of their range, and Pad
 * amounts beyond ±(2^31 - 1), when the model is read: such values would otherwise size loops later.
 */
function checkWindowAttributes(opType: string, domain: string, attributes: ReadonlyMap<string, AttributeValue>, fail: (name: string, detail: string) => OnnxError): void {
  if (domain !== '') return;
  for (const [name, value] of attributes) {
    if (value.type !== 'int' && value.type !== 'ints') continue;
    const values = value.type === 'int' ? [value.value] : value.value;
    let minimum: bigint | undefined;
    if (WINDOW_OPERATORS.has(opType)) minimum = WINDOW_ATTRIBUTE_MINIMA.get(name);
    else if (opType === 'Pad' && name === 'pads') minimum = -BigInt(MAX_DIMENSION);
    if (minimum === undefined) continue;
    const index = values.findIndex((v) => v < minimum || v > BigInt(MAX_DIMENSION));
    if (index >= 0) {
      const which = value.type === 'ints' ? `value ${index} of ` : '';
      throw fail(name, `${which}attribute '${name}' is ${values[index]}; it must lie in [${minimum}, 2^31 - 1]`);
    }
  }
}

function convertAttribute(
  attr: AttributeProto,
  context: Context,
  field: string,
  subject: string,
  origin: FileTensorOrigin,
): AttributeValue {
  const T = AttributeProto_AttributeType;
  if (attr.refAttrName) return { type: 'other', onnxType: `reference to '${attr.refAttrName}'` };
  const type = attributeType(attr);
  const refuse = (detail: string) => new OnnxError(`attribute '${attr.name}' ${detail}`, { file: context.file, subject, field });
  // ±Infinity passes (an unbounded Clip); the analysis refuses it where it computes with the value.
  const notNaN = (values: readonly number[]) => {
    const index = values.findIndex(Number.isNaN);
    if (index >= 0) throw refuse(`${values.length > 1 || type === T.FLOATS ? `value ${index} ` : ''}is NaN; no float attribute may be NaN`);
  };
  const exact = (values: readonly bigint[]) => {
    const index = values.findIndex((v) => !isExactInteger(v));
    if (index >= 0) {
      throw refuse(`${type === T.INTS ? `value ${index} ` : ''}is ${values[index]}, outside the exactly representable range ±2^53`);
    }
  };
  switch (type) {
    case T.FLOAT:
      notNaN([attr.f]);
      return { type: 'float', value: attr.f };
    case T.INT:
      exact([attr.i]);
      return { type: 'int', value: attr.i };
    case T.STRING:
      return { type: 'string', value: utf8.decode(attr.s) };
    case T.TENSOR:
      if (!attr.t) throw new OnnxError(`attribute '${attr.name}' is TENSOR but holds no tensor`, { file: context.file, subject, field });
      return { type: 'tensor', value: convertTensor(attr.t, context, origin, `${field}.t`) };
    case T.GRAPH:
      if (!attr.g) throw new OnnxError(`attribute '${attr.name}' is GRAPH but holds no graph`, { file: context.file, subject, field });
      return { type: 'graph', value: convertGraph(attr.g, context, `${field}.g`) };
    case T.FLOATS:
      notNaN(attr.floats);
      return { type: 'floats', value: attr.floats };
    case T.INTS:
      exact(attr.ints);
      return { type: 'ints', value: attr.ints };
    case T.STRINGS:
      return { type: 'strings', value: attr.strings.map((s) => utf8.decode(s)) };
    case T.TENSORS:
      return { type: 'tensors', value: attr.tensors.map((t, i) => convertTensor(t, context, origin, `${field}.tensors[${i}]`)) };
    case T.GRAPHS:
      return { type: 'graphs', value: attr.graphs.map((g, i) => convertGraph(g, context, `${field}.graphs[${i}]`)) };
    case T.UNDEFINED:
      throw new OnnxError(`attribute '${attr.name}' has no type and no value`, { file: context.file, subject, field });
    default:
      return { type: 'other', onnxType: T[type] ?? `attribute type ${type}` };
  }
}

function convertValueInfo(proto: ValueInfoProto, context: Context, field: string): ValueInfo {
  const info: ValueInfo = { name: proto.name };
  const type = proto.type?.value;
  if (type?.case !== 'tensorType' && type?.case !== 'sparseTensorType') return info;
  info.elemType = type.value.elemType;
  const shape = type.value.shape;
  if (!shape) return info;
  info.shape = shape.dim.map((dim, i): Dim => {
    if (dim.value.case === 'dimParam') return dim.value.value;
    if (dim.value.case !== 'dimValue') return null;
    // Some exporters write -1 for "unknown"; that is what null means here.
    if (dim.value.value === -1n) return null;
    if (dim.value.value < 0n || dim.value.value > BigInt(MAX_DIMENSION)) {
      throw new OnnxError(`dimension ${i} is ${dim.value.value}; a dimension must lie in [0, 2^31 - 1] (or be -1 for unknown)`, {
        file: context.file,
        subject: `value '${proto.name}'`,
        field: `${field}.dim[${i}]`,
      });
    }
    return Number(dim.value.value);
  });
  return info;
}

const TYPED_FIELDS: readonly { field: TypedField; get: (t: TensorProto) => readonly number[] | readonly bigint[] | readonly Uint8Array[] }[] = [
  { field: 'float_data', get: (t) => t.floatData },
  { field: 'int32_data', get: (t) => t.int32Data },
  { field: 'int64_data', get: (t) => t.int64Data },
  { field: 'double_data', get: (t) => t.doubleData },
  { field: 'uint64_data', get: (t) => t.uint64Data },
  { field: 'string_data', get: (t) => t.stringData },
];

function convertTensor(proto: TensorProto, context: Context, origin: FileTensorOrigin, field: string): Tensor {
  const { file } = context;
  const subject =
    origin.kind === 'initializer'
      ? `initializer '${proto.name}'`
      : origin.kind === 'constant'
        ? `tensor '${proto.name}' of Constant node '${origin.node}'`
        : `tensor attribute '${origin.attribute}' of node '${origin.node}'`;
  const fail = (detail: string, at: string, offset?: number) => new OnnxError(detail, { file, subject, field: `${field}.${at}`, offset });

  const dims = proto.dims.map((d, i) => {
    if (d < 0n || d > BigInt(MAX_DIMENSION)) throw fail(`dims[${i}] is ${d}; a dimension must lie in [0, 2^31 - 1]`, 'dims');
    return Number(d);
  });
  const size = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(size)) throw fail(`dims [${dims.join(',')}] describe too many elements`, 'dims');
  const dataType = proto.dataType;
  const typeName = dataTypeName(dataType);
  if (dataType === DataType.UNDEFINED) throw fail('has no data_type', 'data_type');
  if (isFieldSet(proto, TensorProtoSchema.field.segment)) throw fail('is a segment of a larger tensor, which is not supported', 'segment');
  const expectedBytes = rawByteLength(dataType, size);
  const shapeText = `${typeName} dims [${dims.join(',')}]`;

  let data: TensorData;
  let offset: number | undefined;
  if (proto.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    data = externalData(proto, context, expectedBytes, shapeText, fail);
  } else if (isFieldSet(proto, TensorProtoSchema.field.rawData) && (proto.rawData.length > 0 || !hasTypedData(proto))) {
    const bytes = proto.rawData;
    if (bytes.buffer === context.bytes.buffer) offset = bytes.byteOffset - context.bytes.byteOffset;
    if (dataType === DataType.STRING) throw fail('is a STRING tensor stored in raw_data, which ONNX forbids', 'raw_data', offset);
    if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
      throw fail(`raw_data has ${bytes.length} bytes but ${shapeText} need ${expectedBytes}`, 'raw_data', offset);
    }
    data = { kind: 'raw', bytes };
  } else {
    const present = TYPED_FIELDS.filter((f) => f.get(proto).length > 0);
    const expectedField = typedFieldFor(dataType);
    if (present.length === 0) {
      if (size !== 0) throw fail(`has no data: ${shapeText} need ${size} values but raw_data and the typed fields are empty`, 'raw_data');
      data = { kind: 'raw', bytes: new Uint8Array(0) };
    } else {
      if (present.length > 1) throw fail(`has data in both ${present[0].field} and ${present[1].field}`, present[1].field);
      const { field: used, get } = present[0];
      if (used !== expectedField) {
        throw fail(`stores ${typeName} values in ${used}; the ONNX spec puts them in ${expectedField ?? 'raw_data'}`, used);
      }
      const values = get(proto);
      const complex = dataType === DataType.COMPLEX64 || dataType === DataType.COMPLEX128;
      const expectedCount = complex ? 2 * size : size;
      if (values.length !== expectedCount) {
        throw fail(`${used} has ${values.length} values but ${shapeText} need ${expectedCount}`, used);
      }
      data =
        used === 'string_data'
          ? { kind: 'typed', field: used, values: [] }
          : { kind: 'typed', field: used, values: values as readonly number[] | readonly bigint[] };
    }
  }
  const nan = data.kind === 'raw' ? firstNaN(dataType, data.bytes) : data.kind === 'typed' ? firstNaNTyped(dataType, data) : undefined;
  if (nan !== undefined) throw fail(nanWeight(nan), data.kind === 'raw' ? 'raw_data' : (data as { field: string }).field, offset);
  return new Tensor({ name: proto.name, dataType, dims, origin, data, file, offset });
}

/** The index of the first NaN of a floating-point tensor stored in float_data, double_data or (halves) int32_data. */
function firstNaNTyped(dataType: number, data: { field: string; values: readonly number[] | readonly bigint[] }): number | undefined {
  let index = -1;
  if (data.field === 'float_data' || data.field === 'double_data') index = (data.values as readonly number[]).findIndex(Number.isNaN);
  else if (data.field === 'int32_data' && (dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16)) {
    index = (data.values as readonly number[]).findIndex((v) => halfIsNaN(dataType, v & 0xffff));
  }
  return index < 0 ? undefined : index;
}

function hasTypedData(proto: TensorProto): boolean {
  return TYPED_FIELDS.some((f) => f.get(proto).length > 0);
}

function externalData(
  proto: TensorProto,
  context: Context,
  expectedBytes: number | undefined,
  shapeText: string,
  fail: (detail: string, at: string) => OnnxError,
): TensorData {
  const entries = new Map<string, string>();
  for (const entry of proto.externalData) entries.set(entry.key, entry.value);
  const location = entries.get('location');
  if (!location) throw fail("has data_location EXTERNAL but no 'location' in external_data", 'external_data');
  const parseField = (key: string): number | undefined => {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw fail(`external_data '${key}' is '${text}', expected a non-negative integer`, 'external_data');
    }
    return Number(text);
  };
  const offset = parseField('offset') ?? 0;
  const declaredLength = parseField('length');
  const target = resolveExternalFile(location, context, fail);
  const length = declaredLength ?? (expectedBytes ?? target.size - offset);
  if (expectedBytes !== undefined && length !== expectedBytes) {
    throw fail(`external data length is ${length} bytes but ${shapeText} need ${expectedBytes}`, 'external_data');
  }
  if (offset + length > target.size) {
    throw fail(
      `external data file '${location}' has ${target.size} bytes, too short for ${length} bytes at offset ${offset}`,
      'external_data',
    );
  }
  return { kind: 'external', path: target.path, location, offset, length, version: target.version };
}

/**
 * Resolves an external data location inside the model's folder. Absolute paths, `..` segments and symbolic
 * links leading outside the folder are refused: a model file must not make us read arbitrary files.
 */
function resolveExternalFile(
  location: string,
  context: Context,
  fail: (detail: string, at: string) => OnnxError,
): ExternalFile {
  const cached = context.externalFiles.get(location);
  if (cached) return cached;
  const refuse = (why: string) => fail(`external data location '${location}' ${why}`, 'external_data');
  if (!context.baseDir) throw refuse('cannot be resolved: the model was read from memory without a folder');
  if (location.includes('\0')) throw refuse('contains a NUL character');
  if (isAbsolute(location) || win32.isAbsolute(location)) throw refuse("is an absolute path; it must be relative to the model's folder");
  if (location.split(/[\\/]/).includes('..')) throw refuse("contains '..'; it must stay inside the model's folder");
  const candidate = resolve(context.baseDir, location);
  let realBase: string;
  let real: string;
  try {
    realBase = realpathSync(context.baseDir);
    real = realpathSync(candidate);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw refuse(`names a missing file (${candidate})`);
    throw refuse(`cannot be opened: ${(cause as Error).message}`);
  }
  if (real === realBase) throw refuse("names the model's folder itself, not a data file");
  // Absolute paths and '..' are refused above, so only a symbolic link can lead outside the folder.
  if (!real.startsWith(realBase.endsWith(sep) ? realBase : realBase + sep)) {
    throw refuse(`resolves through a symbolic link to ${real}, outside the model's folder`);
  }
  const stats = statSync(real, { bigint: true });
  if (stats.isDirectory()) throw refuse('names a folder, not a data file');
  if (!stats.isFile()) throw refuse('is not a regular file');
  const resolved = { path: real, size: Number(stats.size), version: fileVersion(stats) };
  context.externalFiles.set(location, resolved);
  return resolved;
}

interface DecodeProblem {
  offset: number;
  field: string;
  problem: string;
  /** The data runs past the end of the file, where everything before it looked like a ModelProto. */
  truncated: boolean;
}

const MAX_DIAGNOSIS_DEPTH = 100;

function scalarWireType(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** Wire types a field of the schema may arrive in (repeated numbers may be packed). */
function allowedWireTypes(field: DescField): WireType[] {
  if (field.fieldKind === 'message') return [WireType.LengthDelimited];
  if (field.fieldKind === 'enum') return [WireType.Varint];
  if (field.fieldKind === 'scalar') return [scalarWireType(field.scalar)];
  if (field.fieldKind === 'list') {
    if (field.listKind === 'message') return [WireType.LengthDelimited];
    const element = field.listKind === 'enum' ? WireType.Varint : scalarWireType(field.scalar);
    return element === WireType.LengthDelimited ? [element] : [element, WireType.LengthDelimited];
  }
  return [WireType.LengthDelimited];
}

/**
 * Walks the wire format along the ModelProto schema to say where decoding failed and whether the file
 * was cut short. Unknown fields are skipped the way the decoder skips them, but marked as suspect.
 */
function locateDecodeProblem(
  bytes: Uint8Array,
  desc: DescMessage,
  start: number,
  end: number,
  path: string,
  depth: number,
  suspect: { unknownSeen: boolean },
): DecodeProblem | undefined {
  const reader = new BinaryReader(bytes.subarray(0, end));
  reader.pos = start;
  const counts = new Map<number, number>();
  const atFileEnd = end === bytes.length;
  const overrun = (cause: unknown) => atFileEnd && cause instanceof RangeError && !suspect.unknownSeen;
  while (reader.pos < end) {
    const tagAt = reader.pos;
    let fieldNo: number;
    let wireType: WireType;
    try {
      [fieldNo, wireType] = reader.tag();
    } catch (cause) {
      return { offset: tagAt, field: path, problem: `invalid field tag (${(cause as Error).message})`, truncated: overrun(cause) };
    }
    const field = desc.fields.find((f) => f.number === fieldNo);
    const index = counts.get(fieldNo) ?? 0;
    counts.set(fieldNo, index + 1);
    const name = field ? `${path}.${field.name}${field.fieldKind === 'list' ? `[${index}]` : ''}` : `${path}.<field ${fieldNo}>`;
    if (!field) suspect.unknownSeen = true;
    if (field && !allowedWireTypes(field).includes(wireType)) {
      return { offset: tagAt, field: name, problem: `wire type ${wireType} does not match the field's type`, truncated: false };
    }
    if (wireType === WireType.LengthDelimited) {
      let length: number;
      try {
        length = reader.uint32();
      } catch (cause) {
        return { offset: tagAt, field: name, problem: `invalid length (${(cause as Error).message})`, truncated: overrun(cause) };
      }
      const dataAt = reader.pos;
      const message = field?.fieldKind === 'message' || (field?.fieldKind === 'list' && field.listKind === 'message') ? field.message : undefined;
      if (dataAt + length > end) {
        // A message cut by the end of the file: report the innermost field that is cut.
        if (atFileEnd && message && depth < MAX_DIAGNOSIS_DEPTH) {
          const inner = locateDecodeProblem(bytes, message, dataAt, end, name, depth + 1, suspect);
          if (inner) return inner;
        }
        const where = atFileEnd ? 'the file' : 'the enclosing message';
        const truncated = atFileEnd && !suspect.unknownSeen;
        return { offset: tagAt, field: name, problem: `declares ${length} bytes but ${where} has only ${end - dataAt} left`, truncated };
      }
      if (message && depth < MAX_DIAGNOSIS_DEPTH) {
        const inner = locateDecodeProblem(bytes, message, dataAt, dataAt + length, name, depth + 1, suspect);
        if (inner) return inner;
      }
      reader.pos = dataAt + length;
      continue;
    }
    try {
      reader.skip(wireType, fieldNo);
    } catch (cause) {
      return { offset: tagAt, field: name, problem: (cause as Error).message, truncated: overrun(cause) };
    }
  }
  return undefined;
}

/** True when the first bytes are all printable text: a text file, not a binary protobuf. */
function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 64);
  return head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
}

function describeDecodeFailure(bytes: Uint8Array, file: string, cause: unknown): OnnxError {
  if (looksLikeText(bytes)) {
    return new OnnxError('is not an ONNX model: it looks like a text file, and ONNX models are binary protobuf', { file });
  }
  const found = locateDecodeProblem(bytes, ModelProtoSchema, 0, bytes.length, 'ModelProto', 0, { unknownSeen: false });
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (!found) return new OnnxError(`is not a valid ONNX model: protobuf decoding failed (${reason})`, { file });
  const detail = found.truncated
    ? `is truncated: ${found.field} ${found.problem}`
    : `is not a valid ONNX model (not a ModelProto protobuf): ${found.field}: ${found.problem}`;
  return new OnnxError(detail, { file, field: found.field, offset: found.offset });
}
