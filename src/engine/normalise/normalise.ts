// ONNX graph → analysis Network. Walks the nodes the chosen outputs depend on in topological order,
// hands each to the handler registered for its op type (registry.ts), and collects every node the
// analysis has no rule for, so that the user sees all of them at once, before any computation.
// Hard errors (non-constant weights, inconsistent shapes, missing inputs, an input the analysis cannot
// feed) are OnnxErrors naming the node and the field.

import type { Model, Node, ValueInfo } from '../../onnx/model';
import { formatValueInfo } from '../../onnx/model';
import { OnnxError } from '../../onnx/onnxError';
import { nodeText } from '../../shared/format';
import { DataType, dataTypeName, Tensor, typedFieldFor } from '../../onnx/tensor';
import { checkInputShape } from '../limits';
import { NETWORK_INPUT, type FixedInput, type Network, type TensorRef } from '../network';
import { NormaliseContext, PLACEHOLDER_REF, UnsupportedNodeError, nodeLabel } from './context';
import { handlerFor } from './registry';
import { outputShapeGuess } from './shapeGuess';
import type { DataValue } from './values';

/** The model's input has open dimensions and no shape was given: the caller says how to give one. */
export class InputShapeNeededError extends OnnxError {
  constructor(detail: string, file: string, subject: string, field?: string) {
    super(`${detail}; give the input shape explicitly`, { file, subject, field });
    this.name = 'InputShapeNeededError';
  }
}

export interface UnsupportedNode {
  /** Node name ('' for unnamed nodes; see label). */
  node: string;
  /** Name, or "OpType#index" for unnamed nodes. */
  label: string;
  /** Position in the file's node list. */
  index: number;
  opType: string;
  domain: string;
  reason: string;
}

/** The value a graph input is held at while the bounds are taken with respect to another input. */
export interface FixedInputValue {
  values: Float64Array;
  /** Shape as given (with or without the batch axis of 1). */
  shape: readonly number[];
  /** The file the values came from. */
  origin: string;
}

export interface NormaliseOptions {
  /** Graph outputs to bound, flattened and concatenated in this order; default every graph output. */
  outputs?: readonly string[];
  /** The graph input the bounds are taken with respect to; default the first float input. */
  input?: string;
  /** Values of the other graph inputs, which are held fixed; an input not listed here is held at zeros. */
  fixedInputs?: ReadonlyMap<string, FixedInputValue>;
  /** Input shape without the batch axis, for inputs whose file declares symbolic or unknown dimensions. */
  inputShape?: readonly number[];
}

export interface NormaliseResult {
  /** The whole analysis network; undefined when a node on the path to the output is unsupported. */
  network?: Network;
  /** Every node on the path to the output that the analysis cannot represent, in graph order. */
  unsupported: UnsupportedNode[];
  /**
   * Nodes behind an unsupported one whose input shapes could not be inferred, so they could not be
   * checked ("Conv 'c7'"); they may or may not be supported.
   */
  unchecked: string[];
  /** The layers computable before the first unsupported node, with the last of them as output. */
  supportedPrefix?: Network;
  /** Things the user should know: the output was taken before a Softmax, other graph outputs ignored, … */
  notes: string[];
}

const TERMINAL_NORMALISERS = new Set(['Softmax', 'LogSoftmax']);

const LISTED_BY_NAME = 10;

/** "3 nodes are not supported: Resize 'up1', Softplus 'sp', Upsample #7" (the first ten by name, then a count). */
export function formatUnsupported(unsupported: readonly UnsupportedNode[]): string {
  const count = unsupported.length;
  const items = unsupported.slice(0, LISTED_BY_NAME).map((u) => nodeText(u.opType, u.node, u.index));
  if (count > LISTED_BY_NAME) items.push(`and ${count - LISTED_BY_NAME} more`);
  return `${count} node${count === 1 ? ' is' : 's are'} not supported: ${items.join(', ')}`;
}

/** The same list with each node's reason, one per line, for logs and hovers. */
export function describeUnsupported(unsupported: readonly UnsupportedNode[]): string {
  return unsupported.map((u) => `${nodeText(u.opType, u.node, u.index)}: ${u.reason}`).join('\n');
}

