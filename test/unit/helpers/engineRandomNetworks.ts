// Random small analysis graphs (seeded) for the engine's soundness and forward tests.
import type { Activation, AxisMatrix, ConvParams, Layer, Network, PoolParams, Shape, TensorRef } from '../../../src/engine/network';
import { identityAxis, reduceAxis, resizeAxis, selectAxis, sliceIndices } from '../../../src/engine/normalise/axisMatrices';
import type { SeededRandom } from '../../../src/engine/random';
import { genericLayer, NETWORK_INPUT, randomArray } from './engineNetworks';

export interface RandomNetwork {
  network: Network;
}

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[random.int(items.length)];
}

function randomActivation(random: SeededRandom): Activation {
  const u = random.uniform();
  if (u < 0.6) return { kind: 'relu' };
  return pick<Activation>(random, [
    { kind: 'leakyRelu', alpha: 0.1 },
    { kind: 'clip', min: 0, max: 6 },
    { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
    { kind: 'sigmoid' },
    { kind: 'tanh' },
  ]);
}

export class Builder {
  readonly layers: Layer[] = [];
  private readonly shapes: Shape[] = [];
  constructor(readonly random: SeededRandom, readonly inputShape: Shape) {}

  shape(ref: TensorRef): Shape {
    return ref === NETWORK_INPUT ? this.inputShape : this.shapes[ref];
  }

  private push(layer: Layer): TensorRef {
    this.layers.push(layer);
    this.shapes.push(layer.outputShape);
    return this.layers.length - 1;
  }

  dense(input: TensorRef, out: number, activation?: Activation): TensorRef {
    const n = this.shape(input).reduce((a, b) => a * b, 1);
    const r = this.random;
    const label = `fc${this.layers.length}`;
    return this.push(genericLayer(label, {
      kind: 'affine',
      linear: { kind: 'dense', weight: randomArray(r, out * n, 1 / Math.sqrt(n)), outFeatures: out, inFeatures: n, bias: randomArray(r, out, 0.5) },
      ...(activation ? { activation } : {}),
    }, [input], [this.shape(input)], [out]));
  }

  conv(input: TensorRef, outChannels: number, kernel: [number, number], strides: [number, number], pads: [number, number, number, number], dilations: [number, number], group: number, activation?: Activation): TensorRef {
    const [c, h, w] = this.shape(input);
    const r = this.random;
    const fanIn = (c / group) * kernel[0] * kernel[1];
    const params: ConvParams = {
      kind: 'conv',
      weight: randomArray(r, outChannels * fanIn, 1 / Math.sqrt(fanIn)),
      weightShape: [outChannels, c / group, kernel[0], kernel[1]],
      bias: randomArray(r, outChannels, 0.5),
      strides, pads, dilations, group,
    };
    const oh = Math.floor((h + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) / strides[0]) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) / strides[1]) + 1;
    return this.push(genericLayer(`conv${this.layers.length}`, { kind: 'affine', linear: params, ...(activation ? { activation } : {}) },
      [input], [this.shape(input)], [outChannels, oh, ow]));
  }

  channelAffine(input: TensorRef, activation?: Activation): TensorRef {
    const shape = this.shape(input);
    const r = this.random;
    return this.push(genericLayer(`bn${this.layers.length}`, {
      kind: 'affine',
      linear: { kind: 'channelAffine', scale: randomArray(r, shape[0]), shift: randomArray(r, shape[0], 0.5) },
      ...(activation ? { activation } : {}),
    }, [input], [shape], shape));
  }

  pool(input: TensorRef, kind: 'maxPool' | 'avgPool', params: PoolParams, countIncludePad = false): TensorRef {
    const [c, h, w] = this.shape(input);
    const oh = Math.floor((h + params.pads[0] + params.pads[2] - params.dilations[0] * (params.kernel[0] - 1) - 1) / params.strides[0]) + 1;
    const ow = Math.floor((w + params.pads[1] + params.pads[3] - params.dilations[1] * (params.kernel[1] - 1) - 1) / params.strides[1]) + 1;
    const op = kind === 'maxPool' ? { kind, ...params } : { kind, countIncludePad, ...params };
    return this.push(genericLayer(`${kind}${this.layers.length}`, op, [input], [this.shape(input)], [c, oh, ow]));
  }

  globalAvgPool(input: TensorRef): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`gap${this.layers.length}`, { kind: 'globalAvgPool' }, [input], [shape], [shape[0], 1, 1]));
  }

  activation(input: TensorRef, activation: Activation): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`act${this.layers.length}`, { kind: 'activation', activation }, [input], [shape], shape));
  }

  flatten(input: TensorRef): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`flatten${this.layers.length}`, { kind: 'reshape' }, [input], [shape], [shape.reduce((a, b) => a * b, 1)]));
  }

  transpose(input: TensorRef, perm: number[]): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`transpose${this.layers.length}`, { kind: 'transpose', perm }, [input], [shape], perm.map((p) => shape[p])));
  }

  add(a: TensorRef, b: TensorRef): TensorRef {
    return this.push(genericLayer(`add${this.layers.length}`, { kind: 'add' }, [a, b], [this.shape(a), this.shape(b)], this.shape(a)));
  }

  concatChannels(a: TensorRef, b: TensorRef): TensorRef {
    const [ca, ...rest] = this.shape(a);
    const [cb] = this.shape(b);
    return this.push(genericLayer(`concat${this.layers.length}`, { kind: 'concat', axis: 0 }, [a, b], [this.shape(a), this.shape(b)], [ca + cb, ...rest]));
  }

  reshape(input: TensorRef, shape: Shape): TensorRef {
    return this.push(genericLayer(`reshape${this.layers.length}`, { kind: 'reshape' }, [input], [this.shape(input)], shape));
  }

  softmax(input: TensorRef, axis: number, flattenTail = false): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`softmax${this.layers.length}`, { kind: 'softmax', axis, flattenTail }, [input], [shape], shape));
  }

  matMul(a: TensorRef, b: TensorRef): TensorRef {
    const aShape = this.shape(a);
    const bShape = this.shape(b);
    return this.push(genericLayer(`matMul${this.layers.length}`, { kind: 'matMul' }, [a, b], [aShape, bShape], [...aShape.slice(0, -1), bShape[bShape.length - 1]]));
  }

  mul(a: TensorRef, b: TensorRef): TensorRef {
    return this.push(genericLayer(`mul${this.layers.length}`, { kind: 'mul' }, [a, b], [this.shape(a), this.shape(b)], this.shape(a)));
  }

  layerNorm(input: TensorRef, axis: number, epsilon: number, affine: boolean): TensorRef {
    const shape = this.shape(input);
    const n = shape.slice(axis).reduce((a, b) => a * b, 1);
    const r = this.random;
    const op = affine ? { kind: 'layerNorm' as const, axis, epsilon, scale: randomArray(r, n, 1.5), bias: randomArray(r, n, 0.5) } : { kind: 'layerNorm' as const, axis, epsilon };
    return this.push(genericLayer(`layerNorm${this.layers.length}`, op, [input], [shape], shape));
  }

  /** The same dense map on each row of a [rows, in] input (MatMul with a constant). */
  rowDense(input: TensorRef, out: number, activation?: Activation): TensorRef {
    const [rows, n] = this.shape(input);
    const r = this.random;
    return this.push(genericLayer(`rows${this.layers.length}`, {
      kind: 'affine',
      linear: { kind: 'dense', weight: randomArray(r, out * n, 1 / Math.sqrt(n)), outFeatures: out, inFeatures: n, bias: randomArray(r, out, 0.5), rows },
      ...(activation ? { activation } : {}),
    }, [input], [this.shape(input)], [rows, out]));
  }

  reduceMax(input: TensorRef, axes: number[]): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`reduceMax${this.layers.length}`, { kind: 'reduceMax', axes }, [input], [shape], shape.map((d, a) => (axes.includes(a) ? 1 : d))));
  }

  maximum(a: TensorRef, b: TensorRef): TensorRef {
    return this.push(genericLayer(`maximum${this.layers.length}`, { kind: 'maximum' }, [a, b], [this.shape(a), this.shape(b)], this.shape(a)));
  }

  quotient(a: TensorRef, b: TensorRef): TensorRef {
    return this.push(genericLayer(`div${this.layers.length}`, { kind: 'mul', divide: true }, [a, b], [this.shape(a), this.shape(b)], this.shape(a)));
  }

  subtract(a: TensorRef, b: TensorRef): TensorRef {
    return this.push(genericLayer(`sub${this.layers.length}`, { kind: 'add', signs: [1, -1] }, [a, b], [this.shape(a), this.shape(b)], this.shape(a)));
  }

  axisMap(input: TensorRef, axes: AxisMatrix[]): TensorRef {
    const shape = this.shape(input);
    return this.push(genericLayer(`axisMap${this.layers.length}`, { kind: 'axisMap', axes }, [input], [shape], axes.map((m) => m.rows.length)));
  }

  network(output: TensorRef): Network {
    return { inputName: 'x', inputShape: this.inputShape, layers: this.layers, output };
  }
}

