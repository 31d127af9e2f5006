// The editor's first look at a model: what the ONNX reader found (producer, opsets, graph inputs and
// outputs) and one row per analysis layer, built by the same normaliser the bound engine uses, so the
// rows the user sees before an analysis are the rows it will fill. Nodes the analysis has no rule for
// are listed with their reasons; when the normaliser cannot read the graph at all, the rows fall back
// to the raw graph nodes and a note says why.

import { basename } from 'node:path';
import { resolveExampleInput } from '../engine/exampleInput';
import { readNominalInputFile } from '../engine/inputFile';
import type { Layer, LayerOp } from '../engine/network';
import { analysedInput, formatUnsupported, hasOpenInputShape, normaliseGraph, shapeFromInput, type NormaliseResult } from '../engine/normalise/normalise';
import { formatValueInfo, type AttributeValue, type Model, type Node, type ValueInfo } from '../onnx/model';
import { readModel } from '../onnx/reader';
import { exampleInputNames } from '../shared/exampleInputNames';
import { formatNumber, nodeText } from '../shared/format';
import type { LayerRow, ModelOverview } from '../shared/protocol';
import { describeGraph } from './describeGraph';

/**
 * `inputPath`: the nominal input the user chose, if any. Where the analysed input's declared shape
 * leaves dimensions open, the layers follow the shape of that file, else of the example input beside
 * the model, as the analysis will.
 */
export async function describeModelFile(path: string, inputPath?: string): Promise<ModelOverview> {
  const model = await readModel(path);
  const { resolution } = await resolveExampleInput(path, model);
  return { ...overviewOf(model, path, await openInputShape(model, path, inputPath ?? resolution.path)), exampleInput: resolution };
}

/** For an analysed input with open dimensions: that it is open, and the shape a readable input file gives it. */
async function openInputShape(model: Model, path: string, inputPath: string | undefined): Promise<OpenInputShape | undefined> {
  let analysed: ValueInfo;
  try {
    analysed = analysedInput(model, undefined);
  } catch {
    return undefined;
  }
  if (!hasOpenInputShape(analysed)) return undefined;
  // An unreadable file is the analysis's to report, with its reason; here the shape stays open.
  const input = inputPath ? await readNominalInputFile(inputPath).catch(() => undefined) : undefined;
  if (!input || !inputPath) return { fileName: basename(path), shape: undefined };
  return { fileName: basename(path), shape: shapeFromInput(analysed, input.shape), from: basename(inputPath) };
}

interface OpenInputShape {
  fileName: string;
  /** From the input file `from`; undefined when no file gives one. */
  shape: number[] | undefined;
  from?: string;
}

export function overviewOf(model: Model, path: string, open?: OpenInputShape): ModelOverview {
  const { graph } = model;
  const base = {
    path,
    fileName: basename(path),
    sizeBytes: model.byteLength,
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    opsets: model.opsetImports.map(({ domain, version }) => ({ domain, version })),
    graphName: graph.name,
    inputs: graph.inputs.map((info) => `${info.name}: ${formatValueInfo(info)}`),
    outputs: graph.outputs.map((info) => `${info.name}: ${formatValueInfo(info)}`),
    inputNames: graph.inputs.map((info) => info.name),
    outputNames: graph.outputs.map((info) => info.name),
  };
  let normalised: NormaliseResult;
  try {
    normalised = normaliseGraph(model, open?.shape ? { inputShape: open.shape } : {});
  } catch (error) {
    // Open dimensions and no file to fix them: say where the shape can come from in the editor.
    const wayForward = open && !open.shape
      ? `; put an example input beside the model (${exampleInputNames(open.fileName).slice(0, 3).join(', ')}, …) or choose one with "Choose nominal input…"`
      : '';
    return {
      ...base,
      rowSource: 'nodes',
      rows: nodeRows(model),
      unsupported: [],
      notes: [`The analysis cannot read this graph: ${(error as Error).message}${wayForward}`],
      graph: describeGraph(model, { unsupported: [] }),
      ...(open ? { openInputShape: true } : {}),
    };
  }
  const network = normalised.network ?? normalised.supportedPrefix;
  const unsupported = normalised.unsupported.map(({ node, label, index, opType, reason }) => ({ label, opType, text: nodeText(opType, node, index), reason }));
  return {
    ...base,
    rowSource: normalised.network ? 'layers' : network ? 'prefix' : 'nodes',
    rows: network ? layerRows(model, network.layers) : nodeRows(model),
    unsupported,
    unsupportedSummary: unsupported.length > 0 ? `${formatUnsupported(normalised.unsupported)}.` : undefined,
    notes: [...(open?.from ? [`The input's shape is open in the model; the layers follow ${open.from} ([${open.shape?.join(', ')}]).`] : []), ...normalised.notes],
    graph: describeGraph(model, { network, unsupported: normalised.unsupported }),
    ...(open ? { openInputShape: true } : {}),
  };
}

