// The network bound from certified norms of the linearised network (docs/derivations.md §17):
//   L ≤ ‖J(M)‖ + Σ_k ‖G_k(M) P_k‖ β_k,
//   β_k = ‖Π_{U_k} H_k(M)‖ + Σ_{j<k} ‖Π_{U_k} G_{j→k}(M) P_j‖ β_j,
// with M the midpoint and P the radius of every unit's slope interval, U_k the units of slope layer k
// whose slope is uncertain, G the suffix and H the prefix maps of the linearised network. Every norm is
// certified by certifiedNorm (exact Gram + Cholesky when a side is small, else Lanczos a-posteriori).
import type { CancelSignal } from '../errors';
import { throwIfCancelled } from '../errors';
import type { PreparedNetwork } from '../prepared';
import { certifiedNorm, type NormOperator, type SpectralOptions } from '../spectral/certifiedNorm';
import { LinearisedNetwork, type PathSource, type PathTarget, type SlopeUnits } from './linearisedNetwork';

export interface ComposedBound {
  value: number;
  /** ‖J(M)‖ alone (the bound when no unit's slope is uncertain). */
  midpointNorm: number;
  /** Units whose slope is uncertain, over all slope layers. */
  uncertainUnits: number;
  /** Certified norms computed. */
  norms: number;
  /** Union bound over the Lanczos certificates among them. */
  failureProbability: number;
  /** Set when the partial sum passed `limit` and the computation stopped there. */
  abandoned: boolean;
}

const UNIT_ROUNDOFF = Number.EPSILON / 2;

/** A path of the linearised network as an operator, with the source units' radii P_j folded in on the right. */
class PathOperator implements NormOperator {
  readonly inSize: number;
  readonly outSize: number;

  constructor(
    private readonly network: LinearisedNetwork,
    private readonly source: PathSource,
    private readonly target: PathTarget,
    private readonly sourceScale: Float64Array | null,
  ) {
    this.inSize = source.at === 'input' ? network.prepared.inputSize : network.unitCount(source.layer);
    this.outSize = target.at === 'output' ? outputSize(network.prepared) : network.unitCount(target.layer);
  }

  apply(x: Float64Array): Float64Array {
    const scale = this.sourceScale;
    return this.network.forward(this.source, this.target, scale ? x.map((v, i) => v * scale[i]) : x);
  }

  applyTranspose(y: Float64Array): Float64Array {
    const g = this.network.backward(this.source, this.target, y);
    const scale = this.sourceScale;
    if (scale) for (let i = 0; i < g.length; i++) g[i] *= scale[i];
    return g;
  }
}

function outputSize(prepared: PreparedNetwork): number {
  const ref = prepared.network.output;
  return ref < 0 ? prepared.inputSize : prepared.layers[ref].outSize;
}

/**
 * Relative floating-point allowance on every certified norm of a path: the certificates bound the norm
 * of the operator as computed in float64, which differs from the exact one by rounding of order
 * u · (terms summed along the path) relative to the products of absolute values; an engineering
 * margin like §10b's, not a proof (docs/derivations.md §17).
 */
function pathMargin(prepared: PreparedNetwork): number {
  let terms = 0;
  for (const p of prepared.layers) terms += p.inSizes.reduce((a, b) => a + b, 0);
  return 1e-9 + 64 * UNIT_ROUNDOFF * terms;
}

export function composedBound(
  prepared: PreparedNetwork,
  slopes: (SlopeUnits | null)[],
  spectral: SpectralOptions,
  limit: number,
  signal?: CancelSignal,
): ComposedBound {
  const network = new LinearisedNetwork(prepared, slopes);
  const outputAncestors = network.ancestors(prepared.network.output);
  const margin = 1 + pathMargin(prepared);
  let norms = 0;
  let failureProbability = 0;
  // Rows restricted to U_k (the certified norm's row scaling), columns to U_j with P_j folded in.
  const norm = (source: PathSource, target: PathTarget): number => {
    throwIfCancelled(signal);
    const sourceScale = source.at === 'units' ? (network.radius[source.layer] as Float64Array) : null;
    const rows = target.at === 'units' ? Float64Array.from(network.radius[target.layer] as Float64Array, (r) => (r > 0 ? 1 : 0)) : null;
    const cols = source.at === 'units' ? Uint8Array.from(network.radius[source.layer] as Float64Array, (r) => (r > 0 ? 1 : 0)) : null;
    const op = new PathOperator(network, source, target, sourceScale);
    const result = certifiedNorm(op, rows, cols, { ...spectral, seed: (Math.imul(spectral.seed >>> 0, 7919) + 104729 * (norms + 1)) >>> 0, signal });
    norms++;
    failureProbability += result.certificate.failureProbability ?? 0;
    return result.value * margin;
  };

  const uncertain = prepared.layers
    .map((_p, k) => k)
    .filter((k) => outputAncestors[k] && (network.radius[k]?.some((r) => r > 0) ?? false));
  const uncertainUnits = uncertain.reduce((sum, k) => sum + (network.radius[k] as Float64Array).filter((r) => r > 0).length, 0);
  const midpointNorm = norm({ at: 'input' }, { at: 'output' });
  let value = midpointNorm;
  const beta = new Map<number, number>();
  for (const k of uncertain) {
    if (value > limit) break;
    const suffix = norm({ at: 'units', layer: k }, { at: 'output' });
    // β_k is needed even when this suffix vanishes: later prefixes expand through layer k.
    const prefixAncestors = network.ancestors(k);
    let betaK = norm({ at: 'input' }, { at: 'units', layer: k });
    for (const j of uncertain) {
      if (j >= k) break;
      const betaJ = beta.get(j);
      if (!prefixAncestors[j] || betaJ === undefined) continue;
      betaK += norm({ at: 'units', layer: j }, { at: 'units', layer: k }) * betaJ;
    }
    beta.set(k, betaK);
    value += suffix * betaK;
  }
  return { value, midpointNorm, uncertainUnits, norms, failureProbability, abandoned: value > limit };
}
