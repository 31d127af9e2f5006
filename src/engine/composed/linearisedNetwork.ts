// The network with every activation and every max-pool window given a fixed slope per unit: a linear
// map, applied matrix-free forward (J v) and backward (Jᵀ u) through the same operators as the rest of
// the engine (docs/derivations.md §22). A slope layer k reads a vector z_k from its inputs (the
// pre-activation A x, the lone activation's input, or the entries of its inputs gathered per edge:
// max-pool, ReduceMax and Max windows, the factors of a product, §55) and writes scatter_k(mid_k ⊙ z_k),
// or, for layer normalisation and softmax, a slope matrix per group applied to z_k (§55.1, §55.2).
// Deviations from the midpoint enter at a layer's output ("injections"); the prefix terms read a layer's z.
import { NETWORK_INPUT, type TensorRef } from '../network';
import { concatenate, splitConcatenated, type PreparedNetwork } from '../prepared';
import { softmaxTangent, type SoftmaxGroups } from '../operators/softmax';
import { gatherPermuted, scatterPermuted } from '../operators/transpose';
import type { LinearOperator } from '../operators/linearOperator';
import { applyNormalised, type NormalisedSlopes } from './normalisationSlopes';

/**
 * The slope model of one layer inside the ball: midpoint slope per unit, the radius of the deviation
 * per output coordinate (where it enters), and which units' slopes are uncertain (the rows a prefix
 * term reads). For a layer with edges, unit e is the edge routing entry edges.input[e] of its inputs
 * (concatenated in order) to output edges.output[e].
 */
export interface SlopeUnits {
  mid: Float64Array;
  outputRadius: Float64Array;
  uncertain: Uint8Array;
  edges?: {
    input: Int32Array;
    output: Int32Array;
    /** Windows whose weight deviations sum to 0: a prefix may read their entries minus the window mean. */
    centred: Uint8Array;
  };
  /** Layer normalisation: a slope matrix per group instead of a slope per unit (docs/derivations.md §55.1). */
  normalised?: NormalisedSlopes;
  /** Softmax: the slope matrix diag(mid) − mid midᵀ per group (docs/derivations.md §55.2). */
  softmaxGroups?: SoftmaxGroups;
}

/**
 * A deviation entering a layer's output in a forward pass: values[i] · scale · radius[i] is added at
 * each listed entry (the entries where radius is not 0; the stacked operators' R_j block, read straight
 * from the stacked vector instead of a scaled copy).
 */
export interface Injection {
  values: Float64Array;
  scale: number;
  radius: Float64Array;
  entries: Int32Array;
}

const UNIT_ROUNDOFF = Number.EPSILON / 2;

/** How many units a 0/1 mask marks. */
export function count(units: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < units.length; i++) n += units[i];
  return n;
}

/**
 * The rows of a layer's z that a prefix norm reads, and an affine layer restricted to the rows of its z
 * that those depend on: the read layer itself, or the single affine input of a window layer (max pooling
 * read per edge: the entries of every window with a read edge, the window being centred as a whole). A
 * pass reading z there returns only the read rows (the others 0) and a pass from there reads the
 * cotangent on them only, i.e. the stacked operator becomes Π_rows K, whose norm under the same row mask
 * is the same (docs/derivations.md §58.4).
 */
export interface ReadRows {
  layer: number;
  rows: Int32Array;
  /** The affine layer computed on `sourceRows` only, and its operator restricted to them. */
  source: number;
  sourceRows: Int32Array;
  selected: LinearOperator;
}

/**
 * Activation units with secant slopes in [lower_i, upper_i]: midpoint and radius, rounded so that
 * [mid − rad, mid + rad] ⊇ [lower, upper].
 */
export function intervalSlopes(lower: Float64Array, upper: Float64Array): SlopeUnits {
  // Plain loops: typed-array map callbacks cost a third of a second per BlazeFace front run (§65.1).
  const mid = new Float64Array(lower.length);
  const outputRadius = new Float64Array(lower.length);
  const uncertain = new Uint8Array(lower.length);
  for (let i = 0; i < lower.length; i++) {
    const lo = lower[i];
    const hi = upper[i];
    if (lo === hi) {
      mid[i] = lo;
      continue;
    }
    mid[i] = (lo + hi) / 2;
    outputRadius[i] = ((hi - lo) / 2) * (1 + 4 * UNIT_ROUNDOFF) + 2 * UNIT_ROUNDOFF * (Math.abs(lo) + Math.abs(hi));
    uncertain[i] = outputRadius[i] > 0 ? 1 : 0;
  }
  return { mid, outputRadius, uncertain };
}

