import { randomUUID } from 'node:crypto';
import { type FieldNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ALL_TAGS } from '@shop/events';
import { createInvalidationBus, createLogger, invalidationChannel } from '@shop/platform';
import type { Router } from '../src/server.ts';
import { delay, representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * The router's caches as the event stream drives them, on the embedded tier: the in-process stream
 * leaves the router on the in-process bus (only JetStream is followed; see
 * stream-invalidation.nats.test.ts), so the bus carries what a follower would hand the caches:
 * an event's tags (a product created or discontinued carries the bare `Product`), or ALL_TAGS
 * when the follower found events missing that the stream no longer held.
 */
let products: FakeSubgraph;
let pricing: FakeSubgraph;
let priceOffset = 0;
/** Held in flight by the products fake while set (fetch-sharing case). */
let productsDelayMs = 0;
/** The name the products fake gives every product (an update changes it). */
let productName = 'One';

/**
 * The products fake's `product(id:)`: exactly the fields the fetch selects, under their response
 * keys, as a real subgraph answers (no `__typename` unless asked).
 */
function productAnswer(query: string, id: string): Record<string, unknown> {
  const operation = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD)!;
  const product: Record<string, unknown> = {};
  for (const field of root.selectionSet?.selections ?? []) {
    if (field.kind !== Kind.FIELD) continue;
    const name = field.name.value;
    product[field.alias?.value ?? name] = name === 'id' ? id : name === 'name' ? productName : name === '__typename' ? 'Product' : null;
  }
  return { [root.alias?.value ?? root.name.value]: product };
}

