import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { relayOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * Stock in the subgraph cache: cached for its few seconds, and dropped the moment a reservation,
 * a release or an adjustment changes it. Each case stocks a product of its own (newProductId,
 * through adjustStock), so no other test's writes can move the levels it counts.
 */
const SECRET = 'caching-secret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser('u0', ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
/** A product id no seed and no other run uses (p100000000 and up): it has stock only once a case adds some. */
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
let made = 0;
const newProductId = () => `p${RUN_BASE + made++}`;
const cache = testCache();
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: SECRET, INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
  // These cases count statements and invalidations: the outbox relay's poll (a statement a second)
  // and this process hearing its own events back from the stream would add to them at random. The
  // events themselves are events.test.ts's business.
  await relayOf(app).stop();
});
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

const STOCK = ENTITIES_QUERY('... on Product { id stock(region: IN) { available } }');
async function available(id: string) {
  const res = await gql(app, STOCK, { representations: [{ __typename: 'Product', id }] });
  expect(res.errors).toBeUndefined();
  return res.data!._entities[0].stock.available as number;
}
async function counted(call: () => Promise<unknown>) {
  const before = await metricValue(app, 'db_queries_total');
  await call();
  return (await metricValue(app, 'db_queries_total')) - before;
}
/** Statements `call` sends. A scrape of /metrics sends its own (the outbox gauge counts pending events): an empty call's are taken off. */
async function statements(call: () => Promise<unknown>) {
  const scrape = await counted(async () => {});
  return (await counted(call)) - scrape;
}
const invalidations = () => metricValue(app, 'cache_invalidations_total');

const ADJUST = 'mutation($p: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: "w1", delta: $d) { available } }';
const RESERVE = `mutation($id: ID!, $p: ID!, $q: Int!) {
  reserveStock(reservationId: $id, region: IN, lines: [{ productId: $p, quantity: $q }]) { status } }`;
const RELEASE = 'mutation($id: ID!) { releaseStock(reservationId: $id) { status } }';

describe('stock in the subgraph cache', () => {
  it('is served from the cache until a write changes it, and every write shows at once', async () => {
    // A known level to start from: 20 in w1 (IN), and none anywhere else.
    const product = newProductId();
    expect((await gql(app, ADJUST, { p: product, d: 20 }, ADMIN)).errors).toBeUndefined();
    const start = await available(product);
    expect(start).toBe(20);
    expect(await statements(() => available(product))).toBe(0);

    const reserve = (id: string) => gql(app, RESERVE, { id: `${RUN}-${id}`, p: product, q: 3 }, INTERNAL);
    expect((await reserve('a')).errors).toBeUndefined();
    expect(await available(product)).toBe(start - 3);

    // A retry of the same reservation takes nothing, so it invalidates nothing.
    const before = await invalidations();
    expect((await reserve('a')).data!.reserveStock.status).toBe('HELD');
    expect(await invalidations()).toBe(before);
    expect(await statements(() => available(product))).toBe(0);

    expect((await gql(app, RELEASE, { id: `${RUN}-a` }, INTERNAL)).data!.releaseStock.status).toBe('RELEASED');
    expect(await available(product)).toBe(start);
    // Releasing again changes nothing, and says so to nobody.
    const afterRelease = await invalidations();
    await gql(app, RELEASE, { id: `${RUN}-a` }, INTERNAL);
    expect(await invalidations()).toBe(afterRelease);

    expect((await gql(app, ADJUST, { p: product, d: -5 }, ADMIN)).errors).toBeUndefined();
    expect(await available(product)).toBe(start - 5);
  });

  it('does not invalidate for a write that failed', async () => {
    const product = newProductId();
    const added = await gql(app, ADJUST, { p: product, d: 1 }, ADMIN);
    const inW1 = added.data!.adjustStock.available as number;
    const level = await available(product);
    const before = await invalidations();
    // Taking more than w1 holds is refused; nothing changed, so nothing is invalidated.
    const refused = await gql(app, ADJUST, { p: product, d: -(inW1 + 1) }, ADMIN);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await invalidations()).toBe(before);
    expect(await statements(async () => expect(await available(product)).toBe(level))).toBe(0);
  });
});
