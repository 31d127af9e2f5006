// Owns the engine worker: started lazily on the first request, restarted on the request after a
// crash, terminated on dispose. Free of vscode so that plain-Node unit tests can drive a real worker.
// Two guards stop a runaway worker: a JavaScript heap limit (resourceLimits; a worker over it is
// stopped by Node) and a watchdog that stops a worker that sends nothing (no reply, progress or
// heartbeat: the engine sends one at least every second while it works) for stallTimeoutMs while a
// request is pending. Either way every pending request fails with one sentence and the next request
// starts a fresh worker.

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
  /** JavaScript heap limit of the worker, MB (default DEFAULT_WORKER_HEAP_MB). */
  maxHeapMb?: number;
  /** A worker silent this long while a request is pending is stopped (default DEFAULT_STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  /** The watchdog's timer (default: an unref'd setTimeout); tests trip it by hand. */
  watchdogTimer?: WatchdogTimer;
}

export interface WatchdogTimer {
  start(onTimeout: () => void, ms: number): void;
  stop(): void;
}

/** setTimeout that does not keep the process alive on its own: only a pending request needs it. */
function realTimer(): WatchdogTimer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  return {
    start(onTimeout, ms) {
      clearTimeout(handle);
      handle = setTimeout(onTimeout, ms);
      handle.unref();
    },
    stop() {
      clearTimeout(handle);
      handle = undefined;
    },
  };
}

/**
 * Tensors live in typed arrays outside this heap (the analysis' own memory is checked by its cost
 * estimate before it starts); the heap holds the decoded model's objects and the engine's bookkeeping.
 */
export const DEFAULT_WORKER_HEAP_MB = 4096;
/** Far above any gap between the engine's heartbeats (it polls at least every few operator applications). */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

export const ENGINE_STOPPED_MESSAGE = 'The analysis engine stopped unexpectedly; it will restart on the next request.';
export const ENGINE_OUT_OF_MEMORY_MESSAGE = 'The analysis engine ran out of memory and was stopped; it will restart on the next request.';
export const ENGINE_STALLED_MESSAGE = 'The analysis engine stopped responding and was stopped; it will restart on the next request.';
export const ENGINE_SHUT_DOWN_MESSAGE = 'The analysis engine has been shut down.';

interface RunningWorker {
  worker: Worker;
  client: RequestClient<WorkerMethods>;
  stopping: boolean;
  lastError?: unknown;
  watchdog: WatchdogTimer;
}

export class EngineClient {
  private running: RunningWorker | undefined;
  private disposed = false;
  private starts = 0;
  private readonly requestsByMethod = new Map<string, number>();

  constructor(private readonly options: EngineClientOptions) {}

  /** How many times a worker has been started (observable by tests: lazy start, restart after a crash). */
  get startCount(): number {
    return this.starts;
  }

  /** How many requests of `method` were sent (observable by tests: results reused instead of recomputed). */
  requestCount(method: keyof WorkerMethods): number {
    return this.requestsByMethod.get(method) ?? 0;
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
    const running = this.ensureWorker();
    this.requestsByMethod.set(method, (this.requestsByMethod.get(method) ?? 0) + 1);
    const reply = running.client.request(method, params, options);
    this.armWatchdog(running);
    return reply;
  }

  dispose(): void {
    this.disposed = true;
    const running = this.running;
    this.running = undefined;
    if (running) {
      running.stopping = true;
      running.watchdog.stop();
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
    const worker = new Worker(workerPath, {
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? DEFAULT_WORKER_HEAP_MB },
    });
    this.starts++;
    log.info(`Engine worker started (${workerPath}).`);
    const running: RunningWorker = {
      worker,
      client: new RequestClient<WorkerMethods>((message) => worker.postMessage(message), { sharedCancelFlags: true }),
      stopping: false,
      watchdog: this.options.watchdogTimer ?? realTimer(),
    };
    worker.on('message', (message: WorkerToHostMessage) => {
      if (message.kind === 'log') {
        log[message.level](`[worker] ${message.message}`);
      } else if (message.kind !== 'heartbeat' && !running.client.handleReply(message)) {
        log.warn(`Ignored a message from the engine worker: ${JSON.stringify(message).slice(0, 200)}`);
      }
      this.armWatchdog(running);
    });
    worker.on('messageerror', (error) => log.error(`A message from the engine worker could not be read: ${errorDetail(error)}`));
    worker.on('error', (error) => {
      running.lastError = error;
      log.error(`Engine worker error: ${errorDetail(error)}`);
    });
    worker.on('exit', (exitCode) => {
      running.watchdog.stop();
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
      const outOfMemory = (running.lastError as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      running.client.rejectAll(new RequestError('disconnected', outOfMemory ? ENGINE_OUT_OF_MEMORY_MESSAGE : ENGINE_STOPPED_MESSAGE, detail));
    });
    this.running = running;
    return running;
  }

  /** (Re)starts the stall timer while requests are pending; any message from the worker re-arms it. */
  private armWatchdog(running: RunningWorker): void {
    running.watchdog.stop();
    if (running.stopping || running.client.pendingCount === 0) {
      return;
    }
    const timeout = this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    running.watchdog.start(() => {
      if (running.client.pendingCount === 0) {
        return;
      }
      const detail = `Engine worker sent nothing for ${timeout} ms with ${running.client.pendingCount} request(s) pending; it was terminated.`;
      this.options.log.error(detail);
      running.stopping = true;
      if (this.running === running) {
        this.running = undefined;
      }
      running.client.rejectAll(new RequestError('disconnected', ENGINE_STALLED_MESSAGE, detail));
      void running.worker.terminate();
    }, timeout);
  }
}
