// What the normaliser knows about each ONNX tensor while it walks the graph: a value computed from the
// network input (held by a layer, or the input itself), a constant (an initializer or a folded
// initializer-only subgraph), a zero-padded view of a data value not yet turned into a layer, or
// unknown (downstream of an unsupported node).

import type { Node } from '../../onnx/model';
import { DataType } from '../../onnx/tensor';
import type { Tensor } from '../../onnx/tensor';
import type { TensorRef } from '../network';

export interface DataValue {
  kind: 'data';
  /** ONNX tensor name. */
  name: string;
  ref: TensorRef;
  /** Shape without the batch axis. */
  shape: readonly number[];
  /** Every value is ≥ 0 whatever the input (after ReLU, sigmoid, …): zero padding cannot win a max. */
  nonNegative: boolean;
}

export interface ConstValue {
  kind: 'const';
  name: string;
  dims: readonly number[];
  dataType: number;
  /** The initializer, decoded only when asked; absent for folded values. */
  tensor?: Tensor;
  /** Folded values (float64 holds every integer a shape computation needs). */
  values?: Float64Array;
}

/** A Pad node's output with zero padding of the spatial axes, absorbed by a following Conv or pool when possible. */
export interface PaddedValue {
  kind: 'padded';
  name: string;
  source: DataValue;
  /** [top, left, bottom, right] */
  pads: readonly [number, number, number, number];
  node: Node;
  shape: readonly number[];
}

export interface UnknownValue {
  kind: 'unknown';
  name: string;
}

export type Value = DataValue | ConstValue | PaddedValue | UnknownValue;

/**
 * The values as they are, ±Infinity included (and NaN in a folded value, e.g. ∞ − ∞): for folding,
 * moving and comparing values, and for shapes. What the analysis computes with goes through
 * finiteNumbers or constFloat32 instead.
 */
export function constNumbers(value: ConstValue): Float64Array {
  if (value.values) return value.values;
  const numbers = value.tensor!.toFloat64();
  value.values = numbers;
  return numbers;
}

/** The values of a constant the analysis computes with (scales, shifts, BatchNormalization statistics). */
export function finiteNumbers(value: ConstValue, node: Node): Float64Array {
  return refuseNonFinite(constNumbers(value), value, node);
}

/** The weights or biases of an affine layer, in a new array the caller owns. */
export function constFloat32(value: ConstValue, node: Node): Float32Array {
  return refuseNonFinite(value.tensor ? value.tensor.toFloat32() : Float32Array.from(value.values!), value, node);
}

/**
 * The weights of an affine layer for reading only: a view of the model's bytes where the tensor allows
 * it (Tensor.float32View), so a large weight is never copied; the caller must not write to it.
 */
export function constWeightView(value: ConstValue, node: Node): Float32Array {
  return refuseNonFinite(value.tensor ? value.tensor.float32View() : Float32Array.from(value.values!), value, node);
}

/**
 * The one check between the model and the arithmetic of the analysis. The reader lets ±Infinity through
 * (masks and unbounded clips hold it, and the editor must still open such models); a bound computed
 * with it would be infinite or NaN, so it is refused here, naming the tensor, the node and the file.
 */
function refuseNonFinite<T extends Float32Array | Float64Array>(numbers: T, value: ConstValue, node: Node): T {
  for (let i = 0; i < numbers.length; i++) {
    if (!Number.isFinite(numbers[i])) {
      const what = value.tensor ? `tensor '${value.name}'` : `constant '${value.name}' (folded)`;
      throw node.error(`${what} value ${i} is ${numbers[i]}; the analysis computes with it and needs finite numbers`);
    }
  }
  return numbers;
}

/**
 * The [cols, rows] transpose of a row-major [rows, cols] matrix, in tiles that stay in cache (a plain
 * column walk misses the cache on every read of a fc-sized weight).
 */
export function transposeMatrix(source: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) out[c * rows + r] = source[r * cols + c];
      }
    }
  }
  return out;
}

/** Integer values of a constant (shapes, axes, pads); INT64 "to the end" sentinels become ±Infinity. */
export function constIntegers(value: ConstValue): number[] {
  if (value.tensor && value.dataType !== DataType.FLOAT && value.dataType !== DataType.DOUBLE) return value.tensor.toIntegers();
  return Array.from(constNumbers(value));
}

/** A folded constant; a float32 tensor's values rounded to float32, as the runtime stores each node's result. */
export function foldedConst(name: string, dims: readonly number[], dataType: number, values: Float64Array): ConstValue {
  return { kind: 'const', name, dims, dataType, values: dataType === DataType.FLOAT ? values.map(Math.fround) : values };
}
