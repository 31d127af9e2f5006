// ONNX model → the analysis network, or one error listing every node the analysis cannot represent.
import type { Model } from '../onnx/model';
import type { Network } from './network';
import { normaliseGraph, requireNetwork, type NormaliseOptions } from './normalise/normalise';

export interface LoadedNetwork {
  network: Network;
  /** What the user should know about how the graph was read (output taken before Softmax, …). */
  notes: string[];
}

/** options.inputShape (without the batch axis) is needed only for inputs whose file leaves dimensions open. */
export function loadAnalysisNetwork(model: Model, options: NormaliseOptions = {}): LoadedNetwork {
  const result = normaliseGraph(model, options);
  return { network: requireNetwork(result, model.path), notes: result.notes };
}
