import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { delay } from './support/fake-subgraph.ts';
import {
  initedSocket,
  openSse,
  PRODUCT_LIVE,
  rawSocket,
  type SubscriptionRouter,
  waitFor,
  waitForActive,
  subscriptionSuite,
} from './support/subscriptions.ts';

/**
 * Every bound a subscriber is held to (SubscriptionConfig), on the real router over the
 * subscriptions supergraph, each set small through its variable: each test fails if its bound
 * goes. Raw sockets and raw HTTP where the protocol itself is under test.
 */
const suite = subscriptionSuite();
const { cleanup, routerWith } = suite;

const subscribe = (id: string, ids: string[], query = PRODUCT_LIVE) => ({
  id,
  type: 'subscribe',
  payload: { query, variables: { ids } },
});

/** A raw socket closed by the test's cleanup. */
async function socketOn(target: SubscriptionRouter, payload: Record<string, unknown> = {}) {
  const socket = await initedSocket(target.wsUrl, payload);
  cleanup.push(() => socket.ws.terminate());
  return socket;
}

/** `PUT` then `GET` of a graphql-sse single-connection stream; what it says is read into `text()`. */
async function singleConnection(target: SubscriptionRouter, headers: Record<string, string> = {}) {
  const put = await fetch(target.sseUrl, { method: 'PUT', headers });
  expect(put.status).toBe(201);
  const token = await put.text();
  const controller = new AbortController();
  cleanup.push(() => controller.abort());
  const stream = await fetch(target.sseUrl, {
    headers: { ...headers, accept: 'text/event-stream', 'x-graphql-event-stream-token': token },
    signal: controller.signal,
  });
  expect(stream.status).toBe(200);
  let text = '';
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch {
      // aborted by the cleanup
    }
  })();
  const post = (operationId: string, ids: string[]) =>
    fetch(target.sseUrl, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'x-graphql-event-stream-token': token },
      body: JSON.stringify({ query: PRODUCT_LIVE, variables: { ids }, extensions: { operationId } }),
    });
  return { token, post, text: () => text, ended };
}

const sseBody = (ids: string[]) => ({ query: PRODUCT_LIVE, variables: { ids } });

