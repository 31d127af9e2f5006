// Reach from composed prefixes (docs/derivations.md §51): the composed bound's prefix norms β_k bound
// how far the uncertain units of layer k move inside the ball, often far less than the layer product's
// ε_in ‖a_iᵀ D‖; a second layer run with those caps finds fewer units that can switch.
import type { ReachCaps } from '../layerBounds';
import { NETWORK_INPUT } from '../network';
import type { PreparedNetwork } from '../prepared';
import type { SlopeUnits } from './linearisedNetwork';

const UNIT_ROUNDOFF = Number.EPSILON / 2;

/**
 * Per activation layer with uncertain units: ε β_k on those units (rounded up), no cap elsewhere; null
 * when no layer has one. Layers reading the network input and max-pool layers are left out: their prefix rows read window entries minus the
 * window mean, which bounds no single entry's move.
 */
export function prefixReachCaps(prepared: PreparedNetwork, slopes: (SlopeUnits | null)[], prefixNorms: Map<number, number>, epsilon: number): ReachCaps | null {
  const caps: ReachCaps = prepared.layers.map(() => null);
  let any = false;
  for (const [k, beta] of prefixNorms) {
    const units = slopes[k];
    const op = prepared.layers[k].layer.op;
    // A layer reading the network input already has its exact reach ε‖a_i‖ (or ε).
    if (!units || units.edges || (op.kind !== 'affine' && op.kind !== 'activation') || prepared.layers[k].layer.inputs[0] === NETWORK_INPUT) continue;
    const bound = epsilon * beta * (1 + 4 * UNIT_ROUNDOFF);
    caps[k] = Float64Array.from(units.uncertain, (u) => (u ? bound : Infinity));
    any = true;
  }
  return any ? caps : null;
}