export function randomDenseNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [3 + random.int(6)]);
  let t: TensorRef = NETWORK_INPUT;
  const hidden = 1 + random.int(3);
  for (let k = 0; k < hidden; k++) t = b.dense(t, 3 + random.int(8), randomActivation(random));
  t = b.dense(t, 2 + random.int(4));
  return { network: b.network(t) };
}

export function randomConvNetwork(random: SeededRandom): RandomNetwork {
  const channels = 1 + random.int(2);
  const b = new Builder(random, [channels, 5 + random.int(4), 5 + random.int(4)]);
  const outChannels = pick(random, [2, 4]);
  const group = channels === 2 && outChannels % 2 === 0 && random.uniform() < 0.4 ? 2 : 1;
  const kernel: [number, number] = [2 + random.int(2), 2 + random.int(2)];
  const strides: [number, number] = [1 + random.int(2), 1 + random.int(2)];
  const pads: [number, number, number, number] = [random.int(2), random.int(2), random.int(2), random.int(2)];
  const dilations: [number, number] = random.uniform() < 0.25 ? [2, 1] : [1, 1];
  let t = b.conv(NETWORK_INPUT, outChannels, kernel, strides, pads, dilations, group, randomActivation(random));
  if (random.uniform() < 0.3) t = b.channelAffine(t, { kind: 'relu' });
  const [, h, w] = b.shape(t);
  const poolChoice = random.int(3);
  if (poolChoice === 0 && h >= 3 && w >= 3) {
    t = b.pool(t, 'maxPool', { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] });
  } else if (poolChoice === 1 && h >= 2 && w >= 2) {
    t = b.pool(t, 'maxPool', { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] });
  } else if (h >= 2 && w >= 2) {
    t = b.pool(t, 'avgPool', { kernel: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1], dilations: [1, 1] }, random.uniform() < 0.5);
  }
  t = b.flatten(t);
  t = b.dense(t, 4 + random.int(5), randomActivation(random));
  t = b.dense(t, 2 + random.int(3));
  return { network: b.network(t) };
}

