// The state of one normalisation: the value of every ONNX tensor seen so far, the layers emitted, and
// the nodes already absorbed into a layer by look-ahead fusion (Conv→BatchNormalization→Relu, …).
// Op handlers read their inputs through it, so "weights must be constant" and "missing input" are
// checked in one place and name the node and the input.

import type { Graph, Node } from '../../onnx/model';
import { DataType } from '../../onnx/tensor';
import { checkNodeOutput } from '../limits';
import type { Layer, LayerOp } from '../network';
import type { ConstValue, DataValue, PaddedValue, Value } from './values';

/** A node the analysis has no rule for; the driver records it and carries on. */
export class UnsupportedNodeError extends Error {
  constructor(
    readonly node: Node,
    readonly reason: string,
  ) {
    super(`${node.description}: ${reason}`);
    this.name = 'UnsupportedNodeError';
  }
}

export function unsupported(node: Node, reason: string): UnsupportedNodeError {
  return new UnsupportedNodeError(node, reason);
}

export function nodeLabel(node: Node): string {
  return node.name || `${node.opType}#${node.index}`;
}

export interface EmitSpec {
  nodes: readonly Node[];
  op: LayerOp;
  inputs: readonly DataValue[];
  /** ONNX tensor holding the layer's output. */
  output: string;
  /** Output shape without the batch axis. */
  outputShape: readonly number[];
  preActivation?: string;
  nonNegative?: boolean;
}

/**
 * Stands for the output of an unsupported node whose shape is known, so that the nodes after it can
 * still be checked and every unsupported node listed at once. Layers reading it are never returned.
 */
export const PLACEHOLDER_REF = -2;

export class NormaliseContext {
  readonly layers: Layer[] = [];
  readonly notes: string[] = [];
  private readonly values = new Map<string, Value>();
  private readonly consumed = new Set<Node>();
  /** Layers that depend on a placeholder. */
  private readonly placeholderLayers = new Set<number>();

  constructor(
    readonly graph: Graph,
    /** Tensors that must stay observable (graph outputs, the analysed output): never fused past. */
    private readonly observable: ReadonlySet<string>,
  ) {}

  lookup(name: string): Value | undefined {
    const known = this.values.get(name);
    if (known) return known;
    const tensor = this.graph.initializers.get(name);
    if (!tensor) return undefined;
    const value: ConstValue = { kind: 'const', name, dims: tensor.dims, dataType: tensor.dataType, tensor };
    this.values.set(name, value);
    return value;
  }

  set(name: string, value: Value): void {
    this.values.set(name, value);
  }

  hasInput(node: Node, index: number): boolean {
    return index < node.inputs.length && node.inputs[index] !== '';
  }

  input(node: Node, index: number, role: string): Value {
    if (!this.hasInput(node, index)) throw node.error(`input ${index} (${role}) is missing`, role);
    const name = node.inputs[index];
    const value = this.lookup(name);
    if (!value) {
      throw node.error(`input ${index} (${role}) '${name}' is neither a graph input, an initializer nor the output of an earlier node`, role);
    }
    return value;
  }

  /** A value computed from the network input; a pending zero Pad is turned into its own layer first. */
  data(node: Node, index: number, role = 'X'): DataValue {
    const value = this.input(node, index, role);
    if (value.kind === 'data') return value;
    if (value.kind === 'padded') return this.materialisePad(value);
    if (value.kind === 'const') throw unsupported(node, `input '${value.name}' is a constant, not computed from the network input`);
    throw unsupported(node, `input '${value.name}' comes from an unsupported node`);
  }

  /** Like data(), but hands a pending zero Pad to the caller (Conv and pooling absorb it into their pads). */
  dataOrPadded(node: Node, index: number, role = 'X'): DataValue | PaddedValue {
    const value = this.input(node, index, role);
    return value.kind === 'padded' ? value : this.data(node, index, role);
  }

  constant(node: Node, index: number, role: string): ConstValue {
    const value = this.input(node, index, role);
    if (value.kind === 'const') return value;
    throw node.error(
      `${role} '${value.name}' is computed from the network input; it must be a constant (an initializer or a Constant node)`,
      role,
    );
  }

  optionalConstant(node: Node, index: number, role: string): ConstValue | undefined {
    return this.hasInput(node, index) ? this.constant(node, index, role) : undefined;
  }

