import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * Stock in the subgraph cache: cached for its few seconds, and dropped the moment a reservation,
 * a release or an adjustment changes it. Uses p401–p410, which no other inventory test touches.
 */
const SECRET = 'caching-secret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser('u0', ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const cache = testCache();
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: SECRET, INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
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
async function statements(call: () => Promise<unknown>) {
  const before = await metricValue(app, 'db_queries_total');
  await call();
  return (await metricValue(app, 'db_queries_total')) - before;
}
const invalidations = () => metricValue(app, 'cache_invalidations_total');

const ADJUST = 'mutation($p: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: "w1", delta: $d) { available } }';
const RESERVE = `mutation($id: ID!, $p: ID!, $q: Int!) {
  reserveStock(reservationId: $id, region: IN, lines: [{ productId: $p, quantity: $q }]) { status } }`;
const RELEASE = 'mutation($id: ID!) { releaseStock(reservationId: $id) { status } }';

describe('stock in the subgraph cache', () => {
  it('is served from the cache until a write changes it, and every write shows at once', async () => {
    // A known level in w1 (IN) to start from.
    expect((await gql(app, ADJUST, { p: 'p401', d: 20 }, ADMIN)).errors).toBeUndefined();
    const start = await available('p401');
    expect(await statements(() => available('p401'))).toBe(0);

    const reserve = (id: string) => gql(app, RESERVE, { id: `${RUN}-${id}`, p: 'p401', q: 3 }, INTERNAL);
    expect((await reserve('a')).errors).toBeUndefined();
    expect(await available('p401')).toBe(start - 3);

    // A retry of the same reservation takes nothing, so it invalidates nothing.
    const before = await invalidations();
    expect((await reserve('a')).data!.reserveStock.status).toBe('HELD');
    expect(await invalidations()).toBe(before);
    expect(await statements(() => available('p401'))).toBe(0);

    expect((await gql(app, RELEASE, { id: `${RUN}-a` }, INTERNAL)).data!.releaseStock.status).toBe('RELEASED');
    expect(await available('p401')).toBe(start);
    // Releasing again changes nothing, and says so to nobody.
    const afterRelease = await invalidations();
    await gql(app, RELEASE, { id: `${RUN}-a` }, INTERNAL);
    expect(await invalidations()).toBe(afterRelease);

    expect((await gql(app, ADJUST, { p: 'p401', d: -5 }, ADMIN)).errors).toBeUndefined();
    expect(await available('p401')).toBe(start - 5);
  });

  it('does not invalidate for a write that failed', async () => {
    const added = await gql(app, ADJUST, { p: 'p402', d: 1 }, ADMIN);
    const inW1 = added.data!.adjustStock.available as number;
    const level = await available('p402');
    const before = await invalidations();
    // Taking more than w1 holds is refused; nothing changed, so nothing is invalidated.
    const refused = await gql(app, ADJUST, { p: 'p402', d: -(inW1 + 1) }, ADMIN);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await invalidations()).toBe(before);
    expect(await statements(async () => expect(await available('p402')).toBe(level))).toBe(0);
  });
});