export class LinearisedNetwork {
  /**
   * `poll` runs before every layer of a forward or backward pass, so at most one operator application
   * passes between two calls (the composed bound checks the cancel signal and its budget there).
   */
  constructor(readonly prepared: PreparedNetwork, readonly slopes: (SlopeUnits | null)[], private readonly poll: () => void = () => {}) {}

  private readonly buffers = new PassBuffers();

  /**
   * Hands arrays a pass returned (backward's cotangents, a forward input the caller built) back for
   * the next passes; the caller must not read them afterwards.
   */
  recycle(...arrays: (Float64Array | null)[]): void {
    for (const a of arrays) this.buffers.give(a);
  }

  /**
   * Units of a slope layer; before its slopes are recorded (the layer run's prefix reach, §56, §57)
   * what readUnits reads: an affine layer's outputs, any other layer's inputs concatenated.
   */
  unitCount(layer: number): number {
    const p = this.prepared.layers[layer];
    return this.slopes[layer]?.mid.length ?? (p.op.kind === 'affine' ? p.outSize : p.inSizes.reduce((a, b) => a + b, 0));
  }

  /** ReadRows for `rows` (a 0/1 mask) of layer k's z, or null where no affine layer's rows can be selected cheaply. */
  readRows(k: number, rows: Uint8Array): ReadRows | null {
    const read = indicesOf(rows);
    const edges = this.slopes[k]?.edges;
    const inputs = this.prepared.layers[k].layer.inputs;
    let source = k;
    let sourceRows = read;
    if (edges) {
      if (inputs.length !== 1 || inputs[0] === NETWORK_INPUT) return null;
      source = inputs[0];
      // Every entry of every window with a read edge: centring reads the whole window.
      const windows = new Uint8Array(edges.centred.length);
      for (const e of read) windows[edges.output[e]] = 1;
      const entries = new Uint8Array(this.prepared.layers[source].outSize);
      for (let e = 0; e < edges.input.length; e++) if (windows[edges.output[e]]) entries[edges.input[e]] = 1;
      sourceRows = indicesOf(entries);
    }
    const op = this.prepared.layers[source].op;
    const sourceSlopes = this.slopes[source];
    if (op.kind !== 'affine' || !op.affine.linear.selectRows || (sourceSlopes && !plainSlopes(sourceSlopes))) return null;
    const selected = op.affine.linear.selectRows(sourceRows);
    return selected && { layer: k, rows: read, source, sourceRows, selected: selected.operator };
  }

  outputSize(): number {
    const ref = this.prepared.network.output;
    return ref === NETWORK_INPUT ? this.prepared.inputSize : this.prepared.layers[ref].outSize;
  }

  /**
   * Layers the given tensor depends on (itself included): one sweep down the topological order, no
   * recursion (a 20 000-layer chain would overflow the stack).
   */
  ancestors(ref: TensorRef): boolean[] {
    const marked = this.prepared.layers.map(() => false);
    if (ref === NETWORK_INPUT) return marked;
    marked[ref] = true;
    for (let k = ref; k >= 0; k--) {
      if (!marked[k]) continue;
      for (const input of this.prepared.layers[k].layer.inputs) if (input !== NETWORK_INPUT) marked[input] = true;
    }
    return marked;
  }

  /**
   * z minus each centred window's mean over its edges (a symmetric projection): the deviations δ of such
   * a window sum to 0, so δᵀz = δᵀ(z − mean), and the prefix terms read the smaller centred vector.
   */
  private centre(k: number, z: Float64Array): Float64Array {
    const edges = this.slopes[k]?.edges;
    if (!edges) return z;
    const sums = new Float64Array(edges.centred.length);
    const counts = new Float64Array(edges.centred.length);
    for (let e = 0; e < z.length; e++) {
      sums[edges.output[e]] += z[e];
      counts[edges.output[e]]++;
    }
    const centred = new Float64Array(z.length);
    for (let e = 0; e < z.length; e++) {
      const o = edges.output[e];
      centred[e] = edges.centred[o] ? z[e] - sums[o] / counts[o] : z[e];
    }
    return centred;
  }

