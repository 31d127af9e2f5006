// Layer normalisation as a slope layer with one n × n slope matrix per group (docs/derivations.md §55.1):
// Δy = diag(γ) T(x) P Δx with T(x) = r(x) I + (σ/n) z0* (2 z0* + Δz)ᵀ exactly, r = (v + e)^{-1/2} and σ
// its secant slope in the variance v; the midpoint T_M = r_m I + (2σ_m/n) ẑẑᵀ and a radius per group.
import type { LayerNormSpec } from '../operators/layerNorm';
import type { SlopeUnits } from './linearisedNetwork';

const UNIT_ROUNDOFF = Number.EPSILON / 2;
/** Relative widening of the variance, scale and slope intervals against their own rounding. */
const INTERVAL_MARGIN = 1e-12;

/** The midpoint slope matrices of a layer normalisation, one per group of `groupSize` values. */
export interface NormalisedSlopes {
  spec: LayerNormSpec;
  /** r_m per group: the midpoint of the scale 1/sqrt(v + e) reachable in the ball. */
  scale: Float64Array;
  /** 2σ_m/n per group: the rank-one part's coefficient. */
  rankOne: Float64Array;
  /** ẑ: the computed nominal input minus its group mean. */
  centred: Float64Array;
}

/**
 * The slope units of a layer normalisation with nominal input x0 (known to ±tau per coordinate), input
 * radius `reach` and input mask (null: every coordinate can move). The units are the input coordinates.
 */
export function normalisationSlopes(spec: LayerNormSpec, x0: Float64Array, tau: number, reach: number, mask: Uint8Array | null): SlopeUnits & { normalised: NormalisedSlopes } {
  const n = spec.groupSize;
  const groups = x0.length / n;
  const c = (2 * n + 4) * UNIT_ROUNDOFF * (1 + 1e-6);
  const f = (t: number) => 1 / Math.sqrt(t + spec.epsilon);
  const slope = (t: number) => -0.5 / ((t + spec.epsilon) * Math.sqrt(t + spec.epsilon));
  const scale = new Float64Array(groups);
  const rankOne = new Float64Array(groups);
  const centred = new Float64Array(x0.length);
  const mid = new Float64Array(x0.length);
  const outputRadius = new Float64Array(x0.length);
  const uncertain = new Uint8Array(x0.length);
  for (let g = 0; g < groups; g++) {
    const base = g * n;
    let sum = 0;
    let largest = 0;
    for (let i = 0; i < n; i++) {
      sum += x0[base + i];
      largest = Math.max(largest, Math.abs(x0[base + i]));
    }
    const mean = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      centred[base + i] = x0[base + i] - mean;
      squares += centred[base + i] ** 2;
    }
    const norm = Math.sqrt(squares);
    const delta = Math.sqrt(n) * (tau + c * largest);
    let movable = !mask;
    for (let i = 0; i < n && !movable; i++) movable = mask![base + i] === 1;
    // A group that cannot move has Δx_g = 0 on the whole ball: any slope is exact there, and 0 keeps
    // J(M) from reading it (and a constant group with e = 0 from an infinite scale).
    if (!movable || reach === 0) continue;
    const radius = reach;
    const largestNorm = norm * (1 + c) + delta;
    const lowest = (Math.max(0, norm * (1 - c) - delta - radius) ** 2 / n) * (1 - INTERVAL_MARGIN);
    const highest = ((largestNorm + radius) ** 2 / n) * (1 + INTERVAL_MARGIN);
    const [rLow, rHigh] = [f(highest) * (1 - INTERVAL_MARGIN), f(lowest) * (1 + INTERVAL_MARGIN)];
    const [sLow, sHigh] = [slope(lowest) * (1 + INTERVAL_MARGIN), slope(highest) * (1 - INTERVAL_MARGIN)];
    const rMid = (rLow + rHigh) / 2;
    const sMid = (sLow + sHigh) / 2;
    const pR = (rHigh - rLow) / 2 + 4 * UNIT_ROUNDOFF * rHigh;
    const pS = (sHigh - sLow) / 2 + 4 * UNIT_ROUNDOFF * Math.abs(sLow);
    const rho = (pR
      + (2 * pS * largestNorm * largestNorm) / n
      + (2 * Math.abs(sMid) * delta * (2 * norm * (1 + c) + delta)) / n
      + (Math.abs(sLow) * largestNorm * radius) / n) * (1 + 1e-10);
    // Far out the reach-independent rule (§70.3) is smaller: the nominal Jacobian as midpoint, and every
    // row of any chord at most 1/√e from it plus that midpoint's own row.
    const r0 = f(squares / n);
    const rankOneAtX0 = -(r0 * r0 * r0) / n;
    const rowOfChord = 1 / Math.sqrt(spec.epsilon);
    const farRho = (i: number) => (rowOfChord + r0 + Math.abs(rankOneAtX0) * Math.abs(centred[base + i]) * norm) * (1 + 1e-10);
    let far = 0;
    for (let i = 0; i < n; i++) far = Math.max(far, farRho(i));
    const reachFree = far < rho;
    scale[g] = reachFree ? r0 : rMid;
    rankOne[g] = reachFree ? rankOneAtX0 : (2 * sMid) / n;
    mid.fill(scale[g], base, base + n);
    for (let i = 0; i < n; i++) {
      outputRadius[base + i] = (spec.scale ? Math.abs(spec.scale[i]) : 1) * (reachFree ? farRho(i) : rho);
      uncertain[base + i] = 1;
    }
  }
  return { mid, outputRadius, uncertain, normalised: { spec, scale, rankOne, centred } };
}

/** γ ⊙ T_M P v per group (`transpose`: P T_M (γ ⊙ v), its adjoint; T_M is symmetric). */
export function applyNormalised(s: NormalisedSlopes, v: Float64Array, transpose: boolean): Float64Array {
  const n = s.spec.groupSize;
  const gamma = s.spec.scale;
  const w = transpose && gamma ? v.map((t, k) => t * gamma[k % n]) : Float64Array.from(v);
  for (let g = 0; g < s.scale.length; g++) {
    const base = g * n;
    // P on the tangent's side: before T_M forward, after it in the adjoint.
    if (!transpose) centre(w, base, n);
    let dot = 0;
    for (let i = 0; i < n; i++) dot += s.centred[base + i] * w[base + i];
    for (let i = 0; i < n; i++) w[base + i] = s.scale[g] * w[base + i] + s.rankOne[g] * s.centred[base + i] * dot;
    if (transpose) centre(w, base, n);
  }
  if (!transpose && gamma) for (let k = 0; k < w.length; k++) w[k] *= gamma[k % n];
  return w;
}

function centre(w: Float64Array, base: number, n: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[base + i];
  const mean = sum / n;
  for (let i = 0; i < n; i++) w[base + i] -= mean;
}
