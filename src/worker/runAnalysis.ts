// The analyze request: the engine's model-file pipeline (the same one the CLI runs), with progress
// forwarded as it comes and cancellation reaching the engine through the request's shared flag,
// which it polls between layers and inside Lanczos even while this thread is busy.

import { basename } from 'node:path';
import { BudgetError, CancelledError } from '../engine/errors';
import { InputError } from '../engine/nominalInput';
import { analyzeModelFile } from '../engine/pipeline';
import { progressMessage } from '../shared/format';
import type { AnalyzeParams, AnalyzeProgress, BoundReport } from '../shared/protocol';
import type { ProgressEvent } from '../shared/results';
import { RequestError, type RequestContext } from '../shared/rpc';
import { checkEpsilon } from '../shared/settings';

export interface RunHooks {
  /** Called on every poll of the cancel flag (the worker forwards it to the host's watchdog). */
  heartbeat?: () => void;
  /** Runs once the first layer result has been sent (the worker's test hold). */
  afterFirstLayerResult?: () => void;
}

export async function runAnalysis(params: AnalyzeParams, context: RequestContext<AnalyzeProgress>, hooks: RunHooks = {}): Promise<BoundReport> {
  let { afterFirstLayerResult } = hooks;
  validateAnalyzeParams(params);
  const epsilons = [params.epsilon, ...params.sweep.filter((epsilon) => epsilon !== params.epsilon)];
  await context.checkpoint();
  try {
    return await analyzeModelFile(
      { modelPath: params.modelPath, input: params.input, ...params.graphIo, epsilons, options: params.options },
      {
        signal: {
          get aborted() {
            hooks.heartbeat?.();
            return context.isCancelled();
          },
        },
        onProgress: (event) => {
          context.progress(describeProgress(event, epsilons.length));
          if (event.kind === 'layerResult' && afterFirstLayerResult) {
            const hold = afterFirstLayerResult;
            afterFirstLayerResult = undefined;
            hold();
          }
        },
      },
    );
  } catch (error) {
    if (error instanceof CancelledError) {
      throw new RequestError('cancelled', 'The analysis was cancelled.');
    }
    if (error instanceof BudgetError) {
      throw new RequestError('overBudget', `${basename(params.modelPath)}: ${error.message}`);
    }
    if (error instanceof InputError) {
      throw new RequestError('badInput', error.message, error.stack);
    }
    throw error;
  }
}

export function validateAnalyzeParams(params: AnalyzeParams): void {
  for (const epsilon of [params.epsilon, ...params.sweep]) {
    const problem = checkEpsilon(epsilon);
    if (problem) {
      throw new RequestError('failed', `Invalid perturbation radius ${String(epsilon)}: ${problem}`);
    }
  }
}

export function describeProgress(event: ProgressEvent, epsilonCount: number): AnalyzeProgress {
  switch (event.kind) {
    case 'forward':
      return { message: progressMessage(event), completed: 0, total: 0, event };
    case 'layer':
      return {
        message: progressMessage(event),
        completed: event.epsilonIndex * event.layerCount + event.layerIndex + 1,
        total: epsilonCount * event.layerCount,
        event,
      };
    case 'layerResult':
      return {
        message: progressMessage(event),
        completed: event.epsilonIndex * event.layerCount + event.layer.index + 1,
        total: epsilonCount * event.layerCount,
        event,
      };
    case 'networkBound':
      return {
        message: progressMessage(event),
        completed: event.epsilonIndex + 1,
        total: epsilonCount,
        event,
      };
    // Its share of the work is unknown until it ends (the budget is only a limit): the message alone.
    case 'composedNorm':
      return { message: progressMessage(event), completed: 0, total: 0, event };
    case 'radius':
      return {
        message: progressMessage(event),
        completed: event.iteration,
        total: event.iterations,
        event,
      };
  }
}