  /** The one unprocessed node reading `tensor`, if exactly one does and the tensor need not stay observable. */
  soleConsumer(tensor: string): Node | undefined {
    if (this.observable.has(tensor)) return undefined;
    const consumers = this.graph.consumers(tensor);
    if (consumers.length !== 1 || this.consumed.has(consumers[0])) return undefined;
    const consumer = consumers[0];
    return consumer.domain === '' && consumer.inputs.filter((input) => input === tensor).length === 1 ? consumer : undefined;
  }

  /** Every unprocessed default-domain node reading `tensor`, or undefined if the tensor must stay observable. */
  hiddenConsumers(tensor: string): Node[] | undefined {
    if (this.observable.has(tensor)) return undefined;
    const consumers = this.graph.consumers(tensor);
    if (consumers.some((n) => this.consumed.has(n) || n.domain !== '')) return undefined;
    return [...consumers];
  }

  consume(node: Node): void {
    this.consumed.add(node);
  }

  isConsumed(node: Node): boolean {
    return this.consumed.has(node);
  }

  /** Whether a value derives from the output of an unsupported node (see PLACEHOLDER_REF). */
  dependsOnPlaceholder(value: Value | undefined): boolean {
    if (!value) return false;
    if (value.kind === 'padded') return this.dependsOnPlaceholder(value.source);
    return value.kind === 'data' && (value.ref === PLACEHOLDER_REF || this.placeholderLayers.has(value.ref));
  }

  emit(spec: EmitSpec): DataValue {
    checkNodeOutput(spec.nodes[spec.nodes.length - 1], spec.outputShape);
    if (spec.inputs.some((input) => this.dependsOnPlaceholder(input))) this.placeholderLayers.add(this.layers.length);
    const layer: Layer = {
      label: spec.nodes.map(nodeLabel).join('+'),
      nodes: spec.nodes.map((n) => n.name),
      opTypes: spec.nodes.map((n) => n.opType),
      op: spec.op,
      inputs: spec.inputs.map((input) => input.ref),
      inputShapes: spec.inputs.map((input) => [...input.shape]),
      outputShape: [...spec.outputShape],
      onnxOutput: spec.output,
    };
    if (spec.preActivation !== undefined) layer.onnxPreActivation = spec.preActivation;
    this.layers.push(layer);
    for (const node of spec.nodes) this.consume(node);
    const value: DataValue = {
      kind: 'data',
      name: spec.output,
      ref: this.layers.length - 1,
      shape: spec.outputShape,
      nonNegative: spec.nonNegative ?? false,
    };
    this.set(spec.output, value);
    return value;
  }

  /**
   * A layer that no ONNX node computes: the flattening and concatenation that stack several graph
   * outputs into the one vector the bounds are for. Its onnxOutput is empty (no tensor to compare).
   */
  emitOutputStep(op: LayerOp, inputs: readonly DataValue[], outputShape: readonly number[], label: string): DataValue {
    this.layers.push({
      label,
      nodes: [],
      opTypes: [],
      op,
      inputs: inputs.map((input) => input.ref),
      inputShapes: inputs.map((input) => [...input.shape]),
      outputShape: [...outputShape],
      onnxOutput: '',
    });
    return { kind: 'data', name: label, ref: this.layers.length - 1, shape: outputShape, nonNegative: inputs.every((input) => input.nonNegative) };
  }

  /**
   * Zero padding as a layer of its own: a depthwise 1×1 convolution with unit weights and the Pad's
   * pads is exactly the padding map (an isometric embedding, so its norm is 1).
   */
  materialisePad(padded: PaddedValue): DataValue {
    const channels = padded.source.shape[0];
    const value = this.emit({
      nodes: [padded.node],
      op: {
        kind: 'affine',
        linear: {
          kind: 'conv',
          weight: new Float32Array(channels).fill(1),
          weightShape: [channels, 1, 1, 1],
          strides: [1, 1],
          pads: padded.pads,
          dilations: [1, 1],
          group: channels,
        },
      },
      inputs: [padded.source],
      output: padded.name,
      outputShape: padded.shape,
      nonNegative: padded.source.nonNegative,
    });
    return value;
  }
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);
