// Tensors of an ONNX model, decoded on demand. A Tensor keeps a view of its bytes in the file buffer
// (or where they sit in an external data file) and converts only when asked, so opening a large model
// costs little more than reading its file. ONNX stores tensors little-endian; like every runtime that
// reads ONNX we assume a little-endian host when viewing raw bytes as typed arrays.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { OnnxError } from './onnxError';

/** ONNX TensorProto.DataType numbers. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

const DATA_TYPE_NAMES = new Map<number, string>(Object.entries(DataType).map(([name, value]) => [value, name]));

export function dataTypeName(dataType: number): string {
  return DATA_TYPE_NAMES.get(dataType) ?? `unknown data type ${dataType}`;
}

/** Bits per element in raw_data; undefined for STRING, UNDEFINED and unknown types. */
export function bitsPerElement(dataType: number): number | undefined {
  switch (dataType) {
    case DataType.BOOL:
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return 8;
    case DataType.UINT16:
    case DataType.INT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return 16;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 32;
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.DOUBLE:
    case DataType.COMPLEX64:
      return 64;
    case DataType.COMPLEX128:
      return 128;
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return 4;
    case DataType.UINT2:
    case DataType.INT2:
      return 2;
    default:
      return undefined;
  }
}

/** Bytes raw_data must hold for `size` elements (sub-byte types are packed), or undefined if variable. */
export function rawByteLength(dataType: number, size: number): number | undefined {
  const bits = bitsPerElement(dataType);
  return bits === undefined ? undefined : Math.ceil((size * bits) / 8);
}

export type TypedField = 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' | 'string_data';

/** The typed field the TensorProto specification assigns to a data type. */
export function typedFieldFor(dataType: number): TypedField | undefined {
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return 'float_data';
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return 'double_data';
    case DataType.INT64:
      return 'int64_data';
    case DataType.UINT32:
    case DataType.UINT64:
      return 'uint64_data';
    case DataType.STRING:
      return 'string_data';
    case DataType.UNDEFINED:
      return undefined;
    default:
      return bitsPerElement(dataType) === undefined ? undefined : 'int32_data';
  }
}

export type TensorData =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'typed'; field: TypedField; values: readonly number[] | readonly bigint[] }
  | { kind: 'external'; path: string; location: string; offset: number; length: number; version: string };

/**
 * What identifies one version of a file: any write changes the modification time and the change time
 * (which no user can set back), a replacement changes the inode. Nanosecond times, so that two writes
 * within a millisecond still differ.
 */
