// The network with every activation (and every max-pool window whose winner is not certain) replaced by
// a fixed slope per unit: a linear map, applied matrix-free forward (J v) and backward (Jᵀ u) through
// the same operators as the rest of the engine (docs/derivations.md §17). A slope layer k reads a
// vector z_k from its input (the pre-activation A x, the lone activation's input, or the max-pool
// window entries gathered per unit) and writes the output scatter_k(s ⊙ z_k). Paths run from the network
// input or from an injection into one slope layer's units, to the network output or to one slope
// layer's z.
import { NETWORK_INPUT, type TensorRef } from '../network';
import { concatenate, type PreparedNetwork } from '../prepared';
import { gatherPermuted, scatterPermuted } from '../operators/transpose';

/** Per-unit slope intervals of one layer; for max pooling, unit e routes input[e] to output[e]. */
export interface SlopeUnits {
  lower: Float64Array;
  upper: Float64Array;
  edges?: { input: Int32Array; output: Int32Array };
}

/** Where a path starts: the network input, or added to the units of slope layer `layer` (after the slopes). */
export type PathSource = { at: 'input' } | { at: 'units'; layer: number };
/** Where a path ends: the network output, or the z vector of slope layer `layer` (before the slopes). */
export type PathTarget = { at: 'output' } | { at: 'units'; layer: number };

const UNIT_ROUNDOFF = Number.EPSILON / 2;

export class LinearisedNetwork {
  /** Midpoint and radius of every slope interval, rounded so that [mid − rad, mid + rad] ⊇ [lower, upper]. */
  readonly mid: (Float64Array | null)[];
  readonly radius: (Float64Array | null)[];

  constructor(readonly prepared: PreparedNetwork, readonly slopes: (SlopeUnits | null)[]) {
    this.mid = slopes.map((s) => s && s.lower.map((lo, i) => (lo === s.upper[i] ? lo : (lo + s.upper[i]) / 2)));
    this.radius = slopes.map((s) =>
      s && s.lower.map((lo, i) => {
        const hi = s.upper[i];
        return lo === hi ? 0 : ((hi - lo) / 2) * (1 + 4 * UNIT_ROUNDOFF) + 2 * UNIT_ROUNDOFF * (Math.abs(lo) + Math.abs(hi));
      }),
    );
  }

  unitCount(layer: number): number {
    return (this.slopes[layer] as SlopeUnits).lower.length;
  }

  /** Layers the given tensor depends on (itself included). */
  ancestors(ref: TensorRef): boolean[] {
    const marked = this.prepared.layers.map(() => false);
    const visit = (r: TensorRef) => {
      if (r === NETWORK_INPUT || marked[r]) return;
      marked[r] = true;
      for (const input of this.prepared.layers[r].layer.inputs) visit(input);
    };
    visit(ref);
    return marked;
  }

  private lastLayer(target: PathTarget): TensorRef {
    return target.at === 'output' ? this.prepared.network.output : target.layer;
  }

  /** The slope layer's z from its input's tangent. */
  private readUnits(k: number, input: Float64Array): Float64Array {
    const p = this.prepared.layers[k];
    const edges = this.slopes[k]?.edges;
    if (p.op.kind === 'affine') return p.op.affine.linear.apply(input);
    if (edges) return Float64Array.from(edges.input, (j) => input[j]);
    return Float64Array.from(input);
  }

  /** Adjoint of readUnits: the cotangent of the layer's input from one of z. */
  private readUnitsTranspose(k: number, g: Float64Array): Float64Array {
    const p = this.prepared.layers[k];
    const edges = this.slopes[k]?.edges;
    if (p.op.kind === 'affine') return p.op.affine.linear.applyTranspose(g);
    if (edges) {
      const out = new Float64Array(p.inSizes[0]);
      for (let e = 0; e < g.length; e++) out[edges.input[e]] += g[e];
      return out;
    }
    return g;
  }

  /** The layer's output from its units' values (after the slopes). */
  private writeUnits(k: number, units: Float64Array): Float64Array {
    const edges = this.slopes[k]?.edges;
    if (!edges) return units;
    const out = new Float64Array(this.prepared.layers[k].outSize);
    for (let e = 0; e < units.length; e++) out[edges.output[e]] += units[e];
    return out;
  }

  private writeUnitsTranspose(k: number, g: Float64Array): Float64Array {
    const edges = this.slopes[k]?.edges;
    return edges ? Float64Array.from(edges.output, (o) => g[o]) : g;
  }

  /** J v along the path: v has the source's size, the result the target's. */
  forward(source: PathSource, target: PathTarget, v: Float64Array): Float64Array {
    const { layers, inputSize } = this.prepared;
    const last = this.lastLayer(target);
    if (last === NETWORK_INPUT) return source.at === 'input' ? Float64Array.from(v) : new Float64Array(inputSize);
    const needed = this.ancestors(last);
    const tangents: (Float64Array | null)[] = layers.map(() => null);
    const inputTangent = source.at === 'input' ? v : null;
    const first = source.at === 'input' ? 0 : source.layer;
    for (let k = first; k <= last; k++) {
      if (!needed[k]) continue;
      const p = layers[k];
      const ins = p.layer.inputs.map((ref) => (ref === NETWORK_INPUT ? inputTangent : tangents[ref]));
      const injected = source.at === 'units' && source.layer === k;
      if (!injected && ins.every((t) => t === null)) continue;
      const inputs = ins.map((t, i) => t ?? new Float64Array(p.inSizes[i]));
      const mid = this.mid[k];
      if (k === last && target.at === 'units') return this.readUnits(k, inputs[0]);
      if (injected) {
        tangents[k] = this.writeUnits(k, Float64Array.from(v));
      } else if (mid) {
        const z = this.readUnits(k, inputs[0]);
        for (let i = 0; i < z.length; i++) z[i] *= mid[i];
        tangents[k] = this.writeUnits(k, z);
      } else {
        tangents[k] = applyLinear(this.prepared, k, inputs);
      }
    }
    const out = tangents[last];
    return out ?? new Float64Array(target.at === 'units' ? this.unitCount(last) : layers[last].outSize);
  }