/** "3 nodes after unsupported ones could not be checked (their input shapes are unknown): Conv 'c7', …" */
export function uncheckedNote(unchecked: readonly string[]): string {
  const count = unchecked.length;
  const listed = unchecked.slice(0, LISTED_BY_NAME).join(', ') + (count > LISTED_BY_NAME ? `, and ${count - LISTED_BY_NAME} more` : '');
  return `${count} node${count === 1 ? '' : 's'} after unsupported ones could not be checked (their input shapes are unknown): ${listed}`;
}

/** The network, or a one-line error listing every unsupported node with its reason (what the analysis request needs). */
export function requireNetwork(result: NormaliseResult, file: string): Network {
  if (result.network) return result.network;
  const reasons = describeUnsupported(result.unsupported.slice(0, LISTED_BY_NAME)).replaceAll('\n', '; ');
  const unchecked = result.unchecked.length > 0 ? `; ${uncheckedNote(result.unchecked)}` : '';
  throw new OnnxError(`${formatUnsupported(result.unsupported)} (${reasons})${unchecked}`, { file });
}

function inputShapeOf(model: Model, info: ValueInfo, override?: readonly number[]): number[] {
  const file = model.path;
  const subject = `graph input '${info.name}'`;
  if (info.elemType !== DataType.FLOAT) {
    const type = info.elemType === undefined ? 'no tensor type' : dataTypeName(info.elemType);
    throw new OnnxError(`has ${type}; the analysis needs a FLOAT (float32) input`, { file, subject, field: 'type' });
  }
  if (override) {
    if (override.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new OnnxError(`the given input shape [${override.join(',')}] must be positive integers`, { file, subject });
    }
    if (info.shape && info.shape.length !== override.length + 1) {
      throw new OnnxError(`declares rank ${info.shape.length}, the given shape [N,${override.join(',')}] has rank ${override.length + 1}`, { file, subject });
    }
    checkInputShape(override, file, subject);
    return [...override];
  }
  if (!info.shape) throw new InputShapeNeededError('declares no shape', file, subject, 'type.tensor_type.shape');
  const [batch, ...rest] = info.shape;
  if (info.shape.length < 2) {
    throw new OnnxError(`has shape ${formatValueInfo(info)}; the analysis needs a batch axis and at least one more`, { file, subject });
  }
  if (typeof batch === 'number' && batch !== 1) {
    throw new OnnxError(`has batch size ${batch}; the analysis needs a batch of 1 (or a symbolic batch axis)`, { file, subject });
  }
  if (rest.some((d) => typeof d !== 'number' || d < 1)) {
    throw new InputShapeNeededError(`has shape ${formatValueInfo(info)} with symbolic or unknown dimensions after the batch axis`, file, subject);
  }
  checkInputShape(rest as number[], file, subject);
  return rest as number[];
}

/**
 * Gives an unsupported node's output a placeholder value when its shape is known (element-wise
 * operators, or a static shape declared in the file), so that the nodes after it are still checked.
 */
function placeholderFor(node: Node, ctx: NormaliseContext): void {
  const output = node.outputs[0];
  const shape = output ? outputShapeGuess(node, ctx) : undefined;
  if (!shape || shape.length === 0) return;
  ctx.set(output, { kind: 'data', name: output, ref: PLACEHOLDER_REF, shape, nonNegative: false });
}

/** Nodes the tensors depend on, in a topological order that keeps file order where it can. */
function ancestorsInOrder(model: Model, outputs: readonly string[]): Node[] {
  const { graph } = model;
  const needed = new Set<Node>();
  const stack = [...outputs];
  const seen = new Set<string>();
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const producer = graph.producer(name);
    if (!producer || needed.has(producer)) continue;
    needed.add(producer);
    for (const input of producer.inputs) if (input) stack.push(input);
  }
  // Files are meant to list nodes topologically, so one pass usually places them all; further passes
  // repair files that are not, without recursion (graphs can be thousands of nodes deep).
  let pending = graph.nodes.filter((node) => needed.has(node));
  const ordered: Node[] = [];
  const placed = new Set<Node>();
  while (pending.length > 0) {
    const rest: Node[] = [];
    for (const node of pending) {
      const ready = node.inputs.every((input) => {
        const producer = input ? graph.producer(input) : undefined;
        return !producer || placed.has(producer);
      });
      if (ready) {
        placed.add(node);
        ordered.push(node);
      } else {
        rest.push(node);
      }
    }
    if (rest.length === pending.length) throw rest[0].error('is part of a cycle; ONNX graphs must be acyclic');
    pending = rest;
  }
  return ordered;
}

