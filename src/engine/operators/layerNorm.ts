// Layer normalisation on groups of n consecutive values (docs/derivations.md §23): the forward map
// y = γ ⊙ q + β with q = z / s, z = x − mean(x), s = sqrt(‖z‖²/n + e), and its Jacobian products.
// The Jacobian at x is diag(γ) (P − q qᵀ/n) / s with P the centring projection (q is centred, so the
// map is symmetric before γ): J v = γ ⊙ (v − mean(v) − q (q·v)/n) / s, Jᵀu = the same applied to γ ⊙ u.

export interface LayerNormSpec {
  groupSize: number;
  epsilon: number;
  /** Length groupSize, or null for 1. */
  scale: Float64Array | null;
  /** Length groupSize, or null for 0. */
  bias: Float64Array | null;
}

/** The normalised values q (before γ, β) and 1/s per group, at one point. */
export interface LayerNormPoint {
  normalised: Float64Array;
  inverseScale: Float64Array;
}

export function layerNormPoint(spec: LayerNormSpec, x: Float64Array): LayerNormPoint {
  const n = spec.groupSize;
  const groups = x.length / n;
  const normalised = new Float64Array(x.length);
  const inverseScale = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const base = g * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[base + i];
    const mean = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const z = x[base + i] - mean;
      normalised[base + i] = z;
      squares += z * z;
    }
    const s = Math.sqrt(squares / n + spec.epsilon);
    inverseScale[g] = 1 / s;
    for (let i = 0; i < n; i++) normalised[base + i] /= s;
  }
  return { normalised, inverseScale };
}

/** γ ⊙ q + β. */
export function layerNormOutput(spec: LayerNormSpec, q: Float64Array): Float64Array {
  const n = spec.groupSize;
  const out = new Float64Array(q.length);
  for (let k = 0; k < q.length; k++) {
    const i = k % n;
    out[k] = (spec.scale ? spec.scale[i] * q[k] : q[k]) + (spec.bias ? spec.bias[i] : 0);
  }
  return out;
}

/** (P − q qᵀ/n) v / s per group, with v first multiplied by γ when `scaleFirst` (the adjoint) or after (the tangent). */
function projectGroups(spec: LayerNormSpec, point: LayerNormPoint, v: Float64Array, scaleFirst: boolean): Float64Array {
  const n = spec.groupSize;
  const { normalised: q, inverseScale } = point;
  const w = scaleFirst && spec.scale ? v.map((t, k) => t * spec.scale![k % n]) : Float64Array.from(v);
  for (let g = 0; g < inverseScale.length; g++) {
    const base = g * n;
    let sum = 0;
    let along = 0;
    for (let i = 0; i < n; i++) {
      sum += w[base + i];
      along += q[base + i] * w[base + i];
    }
    const mean = sum / n;
    for (let i = 0; i < n; i++) {
      const k = base + i;
      w[k] = (w[k] - mean - (q[k] * along) / n) * inverseScale[g];
      if (!scaleFirst && spec.scale) w[k] *= spec.scale[i];
    }
  }
  return w;
}

export function layerNormTangent(spec: LayerNormSpec, point: LayerNormPoint, v: Float64Array): Float64Array {
  return projectGroups(spec, point, v, false);
}

export function layerNormAdjoint(spec: LayerNormSpec, point: LayerNormPoint, u: Float64Array): Float64Array {
  return projectGroups(spec, point, u, true);
}