  /** Jᵀ u along the path: u has the target's size, the result the source's. */
  backward(source: PathSource, target: PathTarget, u: Float64Array): Float64Array {
    const { layers, inputSize } = this.prepared;
    const last = this.lastLayer(target);
    if (last === NETWORK_INPUT) return source.at === 'input' ? Float64Array.from(u) : new Float64Array(this.unitCount((source as { layer: number }).layer));
    const first = source.at === 'input' ? 0 : source.layer;
    const reachable = source.at === 'input' ? null : this.descendants(source.layer);
    const inputGrad = new Float64Array(inputSize);
    const grads: (Float64Array | null)[] = layers.map(() => null);
    const accumulate = (ref: TensorRef, g: Float64Array) => {
      if (ref === NETWORK_INPUT) {
        if (source.at === 'input') for (let i = 0; i < g.length; i++) inputGrad[i] += g[i];
        return;
      }
      if (reachable && !reachable[ref]) return;
      const target = (grads[ref] ??= new Float64Array(g.length));
      for (let i = 0; i < g.length; i++) target[i] += g[i];
    };
    const propagateInputs = (k: number, gInputs: Float64Array[]) => layers[k].layer.inputs.forEach((ref, i) => accumulate(ref, gInputs[i]));
    if (target.at === 'units') propagateInputs(last, [this.readUnitsTranspose(last, Float64Array.from(u))]);
    else grads[last] = Float64Array.from(u);
    const stop = target.at === 'units' ? last - 1 : last;
    for (let k = stop; k >= first; k--) {
      const g = grads[k];
      if (!g) continue;
      grads[k] = null;
      if (source.at === 'units' && k === source.layer) return this.writeUnitsTranspose(k, g);
      const mid = this.mid[k];
      if (mid) {
        const gz = this.writeUnitsTranspose(k, g).map((value, i) => value * mid[i]);
        propagateInputs(k, [this.readUnitsTranspose(k, gz)]);
      } else {
        propagateInputs(k, applyLinearTranspose(this.prepared, k, g));
      }
    }
    return source.at === 'input' ? inputGrad : new Float64Array(this.unitCount(source.layer));
  }

  /** Layers that depend on the given one (itself included). */
  descendants(layer: number): boolean[] {
    const marked = this.prepared.layers.map(() => false);
    marked[layer] = true;
    this.prepared.layers.forEach((p, k) => {
      if (k > layer && p.layer.inputs.some((ref) => ref !== NETWORK_INPUT && marked[ref])) marked[k] = true;
    });
    return marked;
  }
}

/** A layer without slopes is a linear map of its inputs (no bias: tangents). */
function applyLinear(prepared: PreparedNetwork, k: number, inputs: Float64Array[]): Float64Array {
  const p = prepared.layers[k];
  const op = p.op;
  switch (op.kind) {
    case 'affine':
      return op.affine.linear.apply(inputs[0]);
    case 'linearPool':
      return op.linear.apply(inputs[0]);
    case 'reshape':
      return inputs[0];
    case 'add': {
      const out = new Float64Array(p.outSize);
      for (const input of inputs) for (let i = 0; i < out.length; i++) out[i] += input[i];
      return out;
    }
    case 'concat':
      return concatenate(inputs, op.outer, op.blocks, new Float64Array(p.outSize));
    case 'transpose':
      return gatherPermuted(inputs[0], op.source, new Float64Array(p.outSize));
    case 'activation':
    case 'maxPool':
      throw new Error(`layer ${k} '${p.layer.label}': no slopes recorded for a ${op.kind} layer`);
  }
}

function applyLinearTranspose(prepared: PreparedNetwork, k: number, g: Float64Array): Float64Array[] {
  const p = prepared.layers[k];
  const op = p.op;
  switch (op.kind) {
    case 'affine':
      return [op.affine.linear.applyTranspose(g)];
    case 'linearPool':
      return [op.linear.applyTranspose(g)];
    case 'reshape':
      return [g];
    case 'add':
      return p.layer.inputs.map(() => g);
    case 'concat': {
      let offset = 0;
      const parts = p.inSizes.map((n) => new Float64Array(n));
      for (let o = 0; o < op.outer; o++) {
        op.blocks.forEach((block, j) => {
          parts[j].set(g.subarray(offset, offset + block), o * block);
          offset += block;
        });
      }
      return parts;
    }
    case 'transpose':
      return [scatterPermuted(g, op.source)];
    case 'activation':
    case 'maxPool':
      throw new Error(`layer ${k} '${p.layer.label}': no slopes recorded for a ${op.kind} layer`);
  }
}
