// Where the large raw_data payloads of a model file's initializers lie, found before the file is read,
// so the reader can read each misaligned one straight into a buffer of its own that typed arrays can
// view (tensor.ts): a weight then costs no copy at all; and so the forward pass on onnxruntime can read
// the graph without the weights (graphBytes). Only the wire format is walked (tags and lengths, a few
// small reads per initializer); any surprise ends the walk with what was found so far, because the
// decoder, not this, judges the file (reader.ts puts back anything it does not claim).

import { open, type FileHandle } from 'node:fs/promises';
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

/** The raw_data of one TensorProto if it is large (and, with `misalignedOnly`, its elements misaligned where it lies). */
async function tensorPayload(reader: WindowReader, start: number, end: number, misalignedOnly: boolean): Promise<Payload | undefined> {
  let dataType = 0;
  let raw: Payload | undefined;
  for (let at = start; at < end; ) {
    const f = await field(reader, at, end);
    if (!f) return undefined;
    if (f.number === 2 && f.wireType === 0) dataType = f.value;
    if (f.number === 9 && f.wireType === 2) raw = { offset: f.start, length: f.length };
    // data_location EXTERNAL: whatever raw_data holds is not the tensor's data; leave it alone.
    if (f.number === 14 && f.wireType === 0 && f.value !== 0) return undefined;
    at = f.next;
  }
  if (!raw || raw.length < MIN_SEPARATE_PAYLOAD_BYTES) return undefined;
  if (!misalignedOnly) return raw;
  const align = Math.min(8, (bitsPerElement(dataType) ?? 0) / 8);
  return Number.isInteger(align) && align >= 2 && raw.offset % align !== 0 ? raw : undefined;
}

/**
 * The large raw_data payloads of the top-level graph's initializers (ModelProto.graph = 7,
 * GraphProto.initializer = 5, TensorProto.data_type = 2 and raw_data = 9), in file order, disjoint;
 * with `misalignedOnly`, those whose elements are misaligned where they lie in the file.
 */
export async function largePayloads(handle: FileHandle, size: number, misalignedOnly: boolean): Promise<Payload[]> {
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
          const payload = await tensorPayload(reader, f.start, f.start + f.length, misalignedOnly);
          if (payload) found.push(payload);
        }
        g = f.next;
      }
    }
    at = model.next;
  }
  return found;
}

/**
 * The file's bytes with its large initializer payloads left unread (zeros, in pages never touched): all
 * a copy of the graph needs when its weights are to be pointed at in the file (runtime/ortForward.ts).
 */
export async function graphBytes(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const bytes = new Uint8Array(size);
    let at = 0;
    const readUpTo = async (end: number) => {
      while (at < end) {
        const { bytesRead } = await handle.read(bytes, at, end - at, at);
        if (bytesRead === 0) throw new Error(`ended after ${at} of ${size} bytes`);
        at += bytesRead;
      }
    };
    for (const payload of size < MIN_SEPARATE_PAYLOAD_BYTES ? [] : await largePayloads(handle, size, false)) {
      await readUpTo(payload.offset);
      at = payload.offset + payload.length;
    }
    await readUpTo(size);
    return bytes;
  } finally {
    await handle.close();
  }
}