  /**
   * The slope layer's z from its inputs' tangents. A layer of several inputs (products, maxima) has
   * edges whose indices run over its inputs concatenated in order. A lone input without edges is z
   * itself, not a copy: z is only read.
   */
  private readUnits(k: number, inputs: Float64Array[]): Float64Array {
    const p = this.prepared.layers[k];
    const edges = this.slopes[k]?.edges;
    const input = inputs.length === 1 ? inputs[0] : concatenateInputs(inputs);
    if (p.op.kind === 'affine') return p.op.affine.linear.apply(input, this.buffers.take(p.outSize));
    if (edges) {
      const z = this.buffers.take(edges.input.length);
      for (let e = 0; e < z.length; e++) z[e] = input[edges.input[e]];
      return z;
    }
    return input;
  }

  /** Adjoint of readUnits: the cotangents of the layer's inputs from one of z. */
  private readUnitsTranspose(k: number, g: Float64Array): Float64Array[] {
    const p = this.prepared.layers[k];
    const edges = this.slopes[k]?.edges;
    if (p.op.kind === 'affine') return [p.op.affine.linear.applyTranspose(g, this.buffers.take(p.inSizes[0]))];
    if (edges) {
      const out = this.buffers.zeroed(p.inSizes.reduce((a, b) => a + b, 0));
      for (let e = 0; e < g.length; e++) out[edges.input[e]] += g[e];
      return p.inSizes.length === 1 ? [out] : splitInputs(out, p.inSizes);
    }
    // Before a several-input layer's slopes exist, z is its inputs concatenated (§57).
    return p.inSizes.length === 1 ? [g] : splitInputs(g, p.inSizes);
  }

  /** The layer's output from z: scatter(mid ⊙ z). */
  private applySlopes(k: number, z: Float64Array): Float64Array {
    const s = this.slopes[k] as SlopeUnits;
    if (s.normalised) return applyNormalised(s.normalised, z, false);
    if (s.softmaxGroups) return softmaxTangent(s.softmaxGroups, s.mid, z);
    if (!s.edges) return scaled(z, s.mid, 1, this.buffers.take(z.length));
    const out = this.buffers.zeroed(this.prepared.layers[k].outSize);
    for (let e = 0; e < z.length; e++) out[s.edges.output[e]] += s.mid[e] * z[e];
    return out;
  }

  private applySlopesTranspose(k: number, g: Float64Array): Float64Array {
    const s = this.slopes[k] as SlopeUnits;
    if (s.normalised) return applyNormalised(s.normalised, g, true);
    // diag(m) − m mᵀ is symmetric.
    if (s.softmaxGroups) return softmaxTangent(s.softmaxGroups, s.mid, g);
    if (!s.edges) return scaled(g, s.mid, 1, this.buffers.take(g.length));
    const output = s.edges.output;
    const out = this.buffers.take(output.length);
    for (let e = 0; e < out.length; e++) out[e] = g[output[e]] * s.mid[e];
    return out;
  }