beforeAll(async () => {
  products = await startFakeSubgraph(async ({ query, variables }) => {
    if (productsDelayMs) await delay(productsDelayMs);
    if (/\bproduct\(/.test(query)) return { body: { data: productAnswer(query, variables.id) }, cacheControl: 'public, max-age=600' };
    const first = Number(/first:\s*(\d+)/.exec(query)?.[1] ?? variables.first ?? 2);
    const list = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` }));
    return { body: { data: { products: list } }, cacheControl: 'public, max-age=600' };
  });
  pricing = await startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 + priceOffset })) } },
    cacheControl: 'public, max-age=60',
  }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
});

const LISTING = 'query Listing($first: Int) { products(first: $first) { id name price } }';
const DETAIL = 'query Detail($id: ID!) { product(id: $id) { id name price } }';
const logger = createLogger('test', 'silent');

const opened: Router[] = [];
afterEach(async () => {
  priceOffset = 0;
  productsDelayMs = 0;
  productName = 'One';
  for (const router of opened.splice(0)) await router.close();
});

async function routerWith(env: Record<string, string> = {}) {
  const prefix = `stream-inv-${randomUUID()}:`;
  const router = await buildTinyRouter(
    { products, pricing },
    { ROUTER_CACHE: 'true', CACHE_KEY_PREFIX: prefix, RATE_LIMIT: 'false', ...env },
  );
  opened.push(router);
  const bus = createInvalidationBus({ redisUrl: undefined, logger, channel: invalidationChannel(prefix) });
  /** What the router's bus hands its caches when the follower delivers an event or finds a gap. */
  const deliver = async (tags: string[]) => {
    await bus.publish(tags);
  };
  return { router, deliver };
}

async function post(router: Router, query: string, variables: Record<string, unknown>) {
  const response = await router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ query, variables }),
  });
  expect(response.statusCode).toBe(200);
  return response;
}

/** One series of the router's Prometheus text (0 when absent). */
async function series(router: Router, name: string, labels = ''): Promise<number | undefined> {
  const text = (await router.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.split(',').every((label) => l.includes(label)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

const counts = () => ({ products: products.requests.length, pricing: pricing.requests.length });

describe('collection tags at the router', () => {
  it('a bare `Product` (a product created or discontinued) drops cached listings in both layers, not each product’s own entries', async () => {
    for (const responseCache of ['true', 'false']) {
      const { router, deliver } = await routerWith({ RESPONSE_CACHE: responseCache });
      await post(router, LISTING, { first: 2 });
      await post(router, DETAIL, { id: 'p1' });
      await router.cache!.idle();
      const warm = counts();
      await post(router, LISTING, { first: 2 });
      await post(router, DETAIL, { id: 'p1' });
      expect(counts(), `cached, RESPONSE_CACHE=${responseCache}`).toEqual(warm);

      await deliver(['Product']);
      const listing = await post(router, LISTING, { first: 2 });
      expect(listing.json().data.products.map((p: { id: string }) => p.id)).toEqual(['p1', 'p2']);
      // The listing was fetched again; the prices (`_entities`, tagged only Product:<id>) were not.
      expect(counts(), `after Product, RESPONSE_CACHE=${responseCache}`).toEqual({ products: warm.products + 1, pricing: warm.pricing });
      // One product is no listing: its root fetch stays.
      await post(router, DETAIL, { id: 'p1' });
      expect(counts().products).toBe(warm.products + 1);
    }
  });
});

describe('collection tags of an empty listing at the router', () => {
  it('a bare `Product` drops an empty listing in both layers: its selection lists products, though its data holds none', async () => {
    for (const responseCache of ['true', 'false']) {
      const { router, deliver } = await routerWith({ RESPONSE_CACHE: responseCache });
      expect((await post(router, LISTING, { first: 0 })).json().data).toEqual({ products: [] });
      await post(router, DETAIL, { id: 'p1' });
      await router.cache!.idle();
      const warm = counts();
      await post(router, LISTING, { first: 0 });
      expect(counts(), `cached, RESPONSE_CACHE=${responseCache}`).toEqual(warm);

      await deliver(['Product']); // a product created
      expect((await post(router, LISTING, { first: 0 })).json().data).toEqual({ products: [] });
      // Neither the response cache nor the entity cache's root entry answered it: the products subgraph did.
      expect(counts(), `after Product, RESPONSE_CACHE=${responseCache}`).toEqual({ products: warm.products + 1, pricing: warm.pricing });
      await post(router, DETAIL, { id: 'p1' }); // one product is no listing: still cached
      expect(counts().products).toBe(warm.products + 1);
    }
  });
});

describe('entity tags of a product without __typename at the router', () => {
  const KEYED = 'query Keyed($id: ID!) { product(id: $id) { id name } }';
  const ALIASED = 'query Aliased($id: ID!) { item: product(id: $id) { key: id name } }';
  const UNKEYED = 'query Unkeyed($id: ID!) { product(id: $id) { name } }';
  const read = async (router: Router, query: string) => (await post(router, query, { id: 'p1' })).json().data;

  it('an update of p1 drops product(id:) in both layers: by `Product:p1` where id is selected (aliases too), by `Product` where not', async () => {
    for (const responseCache of ['true', 'false']) {
      const { router, deliver } = await routerWith({ RESPONSE_CACHE: responseCache });
      const before = products.requests.length;
      for (const query of [KEYED, ALIASED, UNKEYED]) await read(router, query);
      await router.cache!.idle();
      // The planner asks these root fields for no __typename: their data names no type.
      const fetched = products.requests.slice(before).map((r) => r.query);
      expect(fetched).toHaveLength(3);
      for (const query of fetched) expect(query).not.toContain('__typename');
      const warm = counts();
      for (const query of [KEYED, ALIASED, UNKEYED]) await read(router, query);
      expect(counts(), `cached, RESPONSE_CACHE=${responseCache}`).toEqual(warm);

      productName = 'Changed';
      await deliver(['Product:p1']);
      expect(await read(router, KEYED)).toEqual({ product: { id: 'p1', name: 'Changed' } });
      expect(await read(router, ALIASED)).toEqual({ item: { key: 'p1', name: 'Changed' } });
      // Selected without its id, the answer could not say which product it shows: only the bare type drops it.
      expect(await read(router, UNKEYED)).toEqual({ product: { name: 'One' } });
      expect(counts(), `after Product:p1, RESPONSE_CACHE=${responseCache}`).toEqual({ products: warm.products + 2, pricing: warm.pricing });

      await deliver(['Product']); // what an update's event carries besides Product:p1
      expect(await read(router, UNKEYED)).toEqual({ product: { name: 'Changed' } });
      expect(await read(router, KEYED)).toEqual({ product: { id: 'p1', name: 'Changed' } }); // fetched once since, and kept
      expect(counts(), `after Product, RESPONSE_CACHE=${responseCache}`).toEqual({ products: warm.products + 3, pricing: warm.pricing });
      productName = 'One';
    }
  });
});

describe('ALL_TAGS at the router', () => {
  it('drops every entry of the entity cache and of the response cache', async () => {
    const { router, deliver } = await routerWith();
    await post(router, LISTING, { first: 2 });
    await post(router, DETAIL, { id: 'p1' });
    await router.cache!.idle();
    const warm = counts();
    const responseHits = (await series(router, 'cache_hits_total', 'type="response"')) ?? 0;
    expect((await post(router, LISTING, { first: 2 })).headers['cache-status']).toMatch(/router-response; hit/);
    expect(await series(router, 'cache_hits_total', 'type="response"')).toBe(responseHits + 1);

    priceOffset = 9;
    await deliver([ALL_TAGS]);
    const listing = await post(router, LISTING, { first: 2 });
    expect(listing.headers['cache-status']).toMatch(/router-response; fwd=miss/);
    expect(listing.json().data.products.map((p: { price: number }) => p.price)).toEqual([109, 209]);
    await router.cache!.idle();
    // The detail's own root fetch goes again too; its price is what the listing just stored.
    const detail = await post(router, DETAIL, { id: 'p1' });
    expect(detail.json().data.product.price).toBe(109);
    expect(counts()).toEqual({ products: warm.products + 2, pricing: warm.pricing + 1 });
    expect(await series(router, 'cache_invalidations_total', 'layer="router",type="*"')).toBe(1);
  });

  it('stops later requests joining a fetch in flight that started before it', async () => {
    const { router, deliver } = await routerWith({ RESPONSE_CACHE: 'false', REQUEST_DEDUP: 'false' });
    productsDelayMs = 200;
    const before = products.requests.length;
    const first = post(router, LISTING, { first: 3 });
    await vi.waitFor(() => expect(products.requests.length).toBe(before + 1));
    await deliver([ALL_TAGS]);
    const second = post(router, LISTING, { first: 3 });
    await Promise.all([first, second]);
    // Without the invalidation the second would have joined the first's fetch (and been counted a dedupe).
    expect(products.requests.length).toBe(before + 2);
    expect((await series(router, 'subgraph_fetch_dedupes_total', 'subgraph="products"')) ?? 0).toBe(0);
  });
});

describe('event metrics on the router', () => {
  it('shows events_followed_total and events_follow_gaps_total on /metrics', async () => {
    const { router } = await routerWith();
    expect(await series(router, 'events_followed_total')).toBe(0);
    expect(await series(router, 'events_follow_gaps_total')).toBe(0);
  });
});
