import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ENTITIES_QUERY, metricValue } from '@shop/subgraph-kit/testing';
import { ADMIN, newProductId, post, PROMOTIONS, SECRET, startReplicas, statements, type Replicas } from './caching-helpers.ts';

/**
 * The subgraph cache layer and Cache-Control on the pricing subgraph. Runs on memory, and on
 * Redis when the run sets REDIS_URL. Every price it writes or counts is of a product of its own
 * (newProductId, priced here through setListPrice), so the file passes alongside the others on a
 * shared Postgres database.
 *
 * Two servers on one database and one cache prefix stand for two replicas: a write through one
 * must drop what the other has cached (over Redis pub/sub with REDIS_URL, in process without).
 * The cases that need a real Redis are in caching.redis.test.ts (real-services tier).
 */
let replicas: Replicas | undefined;
let app: FastifyInstance;
let replica: FastifyInstance;
let build: Replicas['build'];
const extra: FastifyInstance[] = [];

beforeAll(async () => {
  replicas = await startReplicas();
  ({ app, replica, build } = replicas);
});
afterAll(async () => {
  for (const server of extra) await server.close();
  await replicas?.close();
});

/** A cache counter for one `type` label (`Query.promotions`, `Product`). */
async function counter(server: FastifyInstance, name: string, type: string) {
  const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(`type="${type}"`))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const PRICE = ENTITIES_QUERY('... on Product { id price(region: SEA) { amount currency } listPrice(region: SEA) { amount } }');
const products = (...ids: string[]) => ({ representations: ids.map((id) => ({ __typename: 'Product', id })) });
const priceOf = async (server: FastifyInstance, id: string) => {
  const res = await post(server, PRICE, products(id));
  expect(res.errors).toBeUndefined();
  return res.data._entities[0].price.amount as string;
};
const SET_LIST_PRICE = 'mutation($id: ID!, $amount: String!) { setListPrice(productId: $id, region: SEA, amount: $amount) { id } }';
/** Prices a product of the test's own in SEA (through `app`: its write drops whatever was cached). */
const setPrice = async (id: string, amount: string) => {
  const res = await post(app, SET_LIST_PRICE, { id, amount }, ADMIN);
  expect(res.errors).toBeUndefined();
};

describe('Cache-Control on pricing responses', () => {
  it('is public with the lowest maxAge of the selected fields', async () => {
    expect((await post(app, PROMOTIONS('IN'))).cacheControl).toBe('public, max-age=60');
    expect((await post(app, PRICE, products('p1', 'p2'))).cacheControl).toBe('public, max-age=60');
    const promotion = await post(app, ENTITIES_QUERY('... on Promotion { id name }'), {
      representations: [{ __typename: 'Promotion', id: 'promo1' }],
    });
    expect(promotion.cacheControl).toBe('public, max-age=300');
  });

  it('is no-store for a mutation, an internal field without a hint, and any response with errors', async () => {
    const write = await post(app, SET_LIST_PRICE, { id: newProductId(), amount: '10.00' }, ADMIN);
    expect(write.errors).toBeUndefined();
    expect(write.cacheControl).toBe('no-store');

    const quote = await post(app, '{ quote(region: IN, productIds: ["p1"]) { productId } }', {}, { 'x-router-secret': SECRET });
    expect(quote.errors).toBeUndefined();
    expect(quote.cacheControl).toBe('no-store');

    // An execution error in an otherwise cacheable operation: a representation of no known type.
    const failed = await post(app, PRICE, {
      representations: [
        { __typename: 'Product', id: 'p1' },
        { __typename: 'Nothing', id: 'x' },
      ],
    });
    expect(failed.status).toBe(200);
    expect(failed.errors?.length).toBeGreaterThan(0);
    expect(failed.cacheControl).toBe('no-store');

    const invalid = await post(app, '{ promotions { id } }');
    expect(invalid.status).toBe(400);
    expect(invalid.cacheControl).toBe('no-store');
  });
});

