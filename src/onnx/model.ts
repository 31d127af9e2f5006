// Our own view of an ONNX model: what the normaliser, the editor and the CLI need, with no protobuf
// types leaking out. Built by reader.ts; tensors stay undecoded until asked (see tensor.ts).

import { attributeDefault } from './attributeDefaults';
import type { DefaultValue } from './attributeDefaults';
import { OnnxError } from './onnxError';
import { dataTypeName } from './tensor';
import type { Tensor } from './tensor';

/** A dimension: a number (dim_value), a symbolic name (dim_param) or null when neither is given. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor value; undefined for non-tensor or untyped values. */
  elemType?: number;
  /** undefined when the file gives no shape (unknown rank). */
  shape?: Dim[];
}

export interface OpsetImport {
  /** '' is the default domain (ai.onnx). */
  domain: string;
  version: number;
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: bigint[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  /** Sparse tensors, type protos and attribute references: kept by name only. */
  | { type: 'other'; onnxType: string };

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export interface NodeInit {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
  index: number;
  opset: number;
  file: string;
}

export class Node {
  readonly name: string;
  readonly opType: string;
  /** '' for the default domain (ai.onnx is normalised to ''). */
  readonly domain: string;
  /** Input tensor names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Position in the file's node list (Constant nodes included). */
  readonly index: number;
  /** Opset version of this node's domain. */
  readonly opset: number;
  readonly attributes: ReadonlyMap<string, AttributeValue>;
  private readonly file: string;

  constructor(init: NodeInit) {
    this.name = init.name;
    this.opType = init.opType;
    this.domain = init.domain;
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.index = init.index;
    this.opset = init.opset;
    this.attributes = init.attributes;
    this.file = init.file;
  }

  /** "node 'conv1' (Conv)", or "node #3 (Conv)" for unnamed nodes: the subject of error messages. */
  get description(): string {
    return this.name ? `node '${this.name}' (${this.opType})` : `node #${this.index} (${this.opType})`;
  }

  has(name: string): boolean {
    return this.attributes.has(name);
  }

  error(detail: string, field?: string): OnnxError {
    return new OnnxError(detail, { file: this.file, subject: this.description, field });
  }

  int(name: string, fallback?: number): number {
    const attr = this.attributes.get(name);
    if (attr === undefined) return this.defaultOf(name, fallback, 'number') as number;
    if (attr.type !== 'int') throw this.typeError(name, attr, 'INT');
    return this.toNumber(attr.value);
  }

  ints(name: string, fallback?: readonly number[]): number[] {
    const attr = this.attributes.get(name);
    if (attr === undefined) return [...(this.defaultOf(name, fallback, 'array') as readonly number[])];
    if (attr.type !== 'ints') throw this.typeError(name, attr, 'INTS');
    return attr.value.map((v) => this.toNumber(v));
  }

  /** A FLOAT attribute the analysis computes with: ±Infinity (which the reader lets through) is refused here. */
  float(name: string, fallback?: number): number {
    const value = this.floatOrInfinity(name, fallback);
    if (!Number.isFinite(value)) throw this.infiniteAttribute(name, value);
    return value;
  }

  /** A FLOAT attribute where ±Infinity has a meaning the caller handles (a Clip bound: no bound). */
  floatOrInfinity(name: string, fallback?: number): number {
    const attr = this.attributes.get(name);
    if (attr === undefined) return this.defaultOf(name, fallback, 'number') as number;
    if (attr.type !== 'float') throw this.typeError(name, attr, 'FLOAT');
    return attr.value;
  }

  /** A FLOATS attribute the analysis computes with; ±Infinity is refused as in float(). */
  floats(name: string, fallback?: readonly number[]): number[] {
    const attr = this.attributes.get(name);
    if (attr === undefined) return [...(this.defaultOf(name, fallback, 'array') as readonly number[])];
    if (attr.type !== 'floats') throw this.typeError(name, attr, 'FLOATS');
    const index = attr.value.findIndex((v) => !Number.isFinite(v));
    if (index >= 0) throw this.infiniteAttribute(name, attr.value[index], index);
    return [...attr.value];
  }

  string(name: string, fallback?: string): string {
    const attr = this.attributes.get(name);
    if (attr === undefined) return this.defaultOf(name, fallback, 'string') as string;
    if (attr.type !== 'string') throw this.typeError(name, attr, 'STRING');
    return attr.value;
  }

  strings(name: string, fallback?: readonly string[]): string[] {
    const attr = this.attributes.get(name);
    if (attr === undefined) {
      if (fallback !== undefined) return [...fallback];
      throw this.error(`has no attribute '${name}' and the operator defines no default`, name);
    }
    if (attr.type !== 'strings') throw this.typeError(name, attr, 'STRINGS');
    return [...attr.value];
  }

  tensor(name: string): Tensor {
    const attr = this.attributes.get(name);
    if (attr === undefined) throw this.error(`has no attribute '${name}'`, name);
    if (attr.type !== 'tensor') throw this.typeError(name, attr, 'TENSOR');
    return attr.value;
  }

  graph(name: string): Graph {
    const attr = this.attributes.get(name);
    if (attr === undefined) throw this.error(`has no attribute '${name}'`, name);
    if (attr.type !== 'graph') throw this.typeError(name, attr, 'GRAPH');
    return attr.value;
  }

  private defaultOf(name: string, fallback: DefaultValue | undefined, kind: 'number' | 'string' | 'array') {
    const value = fallback ?? (this.domain === '' ? attributeDefault(this.opType, name, this.opset) : undefined);
    if (value === undefined) {
      throw this.error(`has no attribute '${name}' and the operator defines no default`, name);
    }
    const actual = Array.isArray(value) ? 'array' : typeof value;
    if (actual !== kind) throw this.error(`attribute '${name}' defaults to a ${actual}, not a ${kind}`, name);
    return value;
  }

  private infiniteAttribute(name: string, value: number, index?: number): OnnxError {
    const which = index === undefined ? '' : `value ${index} of `;
    return this.error(`${which}attribute '${name}' is ${value}; the analysis computes with it and needs a finite number`, name);
  }

  private typeError(name: string, attr: AttributeValue, expected: string): OnnxError {
    const actual = attr.type === 'other' ? attr.onnxType : attr.type.toUpperCase();
    return this.error(`attribute '${name}' is ${actual}, expected ${expected}`, name);
  }

  /**
   * INT64 attribute values as numbers; INT64_MAX / INT64_MIN ("unbounded" sentinels) become ±Infinity.
   * The reader refused every other value beyond ±2^53, so the rest convert exactly.
   */
  private toNumber(value: bigint): number {
    if (value === INT64_MAX) return Infinity;
    if (value === INT64_MIN) return -Infinity;
    return Number(value);
  }
}

export interface GraphInit {
  name: string;
  nodes: Node[];
  initializers: Map<string, Tensor>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: Map<string, ValueInfo>;
  sparseInitializers: Set<string>;
}

export class Graph {
  readonly name: string;
  /** Nodes in file order, without the Constant nodes whose values became tensors in `initializers`. */
  readonly nodes: readonly Node[];
  /** Initializers and the values of Constant nodes (value, value_float(s), value_int(s)), by tensor name. */
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** Graph inputs that are not initializers: what a caller must feed. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Declared types and shapes of graph inputs (initializers included), outputs and value_info entries. */
  readonly valueInfo: ReadonlyMap<string, ValueInfo>;
  /** Names of sparse initializers: read by name only, so later stages can report them as unsupported. */
  readonly sparseInitializers: ReadonlySet<string>;
  private readonly producers = new Map<string, Node>();
  private readonly consumerLists = new Map<string, Node[]>();

  constructor(init: GraphInit) {
    this.name = init.name;
    this.nodes = init.nodes;
    this.initializers = init.initializers;
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.valueInfo = init.valueInfo;
    this.sparseInitializers = init.sparseInitializers;
    for (const node of init.nodes) {
      for (const output of node.outputs) if (output) this.producers.set(output, node);
      for (const input of node.inputs) {
        if (!input) continue;
        const list = this.consumerLists.get(input);
        if (list) list.push(node);
        else this.consumerLists.set(input, [node]);
      }
    }
  }

  /** The node computing a tensor; undefined for graph inputs, initializers and outer-scope names. */
  producer(tensorName: string): Node | undefined {
    return this.producers.get(tensorName);
  }

  /** The nodes reading a tensor, in file order. */
  consumers(tensorName: string): readonly Node[] {
    return this.consumerLists.get(tensorName) ?? [];
  }
}

export interface Model {
  /** The file the model was read from ("<bytes>" when read from memory without a path). */
  path: string;
  /** Size of the protobuf in bytes (external data not included). */
  byteLength: number;
  /** The version of the file that was read (see fileVersion in tensor.ts); absent when read from memory. */
  fileVersion?: string;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsetImports: OpsetImport[];
  /** Opset version of the default domain (ai.onnx); 0 if the model imports none. */
  opset: number;
  metadata: Map<string, string>;
  graph: Graph;
}

/** "FLOAT[1,3,'H',?]": a compact display of a value's type and shape. */
export function formatValueInfo(info: ValueInfo): string {
  const type = info.elemType === undefined ? '?' : dataTypeName(info.elemType);
  if (!info.shape) return `${type}[…]`;
  return `${type}[${info.shape.map((d) => (d === null ? '?' : typeof d === 'string' ? `'${d}'` : d)).join(',')}]`;
}
