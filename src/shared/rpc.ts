// One request/response helper for both boundaries (host↔worker and webview↔host). Unlike the
// hex editor's, a failed request REJECTS, and an endpoint that goes away rejects everything pending,
// so no caller can wait forever.

/** What a method takes, returns and streams while it runs. */
export interface MethodSpec<Params, Result, Progress = never> {
  params: Params;
  result: Result;
  progress: Progress;
}

// `any` is needed here: method maps are checked structurally against this constraint, and
// `unknown` would reject every concrete params type by variance.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MethodMap = Record<string, MethodSpec<any, any, any>>;

export type MethodName<M extends MethodMap> = keyof M & string;

export type RequestMessage<M extends MethodMap> = {
  [K in MethodName<M>]: {
    kind: 'request';
    id: number;
    method: K;
    params: M[K]['params'];
    /** Shared-memory cancel flag (see RequestClientOptions.sharedCancelFlags); non-zero once cancelled. */
    cancelFlag?: Int32Array;
  };
}[MethodName<M>];

export interface CancelMessage {
  kind: 'cancel';
  id: number;
}

export type ErrorCode =
  /** The caller cancelled, or the handler stopped at a cancellation checkpoint. */
  | 'cancelled'
  /** The handler failed; `message` says why. */
  | 'failed'
  /** The other side went away (worker crashed or exited, webview closed) before answering. */
  | 'disconnected'
  /** The other side does not know the method (or refuses it in this mode). */
  | 'unknownMethod'
  /** The work was estimated to exceed the caller's budget and was not started; the caller may confirm and retry. */
  | 'overBudget'
  /** The nominal input cannot serve the model (unreadable, or of another shape): the caller may offer to choose another. */
  | 'badInput';

/** A failure as data: this is what crosses the boundary instead of a thrown object. */
export interface ErrorPayload {
  code: ErrorCode;
  /** One sentence a user can read. */
  message: string;
  /** Stack or other detail for the log; never shown as the main message. */
  detail?: string;
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: ErrorPayload };

export interface ProgressMessage {
  kind: 'progress';
  id: number;
  progress: unknown;
}

export type ReplyMessage = ResponseMessage | ProgressMessage;

/** The error every failed request rejects with. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, detail?: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.detail = detail;
  }

  static fromPayload(payload: ErrorPayload): RequestError {
    return new RequestError(payload.code, payload.message, payload.detail);
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, detail: this.detail };
  }
}

export function isCancellation(error: unknown): boolean {
  return error instanceof RequestError && error.code === 'cancelled';
}

export interface RequestClientOptions {
  /**
   * Give every request a flag in shared memory that the other side can poll. A worker busy in
   * synchronous code never sees a 'cancel' message until it yields; it can see this flag at once.
   * Only for workers: webviews have no SharedArrayBuffer.
   */
  sharedCancelFlags?: boolean;
}

export interface RequestOptions<Progress> {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

interface PendingRequest {
  resolve(result: unknown): void;
  reject(error: RequestError): void;
  onProgress?: (progress: unknown) => void;
  detachSignal?: () => void;
}

/** The calling side: sends requests, matches replies by id, rejects on failure. */
export class RequestClient<M extends MethodMap> {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();