export function fileVersion(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * The index of the first NaN in a floating-point tensor's raw little-endian bytes, decided on the bits
 * (exponent all ones, mantissa not zero) without converting; undefined when there is none or the type is
 * not floating point. Complex types are checked part by part. ±Infinity passes: masks and unbounded
 * clips hold it legitimately, and the analysis refuses it only where it computes with the value.
 */
export function firstNaN(dataType: number, bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        if ((view.getUint32(i, true) & 0x7fffffff) > 0x7f800000) return i / 4;
      }
      return undefined;
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      for (let i = 0; i + 7 < bytes.length; i += 8) {
        const high = view.getUint32(i + 4, true) & 0x7fffffff;
        if (high > 0x7ff00000 || (high === 0x7ff00000 && view.getUint32(i, true) !== 0)) return i / 8;
      }
      return undefined;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        if (halfIsNaN(dataType, view.getUint16(i, true))) return i / 2;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Whether a FLOAT16 or BFLOAT16 bit pattern is NaN (exponent all ones, mantissa not zero). */
export function halfIsNaN(dataType: number, bits: number): boolean {
  return dataType === DataType.FLOAT16 ? (bits & 0x7fff) > 0x7c00 : (bits & 0x7fff) > 0x7f80;
}

/** The refusal of a NaN weight (the reader's and the external-data reader's, worded alike). */
export function nanWeight(index: number): string {
  return `value ${index} is NaN; no weight of a model may be NaN`;
}

/** Where a tensor came from: a graph initializer, a Constant node, or a node attribute. */
export type TensorOrigin =
  | { kind: 'initializer' }
  | { kind: 'constant'; node: string; attribute: string }
  | { kind: 'attribute'; node: string; attribute: string }
  /** A graph input held at a given value (the analysis is with respect to another input). */
  | { kind: 'input' };

export interface TensorInit {
  name: string;
  dataType: number;
  dims: readonly number[];
  origin: TensorOrigin;
  data: TensorData;
  /** Model file, for error messages. */
  file: string;
  /** Byte offset of the TensorProto's data in the model file, when known. */
  offset?: number;
}

let float16Table: Float32Array | undefined;

/** All 65,536 half-precision values; a lookup is several times faster than decoding bit fields per value. */
function float16ToFloat32Table(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  float16Table = table;
  return table;
}

/**
 * The first `length` bytes in a fresh ArrayBuffer, so typed arrays can view them: raw_data views into the
 * file are usually not aligned to their element size. (Not `slice()`: on a Node Buffer it returns a view.)
 */
function alignedCopy(bytes: Uint8Array, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, length));
  return copy.buffer;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export class Tensor {
  readonly name: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  /** Number of elements (1 for a scalar). */
  readonly size: number;
  readonly origin: TensorOrigin;
  private readonly data: TensorData;
  private readonly file: string;
  private readonly offset?: number;

  constructor(init: TensorInit) {
    this.name = init.name;
    this.dataType = init.dataType;
    this.dims = init.dims;
    this.size = init.dims.reduce((a, b) => a * b, 1);
    this.origin = init.origin;
    this.data = init.data;
    this.file = init.file;
    this.offset = init.offset;
  }

  /** The same data under another name and origin: a Constant node's value takes the node's output name. */
  withName(name: string, origin: TensorOrigin): Tensor {
    const { dataType, dims, data, file, offset } = this;
    return new Tensor({ name, dataType, dims, origin, data, file, offset });
  }

  get dataTypeName(): string {
    return dataTypeName(this.dataType);
  }

  /** 'raw' (raw_data), 'typed' (float_data, int64_data, …) or 'external' (a side file). */
  get storage(): TensorData['kind'] {
    return this.data.kind;
  }

  /** The external data file's location as written in the model, if the tensor lives there. */
  get externalLocation(): string | undefined {
    return this.data.kind === 'external' ? this.data.location : undefined;
  }

  /** Human-readable subject for error messages, e.g. "initializer 'fc.weight'". */
  get description(): string {
    switch (this.origin.kind) {
      case 'initializer':
        return `initializer '${this.name}'`;
      case 'constant':
        return `tensor '${this.name}' of Constant node '${this.origin.node}'`;
      case 'attribute':
        return `tensor attribute '${this.origin.attribute}' of node '${this.origin.node}'`;
      case 'input':
        return `graph input '${this.name}' (held fixed)`;
    }
  }

  private error(detail: string, field?: string): OnnxError {
    return new OnnxError(detail, { file: this.file, subject: this.description, field, offset: this.offset });
  }

  /** The tensor's bytes in raw_data layout (a view for raw_data; a read of the byte range for external data). */
  rawBytes(): Uint8Array {
    const data = this.data;
    if (data.kind === 'raw') return data.bytes;
    if (data.kind === 'typed') throw this.error(`is stored in ${data.field}, not as raw bytes`, data.field);
    const bytes = new Uint8Array(data.length);
    let fd: number;
    try {
      fd = openSync(data.path, 'r');
    } catch (cause) {
      throw this.error(`cannot open external data file '${data.location}': ${(cause as Error).message}`, 'external_data');
    }
    try {
      let done = 0;
      while (done < data.length) {
        const n = readSync(fd, bytes, done, data.length - done, data.offset + done);
        if (n === 0) break;
        done += n;
      }
      if (done !== data.length) {
        throw this.error(
          `external data file '${data.location}' ended after ${done} of ${data.length} bytes at offset ${data.offset}`,
          'external_data',
        );
      }
      // Checked after the read: a file changed since the model was opened, or during this read, would
      // give weights from another version of the model. The second pass catches writes within one tick
      // of the file clock, which leave the stamp as it was.
      if (!this.rereadsTheSame(fd, bytes) || fileVersion(fstatSync(fd, { bigint: true })) !== data.version) {
        throw this.error(
          `external data file '${data.location}' changed after the model was opened; open the model again once its files are no longer being written`,
          'external_data',
        );
      }
    } finally {
      closeSync(fd);
    }
    const nan = firstNaN(this.dataType, bytes);
    if (nan !== undefined) throw this.error(nanWeight(nan), 'external_data');
    return bytes;
  }

  /** Whether the external file still holds `bytes` at the tensor's offset. */
  private rereadsTheSame(fd: number, bytes: Uint8Array): boolean {
    const { offset } = this.data as { offset: number };
    const chunk = new Uint8Array(Math.min(bytes.length, 1 << 20));
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, bytes.length - at), offset + at);
      if (n === 0 || Buffer.compare(chunk.subarray(0, n), bytes.subarray(at, at + n)) !== 0) return false;
      at += n;
    }
    return true;
  }

  /** The values as float32, in a new array the caller owns. FLOAT16/BFLOAT16/DOUBLE and integers convert. */
  toFloat32(): Float32Array {
    const data = this.data;
    if (data.kind === 'typed') {
      if (data.field === 'int32_data' && this.dataType === DataType.FLOAT16) {
        const table = float16ToFloat32Table();
        const out = new Float32Array(this.size);
        const values = data.values as readonly number[];
        for (let i = 0; i < out.length; i++) out[i] = table[values[i] & 0xffff];
        return out;
      }
      if (data.field === 'int32_data' && this.dataType === DataType.BFLOAT16) {
        const out = new Float32Array(this.size);
        const bits = new Uint32Array(out.buffer);
        const values = data.values as readonly number[];
        for (let i = 0; i < out.length; i++) bits[i] = (values[i] & 0xffff) << 16;
        return out;
      }
      if (data.field === 'float_data' && this.dataType === DataType.FLOAT) {
        return Float32Array.from(data.values as readonly number[]);
      }
      return Float32Array.from(this.toFloat64());
    }
    const bytes = this.rawBytes();
    switch (this.dataType) {
      case DataType.FLOAT:
        return new Float32Array(alignedCopy(bytes, this.size * 4));
      case DataType.FLOAT16: {
        const table = float16ToFloat32Table();
        const halves = new Uint16Array(alignedCopy(bytes, this.size * 2));
        const out = new Float32Array(this.size);
        for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
        return out;
      }
      case DataType.BFLOAT16: {
        const halves = new Uint16Array(alignedCopy(bytes, this.size * 2));
        const out = new Float32Array(this.size);
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < out.length; i++) bits[i] = halves[i] << 16;
        return out;
      }
      default:
        return Float32Array.from(this.toFloat64());
    }
  }

  /** The values as float64, in a new array. INT64 values beyond 2^53 lose precision here, as in any float. */
  toFloat64(): Float64Array {
    const data = this.data;
    if (data.kind === 'typed') {
      this.assertNumeric();
      switch (data.field) {
        case 'float_data':
        case 'double_data':
          return Float64Array.from(data.values as readonly number[]);
        case 'int64_data':
        case 'uint64_data':
          return Float64Array.from(data.values as readonly bigint[], Number);
        case 'int32_data':
          if (this.dataType === DataType.FLOAT16 || this.dataType === DataType.BFLOAT16) {
            return Float64Array.from(this.toFloat32());
          }
          if (this.dataType === DataType.BOOL) return Float64Array.from(data.values as readonly number[], (v) => (v ? 1 : 0));
          return Float64Array.from(data.values as readonly number[]);
        default:
          throw this.error(`cannot be read as numbers (${data.field})`, data.field);
      }
    }
    const bytes = this.rawBytes();
    const n = this.size;
    const copy = (width: number) => alignedCopy(bytes, n * width);
    switch (this.dataType) {
      case DataType.FLOAT:
      case DataType.FLOAT16:
      case DataType.BFLOAT16:
        return Float64Array.from(this.toFloat32());
      case DataType.DOUBLE:
        return new Float64Array(copy(8));
      case DataType.INT64:
        return Float64Array.from(new BigInt64Array(copy(8)), Number);
      case DataType.UINT64:
        return Float64Array.from(new BigUint64Array(copy(8)), Number);
      case DataType.INT32:
        return Float64Array.from(new Int32Array(copy(4)));
      case DataType.UINT32:
        return Float64Array.from(new Uint32Array(copy(4)));
      case DataType.INT16:
        return Float64Array.from(new Int16Array(copy(2)));
      case DataType.UINT16:
        return Float64Array.from(new Uint16Array(copy(2)));
      case DataType.INT8:
        return Float64Array.from(new Int8Array(copy(1)));
      case DataType.UINT8:
        return Float64Array.from(bytes.subarray(0, n));
      case DataType.BOOL:
        return Float64Array.from(bytes.subarray(0, n), (v) => (v ? 1 : 0));
      default:
        throw this.error(`has data type ${this.dataTypeName}, which cannot be read as real numbers`, 'data_type');
    }
  }

  /**
   * Integer values (INT64, INT32, …, BOOL) as JS numbers. INT64 values must lie within ±2^53; the
   * sentinels INT64_MAX / INT64_MIN that exporters use for "to the end" (Slice ends, …) become ±Infinity.
   */
  toIntegers(): number[] {
    if (this.dataType === DataType.INT64) return Array.from(this.toBigInt64(), (v, i) => this.safeInteger(v, i));
    if (this.dataType === DataType.UINT64) {
      return Array.from(this.toBigInt64(), (v, i) => this.safeInteger(BigInt.asUintN(64, v), i));
    }
    switch (this.dataType) {
      case DataType.INT32:
      case DataType.UINT32:
      case DataType.INT16:
      case DataType.UINT16:
      case DataType.INT8:
      case DataType.UINT8:
      case DataType.BOOL:
        return Array.from(this.toFloat64());
      default:
        throw this.error(`has data type ${this.dataTypeName}, expected an integer type`, 'data_type');
    }
  }

  /** INT64 (or UINT64, reinterpreted) values exactly, in a new array. */
  toBigInt64(): BigInt64Array {
    if (this.dataType !== DataType.INT64 && this.dataType !== DataType.UINT64) {
      throw this.error(`has data type ${this.dataTypeName}, expected INT64`, 'data_type');
    }
    const data = this.data;
    if (data.kind === 'typed') {
      if (data.field !== 'int64_data' && data.field !== 'uint64_data') {
        throw this.error(`stores INT64 values in ${data.field}`, data.field);
      }
      return BigInt64Array.from(data.values as readonly bigint[], (v) => BigInt.asIntN(64, v));
    }
    return new BigInt64Array(alignedCopy(this.rawBytes(), this.size * 8));
  }

  private safeInteger(value: bigint, index: number): number {
    if (value === INT64_MAX && this.dataType === DataType.INT64) return Infinity;
    if (value === INT64_MIN) return -Infinity;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.error(`value ${value} at index ${index} is outside the exactly representable range ±2^53`);
    }
    return Number(value);
  }

  private assertNumeric(): void {
    if (this.dataType === DataType.STRING || bitsPerElement(this.dataType) === undefined) {
      throw this.error(`has data type ${this.dataTypeName}, which cannot be read as real numbers`, 'data_type');
    }
    const complexOrPacked =
      this.dataType === DataType.COMPLEX64 ||
      this.dataType === DataType.COMPLEX128 ||
      (bitsPerElement(this.dataType) ?? 8) < 8 ||
      (this.dataType >= DataType.FLOAT8E4M3FN && this.dataType <= DataType.FLOAT8E5M2FNUZ) ||
      this.dataType === DataType.FLOAT8E8M0;
    if (complexOrPacked) {
      throw this.error(`has data type ${this.dataTypeName}, which cannot be read as real numbers`, 'data_type');
    }
  }
}