/** Rows of analysis layers; each keeps its nodes' attributes, looked up by node name or label. */
function layerRows(model: Model, layers: readonly Layer[]): LayerRow[] {
  const byKey = new Map<string, Node>();
  for (const node of model.graph.nodes) {
    byKey.set(`${node.opType}#${node.index}`, node);
    if (node.name) {
      byKey.set(node.name, node);
    }
  }
  return layers.map((layer) => {
    const labelParts = layer.label.split('+');
    const nodes = layer.nodes.map((name, i) => byKey.get(name) ?? byKey.get(labelParts[i] ?? ''));
    const prefixed = nodes.length > 1;
    const attributes = nodes.flatMap((node) =>
      node ? [...node.attributes].map(([name, value]) => `${prefixed ? `${node.name || node.opType}: ` : ''}${name} = ${formatAttribute(value)}`) : [],
    );
    return {
      label: layer.label,
      opTypes: [...layer.opTypes],
      nodes: layer.nodes.map((name, i) => name || labelParts[i] || layer.opTypes[i]),
      inputs: layer.inputShapes.map(formatShape),
      outputs: [formatShape(layer.outputShape)],
      parameterCount: parameterCount(layer.op),
      attributes,
    };
  });
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function parameterCount(op: LayerOp): number {
  if (op.kind !== 'affine') {
    return 0;
  }
  const { linear } = op;
  switch (linear.kind) {
    case 'conv':
    case 'conv3d':
    case 'convTranspose':
    case 'convTranspose3d':
    case 'dense':
      return linear.weight.length + (linear.bias?.length ?? 0);
    case 'channelAffine':
      return linear.scale.length + linear.shift.length + (linear.offset?.length ?? 0);
  }
}

/** One row per graph node, with the declared types of its non-weight inputs and outputs. */
function nodeRows(model: Model): LayerRow[] {
  const { graph } = model;
  const declared = (name: string) => {
    const info = graph.valueInfo.get(name);
    return info ? `${name}: ${formatValueInfo(info)}` : name;
  };
  return graph.nodes.map((node) => {
    const weights = node.inputs.filter((input) => graph.initializers.has(input));
    return {
      label: node.name || `${node.opType}#${node.index}`,
      opTypes: [node.opType],
      nodes: [node.name],
      inputs: node.inputs.filter((input) => input && !graph.initializers.has(input)).map(declared),
      outputs: node.outputs.filter(Boolean).map(declared),
      parameterCount: weights.reduce((sum, name) => sum + (graph.initializers.get(name)?.size ?? 0), 0),
      attributes: [...node.attributes].map(([name, value]) => `${name} = ${formatAttribute(value)}`),
    };
  });
}

/** Short display of an attribute value; tensors and graphs by shape or name, never their contents. */
export function formatAttribute(attribute: AttributeValue): string {
  switch (attribute.type) {
    case 'float':
      // A float32 read as float64 (1e-5 is 0.000009999999747): shown by the view's number rule.
      return formatNumber(attribute.value);
    case 'int':
      return String(attribute.value);
    case 'string':
      return JSON.stringify(attribute.value);
    case 'floats':
      return `[${attribute.value.map(formatNumber).join(', ')}]`;
    case 'ints':
      return `[${attribute.value.join(', ')}]`;
    case 'strings':
      return `[${attribute.value.map((value) => JSON.stringify(value)).join(', ')}]`;
    case 'tensor':
      return `${attribute.value.dataTypeName} tensor [${attribute.value.dims.join(', ')}]`;
    case 'tensors':
      return `${attribute.value.length} tensors`;
    case 'graph':
      return `graph "${attribute.value.name}"`;
    case 'graphs':
      return `${attribute.value.length} graphs`;
    case 'other':
      return attribute.onnxType;
  }
}
