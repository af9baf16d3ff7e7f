import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '@shop/events/testing';
import { subgraphUrlEnv } from '@shop/registry';
import { buildRouter, type Router } from '@shop/router';
import { readConfig } from '@shop/router/config';
import { clientFor, counter, logIn, metricsUrlOf, type Send } from '../setup/client.ts';
import { readStream, startStreamWorld, type StreamWorld } from '../stream/support.ts';

/**
 * Subscriptions across router replicas: two routers (A and B, each a buildRouter over the stack's
 * subgraphs, the same JetStream stream and subjects) stand for two pods behind a load balancer.
 * - A graphql-ws subscriber on A hears a price change an admin made through B: the event reaches
 *   A through the stream, not through the router that carried the mutation.
 * - An SSE (distinct mode) subscriber on A is cut by A's shutdown (the stream ends without
 *   `complete`), comes back on B with `Last-Event-ID`, and gets the change made while it was away:
 *   the ids are JetStream sequences, the same on every replica.
 * The stack's own router only signs the admin in.
 */
const SELECTION = '{ id listPrice(region: IN) { amount } }';
const PRODUCT_UPDATED = `subscription ReplicaPrice($ids: [ID!]!) { productUpdated(ids: $ids) ${SELECTION} }`;
const SET_LIST_PRICE =
  'mutation($p: ID!, $a: String!) { setListPrice(productId: $p, region: IN, amount: $a) { id listPrice(region: IN) { amount } } }';

interface Replica {
  router: Router;
  url: string;
  send: Send;
}

let world: StreamWorld;
let a: Replica;
let b: Replica;
let admin: string;
let aClosed = false;
const wsClients: Client[] = [];