describe('subscription bounds', () => {
  it('SUBSCRIPTION_MAX_PER_CONNECTION: the WebSocket subscribe past it gets an `error` TOO_MANY_SUBSCRIPTIONS; the others run', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PER_CONNECTION: '2' });
    const socket = await socketOn(target);
    socket.send(subscribe('a', ['p1']));
    socket.send(subscribe('b', ['p2']));
    await waitForActive(target, 2);
    socket.send(subscribe('c', ['p3']));
    const error = await socket.next('error');
    expect(error.id).toBe('c');
    expect(error.payload[0].extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', limit: 2 });
    expect(await target.metric('subscriptionRefusals', { reason: 'per_connection' })).toBe(1);
    // The two within the bound still hear their events; the socket stays open.
    await target.publish('product.updated', 'p2', { productId: 'p2', changed: ['name'] });
    const next = await socket.next('next');
    expect(next).toMatchObject({ id: 'b', payload: { data: { productUpdated: { id: 'p2' } } } });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    // Completing one makes room again.
    socket.send({ id: 'a', type: 'complete' });
    await waitForActive(target, 1);
    socket.send(subscribe('d', ['p4']));
    await waitForActive(target, 2);
  });

  it('SUBSCRIPTION_MAX_PER_CONNECTION: an SSE single-connection operation past it is answered 429', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PER_CONNECTION: '2' });
    const stream = await singleConnection(target);
    expect((await stream.post('a', ['p1'])).status).toBe(202);
    expect((await stream.post('b', ['p2'])).status).toBe(202);
    const third = await stream.post('c', ['p3']);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'TOO_MANY_SUBSCRIPTIONS',
    );
    expect(await target.metric('subscriptionsActive')).toBe(2);
    expect(await target.metric('subscriptionRefusals', { reason: 'per_connection' })).toBe(1);
  });

  it('SUBSCRIPTION_MAX_PER_USER: counted over every connection and transport of the user; other users are not held to it', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PER_USER: '2' });
    const token = await suite.issuer.sign('u1');
    const first = await socketOn(target, { authorization: `Bearer ${token}` });
    const second = await socketOn(target, { authorization: `Bearer ${token}` });
    first.send(subscribe('a', ['p1']));
    second.send(subscribe('a', ['p2']));
    await waitForActive(target, 2);
    second.send(subscribe('b', ['p3']));
    const error = await second.next('error');
    expect(error.payload[0].extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', limit: 2 });
    // Over SSE too: the same user's third is refused before any stream opens.
    const sse = await openSse(target.sseUrl, sseBody(['p4']), { authorization: `Bearer ${token}` });
    expect(sse.status).toBe(429);
    await sse.ended;
    expect(JSON.parse(sse.text()).errors[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(await target.metric('subscriptionRefusals', { reason: 'per_user' })).toBe(2);
    // Someone else, on the same socket kind, is not.
    const other = await socketOn(target, { authorization: `Bearer ${await suite.issuer.sign('u2')}` });
    other.send(subscribe('a', ['p1']));
    await waitForActive(target, 3);
  });

  it('SUBSCRIPTION_MAX_PER_USER holds for subscribes sent all at once, while each still waits on its checks', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PER_USER: '2' });
    const socket = await socketOn(target, { authorization: `Bearer ${await suite.issuer.sign('u1')}` });
    for (const id of ['a', 'b', 'c', 'd', 'e']) socket.send(subscribe(id, ['p1']));
    await waitFor('three refusals', () => socket.messages.filter((m) => m.type === 'error').length === 3);
    const refused = socket.messages.filter((m) => m.type === 'error');
    expect(refused.map((m) => m.payload[0].extensions.code)).toEqual([
      'TOO_MANY_SUBSCRIPTIONS',
      'TOO_MANY_SUBSCRIPTIONS',
      'TOO_MANY_SUBSCRIPTIONS',
    ]);
    await waitForActive(target, 2);
    // A refusal gave its place back: ending one running subscription makes room for exactly one more.
    const running = ['a', 'b', 'c', 'd', 'e'].filter((id) => !refused.some((m) => m.id === id));
    socket.send({ id: running[0], type: 'complete' });
    await waitForActive(target, 1);
    socket.send(subscribe('f', ['p1']));
    await waitForActive(target, 2);
    socket.send(subscribe('g', ['p1']));
    await waitFor('a fourth refusal', () => socket.messages.filter((m) => m.type === 'error').length === 4);
  });

  it('RATE_LIMIT: every WebSocket subscribe counts as a request, so churn on one socket is refused RATE_LIMITED; SSE requests count too', async () => {
    const target = await routerWith({ RATE_LIMIT: 'true', RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    const socket = await socketOn(target);
    // Subscribe and complete, again and again: never more than one running, yet counted each time.
    for (const id of ['a', 'b', 'c']) {
      socket.send(subscribe(id, ['p1']));
      await waitForActive(target, 1);
      socket.send({ id, type: 'complete' });
      await waitForActive(target, 0);
    }
    socket.send(subscribe('d', ['p1']));
    const error = await socket.next('error');
    expect(error.id).toBe('d');
    expect(error.payload[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    // The same client's SSE request is over the same count.
    const sse = await openSse(target.sseUrl, sseBody(['p1']));
    expect(sse.status).toBe(429);
    expect(await target.metric('rateLimitRejections', { kind: 'ip' })).toBe(2);
  });

  it('SUBSCRIPTION_MAX_CONNECTIONS_PER_IP: the WebSocket upgrade past it is answered 429, an SSE stream too; a closed one frees its place', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_CONNECTIONS_PER_IP: '2' });
    const first = await socketOn(target);
    await socketOn(target);
    const third = rawSocket(target.wsUrl);
    expect(await third.refused).toBe(429);
    const sse = await openSse(target.sseUrl, sseBody(['p1']));
    expect(sse.status).toBe(429);
    await sse.ended;
    expect(JSON.parse(sse.text()).errors[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(await target.metric('subscriptionRefusals', { reason: 'connections_per_ip' })).toBe(2);
    first.ws.close();
    await first.closed;
    await waitFor('the connection released', async () => (await target.metric('subscriptionConnections')) === 1);
    const again = rawSocket(target.wsUrl);
    cleanup.push(() => again.ws.terminate());
    await again.opened;
  });

  it('SUBSCRIPTION_MAX_CONNECTIONS: past it WebSocket upgrades and SSE streams are answered 503', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_CONNECTIONS: '2' });
    await socketOn(target);
    // Left open: the router's close ends it.
    const sse = await openSse(target.sseUrl, sseBody(['p1']));
    expect(sse.status).toBe(200);
    await waitForActive(target, 1);
    const refused = rawSocket(target.wsUrl);
    expect(await refused.refused).toBe(503);
    const refusedSse = await openSse(target.sseUrl, sseBody(['p2']));
    expect(refusedSse.status).toBe(503);
    expect(await target.metric('subscriptionRefusals', { reason: 'connections_total' })).toBe(2);
    expect(await target.metric('subscriptionConnections')).toBe(2);
  });

  it('SUBSCRIPTION_INIT_TIMEOUT_MS: a WebSocket that never sends connection_init is closed 4408', async () => {
    const target = await routerWith({ SUBSCRIPTION_INIT_TIMEOUT_MS: '200' });
    const silent = rawSocket(target.wsUrl);
    cleanup.push(() => silent.ws.terminate());
    await silent.opened;
    const openedAt = Date.now();
    const { code } = await silent.closed;
    expect(code).toBe(4408);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(150);
    await waitFor('the connection released', async () => (await target.metric('subscriptionConnections')) === 0);
  });

  it('SUBSCRIPTION_KEEPALIVE_MS: a socket that does not answer pings is terminated; one that does stays', async () => {
    const target = await routerWith({ SUBSCRIPTION_KEEPALIVE_MS: '150' });
    const deaf = await initedSocket(target.wsUrl, {}, { autoPong: false });
    const answering = await socketOn(target);
    cleanup.push(() => deaf.ws.terminate());
    let pings = 0;
    deaf.ws.on('ping', () => pings++);
    answering.send(subscribe('a', ['p1']));
    deaf.send(subscribe('a', ['p2']));
    await waitForActive(target, 2);
    // Terminated, not closed: no close frame (1006 on the client).
    expect((await deaf.closed).code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(await target.metric('subscriptionRefusals', { reason: 'keepalive' })).toBe(1);
    await waitForActive(target, 1);
    await delay(600);
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    expect(await target.metric('subscriptionRefusals', { reason: 'keepalive' })).toBe(1);
  });

  it('SUBSCRIPTION_IDLE_TIMEOUT_MS: a WebSocket running no subscription is closed 1000; one running a subscription is not', async () => {
    const target = await routerWith({ SUBSCRIPTION_IDLE_TIMEOUT_MS: '300' });
    const busy = await socketOn(target);
    busy.send(subscribe('a', ['p1']));
    await waitForActive(target, 1);
    const idle = await socketOn(target);
    const { code, reason } = await idle.closed;
    expect(code).toBe(1000);
    expect(reason).toMatch(/^Idle/);
    expect(await target.metric('subscriptionRefusals', { reason: 'idle' })).toBe(1);
    await delay(400);
    expect(busy.ws.readyState).toBe(busy.ws.OPEN);
    // Its subscription ended: now it is idle too.
    busy.send({ id: 'a', type: 'complete' });
    expect((await busy.closed).code).toBe(1000);
  });

  it('SUBSCRIPTION_MAX_MESSAGE_BYTES: a WebSocket message over it closes the socket 1009; an SSE body over it is answered 413', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_MESSAGE_BYTES: '1024' });
    const socket = await socketOn(target);
    // Within the bound: served.
    socket.send({ ...subscribe('a', ['p1']), padding: 'x'.repeat(500) });
    await waitForActive(target, 1);
    socket.send({ ...subscribe('b', ['p2']), padding: 'x'.repeat(2_000) });
    expect((await socket.closed).code).toBe(1009);
    await waitForActive(target, 0);
    const sse = await openSse(target.sseUrl, { ...sseBody(['p1']), padding: 'x'.repeat(2_000) } as never);
    expect(sse.status).toBe(413);
    const within = await openSse(target.sseUrl, { ...sseBody(['p1']), padding: 'x'.repeat(500) } as never);
    cleanup.push(() => within.abort());
    expect(within.status).toBe(200);
  });

  it('SUBSCRIPTION_MAX_PRODUCT_IDS: productUpdated with more ids is refused BAD_USER_INPUT on both transports', async () => {
    const target = await routerWith({ SUBSCRIPTION_MAX_PRODUCT_IDS: '3' });
    const socket = await socketOn(target);
    socket.send(subscribe('many', ['p1', 'p2', 'p3', 'p4']));
    const error = await socket.next('error');
    expect(error.id).toBe('many');
    expect(error.payload[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxIds: 3 });
    // Duplicates count once; three is within the bound.
    socket.send(subscribe('three', ['p1', 'p2', 'p3', 'p3']));
    await waitForActive(target, 1);
    const sse = await openSse(target.sseUrl, sseBody(['p1', 'p2', 'p3', 'p4']));
    expect(sse.status).toBe(200);
    await sse.ended;
    const events = sse.events();
    expect(events.map((e) => e.event)).toEqual(['next', 'complete']);
    expect(JSON.parse(events[0]!.data).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('SSE single-connection streams', () => {
  it('SUBSCRIPTION_INIT_TIMEOUT_MS: a reserved token nobody opens in time is dropped (404), and its connection place freed', async () => {
    const target = await routerWith({ SUBSCRIPTION_INIT_TIMEOUT_MS: '200', SUBSCRIPTION_MAX_CONNECTIONS_PER_IP: '1' });
    const put = await fetch(target.sseUrl, { method: 'PUT' });
    expect(put.status).toBe(201);
    const token = await put.text();
    // The reservation holds the address's one place until it expires.
    expect((await fetch(target.sseUrl, { method: 'PUT' })).status).toBe(429);
    await delay(400);
    const late = await fetch(target.sseUrl, { headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': token } });
    expect(late.status).toBe(404);
    expect((await fetch(target.sseUrl, { method: 'PUT' })).status).toBe(201);
  });

  it('SUBSCRIPTION_IDLE_TIMEOUT_MS: an open stream running no operation is ended; one running an operation is not until it stops', async () => {
    const target = await routerWith({ SUBSCRIPTION_IDLE_TIMEOUT_MS: '300' });
    const idle = await singleConnection(target);
    await idle.ended;
    expect(await target.metric('subscriptionRefusals', { reason: 'idle' })).toBe(1);

    const busy = await singleConnection(target);
    expect((await busy.post('op', ['p1'])).status).toBe(202);
    await waitForActive(target, 1);
    await delay(600);
    await target.publish('product.updated', 'p1', { productId: 'p1', changed: ['name'] });
    await waitFor('the busy stream to get its update', () => busy.text().includes('"id":"op"'));
    expect(await target.metric('subscriptionRefusals', { reason: 'idle' })).toBe(1);
    // Its operation stops: now it is idle too.
    const stop = await fetch(`${target.sseUrl}?operationId=op`, {
      method: 'DELETE',
      headers: { 'x-graphql-event-stream-token': busy.token },
    });
    expect(stop.status).toBe(200);
    await busy.ended;
    expect(await target.metric('subscriptionRefusals', { reason: 'idle' })).toBe(2);
  });
});

/**
 * A client that stops reading while large answers pile up: what the router holds for it is
 * bounded by SUBSCRIPTION_MAX_BUFFERED_BYTES (the kernel's socket buffers take some first, so
 * events are published until the router gives up on it; without the bound it never would).
 */
describe('slow consumers', () => {
  const BUFFER = 64 * 1024;
  /** Each answer is smaller than the bound, so a client that reads is never cut by one answer alone. */
  const BLOB = 40 * 1024;
  /** Publishes events until the router cuts someone; how many it took. */
  const publishUntilCut = async (target: SubscriptionRouter, ids: string[]) => {
    for (let i = 0; i < 2_000; i++) {
      if ((await target.metric('subscriptionRefusals', { reason: 'slow_consumer' })) > 0) return i;
      const id = ids[i % ids.length]!;
      await target.publish('product.updated', id, { productId: id, changed: ['name'] });
      await delay(2);
    }
    throw new Error('the slow consumer was never cut');
  };

  it('a WebSocket client that stops reading is closed 1008 (and terminated), its subscription ended', async () => {
    suite.fakes.blobBytes = BLOB;
    const target = await routerWith({ SUBSCRIPTION_MAX_BUFFERED_BYTES: String(BUFFER) });
    const reader = await socketOn(target);
    const ids = ['p1', 'p2', 'p3', 'p4'];
    reader.send(subscribe('a', ids));
    const stalled = await socketOn(target);
    stalled.send(subscribe('a', ids));
    await waitForActive(target, 2);
    // The client reads no more: what is sent to it stays in the router's socket buffers.
    const raw = (stalled.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    // More than one answer's worth: it is the unread bytes that cut it, not one large answer.
    expect(await publishUntilCut(target, ids)).toBeGreaterThan(BUFFER / BLOB);
    await waitForActive(target, 1);
    await waitFor('the stalled socket released', async () => (await target.metric('subscriptionConnections', { transport: 'ws' })) === 1);
    expect(await target.metric('subscriptionRefusals', { reason: 'slow_consumer' })).toBe(1);
    raw.resume();
    // It may read the close frame before the reset, or only the reset.
    expect([1006, 1008]).toContain((await stalled.closed).code);
    // The client that kept reading is still served.
    expect(reader.ws.readyState).toBe(reader.ws.OPEN);
    expect(reader.messages.filter((m) => m.type === 'next').length).toBeGreaterThan(0);
  });

  it('an SSE client that never reads its response is cut, its subscription ended', async () => {
    suite.fakes.blobBytes = BLOB;
    const target = await routerWith({ SUBSCRIPTION_MAX_BUFFERED_BYTES: String(BUFFER) });
    const ids = ['p1', 'p2', 'p3', 'p4'];
    // A hand-written request on a socket that is never read from.
    const body = JSON.stringify(sseBody(ids));
    const socket = connect(target.port, '127.0.0.1');
    cleanup.push(() => socket.destroy());
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    socket.write(
      `POST /graphql/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // Beside it, a client that reads the same subscription.
    const reader = await openSse(target.sseUrl, sseBody(ids));
    cleanup.push(() => reader.abort());
    await waitForActive(target, 2);
    expect(await publishUntilCut(target, ids)).toBeGreaterThan(BUFFER / BLOB);
    await waitForActive(target, 1);
    // The response is destroyed a moment after its last write: the connection is given back.
    await waitFor('the stream released', async () => (await target.metric('subscriptionConnections', { transport: 'sse' })) === 1);
    expect(await target.metric('subscriptionRefusals', { reason: 'slow_consumer' })).toBe(1);
    expect(reader.events().filter((e) => e.event === 'next').length).toBeGreaterThan(0);
    expect(reader.text()).not.toContain('SLOW_CONSUMER');
  });
});
