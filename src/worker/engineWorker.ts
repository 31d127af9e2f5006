// Entry of the engine worker (dist/worker.js): a message loop around the engine. Every request is
// answered, failures included; heavy work lives here so the extension host stays responsive.

import { parentPort, workerData } from 'node:worker_threads';
import type { EngineWorkerData, WorkerLogMessage, WorkerMethods, WorkerToHostMessage } from '../shared/protocol';
import { CancelledError } from '../engine/errors';
import { RequestError, RequestServer, type RequestContext, type RequestHandlers } from '../shared/rpc';
import { describeModelFile } from './describeModel';
import { readFailure } from './readFailure';
import { runAnalysis } from './runAnalysis';

const port = parentPort;
if (!port) {
  throw new Error('engineWorker must run as a worker thread.');
}
const { testMode } = workerData as EngineWorkerData;

function post(message: WorkerToHostMessage): void {
  port?.postMessage(message);
}

function log(level: WorkerLogMessage['level'], message: string): void {
  post({ kind: 'log', level, message });
}

/** Tells the host's watchdog the worker is alive; called on every cancel poll, sent at most once a second. */
let lastHeartbeat = 0;
function heartbeat(): void {
  const now = Date.now();
  if (now - lastHeartbeat >= 1000) {
    lastHeartbeat = now;
    post({ kind: 'heartbeat' });
  }
}

let holdNextAnalysis = false;

/**
 * Blocks the engine's thread until the request is cancelled (only the shared cancel flag can change
 * while this thread waits), then stops the run as the engine's own cancellation checks do.
 */
function blockUntilCancelled(context: RequestContext<unknown>): never {
  log('warn', 'holdNextAnalysisForTest: the analysis is held after its first layer result until it is cancelled.');
  const idle = new Int32Array(new SharedArrayBuffer(4));
  while (!context.isCancelled()) {
    heartbeat();
    Atomics.wait(idle, 0, 0, 20);
  }
  log('warn', 'holdNextAnalysisForTest: the held analysis was cancelled.');
  throw new CancelledError();
}

const handlers: RequestHandlers<WorkerMethods> = {
  describeModel: ({ path, inputPath }) => describeModelFile(path, inputPath).catch((error: unknown) => Promise.reject(readFailure(error, path))),
  analyze: (params, context) => {
    const hold = holdNextAnalysis;
    holdNextAnalysis = false;
    return runAnalysis(params, context, { heartbeat, afterFirstLayerResult: hold ? () => blockUntilCancelled(context) : undefined });
  },
  holdNextAnalysisForTest: () => {
    if (!testMode) {
      return Promise.reject(new RequestError('unknownMethod', 'holdNextAnalysisForTest is only available in test mode.'));
    }
    holdNextAnalysis = true;
    return Promise.resolve(null);
  },
  crashForTest: ({ how }, context) => {
    if (!testMode) {
      return Promise.reject(new RequestError('unknownMethod', 'crashForTest is only available in test mode.'));
    }
    log('warn', `crashForTest: the worker will ${how === 'exit' ? 'exit' : 'throw'} now.`);
    context.progress('crashing');
    setTimeout(() => {
      if (how === 'exit') {
        process.exit(70);
      }
      if (how === 'allocate') {
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array<number>(1 << 16).fill(hoard.length));
      }
      if (how === 'hang') {
        for (;;);
      }
      throw new Error('crashForTest: deliberate uncaught exception in the engine worker.');
    }, 0);
    return new Promise<never>(() => {});
  },
};

const server = new RequestServer<WorkerMethods>(handlers, post);

port.on('message', (message: unknown) => {
  if (!server.handleMessage(message)) {
    log('warn', `Ignored a message the worker does not understand: ${JSON.stringify(message).slice(0, 200)}`);
  }
});
