// Where the large raw_data payloads of a model file's initializers lie, found before the file is read,
// so the reader can read each misaligned one straight into a buffer of its own that typed arrays can
// view (tensor.ts): a weight then costs no copy at all. Only the wire format is walked (tags and
// lengths, a few small reads per initializer); any surprise ends the walk with what was found so
// far, because the decoder, not this, judges the file (reader.ts puts back anything it does not claim).

import type { FileHandle } from 'node:fs/promises';
import { bitsPerElement } from './tensor';

export interface Payload {
  /** Byte offset of the raw_data bytes in the file. */
  offset: number;
  length: number;
}

/** Smaller payloads are copied when viewed (tensor.ts); reading them apart would cost more than it saves. */
export const MIN_SEPARATE_PAYLOAD_BYTES = 1 << 20;

const WINDOW_BYTES = 4096;

/** Positioned reads of a file through a small window, for walking its tags and lengths. */
class WindowReader {
  private window = new Uint8Array(WINDOW_BYTES);
  private start = 0;
  private filled = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** The byte at `at`, or undefined past the end of the file. */
  async byte(at: number): Promise<number | undefined> {
    if (at >= this.size) return undefined;
    if (at < this.start || at >= this.start + this.filled) {
      const { bytesRead } = await this.handle.read(this.window, 0, Math.min(WINDOW_BYTES, this.size - at), at);
      this.start = at;
      this.filled = bytesRead;
      if (bytesRead === 0) return undefined;
    }
    return this.window[at - this.start];
  }

  /** A varint at `at` and the offset after it; undefined if malformed or beyond 2^53. */
  async varint(at: number): Promise<{ value: number; next: number } | undefined> {
    let value = 0;
    for (let shift = 0, k = at; shift < 56; shift += 7, k++) {
      const b = await this.byte(k);
      if (b === undefined) return undefined;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return Number.isSafeInteger(value) ? { value, next: k + 1 } : undefined;
    }
    return undefined;
  }
}

interface Field {
  number: number;
  wireType: number;
  /** For length-delimited fields: where the bytes start and how many; for varints: the value. */
  start: number;
  length: number;
  value: number;
  next: number;
}

/** The field at `at` within [.., end), or undefined when malformed (or a group, which ONNX never uses). */
async function field(reader: WindowReader, at: number, end: number): Promise<Field | undefined> {
  const tag = await reader.varint(at);
  if (!tag) return undefined;
  const number = Math.floor(tag.value / 8);
  const wireType = tag.value % 8;
  let next: number;
  let start = tag.next;
  let length = 0;
  let value = 0;
  switch (wireType) {
    case 0: {
      const v = await reader.varint(tag.next);
      if (!v) return undefined;
      value = v.value;
      next = v.next;
      break;
    }
    case 1:
      next = tag.next + 8;
      break;
    case 2: {
      const l = await reader.varint(tag.next);
      if (!l) return undefined;
      start = l.next;
      length = l.value;
      next = start + length;
      break;
    }
    case 5:
      next = tag.next + 4;
      break;
    default:
      return undefined;
  }
  return next <= end ? { number, wireType, start, length, value, next } : undefined;
}

/** The raw_data of one TensorProto, if it is large and its elements are misaligned where it lies. */
async function tensorPayload(reader: WindowReader, start: number, end: number): Promise<Payload | undefined> {
  let dataType = 0;
  let raw: Payload | undefined;
  for (let at = start; at < end; ) {
    const f = await field(reader, at, end);
    if (!f) return undefined;
    if (f.number === 2 && f.wireType === 0) dataType = f.value;
    if (f.number === 9 && f.wireType === 2) raw = { offset: f.start, length: f.length };
    at = f.next;
  }
  const bits = bitsPerElement(dataType) ?? 0;
  const align = Math.min(8, bits / 8);
  if (!raw || raw.length < MIN_SEPARATE_PAYLOAD_BYTES || !Number.isInteger(align) || align < 2) return undefined;
  return raw.offset % align === 0 ? undefined : raw;
}

/**
 * The misaligned large raw_data payloads of the top-level graph's initializers (ModelProto.graph = 7,
 * GraphProto.initializer = 5, TensorProto.data_type = 2 and raw_data = 9), in file order, disjoint.
 */
export async function misalignedPayloads(handle: FileHandle, size: number): Promise<Payload[]> {
  const reader = new WindowReader(handle, size);
  const found: Payload[] = [];
  for (let at = 0; at < size; ) {
    const model = await field(reader, at, size);
    if (!model) break;
    if (model.number === 7 && model.wireType === 2) {
      const graphEnd = model.start + model.length;
      for (let g = model.start; g < graphEnd; ) {
        const f = await field(reader, g, graphEnd);
        if (!f) return found;
        if (f.number === 5 && f.wireType === 2) {
          const payload = await tensorPayload(reader, f.start, f.start + f.length);
          if (payload) found.push(payload);
        }
        g = f.next;
      }
    }
    at = model.next;
  }
  return found;
}
