import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { delay } from './support/fake-subgraph.ts';
import {
  initedSocket,
  MY_ORDERS,
  ORDER_LIVE,
  openSse,
  parseSse,
  PRODUCT_LIVE,
  rawSocket,
  record,
  sseClient,
  type SubscriptionRouter,
  waitFor,
  waitForActive,
  wsClient,
  subscriptionSuite,
} from './support/subscriptions.ts';

/**
 * The lifecycle of a subscription on each transport, on the real router over the subscriptions
 * supergraph: events in, results out (real graphql-ws and graphql-sse clients), and how a
 * subscription ends: its token expires, an answer says FORBIDDEN, the router shuts down.
 */
const suite = subscriptionSuite();
const { cleanup, routerWith } = suite;

function wsOn(target: SubscriptionRouter, connectionParams?: Record<string, unknown>) {
  const client = wsClient(target.wsUrl, connectionParams);
  cleanup.push(() => client.dispose());
  return client;
}

const productUpdated = (target: SubscriptionRouter, id: string) =>
  target.publish('product.updated', id, { productId: id, changed: ['name'] });
const orderShipped = (target: SubscriptionRouter, orderId: string, userId: string) =>
  target.publish('order.shipped', orderId, { orderId, userId, reservationId: null });

type ResultErrors = readonly { extensions?: Record<string, unknown> }[] | undefined;
const codes = (errors: ResultErrors) => (errors ?? []).map((error) => error.extensions?.code);

describe('delivery', () => {
  it('graphql-ws: each event for a watched entity is answered through the subgraphs; others are not heard', async () => {
    const target = await routerWith();
    const sub = record(wsOn(target), { query: PRODUCT_LIVE, variables: { ids: ['p1', 'p2'] } });
    await waitForActive(target, 1);
    await productUpdated(target, 'p3');
    await productUpdated(target, 'p2');
    await waitFor('a result', () => sub.results.length === 1);
    expect(sub.results[0]).toEqual({ data: { productUpdated: { id: 'p2', name: 'Product p2', blob: '' } } });
    await productUpdated(target, 'p1');
    await waitFor('a second result', () => sub.results.length === 2);
    expect(sub.results[1]).toMatchObject({ data: { productUpdated: { id: 'p1' } } });
  });

  it('graphql-sse, both modes: results carry the event; myOrderUpdates hears the signed-in user’s orders only', async () => {
    const target = await routerWith();
    const token = await suite.issuer.sign('u1');
    const distinct = sseClient(target.sseUrl, { token });
    const single = sseClient(target.sseUrl, { token, singleConnection: true });
    cleanup.push(
      () => distinct.dispose(),
      () => single.dispose(),
    );
    const mine = record(distinct, { query: MY_ORDERS });
    const products = record(single, { query: PRODUCT_LIVE, variables: { ids: ['p1'] } });
    await waitForActive(target, 2);
    await orderShipped(target, 'o9', 'u2');
    await orderShipped(target, 'o1', 'u1');
    await productUpdated(target, 'p1');
    await waitFor('both results', () => mine.results.length === 1 && products.results.length === 1);
    expect(mine.results[0]).toEqual({ data: { myOrderUpdates: { id: 'o1', status: 'SHIPPED' } } });
    expect(products.results[0]).toMatchObject({ data: { productUpdated: { id: 'p1' } } });
    // The order subgraph was asked with the subscriber's identity, as a query would be.
    expect(suite.fakes.orders.requests.at(-1)!.query).toMatch(/^query/);
  });

  it('a subscription POSTed to /graphql is refused 400 BAD_REQUEST, pointing at the transports', async () => {
    const target = await routerWith();
    const response = await fetch(`${target.httpUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: PRODUCT_LIVE, variables: { ids: ['p1'] } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0]!.message).toMatch(/WebSocket.*\/graphql\/stream/);
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });
});

describe('with the router cache', () => {
  it('an event is answered after its cache tags are dropped, never from the entry it made stale', async () => {
    const target = await routerWith({ ROUTER_CACHE: 'true', RESPONSE_CACHE: 'false' });
    suite.fakes.productsCacheControl = 'public, max-age=600';
    let name = 'Before';
    suite.fakes.productName = () => name;
    const ask = async () => {
      const response = await fetch(`${target.httpUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ product(id: "p1") { id name } }' }),
      });
      return ((await response.json()) as { data: { product: { name: string } } }).data.product.name;
    };
    expect(await ask()).toBe('Before');
    name = 'After';
    // The router's cache holds the old answer (nothing on its own bus said otherwise)…
    expect(await ask()).toBe('Before');
    const sub = record(wsOn(target), { query: 'subscription { productUpdated(ids: ["p1"]) { id name } }' });
    await waitForActive(target, 1);
    // …until the event that changed it: its tags are dropped before the subscriber is answered.
    await target.publish('product.updated', 'p1', { productId: 'p1', changed: ['name'] }, ['Product:p1']);
    await waitFor('a result', () => sub.results.length === 1);
    expect(sub.results[0]).toEqual({ data: { productUpdated: { id: 'p1', name: 'After' } } });
    expect(await ask()).toBe('After');
  });
});

