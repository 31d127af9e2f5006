// One entry per kind of linear map in the analysis graph; each builds its operator from the layer's
// parameters and input shape. The faster onnxruntime path can register operators of the same contract.
import type { LinearParams, Shape } from '../network';
import { createChannelAffine } from './channelAffine';
import { createConv } from './conv';
import { createDense } from './dense';
import type { AffineOperator } from './linearOperator';

type Factory<K extends LinearParams['kind']> = (
  params: Extract<LinearParams, { kind: K }>,
  inputShape: Shape,
  name: string,
) => AffineOperator;

const factories: { [K in LinearParams['kind']]: Factory<K> } = {
  conv: (params, inputShape, name) => createConv(params, inputShape, name),
  dense: (params, _inputShape, name) => createDense(params, name),
  channelAffine: (params, inputShape, name) => createChannelAffine(params, inputShape, name),
};

export function createAffineOperator(params: LinearParams, inputShape: Shape, name: string): AffineOperator {
  const factory = factories[params.kind] as Factory<typeof params.kind> | undefined;
  if (!factory) throw new Error(`${name}: no operator for linear kind '${(params as { kind: string }).kind}'`);
  return factory(params as never, inputShape, name);
}