export function normaliseGraph(model: Model, options: NormaliseOptions = {}): NormaliseResult {
  const { graph } = model;
  const file = model.path;
  const notes: string[] = [];
  const inputInfo = analysedInput(model, options.input);
  const inputShape = inputShapeOf(model, inputInfo, options.inputShape);
  const others = graph.inputs.filter((info) => info !== inputInfo);
  for (const name of options.fixedInputs?.keys() ?? []) {
    if (!others.some((info) => info.name === name)) {
      throw new OnnxError(`has no other graph input '${name}' to hold fixed (inputs: ${graph.inputs.map((i) => `'${i.name}'`).join(', ')})`, { file, field: 'graph.input' });
    }
  }
  // A symbolic batch axis is 1; so is a dimension of another input named like it (LSTM states [2,'batch',64]).
  const batchSymbol = typeof inputInfo.shape?.[0] === 'string' ? inputInfo.shape[0] : undefined;
  const fixedInputs = others.map((info) => fixedInput(model, info, options.fixedInputs?.get(info.name), batchSymbol));
  if (fixedInputs.length > 0) {
    const held = fixedInputs.map((f) => `'${f.name}' ${f.source === 'zeros' ? 'at zeros' : `from ${f.source}`}`).join(', ');
    notes.push(`Bounds are with respect to the input '${inputInfo.name}'; the other inputs are held fixed: ${held}.`);
  }
  const requested = requestedOutputs(model, options.outputs);
  if (graph.outputs.length > 1) {
    notes.push(
      requested.length === 1
        ? `The graph has ${graph.outputs.length} outputs; bounds are for '${requested[0]}' only.`
        : `Bounds are for the outputs ${requested.map((o) => `'${o}'`).join(', ')}, flattened and concatenated into one vector.`,
    );
  }
  const analysed = requested.map((name) => {
    let output = name;
    for (let producer = graph.producer(output); producer && producer.domain === '' && TERMINAL_NORMALISERS.has(producer.opType); producer = graph.producer(output)) {
      notes.push(`Bounds are on the logits '${producer.inputs[0]}', taken before ${producer.opType} '${nodeLabel(producer)}'.`);
      output = producer.inputs[0];
    }
    return output;
  });

  const observable = new Set<string>([...analysed, ...graph.outputs.map((o) => o.name)]);
  const ctx = new NormaliseContext(graph, observable);
  ctx.set(inputInfo.name, { kind: 'data', name: inputInfo.name, ref: NETWORK_INPUT, shape: inputShape, nonNegative: false });
  for (const fixed of fixedInputs) ctx.set(fixed.name, { kind: 'const', name: fixed.name, dims: fixed.tensor.dims, dataType: fixed.tensor.dataType, tensor: fixed.tensor });

  const unsupported: UnsupportedNode[] = [];
  const unchecked: string[] = [];
  let prefixLength: number | undefined;
  for (const node of ancestorsInOrder(model, analysed)) {
    if (ctx.isConsumed(node)) continue;
    const inputs = node.inputs.map((input) => (input ? ctx.lookup(input) : undefined));
    const blocked = inputs.some((value) => value?.kind === 'unknown');
    const afterUnsupported = inputs.some((value) => ctx.dependsOnPlaceholder(value));
    const markUnknown = () => {
      for (const name of node.outputs) if (name) ctx.set(name, { kind: 'unknown', name });
    };
    const record = (error: UnsupportedNodeError) => {
      prefixLength ??= ctx.layers.length;
      const culprit = error.node;
      unsupported.push({ node: culprit.name, label: nodeLabel(culprit), index: culprit.index, opType: culprit.opType, domain: culprit.domain, reason: error.reason });
      markUnknown();
      if (culprit === node) placeholderFor(node, ctx);
    };
    const handler = handlerFor(node);
    if (!handler) {
      // Listed even behind another unsupported node: the op type alone rules it out.
      const reason = node.domain === '' ? `no analysis rule for ${node.opType}` : `custom-domain operator (${node.domain})`;
      record(new UnsupportedNodeError(node, reason));
      continue;
    }
    if (blocked) {
      unchecked.push(node.name ? `${node.opType} '${node.name}'` : `${node.opType} #${node.index}`);
      markUnknown();
      continue;
    }
    try {
      handler(node, ctx);
    } catch (error) {
      if (error instanceof UnsupportedNodeError) record(error);
      // Behind an unsupported node the shapes are guesses: a failure there is not the model's fault.
      else if (afterUnsupported) markUnknown();
      else throw error;
    }
  }

  const result: NormaliseResult = { unsupported, unchecked, notes: [...notes, ...ctx.notes, ...(unchecked.length > 0 ? [`${uncheckedNote(unchecked)}.`] : [])] };
  const layersBefore = prefixLength ?? ctx.layers.length;
  const prefix = ctx.layers.slice(0, layersBefore);
  if (unsupported.length > 0) {
    if (prefix.length > 0) {
      result.supportedPrefix = { inputName: inputInfo.name, inputShape, layers: prefix, output: prefix.length - 1 };
    }
    return result;
  }
  const bounded = boundedOutput(ctx, analysed, requested, file, inputInfo.name, result.notes);
  const network: Network = { inputName: inputInfo.name, inputShape, layers: ctx.layers, output: bounded.ref, outputNames: bounded.names };
  if (fixedInputs.length > 0) network.fixedInputs = fixedInputs;
  result.network = network;
  return result;
}

