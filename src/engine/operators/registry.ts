// One entry per kind of linear map in the analysis graph; each builds its operator from the layer's
// parameters and input shape. The faster onnxruntime path can register operators of the same contract.
// The native and WebAssembly backends (src/native) build conv and dense layers on float64 kernels;
// channel affine maps are elementwise and stay in TypeScript on every backend.
import { kernelsFor, type OperatorBackend } from '../native/kernels';
import type { LinearParams, Shape } from '../network';
import { createChannelAffine } from './channelAffine';
import { createConv } from './conv';
import { createConv3d, createConvTranspose3d } from './conv3d';
import { createConvTranspose } from './convTranspose';
import { createDense } from './dense';
import type { AffineOperator } from './linearOperator';
import { NativeConvOperator } from './nativeConv';
import { NativeConv3dOperator } from './nativeConv3d';
import { NativeDenseOperator } from './nativeDense';

type Factory<K extends LinearParams['kind']> = (
  params: Extract<LinearParams, { kind: K }>,
  inputShape: Shape,
  name: string,
  backend: OperatorBackend,
) => AffineOperator;

const factories: { [K in LinearParams['kind']]: Factory<K> } = {
  conv: (params, inputShape, name, backend) =>
    backend !== 'typescript'
      ? createConv(params, inputShape, name, (weight, geometry) => new NativeConvOperator(weight, geometry, kernelsFor(backend)))
      : createConv(params, inputShape, name),
  // A 3-D convolution runs on the 2-D kernels, one batched call per depth tap (nativeConv3d.ts).
  conv3d: (params, inputShape, name, backend) =>
    backend !== 'typescript'
      ? createConv3d(params, inputShape, name, (weight, geometry) => new NativeConv3dOperator(weight, geometry, kernelsFor(backend)))
      : createConv3d(params, inputShape, name),
  convTranspose3d: (params, inputShape, name, backend) =>
    backend !== 'typescript'
      ? createConvTranspose3d(params, inputShape, name, (weight, geometry) => new NativeConv3dOperator(weight, geometry, kernelsFor(backend)))
      : createConvTranspose3d(params, inputShape, name),
  convTranspose: (params, inputShape, name, backend) =>
    backend !== 'typescript'
      ? createConvTranspose(params, inputShape, name, (weight, geometry) => new NativeConvOperator(weight, geometry, kernelsFor(backend)))
      : createConvTranspose(params, inputShape, name),
  dense: (params, _inputShape, name, backend) =>
    backend !== 'typescript'
      ? createDense(params, name, (weight, rows, cols, layer) => new NativeDenseOperator(weight, rows, cols, layer, kernelsFor(backend)))
      : createDense(params, name),
  channelAffine: (params, inputShape, name) => createChannelAffine(params, inputShape, name),
};

export function createAffineOperator(params: LinearParams, inputShape: Shape, name: string, backend: OperatorBackend): AffineOperator {
  const factory = factories[params.kind] as Factory<typeof params.kind> | undefined;
  if (!factory) throw new Error(`${name}: no operator for linear kind '${(params as { kind: string }).kind}'`);
  return factory(params as never, inputShape, name, backend);
}
