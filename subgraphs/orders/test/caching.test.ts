import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { testCache } from '@shop/platform/testing';
import { relayOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { CARDS, fakePayments } from './fake-payments.ts';
import { type FakeSiblings, fakeSiblings, ordersEnv } from './support.ts';

/**
 * PRIVATE data in the subgraph cache: a user's orders are cached per user, never served to
 * anyone else, and dropped when that user places or cancels an order. Runs on memory, and on
 * Redis when the run sets REDIS_URL (`order(id)` entries then live in Redis). The two customers
 * are new to the database (ids no seed and no other run uses); their orders are placed here
 * through placeOrder, so no other test's orders change what this file counts. Pricing and
 * inventory are played by a small HTTP server that prices everything and always has stock.
 */
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
const ALICE_ID = `u${RUN_BASE}`;
const BOB_ID = `u${RUN_BASE + 1}`;
const ALICE = asUser(ALICE_ID);
const BOB = asUser(BOB_ID);
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const cache = testCache();

let app: FastifyInstance;
let siblings: FakeSiblings;

beforeAll(async () => {
  siblings = await fakeSiblings();
  app = await buildServer({
    config: readConfig({ ...ordersEnv(siblings.url), ...cache.env }),
    seedSize: SMALL_SEED,
    paymentProvider: fakePayments().provider,
  });
  // Cases here count statements: the outbox relay's poll (a statement a second) and its publishing
  // of each write's events would add to them at random. This process drops its own cache entries
  // at the write (read-your-writes), without the relay.
  await relayOf(app).stop();
  // Each customer starts with orders of their own: two for Alice, one for Bob.
  for (const [headers, count] of [
    [ALICE, 2],
    [BOB, 1],
  ] as const) {
    for (let i = 0; i < count; i++) expect((await placeOrder(headers)).errors).toBeUndefined();
  }
});
afterAll(async () => {
  await app?.close();
  await siblings?.close();
  await cache.cleanup();
});

async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables }, headers });
  return {
    status: response.statusCode,
    cacheControl: response.headers['cache-control'],
    ...(response.json() as { data?: any; errors?: any[] }),
  };
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

const ORDERS = ENTITIES_QUERY('... on User { id orders(first: 5) { totalCount edges { node { id status user { id } } } } }');
const ordersOf = async (userId: string, headers: Record<string, string>) => {
  const res = await post(ORDERS, { representations: [{ __typename: 'User', id: userId }] }, headers);
  return { ...res, orders: res.data?._entities?.[0]?.orders };
};
const ORDER = 'query($id: ID!) { order(id: $id) { id status createdAt total { amount currency } user { id } } }';
let ordersPlaced = 0;
const placeOrder = (headers: Record<string, string>) =>
  post(
    'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
    {
      input: {
        idempotencyKey: `caching-${RUN_BASE}-${ordersPlaced++}`,
        region: 'IN',
        paymentMethod: CARDS.ok,
        lines: [{ productId: 'p3', quantity: 1 }],
      },
    },
    headers,
  );

describe('PRIVATE data in the subgraph cache', () => {
  it('is cached per user: each sees only their own, from the cache the second time', async () => {
    const firstAlice = await ordersOf(ALICE_ID, ALICE);
    const firstBob = await ordersOf(BOB_ID, BOB);
    expect(firstAlice.errors).toBeUndefined();
    expect(firstAlice.cacheControl).toBe('private, max-age=60');
    expect(firstAlice.orders.totalCount).toBe(2);
    expect(firstBob.orders.totalCount).toBe(1);
    for (const edge of firstAlice.orders.edges) expect(edge.node.user.id).toBe(ALICE_ID);
    for (const edge of firstBob.orders.edges) expect(edge.node.user.id).toBe(BOB_ID);

    let again: any;
    expect(await statements(async () => (again = await ordersOf(ALICE_ID, ALICE)))).toBe(0);
    expect(again.orders).toEqual(firstAlice.orders);
    expect(await statements(async () => (again = await ordersOf(BOB_ID, BOB)))).toBe(0);
    expect(again.orders).toEqual(firstBob.orders);
  });

  it("never serves one user's cached entry to another, nor to an anonymous caller", async () => {
    await ordersOf(ALICE_ID, ALICE); // cached for Alice
    const other = await ordersOf(ALICE_ID, BOB);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.orders).toBeUndefined();
    const anonymous = await ordersOf(ALICE_ID, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.cacheControl).toBe('no-store');
    // An admin may read them, under an entry of the admin's own: it costs SQL the first time.
    let admin: any;
    expect(await statements(async () => (admin = await ordersOf(ALICE_ID, ADMIN)))).toBeGreaterThan(0);
    expect(admin.orders).toEqual((await ordersOf(ALICE_ID, ALICE)).orders);

    const owned = (await ordersOf(ALICE_ID, ALICE)).orders.edges[0].node.id as string;
    expect((await post(ORDER, { id: owned }, ALICE)).data.order.user.id).toBe(ALICE_ID); // cached for Alice
    const refused = await post(ORDER, { id: owned }, BOB);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.data.order).toBeNull();
  });

  it("drops the user's cached orders when they place an order, and the order's entry when it is cancelled", async () => {
    const before = (await ordersOf(ALICE_ID, ALICE)).orders;
    expect(await statements(() => ordersOf(ALICE_ID, ALICE))).toBe(0); // cached

    const placed = await placeOrder(ALICE);
    expect(placed.errors).toBeUndefined();
    expect(placed.cacheControl).toBe('no-store');
    const id = placed.data.placeOrder.id as string;

    const after = (await ordersOf(ALICE_ID, ALICE)).orders;
    expect(after.totalCount).toBe(before.totalCount + 1);
    expect(after.edges[0].node).toEqual({ id, status: 'PLACED', user: { id: ALICE_ID } });

    const order = await post(ORDER, { id }, ALICE);
    expect(order.cacheControl).toBe('private, max-age=300');
    expect(order.data.order).toMatchObject({ status: 'PLACED', total: { amount: '10.00', currency: 'INR' } });
    let cached: any;
    expect(await statements(async () => (cached = await post(ORDER, { id }, ALICE)))).toBe(0);
    // The same answer from the cache (from Redis, as JSON, when REDIS_URL is set).
    expect(cached.data).toEqual(order.data);

    expect((await post('mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id }, ALICE)).errors).toBeUndefined();
    expect((await post(ORDER, { id }, ALICE)).data.order.status).toBe('CANCELLED');
    expect((await ordersOf(ALICE_ID, ALICE)).orders.edges[0].node.status).toBe('CANCELLED');
  });
});