/** Whether the input leaves dimensions after the batch axis open (symbolic, unknown, or no shape). */
export function hasOpenInputShape(info: ValueInfo): boolean {
  const shape = info.shape;
  return shape === undefined || shape.slice(1).some((d) => typeof d !== 'number' || d < 1);
}

/** The shape an open model input takes from a nominal input file's shape: that shape without a batch of 1. */
export function shapeFromInput(info: ValueInfo, fileShape: readonly number[]): number[] {
  const rank = info.shape?.length;
  const dropsBatch = fileShape[0] === 1 && (rank === undefined ? fileShape.length > 1 : fileShape.length === rank);
  return dropsBatch ? fileShape.slice(1) : [...fileShape];
}

/** The graph input the bounds are taken with respect to: the one named, else the first float input. */
export function analysedInput(model: Model, name: string | undefined): ValueInfo {
  const { inputs } = model.graph;
  const listed = () => inputs.map((i) => `'${i.name}'`).join(', ') || 'none';
  if (name !== undefined) {
    const named = inputs.find((i) => i.name === name);
    if (!named) throw new OnnxError(`has no graph input '${name}' (inputs: ${listed()})`, { file: model.path, field: 'graph.input' });
    return named;
  }
  if (inputs.length === 0) throw new OnnxError('the graph has no inputs', { file: model.path, field: 'graph.input' });
  return inputs.find((i) => i.elemType === DataType.FLOAT) ?? inputs[0];
}

function requestedOutputs(model: Model, outputs: readonly string[] | undefined): string[] {
  const { graph } = model;
  const file = model.path;
  if (graph.outputs.length === 0) throw new OnnxError('the graph has no outputs', { file, field: 'graph.output' });
  if (outputs === undefined || outputs.length === 0) return graph.outputs.map((o) => o.name);
  for (const name of outputs) {
    if (!graph.outputs.some((o) => o.name === name)) {
      throw new OnnxError(`has no graph output '${name}' (outputs: ${graph.outputs.map((o) => `'${o.name}'`).join(', ')})`, { file, field: 'graph.output' });
    }
  }
  return [...new Set(outputs)];
}

/**
 * The layer whose output is bounded: the one output's, or for several outputs a concatenation of
 * each flattened (the Jacobian of the stacked vector, docs/derivations.md §23). Outputs that do not
 * depend on the analysed input are left out with a note; if none does, that is an error.
 */
