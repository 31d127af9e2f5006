// The editor's first look at a model: what the ONNX reader found (producer, opsets, graph inputs
// and outputs) and one row per graph node. When the normaliser lands, the rows become analysis
// layers (several nodes each) without changing the message the webview receives.

import { basename } from 'node:path';
import { formatValueInfo, type AttributeValue, type Model } from '../onnx/model';
import { readModel } from '../onnx/reader';
import type { LayerRow, ModelOverview } from '../shared/protocol';

export async function describeModelFile(path: string): Promise<ModelOverview> {
  return overviewOf(await readModel(path), path);
}

export function overviewOf(model: Model, path: string): ModelOverview {
  const { graph } = model;
  const declared = (name: string) => {
    const info = graph.valueInfo.get(name);
    return info ? `${name}: ${formatValueInfo(info)}` : name;
  };
  const rows: LayerRow[] = graph.nodes.map((node) => {
    const weights = node.inputs.filter((input) => graph.initializers.has(input));
    return {
      label: node.name || `${node.opType} #${node.index}`,
      opTypes: [node.opType],
      nodes: [node.name],
      inputs: node.inputs.filter((input) => input && !graph.initializers.has(input)).map(declared),
      outputs: node.outputs.filter(Boolean).map(declared),
      parameterCount: weights.reduce((sum, name) => sum + (graph.initializers.get(name)?.size ?? 0), 0),
      attributes: [...node.attributes].map(([name, value]) => `${name} = ${formatAttribute(value)}`),
    };
  });
  return {
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
    rows,
  };
}

/** Short display of an attribute value; tensors and graphs by shape or name, never their contents. */
export function formatAttribute(attribute: AttributeValue): string {
  switch (attribute.type) {
    case 'float':
    case 'int':
      return String(attribute.value);
    case 'string':
      return JSON.stringify(attribute.value);
    case 'floats':
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