  constructor(
    private readonly post: (message: RequestMessage<M> | CancelMessage) => void,
    private readonly options: RequestClientOptions = {},
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  request<K extends MethodName<M>>(
    method: K,
    params: M[K]['params'],
    options: RequestOptions<M[K]['progress']> = {},
  ): Promise<M[K]['result']> {
    const { signal, onProgress } = options;
    if (signal?.aborted) {
      return Promise.reject(new RequestError('cancelled', `The ${method} request was cancelled.`));
    }
    const id = this.nextId++;
    const cancelFlag = this.options.sharedCancelFlags ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    return new Promise<M[K]['result']>((resolve, reject) => {
      const entry: PendingRequest = { resolve, reject, onProgress: onProgress as PendingRequest['onProgress'] };
      if (signal) {
        // Reject at once rather than waiting for the other side: it may be busy for a while
        // before it reaches its next cancellation checkpoint, and its late reply is dropped.
        const onAbort = () => {
          if (cancelFlag) {
            Atomics.store(cancelFlag, 0, 1);
          }
          this.settle(id)?.reject(new RequestError('cancelled', `The ${method} request was cancelled.`));
          this.postSafely({ kind: 'cancel', id });
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detachSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, entry);
      this.postSafely({ kind: 'request', id, method, params, cancelFlag } as RequestMessage<M>, id);
    });
  }

  /** Feed every reply from the other side here; returns false for messages that are not replies. */
  handleReply(message: unknown): boolean {
    if (!isReplyMessage(message)) {
      return false;
    }
    if (message.kind === 'progress') {
      this.pending.get(message.id)?.onProgress?.(message.progress);
      return true;
    }
    const entry = this.settle(message.id);
    if (entry) {
      if (message.ok) {
        entry.resolve(message.result);
      } else {
        entry.reject(RequestError.fromPayload(message.error));
      }
    }
    return true;
  }

  /** The other side is gone: every pending request fails with the same error. */
  rejectAll(error: RequestError): void {
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(error);
    }
  }

  private settle(id: number): PendingRequest | undefined {
    const entry = this.pending.get(id);
    if (entry) {
      this.pending.delete(id);
      entry.detachSignal?.();
    }
    return entry;
  }

  private postSafely(message: RequestMessage<M> | CancelMessage, requestId?: number): void {
    try {
      this.post(message);
    } catch (error) {
      if (requestId !== undefined) {
        this.settle(requestId)?.reject(
          new RequestError('disconnected', 'The request could not be sent.', errorDetail(error)),
        );
      }
    }
  }
}

export interface RequestContext<Progress> {
  /** Aborts when a 'cancel' message is processed (only between event-loop turns). */
  readonly signal: AbortSignal;
  /** True once cancelled by message or by shared flag; cheap enough to poll inside synchronous loops. */
  isCancelled(): boolean;
  progress(progress: Progress): void;
  /** Lets queued messages (such as a cancel) in, then throws a cancellation if one arrived. */
  checkpoint(): Promise<void>;
}

export type RequestHandlers<M extends MethodMap> = {
  [K in MethodName<M>]: (params: M[K]['params'], context: RequestContext<M[K]['progress']>) => Promise<M[K]['result']>;
};

/** The answering side: runs handlers, turns every outcome (including throws) into a reply. */
export class RequestServer<M extends MethodMap> {
  private readonly running = new Map<number, AbortController>();

  constructor(
    private readonly handlers: Partial<RequestHandlers<M>>,
    private readonly post: (message: ReplyMessage) => void,
  ) {}

  /** Feed every incoming message here; returns false for messages that are not requests or cancels. */
  handleMessage(message: unknown): boolean {
    if (isCancelMessage(message)) {
      this.running.get(message.id)?.abort();
      return true;
    }
    if (!isRequestMessage(message)) {
      return false;
    }
    void this.serve(message as RequestMessage<M>);
    return true;
  }

  private async serve(message: RequestMessage<M>): Promise<void> {
    const { id, method } = message;
    const handler = Object.prototype.hasOwnProperty.call(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler) {
      this.post({
        kind: 'response',
        id,
        ok: false,
        error: { code: 'unknownMethod', message: `Unknown request "${method}".` },
      });
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    const { cancelFlag } = message;
    const isCancelled = () => controller.signal.aborted || (cancelFlag !== undefined && Atomics.load(cancelFlag, 0) !== 0);
    const context: RequestContext<unknown> = {
      signal: controller.signal,
      isCancelled,
      progress: (progress) => {
        if (!isCancelled()) {
          this.post({ kind: 'progress', id, progress });
        }
      },
      checkpoint: async () => {
        await yieldToEventLoop();
        if (isCancelled()) {
          throw new RequestError('cancelled', `The ${method} request was cancelled.`);
        }
      },
    };
    try {
      const result = await handler(message.params, context);
      this.post({ kind: 'response', id, ok: true, result });
    } catch (error) {
      this.post({ kind: 'response', id, ok: false, error: toErrorPayload(error) });
    } finally {
      this.running.delete(id);
    }
  }
}

export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof RequestError) {
    return error.toPayload();
  }
  if (error instanceof Error) {
    return { code: 'failed', message: error.message, detail: error.stack };
  }
  return { code: 'failed', message: String(error) };
}

export function errorDetail(error: unknown): string {
  if (error instanceof RequestError) {
    return error.detail ? `${error.message}\n${error.detail}` : error.message;
  }
  if (error instanceof Error) {
    return error.stack ?? error.message;
  }
  return String(error);
}

function yieldToEventLoop(): Promise<void> {
  // setTimeout (not queueMicrotask) so that pending message events are dispatched first;
  // it exists in Node, workers and browsers alike.
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isReplyMessage(message: unknown): message is ReplyMessage {
  return (
    isObject(message) &&
    (message.kind === 'response' || message.kind === 'progress') &&
    typeof message.id === 'number'
  );
}

function isCancelMessage(message: unknown): message is CancelMessage {
  return isObject(message) && message.kind === 'cancel' && typeof message.id === 'number';
}

function isRequestMessage(message: unknown): boolean {
  return (
    isObject(message) &&
    message.kind === 'request' &&
    typeof message.id === 'number' &&
    typeof message.method === 'string'
  );
}