  /**
   * J v along the linearised network: `input` is the tangent of the network input (null: zero),
   * `injections` are added to the given layers' outputs; the result is the network output's tangent,
   * or z of layer `readAt` when given (centred per window where the deviations sum to 0); with
   * `readRows` for that layer, only its rows (the others 0).
   */
  forward(input: Float64Array | null, injections: Map<number, Injection>, readAt?: number, readRows: ReadRows | null = null): Float64Array {
    const { layers, inputSize } = this.prepared;
    const read = readRows?.layer === readAt ? readRows : null;
    const last = readAt ?? this.prepared.network.output;
    if (last === NETWORK_INPUT) return input ? Float64Array.from(input) : new Float64Array(inputSize);
    const needed = this.ancestors(last);
    const tangents: (Float64Array | null)[] = layers.map(() => null);
    for (let k = 0; k <= last; k++) {
      if (!needed[k]) continue;
      this.poll();
      const p = layers[k];
      const ins = p.layer.inputs.map((ref) => (ref === NETWORK_INPUT ? input : tangents[ref]));
      const injected = injections.get(k);
      const moves = ins.some((t) => t !== null);
      if (k === last && readAt !== undefined) {
        let z: Float64Array;
        if (!moves) z = new Float64Array(this.unitCount(k));
        else {
          const inputs = ins.map((t, i) => t ?? new Float64Array(p.inSizes[i]));
          if (read?.source === k) z = scatterRows(read.selected.apply(inputs[0]), read.rows, this.unitCount(k));
          else {
            const units = this.readUnits(k, inputs);
            // The caller may write into what it gets back, never into its own input.
            const centred = this.centre(k, units === input ? Float64Array.from(units) : units);
            z = read ? scatterRows(Float64Array.from(read.rows, (e) => centred[e]), read.rows, centred.length) : centred;
          }
        }
        this.releaseTangents(tangents, input, z);
        return z;
      }
      let out: Float64Array | null = null;
      if (moves) {
        const inputs = ins.map((t, i) => t ?? new Float64Array(p.inSizes[i]));
        if (read?.source === k) {
          // Only the entries the read windows take; the rest of this output is never read.
          const z = read.selected.apply(inputs[0]);
          const mid = this.slopes[k]?.mid;
          if (mid) for (let a = 0; a < z.length; a++) z[a] *= mid[read.sourceRows[a]];
          out = scatterRows(z, read.sourceRows, p.outSize);
        } else if (this.slopes[k]) {
          const z = this.readUnits(k, inputs);
          out = this.applySlopes(k, z);
          // z is read only here, unless it is an input's tangent itself.
          if (!inputs.includes(z)) this.buffers.give(z);
        } else out = applyLinear(this.prepared, k, inputs, this.buffers);
      }
      if (injected) {
        // Added in place unless the output is an input's own array (a reshape passes its input on).
        if (!out) out = this.buffers.zeroed(p.outSize);
        else if (ins.some((t) => t?.buffer === out?.buffer)) out = this.buffers.copy(out);
        const { values, scale, radius, entries } = injected;
        for (let a = 0; a < entries.length; a++) {
          const i = entries[a];
          out[i] += values[i] * scale * radius[i];
        }
      }
      tangents[k] = out;
    }
    const result = tangents[last] ?? new Float64Array(layers[last].outSize);
    this.releaseTangents(tangents, input, result);
    return result;
  }

  /** The pass's tangents back to the buffers, except the caller's input and what the pass returns. */
  private releaseTangents(tangents: (Float64Array | null)[], input: Float64Array | null, kept: Float64Array): void {
    const released = new Set<Float64Array>();
    for (const t of tangents) if (t && t !== input && t !== kept && !released.has(t)) released.add(t);
    for (const t of released) this.buffers.give(t);
  }

