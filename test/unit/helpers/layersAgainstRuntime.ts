// The analysed network's layers against onnxruntime's run of the model file, at one input: the check
// several operator test files make (each asserts shapes and a tolerance of its own).
import { pureForward } from '../../../src/engine/forward';
import type { Network } from '../../../src/engine/network';
import { prepareNetwork } from '../../../src/engine/prepared';
import { ortForward, tensorsNeeded } from '../../../src/engine/runtime/ortForward';

export interface LayerAgainstRuntime {
  label: string;
  outputShape: readonly number[];
  /** onnxruntime's dims of the layer's ONNX output (batch axis included). */
  dims: readonly number[] | undefined;
  /** max |onnxruntime − engine| over the layer's values. */
  difference: number;
  /** max(1, max |onnxruntime value|): the scale a relative tolerance applies to. */
  scale: number;
}

/** Runs x0 through onnxruntime (1 thread) and the engine's float64 forward pass, and compares every layer. */
export async function layersAgainstRuntime(bytes: Uint8Array, network: Network, x0: Float32Array): Promise<LayerAgainstRuntime[]> {
  const ort = await ortForward(bytes, { name: network.inputName, shape: [1, ...network.inputShape], data: x0 }, tensorsNeeded(network), { intraOpNumThreads: 1 });
  const pure = pureForward(prepareNetwork(network), Float64Array.from(x0));
  if (pure instanceof Promise) throw new Error('pure forward must be synchronous');
  return network.layers.map((layer, i) => {
    let difference = 0;
    let scale = 1;
    ort.values.get(layer.onnxOutput)!.forEach((v, k) => {
      difference = Math.max(difference, Math.abs(v - pure.outputs[i][k]));
      scale = Math.max(scale, Math.abs(v));
    });
    return { label: layer.label, outputShape: layer.outputShape, dims: ort.dims.get(layer.onnxOutput), difference, scale };
  });
}