async function replica(): Promise<Replica> {
  const urls = world.stack.subgraphUrls;
  const router = await buildRouter({
    config: readConfig({
      ...world.env,
      PORT: '0',
      ...subgraphUrlEnv(urls),
      JWKS_URL: new URL('/.well-known/jwks.json', urls.users).toString(),
      // The same stream and subjects as the stack's services: both replicas follow everything.
      NATS_URL: world.nats.url,
      NATS_STREAM: world.streamName,
      NATS_SUBJECT_PREFIX: world.subjectPrefix,
    }),
  });
  await router.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(router.app.server.address() as AddressInfo).port}/graphql`;
  return { router, url, send: clientFor(() => url) };
}

beforeAll(async () => {
  world = await startStreamWorld('subs_replicas');
  a = await replica();
  b = await replica();
  admin = (
    await logIn(
      'admin@example.com',
      'admin',
      clientFor(() => world.stack.routerUrl),
    )
  ).token;
});

afterAll(async () => {
  for (const client of wsClients) await client.dispose();
  if (!aClosed) await a?.router.close();
  await b?.router.close();
  await world?.close();
});

const activeOn = (r: Replica) => counter(metricsUrlOf(r.url), 'subscriptions_active');

/** Waits until `r` counts `n` running subscriptions: an event before that would find no subscriber. */
async function untilActive(r: Replica, n: number, what: string) {
  await waitFor(async () => (await activeOn(r)) === n, { timeoutMs: 10_000, intervalMs: 50, message: `${what}: not running` });
}

/** Two products without a promotion in IN, so the list price set is what the subscribers are told. */
async function productIds(n: number): Promise<{ id: string; amount: string }[]> {
  const found: { id: string; amount: string }[] = [];
  for (let i = 301; i < 360 && found.length < n; i++) {
    const result = await b.send('query($id: ID!) { product(id: $id) { id listPrice(region: IN) { amount } } }', { id: `p${i}` });
    expect(result.errors).toBeUndefined();
    const amount = result.data.product?.listPrice?.amount as string | undefined;
    if (amount) found.push({ id: `p${i}`, amount });
  }
  expect(found).toHaveLength(n);
  return found;
}

async function setListPrice(through: Replica, productId: string, amount: string) {
  const result = await through.send(SET_LIST_PRICE, { p: productId, a: amount }, { token: admin });
  expect(result.errors).toBeUndefined();
  expect(result.data.setListPrice.listPrice.amount).toBe(amount);
}

/** One SSE message as the raw stream carries it. */
interface SseMessage {
  id?: number;
  event: string;
  data: any;
}

/**
 * A distinct-mode SSE subscription read with plain fetch (the `id:` lines are what a client keeps
 * for Last-Event-ID); `ended` resolves when the response body ends, whoever ended it.
 */
function sseSubscribe(url: string, productIds: string[], lastEventId?: number) {
  const messages: SseMessage[] = [];
  const controller = new AbortController();
  const stream = new URL('/graphql/stream', url);
  stream.searchParams.set('query', PRODUCT_UPDATED);
  stream.searchParams.set('variables', JSON.stringify({ ids: productIds }));
  const ended = (async () => {
    const res = await fetch(stream, {
      headers: { accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const message: SseMessage = { event: 'message', data: undefined };
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') message.id = Number(value);
            else if (field === 'event') message.event = value;
            else if (field === 'data') message.data = value ? JSON.parse(value) : null;
          }
          if (!isComment) messages.push(message);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  // Never left unhandled while the test waits on something else; awaited where it matters.
  ended.catch(() => {});
  return { messages, ended, abort: () => controller.abort() };
}

const amountOf = (message: SseMessage | undefined) => message?.data?.data?.productUpdated?.listPrice?.amount as string | undefined;

describe('subscriptions across two router replicas on one stream', () => {
  it('a graphql-ws subscriber on router A hears a price change made through router B', async () => {
    const [product] = (await productIds(1)) as [{ id: string; amount: string }];
    const newAmount = (Number(product.amount) + 3.5).toFixed(2);
    const received: any[] = [];
    const closes: number[] = [];
    const client = createClient({
      url: a.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
      on: { closed: (event) => void closes.push((event as { code: number }).code) },
    });
    wsClients.push(client);
    const failed: unknown[] = [];
    client.subscribe(
      { query: PRODUCT_UPDATED, variables: { ids: [product.id] } },
      { next: (value) => void received.push(value), error: (error) => void failed.push(error), complete: () => {} },
    );
    await untilActive(a, 1, 'the graphql-ws subscription on A');
    expect(await activeOn(b)).toBe(0);

    await setListPrice(b, product.id, newAmount);
    await waitFor(() => received.length > 0, { timeoutMs: 15_000, intervalMs: 20, message: 'A’s subscriber heard nothing' });
    expect(failed).toEqual([]);
    expect(received[0]).toEqual({ data: { productUpdated: { id: product.id, listPrice: { amount: newAmount } } } });
    await client.dispose();
    await untilActive(a, 0, 'the graphql-ws subscription on A after dispose');
  });

  it('an SSE subscriber cut by router A’s shutdown resumes on router B with Last-Event-ID', async () => {
    const [product] = (await productIds(1)) as [{ id: string; amount: string }];
    const first = (Number(product.amount) + 11.25).toFixed(2);
    const whileAway = (Number(product.amount) + 12.75).toFixed(2);

    // A WebSocket on A too, to see what its clients are told when A shuts down.
    const wsCloses: { code: number; reason: string }[] = [];
    const wsClient = createClient({
      url: a.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      on: { closed: (event) => void wsCloses.push(event as { code: number; reason: string }) },
    });
    wsClients.push(wsClient);
    wsClient.subscribe(
      { query: PRODUCT_UPDATED, variables: { ids: [product.id] } },
      { next: () => {}, error: () => {}, complete: () => {} },
    );

    const onA = sseSubscribe(a.url, [product.id]);
    await untilActive(a, 2, 'the SSE and graphql-ws subscriptions on A');
    await setListPrice(b, product.id, first);
    await waitFor(() => onA.messages.length > 0, { timeoutMs: 15_000, intervalMs: 20, message: 'the SSE subscriber on A heard nothing' });
    const [heard] = onA.messages as [SseMessage];
    expect(heard.event).toBe('next');
    expect(amountOf(heard)).toBe(first);
    expect(Number.isInteger(heard.id) && (heard.id ?? 0) > 0).toBe(true);
    const lastEventId = heard.id as number;

    // SIGTERM's path: A closes; its SSE response ends without `complete`, its sockets get 1001.
    await a.router.close();
    aClosed = true;
    await onA.ended;
    expect(onA.messages.map((m) => m.event)).toEqual(['next']);
    await waitFor(() => wsCloses.length > 0, { timeoutMs: 5_000, message: 'A’s WebSocket client was not closed' });
    expect(wsCloses[0]?.code).toBe(1001);

    // While the subscriber is away, the price changes again (through B, the replica left).
    await setListPrice(b, product.id, whileAway);
    const onB = sseSubscribe(b.url, [product.id], lastEventId);
    try {
      await waitFor(() => onB.messages.length > 0, { timeoutMs: 15_000, intervalMs: 20, message: 'B replayed nothing' });
      const [replayed] = onB.messages as [SseMessage];
      expect(replayed.event).toBe('next');
      expect(amountOf(replayed)).toBe(whileAway);
      expect(replayed.id).toBeGreaterThan(lastEventId);

      // The ids are stream positions: the one A sent and the one B sent are the price.changed
      // events of those two writes, at those sequences of the JetStream stream.
      const stored = await readStream(world.nats.url, world.streamName);
      const at = (seq: number | undefined) => stored.find((s) => s.seq === seq)?.event;
      for (const [seq, amount] of [
        [lastEventId, first],
        [replayed.id, whileAway],
      ] as const) {
        const event = at(seq);
        expect(event?.type).toBe('price.changed');
        expect(JSON.stringify(event?.data)).toContain(product.id);
        expect(JSON.stringify(event?.data)).toContain(amount);
      }
      // Only what changed after the id was replayed: no second copy of the first price.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(onB.messages.map(amountOf)).toEqual([whileAway]);
    } finally {
      onB.abort();
      await onB.ended;
    }
  });
});