  /**
   * Jᵀ u, the adjoint of forward: u is the cotangent of the network output (or of z at `readAt`);
   * returns the input's cotangent (when asked) and the cotangent at each listed layer's output. With
   * `readRows` for `readAt`, u is read on its rows only.
   */
  backward(
    u: Float64Array, wantInput: boolean, wantLayers: number[], readAt?: number, readRows: ReadRows | null = null,
  ): { input: Float64Array | null; layers: Map<number, Float64Array> } {
    this.poll();
    const read = readRows?.layer === readAt ? readRows : null;
    const { layers, inputSize } = this.prepared;
    const last = readAt ?? this.prepared.network.output;
    const result = { input: null as Float64Array | null, layers: new Map<number, Float64Array>() };
    // Layers the cotangent never reaches get zeros.
    const finish = () => {
      if (wantInput) result.input ??= new Float64Array(inputSize);
      for (const j of wantLayers) if (!result.layers.has(j)) result.layers.set(j, this.buffers.zeroed(layers[j].outSize));
      return result;
    };
    if (last === NETWORK_INPUT) {
      if (wantInput) result.input = Float64Array.from(u);
      return finish();
    }
    const lowest = wantInput ? 0 : Math.min(...wantLayers);
    const grads: (Float64Array | null)[] = layers.map(() => null);
    // A cotangent the pass owns (a fresh array no one else holds) becomes the first sum itself; one that
    // is still held elsewhere (u, or a layer's cotangent passed on unchanged) is copied before it is added to.
    const accumulate = (ref: TensorRef, g: Float64Array, owned: boolean) => {
      if (ref === NETWORK_INPUT) {
        if (!wantInput) return;
        if (result.input) for (let i = 0; i < g.length; i++) result.input[i] += g[i];
        else result.input = owned ? g : this.buffers.copy(g);
        return;
      }
      if (ref < lowest) return;
      const target = grads[ref];
      if (target) for (let i = 0; i < g.length; i++) target[i] += g[i];
      else grads[ref] = owned ? g : this.buffers.copy(g);
    };
    // gInputs are fresh arrays, or views of `consumed` (the cotangent they were computed from), which
    // are copied: nothing reads `consumed` after this call.
    const toInputs = (k: number, gInputs: Float64Array[], consumed: Float64Array) =>
      layers[k].layer.inputs.forEach((ref, i) => accumulate(ref, gInputs[i], gInputs[i].buffer !== consumed.buffer));
    if (readAt !== undefined && read) {
      const onRows = Float64Array.from(read.rows, (e) => u[e]);
      if (read.source === readAt) toInputs(last, [read.selected.applyTranspose(onRows)], onRows);
      else {
        const centred = this.centre(last, scatterRows(onRows, read.rows, u.length));
        toInputs(last, this.readUnitsTranspose(last, centred), centred);
      }
    } else if (readAt !== undefined) {
      const centred = this.centre(last, u);
      toInputs(last, this.readUnitsTranspose(last, centred), centred);
    } else grads[last] = this.buffers.copy(u);
    for (let k = readAt !== undefined ? last - 1 : last; k >= lowest; k--) {
      const g = grads[k];
      if (!g) continue;
      this.poll();
      grads[k] = null;
      // g is read, never written, from here on: the result holds it as it is.
      const wanted = wantLayers.includes(k);
      if (wanted) result.layers.set(k, g);
      if (read?.source === k) {
        // The cotangent here lies on the read windows' entries (sourceRows) only.
        const mid = this.slopes[k]?.mid;
        const gathered = Float64Array.from(read.sourceRows, (i) => (mid ? mid[i] : 1) * g[i]);
        toInputs(k, [read.selected.applyTranspose(gathered)], gathered);
      } else if (this.slopes[k]) {
        // h is the pass's own: it goes on as the input's cotangent itself (a lone activation), or is only read.
        const h = this.applySlopesTranspose(k, g);
        const gInputs = this.readUnitsTranspose(k, h);
        toInputs(k, gInputs, g);
        if (!gInputs.some((t) => t.buffer === h.buffer)) this.buffers.give(h);
      } else toInputs(k, applyLinearTranspose(this.prepared, k, g, this.buffers), g);
      if (!wanted) this.buffers.give(g);
    }
    return finish();
  }
}

/**
 * v ⊙ w (or c·v when w is null) into `out`. Plain loops: the typed-array map callbacks these replaced
 * took more time than the kernels on the composed bound's passes (a CPU profile of the CIFAR-10 bench
 * model).
 */
function scaled(v: Float64Array, w: Float64Array | null, c: number, out: Float64Array): Float64Array {
  if (w) for (let i = 0; i < v.length; i++) out[i] = v[i] * w[i];
  else for (let i = 0; i < v.length; i++) out[i] = v[i] * c;
  return out;
}

/** out = sign·v (first) or out += sign·v, with sign ±1 (a product by 1 is exact, so it is skipped). */
function addSigned(out: Float64Array, v: Float64Array, sign: number, first: boolean): void {
  if (first && sign === 1) out.set(v);
  else if (first) for (let i = 0; i < out.length; i++) out[i] = -v[i];
  else if (sign === 1) for (let i = 0; i < out.length; i++) out[i] += v[i];
  else for (let i = 0; i < out.length; i++) out[i] -= v[i];
}

/** The indices of the set entries of a 0/1 mask. */
function indicesOf(mask: Uint8Array): Int32Array {
  const out: number[] = [];
  mask.forEach((m, i) => {
    if (m) out.push(i);
  });
  return Int32Array.from(out);
}

/** A slope per unit applied as mid ⊙ z (no windows, no matrix slopes). */
function plainSlopes(s: SlopeUnits): boolean {
  return !s.edges && !s.normalised && !s.softmaxGroups;
}

/** Entries of `values` placed at `rows` of a zero vector of the given length. */
function scatterRows(values: Float64Array, rows: Int32Array, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let a = 0; a < rows.length; a++) out[rows[a]] = values[a];
  return out;
}

/** The tangents of a layer's inputs one after the other (the index space of a several-input layer's edges). */
function concatenateInputs(inputs: Float64Array[]): Float64Array {
  const out = new Float64Array(inputs.reduce((n, t) => n + t.length, 0));
  let offset = 0;
  for (const t of inputs) {
    out.set(t, offset);
    offset += t.length;
  }
  return out;
}

function splitInputs(joined: Float64Array, sizes: number[]): Float64Array[] {
  let offset = 0;
  return sizes.map((size) => {
    offset += size;
    return joined.subarray(offset - size, offset);
  });
}