/** Residual add, lone activation, channel concat and global average pooling. */
export function randomGraphNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2, 4 + random.int(3), 4 + random.int(3)]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(NETWORK_INPUT, 3, [3, 3], [1, 1], same, [1, 1], 1, { kind: 'relu' });
  const branch = random.uniform() < 0.5
    ? b.conv(a, 3, [3, 3], [1, 1], same, [1, 1], 1)
    : b.channelAffine(a);
  const sum = b.add(a, branch);
  const lone = b.activation(sum, random.uniform() < 0.7 ? { kind: 'relu' } : { kind: 'clip', min: 0, max: 6 });
  const side = b.conv(NETWORK_INPUT, 2, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 2, { kind: 'relu' });
  const joined = b.concatChannels(lone, side);
  const pooled = random.uniform() < 0.5 ? b.globalAvgPool(joined) : b.pool(joined, 'avgPool', { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] });
  const flat = b.flatten(pooled);
  const out = b.dense(flat, 3);
  return { network: b.network(out) };
}

/**
 * Layout transposes as in converted TensorFlow models (BlazeFace): an NHWC input permuted to NCHW, a
 * conv body with a residual add, a lone activation after a transpose (its mask and values permuted),
 * and an NCHW → NHWC transpose before the head.
 */
export function randomTransposeNetwork(random: SeededRandom): RandomNetwork {
  const h = 3 + random.int(3);
  const w = 3 + random.int(3);
  const c = 1 + random.int(3);
  const b = new Builder(random, [h, w, c]);
  const nchw = b.transpose(NETWORK_INPUT, [2, 0, 1]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(nchw, 3, [3, 3], [1, 1], same, [1, 1], 1, randomActivation(random));
  const branch = b.conv(a, 3, [3, 3], [1, 1], same, [1, 1], 1);
  const sum = b.add(a, branch);
  const nhwc = b.transpose(sum, random.uniform() < 0.5 ? [1, 2, 0] : [2, 1, 0]);
  const lone = b.activation(nhwc, random.uniform() < 0.7 ? { kind: 'relu' } : { kind: 'clip', min: 0, max: 6 });
  const flat = b.flatten(lone);
  const out = b.dense(flat, 2 + random.int(3));
  return { network: b.network(out) };
}

/** HardSwish after convs and dense maps (fused) and after a residual add (lone), random α and β. */
export function randomHardSwishNetwork(random: SeededRandom): RandomNetwork {
  const hardSwish = (): Activation => (random.uniform() < 0.5
    ? { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 }
    : { kind: 'hardSwish', alpha: random.between(0.1, 1), beta: random.between(-0.5, 1) });
  const b = new Builder(random, [2, 3 + random.int(3), 3 + random.int(3)]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(NETWORK_INPUT, 3, [3, 3], [1, 1], same, [1, 1], 1, hardSwish());
  const branch = b.conv(a, 3, [3, 3], [1, 1], same, [1, 1], 1);
  const lone = b.activation(b.add(a, branch), hardSwish());
  const hidden = b.dense(b.flatten(lone), 4 + random.int(5), hardSwish());
  return { network: b.network(b.dense(hidden, 2 + random.int(3))) };
}

/** One random per-axis map over a [C, H, W] tensor: a slice, a gather with repeats, a reduction, or a resize. */
export function randomAxisMaps(random: SeededRandom, shape: Shape): { kind: string; axes: AxisMatrix[] } {
  const axes = shape.map((d) => identityAxis(d));
  const axis = random.int(shape.length);
  const n = shape[axis];
  const kind = pick(random, ['slice', 'gather', 'reduceMean', 'reduceSum', 'nearest', 'linear'] as const);
  switch (kind) {
    case 'slice': {
      const step = pick(random, [1, 2, -1]);
      const indices = step > 0 ? sliceIndices(n, random.int(n), n, step) : sliceIndices(n, n - 1, -n - 1, step);
      axes[axis] = selectAxis(n, indices.length > 0 ? indices : [0]);
      break;
    }
    case 'gather':
      axes[axis] = selectAxis(n, Array.from({ length: 1 + random.int(2 * n) }, () => random.int(n)));
      break;
    case 'reduceMean':
    case 'reduceSum':
      for (const a of random.uniform() < 0.5 ? [axis] : [1, 2]) axes[a] = reduceAxis(shape[a], kind === 'reduceMean');
      break;
    case 'nearest':
    case 'linear':
      for (const a of [1, 2]) {
        const outExtent = shape[a] * (1 + random.int(3)) + (random.uniform() < 0.3 ? 1 : 0);
        axes[a] = resizeAxis({
          inExtent: shape[a],
          outExtent,
          scale: outExtent / shape[a],
          mode: kind,
          coordinate: pick(random, ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel', 'tf_half_pixel_for_nn'] as const),
          nearest: pick(random, ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const),
        });
      }
      break;
  }
  return { kind, axes };
}

/**
 * conv + activation (so some inputs of the map cannot move) → a random per-axis map → a one-sided
 * clip (Max or Min against a constant) → dense.
 */
export function randomAxisMapNetwork(random: SeededRandom): RandomNetwork & { kind: string } {
  const b = new Builder(random, [2, 3 + random.int(3), 3 + random.int(3)]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(NETWORK_INPUT, 2 + random.int(2), [3, 3], [1, 1], same, [1, 1], 1, randomActivation(random));
  const { kind, axes } = randomAxisMaps(random, b.shape(a));
  const mapped = b.axisMap(a, axes);
  const c = random.between(-0.5, 0.5);
  const clipped = b.activation(mapped, random.uniform() < 0.5 ? { kind: 'clip', min: c, max: Infinity } : { kind: 'clip', min: -Infinity, max: c });
  return { kind, network: b.network(b.dense(b.flatten(clipped), 2 + random.int(3))) };
}

/**
 * Self-attention on a [T, d] input: per head Q, K, V as random linear maps of the whole input, scores
 * Q Kᵀ (scaled up at random so some softmax rows saturate), softmax over a random axis, then P V and a
 * dense head. Some networks softmax a second time, or multiply a tensor by itself (A = B).
 */
export function randomAttentionNetwork(random: SeededRandom): RandomNetwork {
  const tokens = 2 + random.int(3);
  const b = new Builder(random, [tokens, 2 + random.int(3)]);
  const heads = 1 + random.int(2);
  const width = 2 + random.int(3);
  const flat = b.flatten(NETWORK_INPUT);
  const project = (scale: number) => {
    const dense = b.dense(flat, heads * tokens * width);
    const op = b.layers[dense].op;
    if (op.kind === 'affine' && op.linear.kind === 'dense') op.linear.weight = op.linear.weight.map((w) => w * scale);
    return b.reshape(dense, [heads, tokens, width]);
  };
  const q = project(random.uniform() < 0.3 ? 3 : 1);
  const k = b.transpose(project(1), [0, 2, 1]);
  const v = project(1);
  const scores = b.matMul(q, k);
  const probabilities = b.softmax(scores, random.uniform() < 0.7 ? 2 : random.int(2), random.uniform() < 0.2);
  let attended = b.matMul(probabilities, v);
  if (random.uniform() < 0.3) attended = b.softmax(attended, 2);
  if (random.uniform() < 0.3) attended = b.matMul(b.transpose(attended, [0, 2, 1]), attended);
  return { network: b.network(b.dense(b.flatten(attended), 2 + random.int(3))) };
}

/**
 * Products of two computed tensors: a squeeze-excitation block (conv → global average pool → 1×1 conv
 * with a gate or another activation → a ⊙ gate broadcast over H, W) and a same-shape x ⊙ σ(x), then dense.
 */
export function randomProductNetwork(random: SeededRandom): RandomNetwork {
  const c = 2 + random.int(2);
  const b = new Builder(random, [2, 2 + random.int(3), 2 + random.int(3)]);
  const same: [number, number, number, number] = [1, 1, 1, 1];
  const a = b.conv(NETWORK_INPUT, c, [3, 3], [1, 1], same, [1, 1], 1, randomActivation(random));
  const pooled = b.globalAvgPool(a);
  const gate = b.conv(pooled, c, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1, random.uniform() < 0.7 ? pick(random, [{ kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 }, { kind: 'sigmoid' }] as Activation[]) : randomActivation(random));
  const excited = b.mul(a, gate);
  const squashed = b.activation(excited, pick(random, [{ kind: 'tanh' }, { kind: 'relu' }, { kind: 'sigmoid' }] as Activation[]));
  const product = random.uniform() < 0.5 ? b.mul(excited, squashed) : b.mul(squashed, squashed);
  return { network: b.network(b.dense(b.flatten(product), 2 + random.int(3))) };
}

/**
 * A pre-norm attention block behind row maps that move far (docs/derivations.md §70): rows → three
 * scaled row-wise dense maps with kinked activations → layer normalisation of each row → softmax(Q Kᵀ) V
 * → a sigmoid-gated product → a residual sum, a second normalisation and a dense map.
 */
export function randomPreNormAttentionNetwork(random: SeededRandom): RandomNetwork {
  const tokens = 2 + random.int(3);
  const width = 3 + random.int(3);
  const b = new Builder(random, [tokens, width]);
  let rows: TensorRef = NETWORK_INPUT;
  for (let i = 0; i < 3; i++) {
    rows = b.rowDense(rows, width, pick(random, [{ kind: 'relu' }, { kind: 'hardSwish', alpha: 1 / 6, beta: 0.5 }] as Activation[]));
    const op = b.layers[rows].op;
    if (op.kind === 'affine' && op.linear.kind === 'dense') op.linear.weight = op.linear.weight.map((w) => w * 4);
  }
  const normalised = b.layerNorm(rows, 1, pick(random, [1e-5, 1e-3]), random.uniform() < 0.7);
  const project = () => b.reshape(b.rowDense(normalised, width), [1, tokens, width]);
  const q = project();
  const k = b.transpose(project(), [0, 2, 1]);
  const v = project();
  const attended = b.reshape(b.matMul(b.softmax(b.matMul(q, k), 2), v), [tokens, width]);
  const gated = b.mul(attended, b.rowDense(attended, width, { kind: 'sigmoid' }));
  const out = b.layerNorm(b.add(gated, rows), 1, 1e-5, true);
  return { network: b.network(b.dense(b.flatten(out), 2 + random.int(3))) };
}

/** conv → layer normalisation (over the trailing axes from a random axis, small and large ε) → activation → dense. */
export function randomLayerNormNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2, 2 + random.int(3), 2 + random.int(3)]);
  const features = b.conv(NETWORK_INPUT, 2 + random.int(2), [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1);
  const normalised = b.layerNorm(features, random.int(3), pick(random, [1e-5, 1e-3, 0.1, 1]), random.uniform() < 0.6);
  const activated = b.activation(normalised, randomActivation(random));
  return { network: b.network(b.dense(b.flatten(activated), 2 + random.int(3))) };
}

/**
 * A row-wise dense map clipped below at c > 0 (its range keeps the smooth maps and the divisor finite
 * at any ε), a smooth map (log, sqrt, 1/y, y^p), a floor from the row maxima (ReduceMax, a per-row
 * affine, the maximum of two computed tensors), a quotient by the clipped map, a difference, a dense map.
 */
export function randomSmoothNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2 + random.int(2), 3 + random.int(3)]);
  const clipped = b.rowDense(NETWORK_INPUT, 4, { kind: 'clip', min: pick(random, [0.3, 1]), max: Infinity });
  const smooth = b.activation(clipped, pick(random, [
    { kind: 'log' }, { kind: 'sqrt' }, { kind: 'reciprocal' }, { kind: 'power', exponent: -1 }, { kind: 'power', exponent: 0.5 },
    { kind: 'power', exponent: 1.5 }, { kind: 'power', exponent: 3 },
  ] as Activation[]));
  const floor = b.channelAffine(b.reduceMax(smooth, [1]));
  const lifted = b.maximum(smooth, floor);
  const ratio = b.quotient(lifted, clipped);
  return { network: b.network(b.dense(b.flatten(b.subtract(ratio, smooth)), 2 + random.int(3))) };
}