describe('token expiry', () => {
  it('graphql-ws: a token that expires while subscribed ends it with a last UNAUTHENTICATED result, then complete', async () => {
    const target = await routerWith();
    const token = await suite.issuer.sign('u1', { expiresIn: '2s' });
    const sub = record(wsOn(target, { authorization: `Bearer ${token}` }), { query: PRODUCT_LIVE, variables: { ids: ['p1'] } });
    await waitForActive(target, 1);
    await productUpdated(target, 'p1');
    await waitFor('a result', () => sub.results.length === 1);
    await sub.done;
    expect(sub.completed).toBe(true);
    expect(sub.results).toHaveLength(2);
    expect(codes(sub.results[1]!.errors)).toEqual(['UNAUTHENTICATED']);
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });

  it('SSE: the stream gets a last UNAUTHENTICATED `next`, then `complete`', async () => {
    const target = await routerWith();
    const token = await suite.issuer.sign('u1', { expiresIn: '2s' });
    const stream = await openSse(target.sseUrl, { query: PRODUCT_LIVE, variables: { ids: ['p1'] } }, { authorization: `Bearer ${token}` });
    expect(stream.status).toBe(200);
    expect(await stream.ended).toBe(true);
    const events = stream.events();
    expect(events.map((e) => e.event)).toEqual(['next', 'complete']);
    expect(codes(JSON.parse(events[0]!.data).errors)).toEqual(['UNAUTHENTICATED']);
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });

  it('an already expired token: connection_init is answered with close 4403, SSE with 401', async () => {
    const target = await routerWith();
    const expired = await suite.issuer.sign('u1', { expiresIn: '-10s' });
    const socket = rawSocket(target.wsUrl);
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${expired}` } });
    const { code, reason } = await socket.closed;
    expect(code).toBe(4403);
    expect(reason).toMatch(/^UNAUTHENTICATED/);
    const sse = await openSse(target.sseUrl, { query: PRODUCT_LIVE, variables: { ids: ['p1'] } }, { authorization: `Bearer ${expired}` });
    expect(sse.status).toBe(401);
  });
});

describe('an answer that takes access away', () => {
  it('orderUpdated: the event answered FORBIDDEN is sent, then the subscription completes and hears no more', async () => {
    const target = await routerWith();
    const token = await suite.issuer.sign('u1');
    let forbidden = false;
    suite.fakes.orderReply = () =>
      forbidden
        ? { body: { data: { order: null }, errors: [{ message: 'Not your order', extensions: { code: 'FORBIDDEN' } }] } }
        : undefined;
    const sub = record(wsOn(target, { authorization: `Bearer ${token}` }), { query: ORDER_LIVE, variables: { id: 'o1' } });
    await waitForActive(target, 1);
    await orderShipped(target, 'o1', 'u1');
    await waitFor('the first result', () => sub.results.length === 1);
    expect(sub.results[0]).toEqual({ data: { orderUpdated: { id: 'o1', status: 'SHIPPED' } } });
    // The order changed hands (say): its next answer is FORBIDDEN.
    forbidden = true;
    await orderShipped(target, 'o1', 'u1');
    await sub.done;
    expect(sub.completed).toBe(true);
    expect(sub.results).toHaveLength(2);
    expect(codes(sub.results[1]!.errors)).toContain('FORBIDDEN');
    expect(await target.metric('subscriptionsActive')).toBe(0);
    const asked = suite.fakes.orders.requests.length;
    await orderShipped(target, 'o1', 'u1');
    await delay(100);
    expect(suite.fakes.orders.requests.length).toBe(asked);
  });

  it('SSE: the FORBIDDEN answer is the last `next`, then `complete`', async () => {
    const target = await routerWith();
    let forbidden = false;
    suite.fakes.orderReply = () =>
      forbidden
        ? { body: { data: { order: null }, errors: [{ message: 'Not your order', extensions: { code: 'FORBIDDEN' } }] } }
        : undefined;
    const stream = await openSse(
      target.sseUrl,
      { query: ORDER_LIVE, variables: { id: 'o1' } },
      { authorization: `Bearer ${await suite.issuer.sign('u1')}` },
    );
    await waitForActive(target, 1);
    await orderShipped(target, 'o1', 'u1');
    await waitFor('the first result', () => stream.events().length === 1);
    forbidden = true;
    await orderShipped(target, 'o1', 'u1');
    expect(await stream.ended).toBe(true);
    const events = stream.events();
    expect(events.map((e) => e.event)).toEqual(['next', 'next', 'complete']);
    expect(JSON.parse(events[0]!.data)).toEqual({ data: { orderUpdated: { id: 'o1', status: 'SHIPPED' } } });
    expect(codes(JSON.parse(events[1]!.data).errors)).toContain('FORBIDDEN');
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });

  it('orderUpdated of someone else’s order is refused FORBIDDEN at subscribe time', async () => {
    const target = await routerWith();
    suite.fakes.orderReply = () => ({
      body: { data: { order: null }, errors: [{ message: 'Not your order', extensions: { code: 'FORBIDDEN' } }] },
    });
    const socket = await initedSocket(target.wsUrl, { authorization: `Bearer ${await suite.issuer.sign('u2')}` });
    cleanup.push(() => socket.ws.terminate());
    socket.send({ id: 'x', type: 'subscribe', payload: { query: ORDER_LIVE, variables: { id: 'o1' } } });
    const error = await socket.next('error');
    expect(codes(error.payload)).toContain('FORBIDDEN');
    expect(await target.metric('subscriptionsActive')).toBe(0);
  });
});

describe('shutdown', () => {
  it('router.close(): WebSockets close 1001, SSE streams end without `complete`, and close() does not wait for them', async () => {
    // The drain timeout is index.ts's bound on close(): open subscriptions must not hold close() to it.
    const target = await routerWith({ DRAIN_TIMEOUT_MS: '10000' });
    const token = await suite.issuer.sign('u1');
    const socket = await initedSocket(target.wsUrl, { authorization: `Bearer ${token}` });
    cleanup.push(() => socket.ws.terminate());
    socket.send({ id: 'a', type: 'subscribe', payload: { query: PRODUCT_LIVE, variables: { ids: ['p1'] } } });
    // A client that keeps its connections alive for ever (Node's agent): close() must not wait for it to let go.
    const agent = new http.Agent({ keepAlive: true });
    cleanup.push(() => agent.destroy());
    const stream = await keptAliveSse(
      agent,
      target.sseUrl,
      { query: PRODUCT_LIVE, variables: { ids: ['p1'] } },
      { authorization: `Bearer ${token}` },
    );
    await waitForActive(target, 2);
    await productUpdated(target, 'p1');
    await waitFor('both results', () => socket.messages.some((m) => m.type === 'next') && stream.events().length === 1);

    await target.close();
    const { code, reason } = await socket.closed;
    expect(code).toBe(1001);
    expect(reason).toMatch(/shutting down/);
    expect(socket.messages.map((m) => m.type)).not.toContain('complete');
    expect(await stream.ended).toBe(true);
    // One result, then the end of the response: no `complete`, so graphql-sse clients reconnect.
    expect(stream.events().map((e) => e.event)).toEqual(['next']);
    expect(stream.events()[0]!.id).toMatch(/^\d+$/);
  });
});

/** An SSE distinct-mode stream over Node's http client with `agent`: its connection outlives the response. */
function keptAliveSse(agent: http.Agent, url: string, body: unknown, headers: Record<string, string>) {
  return new Promise<{ events: () => ReturnType<typeof parseSse>; ended: Promise<boolean> }>((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      const ended = new Promise<boolean>((done) => {
        response.on('end', () => done(true));
        response.on('error', () => done(false));
      });
      resolve({ events: () => parseSse(text), ended });
    });
    request.end(JSON.stringify(body));
  });
}