/** A layer without slopes is a linear map of its inputs (no bias: tangents). */
function applyLinear(prepared: PreparedNetwork, k: number, inputs: Float64Array[], buffers: PassBuffers): Float64Array {
  const p = prepared.layers[k];
  const op = p.op;
  switch (op.kind) {
    case 'affine':
      return op.affine.linear.apply(inputs[0], buffers.take(p.outSize));
    case 'linearPool':
      return op.linear.apply(inputs[0], buffers.take(p.outSize));
    case 'reshape':
      return inputs[0];
    case 'add': {
      // The first input assigned rather than added to zeros: the same values (but a zero's sign).
      const out = buffers.take(p.outSize);
      inputs.forEach((input, j) => addSigned(out, input, op.signs[j], j === 0));
      return out;
    }
    case 'concat':
      return concatenate(inputs, op.outer, op.blocks, buffers.take(p.outSize));
    case 'transpose':
      return gatherPermuted(inputs[0], op.source, buffers.take(p.outSize));
    case 'activation':
    case 'matMul':
    case 'maxPool':
    case 'reduceMax':
    case 'maximum':
    case 'layerNorm':
    case 'softmax':
    case 'mul':
      throw new Error(`layer ${k} '${p.layer.label}': no slopes recorded for a ${op.kind} layer`);
  }
}

function applyLinearTranspose(prepared: PreparedNetwork, k: number, g: Float64Array, buffers: PassBuffers): Float64Array[] {
  const p = prepared.layers[k];
  const op = p.op;
  switch (op.kind) {
    case 'affine':
      return [op.affine.linear.applyTranspose(g, buffers.take(p.inSizes[0]))];
    case 'linearPool':
      return [op.linear.applyTranspose(g, buffers.take(p.inSizes[0]))];
    case 'reshape':
      return [g];
    case 'add':
      return op.signs.map((sign) => (sign === 1 ? g : scaled(g, null, -1, buffers.take(g.length))));
    case 'concat':
      return splitConcatenated(g, op.outer, op.blocks, p.inSizes);
    case 'transpose':
      return [scatterPermuted(g, op.source)];
    case 'activation':
    case 'matMul':
    case 'maxPool':
    case 'reduceMax':
    case 'maximum':
    case 'layerNorm':
    case 'softmax':
    case 'mul':
      throw new Error(`layer ${k} '${p.layer.label}': no slopes recorded for a ${op.kind} layer`);
  }
}

/** What one network's idle pass arrays may hold (BlazeFace front's passes leave at most 19 MB idle). */
const IDLE_BYTES = 2 ** 26;

/**
 * The arrays of the passes, kept by length for the next ones: a pass allocated a fresh array per layer,
 * and zero-filling, first touches and garbage collection of those took about as long as the kernels on
 * BlazeFace front (docs/derivations.md §65.1). An array comes back only once nothing reads it, and at
 * most as many of a length are kept as `take` ever created, so the idle arrays never outgrow what the
 * passes held at once; nor IDLE_BYTES in all, so a network of large layers (VGG-16: 25 MB a tensor)
 * keeps few and leaves the rest to the garbage collector as before.
 */
class PassBuffers {
  private readonly free = new Map<number, Float64Array[]>();
  private readonly created = new Map<number, number>();
  private readonly idle = new Set<Float64Array>();
  private idleBytes = 0;

  /** An array of n entries, its contents whatever they were. */
  take(n: number): Float64Array {
    const a = this.free.get(n)?.pop();
    if (a) {
      this.idle.delete(a);
      this.idleBytes -= a.byteLength;
      return a;
    }
    this.created.set(n, (this.created.get(n) ?? 0) + 1);
    return new Float64Array(n);
  }

  zeroed(n: number): Float64Array {
    const reused = this.free.get(n)?.length;
    const a = this.take(n);
    return reused ? a.fill(0) : a;
  }

  copy(v: Float64Array): Float64Array {
    const a = this.take(v.length);
    a.set(v);
    return a;
  }

  give(a: Float64Array | null): void {
    if (!a || this.idle.has(a)) return;
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    if (list.length >= (this.created.get(a.length) ?? 0) || this.idleBytes + a.byteLength > IDLE_BYTES) return;
    list.push(a);
    this.idle.add(a);
    this.idleBytes += a.byteLength;
  }
}
