// ONNX graph → analysis Network. Walks the nodes the chosen output depends on in topological order,
// hands each to the handler registered for its op type (registry.ts), and collects every node the
// analysis has no rule for, so that the user sees all of them at once, before any computation.
// Hard errors (non-constant weights, inconsistent shapes, missing inputs, an input the analysis cannot
// feed) are OnnxErrors naming the node and the field.

import type { Model, Node, ValueInfo } from '../../onnx/model';
import { formatValueInfo } from '../../onnx/model';
import { OnnxError } from '../../onnx/onnxError';
import { nodeText } from '../../shared/format';
import { DataType, dataTypeName } from '../../onnx/tensor';
import { checkInputShape } from '../limits';
import { NETWORK_INPUT, type Network } from '../network';
import { NormaliseContext, PLACEHOLDER_REF, UnsupportedNodeError, nodeLabel } from './context';
import { handlerFor } from './registry';
import { outputShapeGuess } from './shapeGuess';

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

export interface NormaliseOptions {
  /** Graph output to analyse; default the first one. */
  output?: string;
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

/** Nodes the tensor depends on, in a topological order that keeps file order where it can. */
function ancestorsInOrder(model: Model, output: string): Node[] {
  const { graph } = model;
  const needed = new Set<Node>();
  const stack = [output];
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
  if (graph.inputs.length !== 1) {
    const names = graph.inputs.map((i) => `'${i.name}'`).join(', ') || 'none';
    throw new OnnxError(`the graph has ${graph.inputs.length} inputs (${names}); the analysis needs exactly one float input`, { file, field: 'graph.input' });
  }
  const inputInfo = graph.inputs[0];
  const inputShape = inputShapeOf(model, inputInfo, options.inputShape);
  if (graph.outputs.length === 0) throw new OnnxError('the graph has no outputs', { file, field: 'graph.output' });
  const requested = options.output ?? graph.outputs[0].name;
  if (!graph.outputs.some((o) => o.name === requested)) {
    throw new OnnxError(`has no graph output '${requested}' (outputs: ${graph.outputs.map((o) => `'${o.name}'`).join(', ')})`, { file, field: 'graph.output' });
  }
  if (graph.outputs.length > 1) {
    notes.push(`The graph has ${graph.outputs.length} outputs; bounds are for '${requested}' only.`);
  }
  let output = requested;
  for (let producer = graph.producer(output); producer && producer.domain === '' && TERMINAL_NORMALISERS.has(producer.opType); producer = graph.producer(output)) {
    notes.push(`Bounds are on the logits '${producer.inputs[0]}', taken before ${producer.opType} '${nodeLabel(producer)}'.`);
    output = producer.inputs[0];
  }

  const observable = new Set<string>([output, ...graph.outputs.map((o) => o.name)]);
  const ctx = new NormaliseContext(graph, observable);
  ctx.set(inputInfo.name, { kind: 'data', name: inputInfo.name, ref: NETWORK_INPUT, shape: inputShape, nonNegative: false });

  const unsupported: UnsupportedNode[] = [];
  const unchecked: string[] = [];
  let prefixLength: number | undefined;
  for (const node of ancestorsInOrder(model, output)) {
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
  const value = ctx.lookup(output);
  if (!value) throw new OnnxError(`output '${output}' is produced by no node`, { file, field: 'graph.output' });
  if (value.kind === 'const') {
    throw new OnnxError(`output '${output}' is a constant: it does not depend on the input '${inputInfo.name}'`, { file, field: 'graph.output' });
  }
  const data = value.kind === 'padded' ? ctx.materialisePad(value) : value;
  if (data.kind !== 'data') throw new Error(`output '${output}' has no value after normalisation`);
  result.network = { inputName: inputInfo.name, inputShape, layers: ctx.layers, output: data.ref };
  return result;
}