describe('subgraph cache', () => {
  it('answers a repeated listing from the cache, without SQL', async () => {
    const hits = await counter(app, 'cache_hits_total', 'Query.promotions');
    let first: any;
    let second: any;
    expect(await statements(app, async () => (first = await post(app, PROMOTIONS('US'))))).toBeGreaterThan(0);
    expect(await statements(app, async () => (second = await post(app, PROMOTIONS('US'))))).toBe(0);
    expect(second.data).toEqual(first.data);
    expect(first.data.promotions.length).toBeGreaterThan(0);
    expect(await counter(app, 'cache_hits_total', 'Query.promotions')).toBe(hits + 1);
  });

  it('answers repeated price fields from the cache, without SQL', async () => {
    const ids = [newProductId(), newProductId(), newProductId()];
    for (const [i, id] of ids.entries()) await setPrice(id, `${i + 1}0.00`);
    let first: any;
    // List prices and best promotions together: one statement.
    expect(await statements(app, async () => (first = await post(app, PRICE, products(...ids))))).toBe(1);
    let second: any;
    expect(await statements(app, async () => (second = await post(app, PRICE, products(...ids))))).toBe(0);
    expect(second.data).toEqual(first.data);
    expect(first.data._entities.map((p: any) => p.price.amount)).toEqual(['10.00', '20.00', '30.00']);
    expect(await counter(app, 'cache_hits_total', 'Product.price')).toBeGreaterThanOrEqual(3);
  });

  it('drops a cached price when setListPrice changes it, on this server and on a replica', async () => {
    const id = newProductId();
    await setPrice(id, '50.00');
    expect(await priceOf(app, id)).toBe('50.00');
    expect(await priceOf(replica, id)).toBe('50.00');
    // Both have it cached now.
    expect(await statements(app, () => priceOf(app, id))).toBe(0);
    expect(await statements(replica, () => priceOf(replica, id))).toBe(0);
    const invalidations = await counter(replica, 'cache_invalidations_total', 'Product');

    const write = await post(app, SET_LIST_PRICE, { id, amount: '64.25' }, ADMIN);
    expect(write.errors).toBeUndefined();
    // The writing server dropped its entry before answering the mutation.
    expect(await priceOf(app, id)).toBe('64.25');
    // The replica hears it on the bus (over Redis: a moment later).
    await expect.poll(() => priceOf(replica, id), { timeout: 5_000 }).toBe('64.25');
    expect(await counter(replica, 'cache_invalidations_total', 'Product')).toBeGreaterThan(invalidations);
  });

  it('drops cached prices and promotion lists when a promotion starts and ends', async () => {
    const product = newProductId();
    await setPrice(product, '80.00');
    expect(await priceOf(app, product)).toBe('80.00');
    const before = (await post(app, PROMOTIONS('SEA'))).data.promotions;

    const created = await post(
      app,
      `mutation($input: CreatePromotionInput!) { createPromotion(input: $input) { id } }`,
      {
        input: {
          name: `Caching test ${Date.now()}`,
          region: 'SEA',
          discountPercent: 25,
          endsAt: new Date(Date.now() + 86_400_000).toISOString(),
          productIds: [product],
        },
      },
      ADMIN,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data.createPromotion.id as string;
    expect(await priceOf(app, product)).toBe('60.00');
    // The cached list did not name the new promotion; the collection tag dropped it anyway.
    const during = (await post(app, PROMOTIONS('SEA'))).data.promotions;
    expect(during.map((p: any) => p.id)).toContain(id);
    expect(during).toHaveLength(before.length + 1);

    expect((await post(app, 'mutation($id: ID!) { endPromotion(id: $id) { id active } }', { id }, ADMIN)).errors).toBeUndefined();
    expect(await priceOf(app, product)).toBe('80.00');
    expect((await post(app, PROMOTIONS('SEA'))).data.promotions.map((p: any) => p.id)).not.toContain(id);
  });

  it('caches nothing with SUBGRAPH_CACHE=false', async () => {
    const off = await build({ SEED: 'false', SUBGRAPH_CACHE: 'false' });
    extra.push(off);
    expect(await statements(off, () => post(off, PROMOTIONS('ME')))).toBeGreaterThan(0);
    expect(await statements(off, () => post(off, PROMOTIONS('ME')))).toBeGreaterThan(0);
    const product = newProductId();
    await setPrice(product, '7.00');
    expect(await statements(off, () => priceOf(off, product))).toBe(1);
    expect(await statements(off, () => priceOf(off, product))).toBe(1);
    expect(await metricValue(off, 'cache_hits_total')).toBe(0);
    // The headers do not depend on the cache layer.
    expect((await post(off, PROMOTIONS('ME'))).cacheControl).toBe('public, max-age=60');
  });

  it('answers correctly and promptly with Redis unreachable, counting the failures', async () => {
    const down = await build({ SEED: 'false', REDIS_URL: 'redis://127.0.0.1:1', CACHE_TIMEOUT_MS: '100' });
    extra.push(down);
    const expected = (await post(app, PROMOTIONS('IN'))).data;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const res = await post(down, PROMOTIONS('IN'));
      // Generous bound: it proves nothing waited on Redis, not how fast the query is.
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual(expected);
    }
    expect(await counter(down, 'cache_errors_total', 'Query.promotions')).toBeGreaterThanOrEqual(3);

    // Writes still succeed, and this server still drops its own (in-memory) entries for them.
    const product = newProductId();
    await setPrice(product, '9.99');
    expect(await priceOf(down, product)).toBe('9.99');
    const write = await post(down, SET_LIST_PRICE, { id: product, amount: '12.34' }, ADMIN);
    expect(write.errors).toBeUndefined();
    expect(await priceOf(down, product)).toBe('12.34');
  });
});
