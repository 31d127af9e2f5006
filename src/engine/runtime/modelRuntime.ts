// The model file on onnxruntime, opened once per analysis: the fidelity check compares its tensors
// with the engine's, and the lower-bound search ranks its candidate points by the runtime's float32
// outputs (lowerBound.ts screenedRun; every reported witness is re-evaluated in float64 on the engine).
import type { OutputBatch } from '../lowerBound';
import { NETWORK_INPUT, type Network, type TensorRef } from '../network';
import { OrtModelSession, tensorsNeeded, type OrtForwardOptions } from './ortForward';

/** Most values of one layer's output across a batch (16 M float32, 64 MB): bounds the runtime's activation memory. */
const MAX_BATCH_VALUES = 1 << 24;
/** Most points per run: beyond this a batch gains nothing measurable. */
const MAX_BATCH = 16;

export class ModelRuntime {
  private opened: Promise<OrtModelSession> | null = null;

  constructor(
    readonly modelPath: string,
    private readonly options: Pick<OrtForwardOptions, 'intraOpNumThreads'> = {},
  ) {}

  /** The session with every tensor the engine reads as graph outputs and the input's batch axis open. */
  session(network: Network): Promise<OrtModelSession> {
    this.opened ??= OrtModelSession.open(this.modelPath, tensorsNeeded(network), {
      ...this.options,
      fixedInputs: network.fixedInputs,
      batchInput: network.inputName,
    });
    return this.opened;
  }

  /**
   * The network output at each point, from the runtime in float32 (assembled as the engine assembles
   * it: the output layer's tensor, or several outputs flattened and joined); null where the runtime
   * cannot run the model (the search then evaluates on the engine).
   */
  async outputs(network: Network): Promise<OutputBatch | null> {
    const parts = outputTensors(network);
    if (!parts) return null;
    let session: OrtModelSession;
    try {
      session = await this.session(network);
    } catch {
      return null;
    }
    const batch = searchBatchSize(network);
    return async (points) => {
      const results: Float64Array[] = [];
      for (let start = 0; start < points.length; start += batch) {
        const chunk = points.slice(start, start + batch).map((p) => Float32Array.from(p));
        for (const run of await session.runEach(network.inputName, network.inputShape, chunk, parts)) {
          const values = parts.map((name) => run.values.get(name)!);
          const out = new Float64Array(values.reduce((n, v) => n + v.length, 0));
          let offset = 0;
          for (const v of values) {
            out.set(v, offset);
            offset += v.length;
          }
          results.push(out);
        }
      }
      return results;
    };
  }

  async release(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (opened) await opened.then((s) => s.release(), () => undefined);
  }
}

/** Points per run of the lower-bound search's screening (the cost estimate counts the session's tensors by it). */
export function searchBatchSize(network: Network): number {
  const largest = network.layers.reduce((m, layer) => Math.max(m, layer.outputShape.reduce((a, b) => a * b, 1)), 1);
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(MAX_BATCH_VALUES / largest)));
}

/**
 * The ONNX tensors the network output is made of, in the order the engine joins them; null where the
 * input itself is one of the parts (no runtime tensor holds it).
 */
function outputTensors(network: Network): string[] | null {
  const names: string[] = [];
  const visit = (k: TensorRef): boolean => {
    if (k === NETWORK_INPUT) return false;
    const layer = network.layers[k];
    if (layer.onnxOutput) {
      names.push(layer.onnxOutput);
      return true;
    }
    return layer.inputs.every(visit);
  };
  return visit(network.output) ? names : null;
}
