import { normaliseGraph } from './src/engine/normalise/normalise';
import { readModelFromBytes } from './src/onnx/reader';
import { buildModel } from './test/fixtures/onnxBuilder';
import { mobileNetV2Fixture, resNetFixture } from './test/fixtures/architectures';
import { analyzeNetwork } from './src/engine/analyze';
import { SeededRandom } from './src/engine/random';
for (const [name, spec] of [['resnet', resNetFixture()], ['mobilenetv2', mobileNetV2Fixture()]] as const) {
  const network = normaliseGraph(readModelFromBytes(buildModel(spec))).network!;
  const random = new SeededRandom(5);
  const n = network.inputShape.reduce((a, b) => a * b, 1);
  const x0 = Float64Array.from({ length: n }, () => random.uniform());
  const t = performance.now();
  const result = await analyzeNetwork(network, x0, { epsilons: [1e-5, 1e-3, 1e-2], lowerBound: {} });
  for (const run of result.runs) console.log(name, run.epsilon, run.network.method, run.network.localBound.toPrecision(4), 'product', run.network.layerProduct.toPrecision(4), 'lower', run.lowerBound!.value.toPrecision(4), 'ratio', (run.network.localBound / run.lowerBound!.value).toFixed(2), 'product ratio', (run.network.layerProduct / run.lowerBound!.value).toFixed(1));
  console.log(result.stats!.phases);
}
