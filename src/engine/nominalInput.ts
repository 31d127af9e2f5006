// The nominal input x0: parsed from .npy or .json bytes, or a deterministic synthetic stand-in.
import type { Shape } from './network';

export type InputSource = 'npy' | 'json' | 'example' | 'synthetic';

export interface NominalInput {
  values: Float64Array;
  /** Shape as the file gave it (with a batch dimension if the file had one). */
  shape: number[];
  source: InputSource;
  /** File the values came from, or a sentence saying how they were made. */
  origin: string;
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Parses a NumPy .npy file (format 1.0–3.0, little-endian float32/float64, C order). */
export function parseNpy(bytes: Uint8Array, fileName: string): NominalInput {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw new InputError(`${fileName}: not a NumPy .npy file (missing the \\x93NUMPY magic).`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLengthSize = major === 1 ? 2 : 4;
  if (major < 1 || major > 3) throw new InputError(`${fileName}: unsupported .npy format version ${major}.`);
  const headerLength = headerLengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + headerLengthSize;
  if (headerStart + headerLength > bytes.length) throw new InputError(`${fileName}: truncated .npy header.`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`${fileName}: malformed .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') throw new InputError(`${fileName}: Fortran-order arrays are not supported; save with C order.`);
  const itemSize = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (itemSize === 0) throw new InputError(`${fileName}: dtype '${descr}' is not supported; use little-endian float32 ('<f4') or float64 ('<f8').`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InputError(`${fileName}: malformed shape (${shapeText}).`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart < count * itemSize) {
    throw new InputError(`${fileName}: holds ${bytes.length - dataStart} data bytes, but shape (${shape.join(', ')}) needs ${count * itemSize}.`);
  }
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    values[i] = itemSize === 4 ? view.getFloat32(dataStart + 4 * i, true) : view.getFloat64(dataStart + 8 * i, true);
  }
  return checkFinite({ values, shape, source: 'npy', origin: fileName }, fileName);
}

/**
 * Parses a JSON input: a nested array, a flat array, or an object {data|input|values, shape?}.
 * A flat array without a shape takes the model's input shape.
 */
export function parseJsonInput(text: string, fileName: string): NominalInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${fileName}: not valid JSON (${(error as Error).message}).`);
  }
  let data: unknown = parsed;
  let declaredShape: number[] | undefined;
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const record = parsed as Record<string, unknown>;
    data = record.data ?? record.input ?? record.values;
    if (data === undefined) throw new InputError(`${fileName}: expected an array, or an object with a "data" array.`);
    if (record.shape !== undefined) {
      if (!Array.isArray(record.shape) || record.shape.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new InputError(`${fileName}: "shape" must be an array of non-negative integers.`);
      }
      declaredShape = record.shape as number[];
    }
  }
  if (!Array.isArray(data)) throw new InputError(`${fileName}: the input data must be an array of numbers.`);
  const flat: number[] = [];
  const nestedShape = flattenNested(data, flat, fileName, 'data');
  const shape = declaredShape ?? nestedShape;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== flat.length) {
    throw new InputError(`${fileName}: "shape" [${shape.join(', ')}] holds ${count} values but the data has ${flat.length}.`);
  }
  return checkFinite({ values: Float64Array.from(flat), shape, source: 'json', origin: fileName }, fileName);
}

function flattenNested(value: unknown[], out: number[], fileName: string, path: string): number[] {
  if (value.length > 0 && Array.isArray(value[0])) {
    let inner: number[] | undefined;
    value.forEach((item, index) => {
      if (!Array.isArray(item)) throw new InputError(`${fileName}: ${path}[${index}] is not an array, unlike its siblings.`);
      const shape = flattenNested(item, out, fileName, `${path}[${index}]`);
      if (inner && inner.join() !== shape.join()) throw new InputError(`${fileName}: ${path}[${index}] is ragged (shape [${shape}] vs [${inner}]).`);
      inner = shape;
    });
    return [value.length, ...(inner ?? [])];
  }
  value.forEach((item, index) => {
    if (typeof item !== 'number') throw new InputError(`${fileName}: ${path}[${index}] is not a number.`);
    out.push(item);
  });
  return [value.length];
}

function checkFinite(input: NominalInput, fileName: string): NominalInput {
  const bad = input.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${fileName}: value ${bad} is ${input.values[bad]}; the nominal input must be finite.`);
  return input;
}

/**
 * A deterministic stand-in when the user gives no input: a smooth pattern in [0, 1], the same every
 * run, so results are reproducible. Reports say plainly that it is synthetic.
 */
export function syntheticInput(shape: Shape): NominalInput {
  const count = shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = 0.5 + 0.5 * Math.sin(0.7 * i + 0.3) * Math.cos(0.13 * i);
  return { values, shape: [...shape], source: 'synthetic', origin: 'synthetic input (deterministic pattern in [0, 1]; no input given)' };
}

/** Checks that an input matches the model input shape (an optional leading batch of 1 is accepted). */
export function matchInputShape(input: NominalInput, modelShape: Shape, inputName: string): Float64Array {
  const expected = modelShape.reduce((a, b) => a * b, 1);
  const given = input.shape[0] === 1 && input.shape.length === modelShape.length + 1 ? input.shape.slice(1) : input.shape;
  const sameShape = given.length === modelShape.length && given.every((d, i) => d === modelShape[i]);
  const flatMatch = given.length === 1 && given[0] === expected;
  if (!sameShape && !flatMatch) {
    throw new InputError(
      `${input.origin}: shape [${input.shape.join(', ')}] does not match model input '${inputName}' of shape [1, ${modelShape.join(', ')}].`,
    );
  }
  return input.values;
}
