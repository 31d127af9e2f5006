// The width of the interval [witnessed lower bound, network local bound] (issue 13's targets table):
// the bundled example over an ε sweep, the ResNet- and MobileNetV2-style fixtures, the CIFAR-10 bench
// model, with --blazeface BlazeFace front, with --melspectrogram openWakeWord's mel front end on a
// two-tone signal, and with --real the other public models the tests fetch (openWakeWord's classifiers
// and embedding, the PP-OCR text-direction classifier) on uniform inputs, each through analyzeNetwork with
// default options (native kernels, lower-bound search on). Prints one Markdown row per (model, ε).
//
//   npx tsx bench/interval.ts [--blazeface] [--melspectrogram] [--real] [--radius]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeNetwork } from '../src/engine/analyze';
import type { Network } from '../src/engine/network';
import { normaliseGraph, requireNetwork } from '../src/engine/normalise/normalise';
import { SeededRandom } from '../src/engine/random';
import { readModel, readModelFromBytes } from '../src/onnx/reader';
import { mobileNetV2Fixture, resNetFixture } from '../test/fixtures/architectures';
import { buildModel } from '../test/fixtures/onnxBuilder';
import { thirdPartyModel, type ThirdPartyModelId } from '../test/fixtures/thirdParty';
import { benchInput, benchModel, ensureModel } from './models';

interface Case {
  name: string;
  network: Network;
  x0: Float64Array;
  epsilons: number[];
}

function uniformInput(network: Network, seed: number): Float64Array {
  const random = new SeededRandom(seed);
  return Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, () => random.between(0, 1));
}

async function cases(blazeFace: boolean, melSpectrogram: boolean, real: boolean): Promise<Case[]> {
  const example = join(import.meta.dirname, '..', 'examples', 'mnist');
  const mnist = requireNetwork(normaliseGraph(await readModel(join(example, 'mnist-cnn.onnx'))), 'mnist-cnn.onnx');
  const fixture = (spec: Parameters<typeof buildModel>[0]) => requireNetwork(normaliseGraph(readModelFromBytes(buildModel(spec))), 'fixture');
  const resNet = fixture(resNetFixture());
  const mobileNet = fixture(mobileNetV2Fixture());
  const cifarSpec = benchModel('cifar10');
  const cifar = requireNetwork(normaliseGraph(await readModel(await ensureModel(cifarSpec))), 'cifar10');
  const list: Case[] = [
    {
      name: 'bundled MNIST example', network: mnist, epsilons: [1e-5, 1e-4, 1e-3, 1e-2],
      x0: Float64Array.from(JSON.parse(readFileSync(join(example, 'sample-input.json'), 'utf8')).data as number[]),
    },
    { name: 'ResNet-style fixture', network: resNet, x0: uniformInput(resNet, 5), epsilons: [1e-5, 1e-3, 1e-2] },
    { name: 'MobileNetV2-style fixture', network: mobileNet, x0: uniformInput(mobileNet, 5), epsilons: [1e-5, 1e-3, 1e-2] },
    { name: 'CIFAR-10 bench model', network: cifar, x0: Float64Array.from(benchInput(cifarSpec)), epsilons: [1e-3, 1e-2] },
  ];
  if (blazeFace) {
    const front = requireNetwork(normaliseGraph(await readModel(await thirdPartyModel('blazeFaceFront'))), 'blazeFaceFront');
    list.push({ name: 'BlazeFace front', network: front, x0: uniformInput(front, 7), epsilons: [1e-5, 1e-3, 1e-2] });
  }
  if (melSpectrogram) {
    const mel = requireNetwork(normaliseGraph(await readModel(await thirdPartyModel('melSpectrogram')), { inputShape: [1760] }), 'melSpectrogram');
    // 0.11 s at 16 kHz of two tones at speech level (the signal test/unit/architectures.test.ts uses).
    const x0 = Float64Array.from({ length: 1760 }, (_v, i) => 3000 * Math.sin(0.07 * i) + 500 * Math.sin(1.3 * i));
    list.push({ name: 'openWakeWord melspectrogram', network: mel, x0, epsilons: [1e-5, 1e-3, 1e-1] });
  }
  if (real) {
    const models: [ThirdPartyModelId, string, number[] | undefined][] = [
      ['alexa', 'openWakeWord alexa', undefined], ['timer', 'openWakeWord timer', undefined], ['weather', 'openWakeWord weather', undefined],
      ['heyMycroft', 'openWakeWord hey_mycroft', undefined], ['heyRhasspy', 'openWakeWord hey_rhasspy', undefined],
      ['wakeWordEmbedding', 'openWakeWord embedding_model', undefined], ['ppOcrClassifier', 'PP-OCR text-direction classifier (3×48×96)', [3, 48, 96]],
    ];
    for (const [id, name, inputShape] of models) {
      const network = requireNetwork(normaliseGraph(await readModel(await thirdPartyModel(id)), inputShape ? { inputShape } : {}), id);
      list.push({ name, network, x0: uniformInput(network, 7), epsilons: [1e-5, 1e-3] });
    }
  }
  return list;
}

const fixed = (v: number) => (v >= 1e4 || v < 1e-2 ? v.toExponential(2) : v.toPrecision(4));

async function main(args: string[]): Promise<void> {
  const radius = args.includes('--radius');
  console.log('| model | ε | lower (witnessed) | network local bound | ÷ lower | layer product | ÷ lower | s |' + (radius ? ' radius (method) |' : ''));
  console.log('|---|---|---|---|---|---|---|---|' + (radius ? '---|' : ''));
  for (const c of await cases(args.includes('--blazeface'), args.includes('--melspectrogram'), args.includes('--real'))) {
    const started = performance.now();
    const result = await analyzeNetwork(c.network, c.x0, { epsilons: c.epsilons, lowerBound: {}, radius });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    result.runs.forEach((run, i) => {
      const lower = run.lowerBound?.value ?? 0;
      const { localBound, layerProduct, method } = run.network;
      const radiusCell = radius && i === 0 ? ` ${result.radius ? `${fixed(result.radius.local)} (${result.radius.method})` : '—'} |` : radius ? ' |' : '';
      console.log(
        `| ${i === 0 ? c.name : ''} | ${run.epsilon} | ${fixed(lower)} | ${fixed(localBound)} (${method}) | ${fixed(localBound / lower)} | ` +
          `${fixed(layerProduct)} | ${fixed(layerProduct / lower)} | ${i === 0 ? seconds : ''} |${radiusCell}`,
      );
    });
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
