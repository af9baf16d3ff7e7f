import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { ADMIN_USER_ID, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, metricValue, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * PRIVATE data in the subgraph cache: a user's orders are cached per user, never served to
 * anyone else, and dropped when that user places or cancels an order. Runs on memory, and on
 * Redis when the run sets REDIS_URL (`order(id)` entries then live in Redis). Orders are placed
 * only for u13, whom no other test counts. Pricing and inventory are played by a small HTTP
 * server that prices everything and always has stock.
 */
const U13 = asUser('u13');
const U14 = asUser('u14');
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const cache = testCache();

let app: FastifyInstance;
let dependencies: Server;

beforeAll(async () => {
  dependencies = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, any> };
      const data = query.includes('quote')
        ? { quote: (variables.productIds as string[]).map((productId) => ({ productId, unitPrice: { amount: '10.00', currency: 'INR' } })) }
        : query.includes('reserveStock')
          ? { reserveStock: { id: variables.reservationId, status: 'HELD' } }
          : { releaseStock: { id: variables.reservationId, status: 'RELEASED' } };
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((resolve) => dependencies.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(dependencies.address() as AddressInfo).port}/graphql`;
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: TEST_ROUTER_SECRET, ORDERS_DATABASE_URL: process.env.ORDERS_DATABASE_URL, PRICING_URL: url, INVENTORY_URL: url, ...cache.env }),
    seedSize: SMALL_SEED,
  });
});
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => dependencies?.close(resolve));
  await cache.cleanup();
});

async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables }, headers });
  return { status: response.statusCode, cacheControl: response.headers['cache-control'], ...(response.json() as { data?: any; errors?: any[] }) };
}

async function statements(call: () => Promise<unknown>) {
  const before = await metricValue(app, 'db_queries_total');
  await call();
  return (await metricValue(app, 'db_queries_total')) - before;
}

const ORDERS = ENTITIES_QUERY('... on User { id orders(first: 5) { totalCount edges { node { id status user { id } } } } }');
const ordersOf = async (userId: string, headers: Record<string, string>) => {
  const res = await post(ORDERS, { representations: [{ __typename: 'User', id: userId }] }, headers);
  return { ...res, orders: res.data?._entities?.[0]?.orders };
};
const ORDER = 'query($id: ID!) { order(id: $id) { id status createdAt total { amount currency } user { id } } }';

describe('PRIVATE data in the subgraph cache', () => {
  it('is cached per user: each sees only their own, from the cache the second time', async () => {
    const first13 = await ordersOf('u13', U13);
    const first14 = await ordersOf('u14', U14);
    expect(first13.errors).toBeUndefined();
    expect(first13.cacheControl).toBe('private, max-age=60');
    expect(first13.orders.edges.length).toBeGreaterThan(0);
    for (const edge of first13.orders.edges) expect(edge.node.user.id).toBe('u13');
    for (const edge of first14.orders.edges) expect(edge.node.user.id).toBe('u14');

    let again: any;
    expect(await statements(async () => (again = await ordersOf('u13', U13)))).toBe(0);
    expect(again.orders).toEqual(first13.orders);
    expect(await statements(async () => (again = await ordersOf('u14', U14)))).toBe(0);
    expect(again.orders).toEqual(first14.orders);
  });

  it("never serves one user's cached entry to another, nor to an anonymous caller", async () => {
    await ordersOf('u13', U13); // cached for u13
    const other = await ordersOf('u13', U14);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.orders).toBeUndefined();
    const anonymous = await ordersOf('u13', {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.cacheControl).toBe('no-store');
    // An admin may read them, under an entry of the admin's own: it costs SQL the first time.
    let admin: any;
    expect(await statements(async () => (admin = await ordersOf('u13', ADMIN)))).toBeGreaterThan(0);
    expect(admin.orders).toEqual((await ordersOf('u13', U13)).orders);

    const owned = (await ordersOf('u13', U13)).orders.edges[0].node.id as string;
    expect((await post(ORDER, { id: owned }, U13)).data.order.user.id).toBe('u13'); // cached for u13
    const refused = await post(ORDER, { id: owned }, U14);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.data.order).toBeNull();
  });

  it("drops the user's cached orders when they place an order, and the order's entry when it is cancelled", async () => {
    const before = (await ordersOf('u13', U13)).orders;
    expect(await statements(() => ordersOf('u13', U13))).toBe(0); // cached

    const placed = await post(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
      { input: { idempotencyKey: `caching-${Date.now()}`, region: 'IN', lines: [{ productId: 'p3', quantity: 1 }] } },
      U13,
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.cacheControl).toBe('no-store');
    const id = placed.data.placeOrder.id as string;

    const after = (await ordersOf('u13', U13)).orders;
    expect(after.totalCount).toBe(before.totalCount + 1);
    expect(after.edges[0].node).toEqual({ id, status: 'PLACED', user: { id: 'u13' } });

    const order = await post(ORDER, { id }, U13);
    expect(order.cacheControl).toBe('private, max-age=300');
    expect(order.data.order).toMatchObject({ status: 'PLACED', total: { amount: '10.00', currency: 'INR' } });
    let cached: any;
    expect(await statements(async () => (cached = await post(ORDER, { id }, U13)))).toBe(0);
    // The same answer from the cache (from Redis, as JSON, when REDIS_URL is set).
    expect(cached.data).toEqual(order.data);

    expect((await post('mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id }, U13)).errors).toBeUndefined();
    expect((await post(ORDER, { id }, U13)).data.order.status).toBe('CANCELLED');
    expect((await ordersOf('u13', U13)).orders.edges[0].node.status).toBe('CANCELLED');
  });
});
