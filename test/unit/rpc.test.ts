// The request/response helper shared by the worker and webview boundaries, over an in-memory pipe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RequestClient,
  RequestError,
  RequestServer,
  type CancelMessage,
  type MethodSpec,
  type ReplyMessage,
  type RequestHandlers,
  type RequestMessage,
} from '../../src/shared/rpc';

type TestMethods = {
  double: MethodSpec<{ value: number }, number>;
  fail: MethodSpec<Record<string, never>, never>;
  count: MethodSpec<{ to: number }, string, number>;
  waitForCancel: MethodSpec<Record<string, never>, string>;
  spinUntilCancelled: MethodSpec<Record<string, never>, number>;
};

/** Wires a client to a server through queued (asynchronous) deliveries, like postMessage. */
function connect(handlers: Partial<RequestHandlers<TestMethods>>, sharedCancelFlags = false) {
  const sent: (RequestMessage<TestMethods> | CancelMessage)[] = [];
  const ends: { server?: RequestServer<TestMethods> } = {};
  const client = new RequestClient<TestMethods>(
    (message) => {
      sent.push(message);
      setTimeout(() => ends.server?.handleMessage(message), 0);
    },
    { sharedCancelFlags },
  );
  ends.server = new RequestServer<TestMethods>(handlers, (reply: ReplyMessage) => {
    setTimeout(() => client.handleReply(reply), 0);
  });
  return { client, sent };
}

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => assert.fail('expected the request to reject'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof RequestError, `expected a RequestError, got ${String(error)}`);
  return error;
}

describe('rpc request helper', () => {
  it('resolves with the handler result', async () => {
    const { client } = connect({ double: async ({ value }) => value * 2 });
    assert.equal(await client.request('double', { value: 21 }), 42);
    assert.equal(client.pendingCount, 0);
  });

  it('rejects when the handler throws, with its message as the sentence and the stack as detail', async () => {
    const { client } = connect({
      fail: async () => {
        throw new Error('model.onnx: node "conv3" has no weights.');
      },
    });
    const error = await rejection(client.request('fail', {}));
    assert.equal(error.code, 'failed');
    assert.equal(error.message, 'model.onnx: node "conv3" has no weights.');
    assert.match(error.detail ?? '', /at /);
  });

  it('rejects a method the other side does not know', async () => {
    const { client } = connect({});
    const error = await rejection(client.request('double', { value: 1 }));
    assert.equal(error.code, 'unknownMethod');
  });

  it('delivers progress before the result', async () => {
    const { client } = connect({
      count: async ({ to }, context) => {
        for (let i = 1; i <= to; i++) {
          context.progress(i);
        }
        return 'done';
      },
    });
    const seen: number[] = [];
    assert.equal(await client.request('count', { to: 3 }, { onProgress: (p) => seen.push(p) }), 'done');
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('cancels: the caller rejects at once and the handler sees the cancel at its next checkpoint', async () => {
    let handlerOutcome: Promise<string> | undefined;
    const { client, sent } = connect({
      waitForCancel: (_params, context) => {
        handlerOutcome = (async () => {
          while (!context.signal.aborted) {
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          await context.checkpoint();
          return 'not reached';
        })();
        return handlerOutcome;
      },
    });
    const controller = new AbortController();
    const pending = client.request('waitForCancel', {}, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    assert.equal((await rejection(pending)).code, 'cancelled');
    assert.ok(sent.some((message) => message.kind === 'cancel'), 'a cancel message was sent');
    assert.ok(handlerOutcome, 'the handler ran');
    assert.equal((await rejection(handlerOutcome)).code, 'cancelled');
  });

  it('a shared cancel flag reaches a handler that never yields to the event loop', async () => {
    let spins = 0;
    const controller = new AbortController();
    const { client } = connect(
      {
        spinUntilCancelled: async (_params, context) => {
          // Synchronous loop: no message event can be delivered while it runs, only the flag.
          // The bound keeps a broken flag from hanging the suite; the assertion below then fails.
          while (!context.isCancelled() && spins < 1_000_000) {
            spins++;
            if (spins === 1000) {
              controller.abort();
            }
          }
          return spins;
        },
      },
      true,
    );
    const pending = client.request('spinUntilCancelled', {}, { signal: controller.signal });
    assert.equal((await rejection(pending)).code, 'cancelled');
    assert.equal(spins, 1000, 'the loop stopped right after the abort');
  });

  it('rejects an already-aborted request without sending it', async () => {
    const { client, sent } = connect({ double: async ({ value }) => value });
    const controller = new AbortController();
    controller.abort();
    assert.equal((await rejection(client.request('double', { value: 1 }, { signal: controller.signal }))).code, 'cancelled');
    assert.equal(sent.length, 0);
  });

  it('rejectAll fails every pending request with the same error', async () => {
    const client = new RequestClient<TestMethods>(() => {});
    const first = client.request('double', { value: 1 });
    const second = client.request('waitForCancel', {});
    assert.equal(client.pendingCount, 2);
    client.rejectAll(new RequestError('disconnected', 'The other side went away.'));
    for (const pending of [first, second]) {
      const error = await rejection(pending);
      assert.equal(error.code, 'disconnected');
      assert.equal(error.message, 'The other side went away.');
    }
    assert.equal(client.pendingCount, 0);
  });

  it('rejects when the message cannot be posted', async () => {
    const client = new RequestClient<TestMethods>(() => {
      throw new Error('port closed');
    });
    const error = await rejection(client.request('double', { value: 1 }));
    assert.equal(error.code, 'disconnected');
    assert.match(error.detail ?? '', /port closed/);
  });

  it('ignores replies to unknown ids and reports non-replies as unhandled', () => {
    const client = new RequestClient<TestMethods>(() => {});
    assert.equal(client.handleReply({ kind: 'response', id: 99, ok: true, result: 1 }), true);
    assert.equal(client.handleReply({ kind: 'model' }), false);
    assert.equal(client.handleReply(null), false);
  });
});
