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
  const { descr, fortranOrder, shape } = parseNpyHeader(header, fileName);
  if (fortranOrder) throw new InputError(`${fileName}: Fortran-order arrays are not supported; save with C order.`);
  const itemSize = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (itemSize === 0) throw new InputError(`${fileName}: dtype '${descr}' is not supported; use little-endian float32 ('<f4') or float64 ('<f8').`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count)) throw new InputError(`${fileName}: shape (${shape.join(', ')}) holds too many values.`);
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

/** Most dimensions a nominal input may have: more is a malformed file, not a tensor. */
const MAX_INPUT_RANK = 32;

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/**
 * The header of a .npy file: a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
 * 'shape': (1, 28, 28), }. Read by a strict parser rather than pattern matching: numbers are decimal
 * only (no 0x310), a repeated key takes the last value (as numpy's literal_eval does), and an unknown
 * or missing key is refused, as numpy refuses it. Every error names the file and the field.
 */
function parseNpyHeader(header: string, fileName: string): NpyHeader {
  let pos = 0;
  const fail = (what: string): never => {
    const near = JSON.stringify(header.slice(pos, pos + 24));
    throw new InputError(`${fileName}: malformed .npy header: ${what} (at character ${pos}, near ${near}).`);
  };
  const space = () => {
    while (pos < header.length && ' \t\n\r'.includes(header[pos])) pos++;
  };
  const expect = (char: string, what: string) => {
    space();
    if (header[pos] !== char) fail(`expected ${what}`);
    pos++;
  };
  const string = (what: string): string => {
    space();
    const quote = header[pos];
    if (quote !== "'" && quote !== '"') fail(`expected ${what} as a quoted string`);
    const end = header.indexOf(quote, pos + 1);
    if (end < 0) fail(`${what} has no closing quote`);
    const text = header.slice(pos + 1, end);
    if (text.includes('\\') || /[\n\r]/.test(text)) fail(`${what} contains an escape or a line break`);
    pos = end + 1;
    return text;
  };
  const integer = (what: string): number => {
    space();
    const digits = /^(0|[1-9][0-9]*)(?![0-9A-Za-z_.])/.exec(header.slice(pos))?.[0];
    if (digits === undefined) fail(`${what} must be a decimal integer`);
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) fail(`${what} is ${digits}, too large`);
    pos += digits!.length;
    return value;
  };
  const fields = new Map<string, string | boolean | number[]>();
  expect('{', "'{'");
  for (;;) {
    space();
    if (header[pos] === '}') break;
    const key = string('a key');
    expect(':', `':' after '${key}'`);
    space();
    let value: string | boolean | number[];
    if (header.startsWith('True', pos) || header.startsWith('False', pos)) {
      value = header.startsWith('True', pos);
      pos += value ? 4 : 5;
    } else if (header[pos] === '(') {
      pos++;
      const dims: number[] = [];
      let comma = false;
      for (;;) {
        space();
        if (header[pos] === ')') break;
        if (dims.length === MAX_INPUT_RANK) fail(`'${key}' has more than ${MAX_INPUT_RANK} dimensions`);
        dims.push(integer(`'${key}' entry ${dims.length}`));
        space();
        comma = header[pos] === ',';
        if (comma) pos++;
        else if (header[pos] !== ')') fail(`expected ',' or ')' in '${key}'`);
      }
      pos++;
      if (dims.length === 1 && !comma) fail(`'${key}' is (${dims[0]}), a number, not a tuple; write (${dims[0]},)`);
      value = dims;
    } else {
      value = string(`the value of '${key}'`);
    }
    // A Python dict literal keeps the last of repeated keys; so does numpy, and so do we.
    fields.set(key, value);
    space();
    if (header[pos] === ',') pos++;
    else if (header[pos] !== '}') fail(`expected ',' or '}' after '${key}'`);
  }
  pos++;
  space();
  if (pos !== header.length) fail('text after the closing brace');
  const unknown = [...fields.keys()].find((key) => !['descr', 'fortran_order', 'shape'].includes(key));
  if (unknown !== undefined) throw new InputError(`${fileName}: malformed .npy header: unknown key ${JSON.stringify(unknown)}; numpy writes only 'descr', 'fortran_order' and 'shape'.`);
  const descr = fields.get('descr');
  const fortranOrder = fields.get('fortran_order');
  const shape = fields.get('shape');
  const wrong = (key: string, expected: string) =>
    new InputError(`${fileName}: malformed .npy header: '${key}' ${fields.has(key) ? `must be ${expected}` : 'is missing'}.`);
  if (typeof descr !== 'string') throw wrong('descr', 'a string');
  if (typeof fortranOrder !== 'boolean') throw wrong('fortran_order', 'True or False');
  if (!Array.isArray(shape)) throw wrong('shape', 'a tuple of integers');
  return { descr, fortranOrder, shape };
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
      if (!Array.isArray(record.shape) || record.shape.length > MAX_INPUT_RANK || record.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
        throw new InputError(`${fileName}: "shape" must be an array of at most ${MAX_INPUT_RANK} non-negative integers.`);
      }
      declaredShape = record.shape as number[];
    }
  }
  if (!Array.isArray(data)) throw new InputError(`${fileName}: the input data must be an array of numbers.`);
  const flat: number[] = [];
  const nestedShape = flattenNested(data, flat, fileName);
  const shape = declaredShape ?? nestedShape;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== flat.length) {
    throw new InputError(`${fileName}: "shape" [${shape.join(', ')}] holds ${count} values but the data has ${flat.length}.`);
  }
  return checkFinite({ values: Float64Array.from(flat), shape, source: 'json', origin: fileName }, fileName);
}

/**
 * The numbers of a nested array in C order, and its shape. Iterative (a file may nest arrays 100 000
 * deep): the shape comes from the first entries, then every array is checked against it.
 */
function flattenNested(data: unknown[], out: number[], fileName: string): number[] {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    if (shape.length === MAX_INPUT_RANK) {
      throw new InputError(`${fileName}: the data nests arrays more than ${MAX_INPUT_RANK} deep; an input has at most ${MAX_INPUT_RANK} dimensions.`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const arrays: unknown[][] = [data];
  const next: number[] = [0];
  while (arrays.length > 0) {
    const depth = arrays.length - 1;
    const index = next[depth];
    if (index === arrays[depth].length) {
      arrays.pop();
      next.pop();
      continue;
    }
    next[depth] = index + 1;
    const item = arrays[depth][index];
    const where = () => `data${next.slice(0, depth).map((n) => `[${n - 1}]`).join('')}[${index}]`;
    if (depth === shape.length - 1) {
      if (typeof item !== 'number') throw new InputError(`${fileName}: ${where()} is not a number.`);
      out.push(item);
      continue;
    }
    if (!Array.isArray(item)) throw new InputError(`${fileName}: ${where()} is not an array, unlike its siblings.`);
    if (item.length !== shape[depth + 1]) {
      throw new InputError(`${fileName}: ${where()} is ragged (${item.length} entries where data${'[0]'.repeat(depth + 1)} has ${shape[depth + 1]}).`);
    }
    arrays.push(item);
    next.push(0);
  }
  return shape;
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
