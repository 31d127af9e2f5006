// One handler per ONNX op type (default domain), keyed by op type. A handler reads its inputs through
// the context, parses its attributes, and either emits a layer, records a folded constant, or throws
// UnsupportedNodeError with a reason. An op type missing here is unsupported: never passed through.

import type { Node } from '../../onnx/model';
import type { NormaliseContext } from './context';
import { activationHandler, ACTIVATION_OP_TYPES } from './ops/activations';
import { add, div, mul, sub } from './ops/arithmetic';
import { averagePool } from './ops/averagePool';
import { batchNormalization } from './ops/batchNormalization';
import { cast } from './ops/cast';
import { concat } from './ops/concat';
import { constantOfShape } from './ops/constantOfShape';
import { conv } from './ops/conv';
import { convTranspose } from './ops/convTranspose';
import { dropout } from './ops/dropout';
import { flatten } from './ops/flatten';
import { gather } from './ops/gather';
import { gemm } from './ops/gemm';
import { globalAveragePool } from './ops/globalAveragePool';
import { identity } from './ops/identity';
import { layerNormalization } from './ops/layerNormalization';
import { matMul } from './ops/matMul';
import { maxPool } from './ops/maxPool';
import { pad } from './ops/pad';
import { pow } from './ops/pow';
import { reduceMean, reduceSum } from './ops/reduce';
import { reduceMax } from './ops/reduceMax';
import { reshape } from './ops/reshape';
import { resize, upsample } from './ops/resize';
import { shape } from './ops/shape';
import { slice } from './ops/slice';
import { softmax } from './ops/softmax';
import { split } from './ops/split';
import { squeeze } from './ops/squeeze';
import { transpose } from './ops/transpose';
import { unsqueeze } from './ops/unsqueeze';

export type OpHandler = (node: Node, ctx: NormaliseContext) => void;

const handlers = new Map<string, OpHandler>([
  ['Add', add],
  ['AveragePool', averagePool],
  ['BatchNormalization', batchNormalization],
  ['Cast', cast],
  ['Concat', concat],
  ['ConstantOfShape', constantOfShape],
  ['Conv', conv],
  ['ConvTranspose', convTranspose],
  ['Div', div],
  ['Dropout', dropout],
  ['Flatten', flatten],
  ['Gather', gather],
  ['Gemm', gemm],
  ['GlobalAveragePool', globalAveragePool],
  ['Identity', identity],
  ['LayerNormalization', layerNormalization],
  ['MatMul', matMul],
  ['MaxPool', maxPool],
  ['Mul', mul],
  ['Pad', pad],
  ['Pow', pow],
  ['ReduceMax', reduceMax],
  ['ReduceMean', reduceMean],
  ['ReduceSum', reduceSum],
  ['Reshape', reshape],
  ['Resize', resize],
  ['Shape', shape],
  ['Slice', slice],
  ['Softmax', softmax],
  ['Split', split],
  ['Squeeze', squeeze],
  ['Sub', sub],
  ['Transpose', transpose],
  ['Unsqueeze', unsqueeze],
  ['Upsample', upsample],
  ...[...ACTIVATION_OP_TYPES].map((opType): [string, OpHandler] => [opType, activationHandler]),
]);

/** The handler of a default-domain op type; undefined for everything the analysis cannot represent. */
export function handlerFor(node: Node): OpHandler | undefined {
  return node.domain === '' ? handlers.get(node.opType) : undefined;
}

export function supportedOpTypes(): string[] {
  return [...handlers.keys()].sort();
}
