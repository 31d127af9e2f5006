// Layout time of the graph view on a 765-node model (the size of PP-OCRv4 rec, the largest model the
// issue names): a synthetic residual CNN of 153 blocks Conv → Relu → Conv → Add (skip) → Relu, so the
// layout has a residual branch every five nodes. Measures the worker's describe request (read,
// normalise, build the node graph, dagre layout) and the graph-building part alone, a few times.
//
//   npx tsx bench/graphLayout.ts [--blocks 153] [--runs 3]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normaliseGraph } from '../src/engine/normalise/normalise';
import { readModel } from '../src/onnx/reader';
import { describeGraph } from '../src/worker/describeGraph';
import { describeModelFile } from '../src/worker/describeModel';
import { conv, mulberry32, randomTensor, relu, writeModel, type NodeSpec, type TensorSpec } from '../test/fixtures/onnxBuilder';

const { values } = parseArgs({ options: { blocks: { type: 'string', default: '153' }, runs: { type: 'string', default: '3' } } });
const blocks = Number(values.blocks);
const runs = Number(values.runs);
const channels = 4;
const size = 8;

const random = mulberry32(5);
const nodes: NodeSpec[] = [];
const initializers: TensorSpec[] = [];
let previous = 'x';
for (let k = 0; k < blocks; k++) {
  for (const part of ['a', 'b']) {
    initializers.push(randomTensor(`W${k}${part}`, [channels, channels, 3, 3], random, 0.2), randomTensor(`B${k}${part}`, [channels], random, 0.1));
  }
  nodes.push(
    conv({ name: `conv${k}a`, input: previous, weight: `W${k}a`, bias: `B${k}a`, output: `c${k}a`, kernelShape: [3, 3], pads: [1, 1, 1, 1] }),
    relu(`c${k}a`, `r${k}a`, `relu${k}a`),
    conv({ name: `conv${k}b`, input: `r${k}a`, weight: `W${k}b`, bias: `B${k}b`, output: `c${k}b`, kernelShape: [3, 3], pads: [1, 1, 1, 1] }),
    { opType: 'Add', name: `add${k}`, inputs: [`c${k}b`, previous], outputs: [`s${k}`] },
    relu(`s${k}`, `y${k}`, `relu${k}b`),
  );
  previous = `y${k}`;
}

async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'graph-layout-'));
  const path = join(folder, 'residual.onnx');
  try {
    await writeModel(path, {
      inputs: [{ name: 'x', shape: [1, channels, size, size] }],
      outputs: [{ name: previous, shape: [1, channels, size, size] }],
      initializers,
      nodes,
      opset: 13,
    });
    const model = await readModel(path);
    const normalised = normaliseGraph(model);
    console.log(`${model.graph.nodes.length} ONNX nodes, ${normalised.network?.layers.length ?? 0} analysis layers`);
    for (let run = 1; run <= runs; run++) {
      // Wall time and this process's CPU time: on a shared machine the wall time also counts waiting for a core.
      let started = performance.now();
      let cpu = process.cpuUsage();
      const overview = await describeModelFile(path);
      const describeMs = performance.now() - started;
      const describeCpu = process.cpuUsage(cpu);
      started = performance.now();
      cpu = process.cpuUsage();
      describeGraph(model, { network: normalised.network, unsupported: normalised.unsupported });
      const graphMs = performance.now() - started;
      const graphCpu = process.cpuUsage(cpu);
      const cpuMs = (usage: NodeJS.CpuUsage) => ((usage.user + usage.system) / 1000).toFixed(0);
      console.log(
        `run ${run}: describe request ${describeMs.toFixed(0)} ms wall, ${cpuMs(describeCpu)} ms CPU ` +
          `(of which node graph + dagre layout ${graphMs.toFixed(0)} ms wall, ${cpuMs(graphCpu)} ms CPU); ` +
          `${overview.graph.nodes.length} boxes, ${overview.graph.edges.length} edges, drawing ${overview.graph.width.toFixed(0)} × ${overview.graph.height.toFixed(0)}`,
      );
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

void main();