function boundedOutput(
  ctx: NormaliseContext,
  analysed: readonly string[],
  requested: readonly string[],
  file: string,
  inputName: string,
  notes: string[],
): { ref: TensorRef; names: string[] } {
  const parts: DataValue[] = [];
  const names: string[] = [];
  analysed.forEach((name, k) => {
    const value = ctx.lookup(name);
    if (!value) throw new OnnxError(`output '${name}' is produced by no node`, { file, field: 'graph.output' });
    if (value.kind === 'const') {
      if (analysed.length === 1) throw new OnnxError(`output '${name}' is a constant: it does not depend on the input '${inputName}'`, { file, field: 'graph.output' });
      notes.push(`The output '${requested[k]}' does not depend on the input '${inputName}' and is left out of the bounds.`);
      return;
    }
    const data = value.kind === 'padded' ? ctx.materialisePad(value) : value;
    if (data.kind !== 'data') throw new Error(`output '${name}' has no value after normalisation`);
    parts.push(data);
    names.push(requested[k]);
  });
  if (parts.length === 0) throw new OnnxError(`no requested output depends on the input '${inputName}'`, { file, field: 'graph.output' });
  if (parts.length === 1) return { ref: parts[0].ref, names };
  const flat = parts.map((part) => ctx.emitOutputStep({ kind: 'reshape' }, [part], [part.shape.reduce((a, b) => a * b, 1)], `flatten '${part.name}'`));
  const total = flat.reduce((sum, part) => sum + part.shape[0], 0);
  return { ref: ctx.emitOutputStep({ kind: 'concat', axis: 0 }, flat, [total], 'concatenate outputs').ref, names };
}

/**
 * A graph input held at a fixed value: the values given for it, else zeros. Its shape is the declared
 * one with a symbolic batch axis, and dimensions named like the analysed input's, read as 1; other
 * open dimensions need given values.
 */
function fixedInput(model: Model, info: ValueInfo, given: FixedInputValue | undefined, batchSymbol: string | undefined): FixedInput {
  const file = model.path;
  const subject = `graph input '${info.name}'`;
  const declared = info.shape?.map((d, axis) => ((axis === 0 && typeof d !== 'number') || (batchSymbol !== undefined && d === batchSymbol) ? 1 : d));
  const dataType = info.elemType ?? DataType.UNDEFINED;
  if (!FIXABLE_TYPES.has(dataType)) {
    throw new OnnxError(`has ${dataTypeName(dataType)}; an input held fixed must be a float, integer or bool tensor`, { file, subject, field: 'type' });
  }
  let dims: number[];
  let values: Float64Array;
  if (given) {
    const shape = [...given.shape];
    if (declared && shape.length === declared.length - 1 && declared[0] === 1) shape.unshift(1);
    if (declared && (shape.length !== declared.length || declared.some((d, i) => typeof d === 'number' && d !== shape[i]))) {
      throw new OnnxError(`is declared [${declared.join(',')}], but ${given.origin} holds shape [${given.shape.join(',')}]`, { file, subject });
    }
    dims = shape;
    values = given.values;
  } else {
    if (!declared || declared.some((d) => typeof d !== 'number')) {
      throw new OnnxError(`has open dimensions (${formatValueInfo(info)}); give its value to hold it fixed`, { file, subject, field: 'type.tensor_type.shape' });
    }
    dims = declared as number[];
    checkInputShape(dims, file, subject);
    values = new Float64Array(dims.reduce((a, b) => a * b, 1));
  }
  if (INTEGER_TYPES.has(dataType)) {
    const bad = values.findIndex((v) => !Number.isSafeInteger(v));
    if (bad >= 0) throw new OnnxError(`is ${dataTypeName(dataType)}, but value ${values[bad]} at index ${bad} is not an integer`, { file, subject });
  }
  const field = typedFieldFor(dataType)!;
  const typed = dataType === DataType.INT64 ? Array.from(values, (v) => BigInt(v)) : Array.from(values);
  const tensor = new Tensor({ name: info.name, dataType, dims, origin: { kind: 'input' }, data: { kind: 'typed', field, values: typed }, file });
  return { name: info.name, tensor, source: given ? given.origin : 'zeros' };
}

const INTEGER_TYPES: ReadonlySet<number> = new Set([DataType.INT64, DataType.INT32, DataType.INT16, DataType.INT8, DataType.UINT8, DataType.BOOL]);
const FIXABLE_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, ...INTEGER_TYPES]);
