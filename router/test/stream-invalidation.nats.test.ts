import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEnvelope, type EventEnvelope, type EventStream, event, openEventStream } from '@shop/events';
import { type NatsServer, startNatsServer } from '@shop/events/testing';
import { createLogger } from '@shop/platform';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { type TcpProxy, tcpProxy } from '@shop/platform/testing';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * The router's caches follow the event stream on NATS JetStream (a private nats-server, so it can
 * be stopped): an event published by another process drops the entries carrying its tags, and a
 * router cut off from NATS while an event is published catches up when it is back, dropping the
 * entry then — without waiting for its TTL and without dropping everything.
 */
const logger = createLogger('router-nats-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let server: NatsServer;
let products: FakeSubgraph;
let pricing: FakeSubgraph;
let priceOffset = 0;

beforeAll(async () => {
  server = await startNatsServer();
  products = await startFakeSubgraph(({ query, variables }) => {
    if (/\bproduct\(/.test(query)) {
      return { body: { data: { product: { __typename: 'Product', id: variables.id, name: 'One' } } }, cacheControl: 'public, max-age=600' };
    }
    const list = [1, 2].map((n) => ({ __typename: 'Product', id: `p${n}`, name: `Product ${n}` }));
    return { body: { data: { products: list } }, cacheControl: 'public, max-age=600' };
  });
  // Cached for ten minutes: a price seen to change within the test came from an invalidation, not a TTL.
  pricing = await startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 + priceOffset })) } },
    cacheControl: 'public, max-age=600',
  }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
  await server?.dispose();
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  priceOffset = 0;
  for (const close of closers.splice(0).reverse()) await close();
});

const LISTING = '{ products { id name price } }';
const DETAIL = 'query Detail($id: ID!) { product(id: $id) { id name price } }';

/** A router following the private server (through `natsUrl`), and a publisher connected to it directly. */
async function routerOnNats(natsUrl: string, id = randomUUID().slice(0, 8)) {
  const names = { stream: `ROUTER_${id}`, subjectPrefix: `router${id}` };
  // Made first: it creates the stream, which the router's connect then finds.
  const publisher = await openEventStream({ natsUrl: server.url, ...names, logger });
  closers.push(() => publisher.close());
  const router = await buildTinyRouter(
    { products, pricing },
    {
      ROUTER_CACHE: 'true',
      // The caches' follower alone: the subscriptions' own follower would count in the same
      // events_followed_total / events_follow_gaps_total (subscription-hub.test.ts covers its gaps).
      SUBSCRIPTIONS: 'false',
      RATE_LIMIT: 'false',
      CACHE_KEY_PREFIX: `rnats-${id}:`,
      NATS_URL: natsUrl,
      NATS_STREAM: names.stream,
      NATS_SUBJECT_PREFIX: names.subjectPrefix,
    },
  );
  closers.push(() => router.close());
  await followerListening(router, publisher);
  return { router, publisher, names };
}

const priceChanged = (productId: string): EventEnvelope =>
  createEnvelope(event('price.changed', productId, { productId, region: 'US', currency: 'USD', amount: '1.00' }, [`Product:${productId}`]));

/** Publishes until the stream has it: right after a NATS restart the publisher may still be reconnecting. */
async function publish(publisher: EventStream, events: EventEnvelope[]) {
  await vi.waitFor(() => publisher.publish(events), { timeout: 20_000, interval: 250 });
}

