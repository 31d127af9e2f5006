// What a run's network bound must say about itself (analyze.ts networkBound): the smallest of the
// sound bounds available, and the method that gave it.
import assert from 'node:assert/strict';
import type { NetworkBounds } from '../../../src/shared/results';

/**
 * localBound is at most the layer product and the spectral product; method names the layer product on a
 * tie with it, the spectral product when that is strictly the smallest, and the composed bound otherwise.
 */
export function assertTightestNetworkBound(network: NetworkBounds, context = ''): void {
  const { localBound, layerProduct, spectralBound, method } = network;
  assert.ok(localBound <= layerProduct && localBound <= spectralBound, `${context} local ${localBound}, layer product ${layerProduct}, spectral ${spectralBound}`);
  const expected = localBound === layerProduct ? 'layer-product' : localBound === spectralBound ? 'spectral-product' : 'composed';
  assert.equal(method, expected, context);
}