/** Only layers the composed bound covers: a clipped row-wise dense map, a smooth map, a difference, a dense map. */
export function randomSmoothChainNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2 + random.int(2), 3 + random.int(3)]);
  const clipped = b.rowDense(NETWORK_INPUT, 4, { kind: 'clip', min: pick(random, [0.3, 1]), max: Infinity });
  const smooth = b.activation(clipped, pick(random, [
    { kind: 'log' }, { kind: 'sqrt' }, { kind: 'reciprocal' }, { kind: 'power', exponent: 0.5 }, { kind: 'power', exponent: 3 },
  ] as Activation[]));
  return { network: b.network(b.dense(b.flatten(b.subtract(smooth, clipped)), 2 + random.int(3))) };
}

/**
 * Selections of computed tensors: a row-wise dense map, its row maxima (ReduceMax) turned into a
 * per-row floor, the maximum against that floor (broadcast) and against a second computed tensor of the
 * same shape, a product, a dense map.
 */
export function randomSelectionNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2 + random.int(2), 3 + random.int(3)]);
  const rows = b.rowDense(NETWORK_INPUT, 4, randomActivation(random));
  const floor = b.channelAffine(b.reduceMax(rows, [1]));
  const lifted = b.maximum(rows, floor);
  const other = b.rowDense(NETWORK_INPUT, 4, pick<Activation>(random, [{ kind: 'tanh' }, { kind: 'relu' }, { kind: 'sigmoid' }]));
  const both = random.uniform() < 0.5 ? b.maximum(lifted, other) : b.maximum(other, lifted);
  const product = random.uniform() < 0.5 ? b.mul(both, other) : b.mul(both, both);
  return { network: b.network(b.dense(b.flatten(product), 2 + random.int(3))) };
}