/** One series of the router's Prometheus text (the first whose line holds every one of `labels`). */
async function series(router: Router, name: string, labels: string[] = []): Promise<number> {
  const text = (await router.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.every((label) => l.includes(label)));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

/**
 * The router's follower starts from the stream's end when it subscribes, in the background: until
 * it listens, an event may fall before its start. Probes (tagged with nothing a cache holds) are
 * published until the router has heard one.
 */
async function followerListening(router: Router, publisher: EventStream) {
  await vi.waitFor(
    async () => {
      await publisher.publish([
        createEnvelope(event('price.changed', 'probe', { productId: 'probe', region: 'US', currency: 'USD', amount: '0' }, ['Probe:0'])),
      ]);
      expect(await series(router, 'events_followed_total')).toBeGreaterThan(0);
    },
    { timeout: 15_000, interval: 200 },
  );
}

async function query(router: Router, body: object) {
  const response = await router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  expect(response.statusCode).toBe(200);
  return response.json();
}
const listedPrices = async (router: Router) =>
  (await query(router, { query: LISTING })).data.products.map((p: { price: number }) => p.price) as number[];
const detailPrice = async (router: Router, id: string) =>
  (await query(router, { query: DETAIL, variables: { id } })).data.product.price as number;

/** Caches the listing (p1, p2) and p2's detail, and checks both are served without a fetch. */
async function warm(router: Router) {
  expect(await listedPrices(router)).toEqual([100, 200]);
  expect(await detailPrice(router, 'p2')).toBe(200);
  await router.cache!.idle();
  const before = pricing.requests.length + products.requests.length;
  expect(await listedPrices(router)).toEqual([100, 200]);
  expect(await detailPrice(router, 'p2')).toBe(200);
  expect(pricing.requests.length + products.requests.length).toBe(before);
}

describe('router caches on NATS JetStream', () => {
  it('drop an entry when another process publishes an event carrying its tag', async () => {
    const { router, publisher } = await routerOnNats(server.url);
    await warm(router);
    priceOffset = 5;
    await publish(publisher, [priceChanged('p1')]);
    await vi.waitFor(async () => expect(await listedPrices(router)).toEqual([105, 200]), { timeout: 10_000, interval: 100 });
    // Only what showed p1 went: p2's detail is still the cached one.
    expect(await detailPrice(router, 'p2')).toBe(200);
    expect(await series(router, 'events_follow_gaps_total')).toBe(0);
  });

  describe('a router cut off from NATS while an event is published', () => {
    let proxy: TcpProxy;
    beforeAll(async () => {
      proxy = await tcpProxy({ host: '127.0.0.1', port: server.port });
    });
    afterAll(() => proxy?.close());

    it('catches up when it is back and drops the entry, without waiting for the TTL or dropping everything', async () => {
      const { router, publisher } = await routerOnNats(proxy.url('nats'));
      await warm(router);
      const followed = await series(router, 'events_followed_total');

      proxy.cut();
      priceOffset = 7;
      await publish(publisher, [priceChanged('p1')]);
      // The router tries to come back and cannot; meanwhile it has not heard the event (p2's price
      // was cached by the listing and is not named by it: it stays 200 throughout).
      await vi.waitFor(() => expect(proxy.refused()).toBeGreaterThan(0), { timeout: 10_000 });
      expect(await listedPrices(router)).toEqual([100, 200]);
      expect(await series(router, 'events_followed_total')).toBe(followed);

      proxy.restore();
      await vi.waitFor(async () => expect(await listedPrices(router)).toEqual([107, 200]), { timeout: 30_000, interval: 200 });
      expect(await series(router, 'events_followed_total')).toBeGreaterThan(followed);
      // Caught up from its position: no gap, so only what the event named was dropped.
      expect(await series(router, 'events_follow_gaps_total')).toBe(0);
      expect(await detailPrice(router, 'p2')).toBe(200);
    });
  });

  it('follows again after NATS restarts and drops what a later event names', async () => {
    const { router, publisher } = await routerOnNats(server.url);
    await warm(router);
    await server.stop();
    await server.start();
    priceOffset = 3;
    await publish(publisher, [priceChanged('p1')]);
    await vi.waitFor(async () => expect(await listedPrices(router)).toEqual([103, 200]), { timeout: 30_000, interval: 200 });
    expect(await detailPrice(router, 'p2')).toBe(200);
  });

  it('drops everything when NATS lost the events it missed (its store gone): a gap', async () => {
    const id = randomUUID().slice(0, 8);
    const { router, names } = await routerOnNats(server.url, id);
    await warm(router);
    await server.stop();
    rmSync(server.storeDir, { recursive: true, force: true });
    await server.start();
    // The stream comes back empty (as another process's connect makes it): the router's position is past its end.
    const again = await openEventStream({ natsUrl: server.url, ...names, logger });
    closers.push(() => again.close());
    priceOffset = 4;
    await vi.waitFor(async () => expect(await series(router, 'events_follow_gaps_total')).toBe(1), { timeout: 30_000, interval: 200 });
    // Every cache dropped everything: p2 (named by no event) is fetched again too.
    expect(await listedPrices(router)).toEqual([104, 204]);
    expect(await detailPrice(router, 'p2')).toBe(204);
    expect(await series(router, 'cache_invalidations_total', ['layer="router"', 'type="*"'])).toBe(1);
  });
});
