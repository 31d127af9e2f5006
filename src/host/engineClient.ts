// Owns the engine worker: started lazily on the first request, restarted on the request after a
// crash, terminated on dispose. Free of vscode so that plain-Node unit tests can drive a real worker.

import { Worker } from 'node:worker_threads';
import type { EngineWorkerData, WorkerMethods, WorkerToHostMessage } from '../shared/protocol';
import { errorDetail, RequestClient, RequestError, type MethodName, type RequestOptions } from '../shared/rpc';

/** The subset of vscode.LogOutputChannel the client writes to. */
export interface EngineLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface EngineClientOptions {
  /** Absolute path of the worker script (dist/worker.js). */
  workerPath: string;
  testMode: boolean;
  log: EngineLog;
}

export const ENGINE_STOPPED_MESSAGE = 'The analysis engine stopped unexpectedly; it will restart on the next request.';
export const ENGINE_SHUT_DOWN_MESSAGE = 'The analysis engine has been shut down.';

interface RunningWorker {
  worker: Worker;
  client: RequestClient<WorkerMethods>;
  stopping: boolean;
  lastError?: unknown;
}

export class EngineClient {
  private running: RunningWorker | undefined;
  private disposed = false;
  private starts = 0;

  constructor(private readonly options: EngineClientOptions) {}

  /** How many times a worker has been started (observable by tests: lazy start, restart after a crash). */
  get startCount(): number {
    return this.starts;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  request<K extends MethodName<WorkerMethods>>(
    method: K,
    params: WorkerMethods[K]['params'],
    options?: RequestOptions<WorkerMethods[K]['progress']>,
  ): Promise<WorkerMethods[K]['result']> {
    if (this.disposed) {
      return Promise.reject(new RequestError('disconnected', ENGINE_SHUT_DOWN_MESSAGE));
    }
    return this.ensureWorker().client.request(method, params, options);
  }

  dispose(): void {
    this.disposed = true;
    const running = this.running;
    this.running = undefined;
    if (running) {
      running.stopping = true;
      running.client.rejectAll(new RequestError('disconnected', ENGINE_SHUT_DOWN_MESSAGE));
      void running.worker.terminate();
    }
  }

  private ensureWorker(): RunningWorker {
    if (this.running) {
      return this.running;
    }
    const { workerPath, testMode, log } = this.options;
    const workerData: EngineWorkerData = { testMode };
    const worker = new Worker(workerPath, { workerData });
    this.starts++;
    log.info(`Engine worker started (${workerPath}).`);
    const running: RunningWorker = {
      worker,
      client: new RequestClient<WorkerMethods>((message) => worker.postMessage(message), { sharedCancelFlags: true }),
      stopping: false,
    };
    worker.on('message', (message: WorkerToHostMessage) => {
      if (message.kind === 'log') {
        log[message.level](`[worker] ${message.message}`);
      } else if (!running.client.handleReply(message)) {
        log.warn(`Ignored a message from the engine worker: ${JSON.stringify(message).slice(0, 200)}`);
      }
    });
    worker.on('messageerror', (error) => log.error(`A message from the engine worker could not be read: ${errorDetail(error)}`));
    worker.on('error', (error) => {
      running.lastError = error;
      log.error(`Engine worker error: ${errorDetail(error)}`);
    });
    worker.on('exit', (exitCode) => {
      if (this.running === running) {
        this.running = undefined;
      }
      if (running.stopping) {
        log.info('Engine worker stopped.');
        return;
      }
      const cause = running.lastError ? errorDetail(running.lastError) : 'no error was reported';
      const detail = `Engine worker exited with code ${exitCode}; ${cause}.`;
      log.error(detail);
      running.client.rejectAll(new RequestError('disconnected', ENGINE_STOPPED_MESSAGE, detail));
    });
    this.running = running;
    return running;
  }
}