/**
 * Tiny networks (a few units) with one product or selection of computed tensors: a gate of one value
 * broadcast over a dense layer's units (or a same-shape product), the maximum of two dense layers (or
 * against one broadcast value), or the maximum over a layer's units; then a dense map.
 */
export function randomTinySelectionNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2 + random.int(2)]);
  const width = 2 + random.int(2);
  const a = b.dense(NETWORK_INPUT, width, randomActivation(random));
  let t: TensorRef;
  switch (random.int(3)) {
    case 0: {
      const gate = b.dense(NETWORK_INPUT, random.uniform() < 0.5 ? 1 : width, pick<Activation>(random, [{ kind: 'sigmoid' }, { kind: 'hardSigmoid', alpha: 0.2, beta: 0.5 }, { kind: 'tanh' }]));
      t = random.uniform() < 0.8 ? b.mul(a, gate) : b.mul(a, a);
      break;
    }
    case 1:
      t = b.maximum(a, b.dense(NETWORK_INPUT, random.uniform() < 0.5 ? 1 : width));
      break;
    default:
      t = b.reduceMax(a, [0]);
  }
  return { network: b.network(b.dense(t, 2)) };
}

/** A softmax inside the network (no product of computed matrices): row-wise dense, softmax along a random axis, an activation or a gate, dense. */
export function randomSoftmaxNetwork(random: SeededRandom): RandomNetwork {
  const b = new Builder(random, [2 + random.int(2), 3 + random.int(3)]);
  const rows = b.rowDense(NETWORK_INPUT, 3 + random.int(3), random.uniform() < 0.5 ? randomActivation(random) : undefined);
  const probabilities = b.softmax(rows, random.int(2), random.uniform() < 0.2);
  const next = random.uniform() < 0.5 ? b.mul(probabilities, rows) : b.activation(probabilities, randomActivation(random));
  return { network: b.network(b.dense(b.flatten(next), 2 + random.int(3))) };
}
