import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { testCache } from '@shop/platform/testing';
import { relayOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, metricValue, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

let app: FastifyInstance;

// Seeded order oI belongs to user u(1 + (I-1) % users): o1 is u1's, o2 is u2's, whatever the seed size.
const U1 = asUser('u1');
const U2 = asUser('u2');
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);

const ORDER_FIELDS = `id status region createdAt user { id }
  lines { product { id } quantity unitPrice { amount currency } lineTotal { amount currency } }
  total { amount currency }`;

const cents = (amount: string) => {
  expect(amount).toMatch(/^\d+\.\d{2}$/);
  return Number(amount.replace('.', ''));
};

function expectConsistentOrder(order: any) {
  expect(order.id).toMatch(/^o\d+$/);
  expect(['PLACED', 'SHIPPED', 'DELIVERED', 'CANCELLED']).toContain(order.status);
  const currency = { IN: 'INR', SEA: 'SGD', ME: 'AED', US: 'USD' }[order.region as string];
  expect(currency).toBeDefined();
  expect(new Date(order.createdAt).toISOString()).toBe(order.createdAt);
  expect(order.lines.length).toBeGreaterThanOrEqual(1);
  let sum = 0;
  for (const line of order.lines) {
    expect(line.product.id).toMatch(/^p[1-9]\d*$/);
    expect(Number(line.product.id.slice(1))).toBeLessThanOrEqual(SMALL_SEED.products);
    expect(line.quantity).toBeGreaterThanOrEqual(1);
    expect(line.unitPrice.currency).toBe(currency);
    expect(line.lineTotal.currency).toBe(currency);
    expect(cents(line.unitPrice.amount)).toBeGreaterThan(0);
    expect(cents(line.lineTotal.amount)).toBe(cents(line.unitPrice.amount) * line.quantity);
    sum += cents(line.lineTotal.amount);
  }
  expect(order.total.currency).toBe(currency);
  expect(cents(order.total.amount)).toBe(sum);
}

const USER_ORDERS = (args: string) =>
  ENTITIES_QUERY(`... on User { id orders${args} {
  totalCount edges { cursor node { id createdAt user { id } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`);

const ORDERS_PAGE = `query($representations: [_Any!]!, $first: Int, $after: String) {
  _entities(representations: $representations) { ... on User { orders(first: $first, after: $after) {
    totalCount edges { cursor node { id createdAt } } pageInfo { hasNextPage hasPreviousPage endCursor } } } } }`;

function expectClean(res: unknown) {
  expect(JSON.stringify(res)).not.toMatch(/SELECT|orders\.orders|stack|\bat /);
}

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: TEST_ROUTER_SECRET, ORDERS_DATABASE_URL: process.env.ORDERS_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
  // Cases here count statements: the outbox relay's poll (a statement a second) would add to them
  // at random. The events are checkout-payments.test.ts's and lifecycle.test.ts's business.
  await relayOf(app).stop();
});

/** Statements `call` sends. A scrape of /metrics sends its own (the outbox gauge counts pending events): an empty call's are taken off. */
async function statements(call: () => Promise<unknown>) {
  const counted = async (work: () => Promise<unknown>) => {
    const before = await metricValue(app, 'db_queries_total');
    await work();
    return (await metricValue(app, 'db_queries_total')) - before;
  };
  const scrape = await counted(async () => {});
  return (await counted(call)) - scrape;
}
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

describe('orders subgraph', () => {
  it('resolves Order through _entities for its owner, with consistent lines and totals', async () => {
    const res = await gql(
      app,
      ENTITIES_QUERY(`... on Order { ${ORDER_FIELDS} }`),
      {
        representations: [
          { __typename: 'Order', id: 'o1' },
          { __typename: 'Order', id: 'o999999' },
          { __typename: 'Order', id: 'not-an-id' },
        ],
      },
      U1,
    );
    expect(res.errors).toBeUndefined();
    const [order, missing, malformed] = res.data!._entities;
    expect(order).toMatchObject({ __typename: 'Order', id: 'o1', user: { id: 'u1' } });
    expectConsistentOrder(order);
    expect(missing).toBeNull();
    expect(malformed).toBeNull();
  });

  it("refuses another user's Order entity with FORBIDDEN and an anonymous caller with UNAUTHENTICATED", async () => {
    const representations = [
      { __typename: 'Order', id: 'o1' },
      { __typename: 'Order', id: 'o2' },
    ];
    const asOther = await gql(app, ENTITIES_QUERY('... on Order { id total { amount } }'), { representations }, U2);
    expect(asOther.data!._entities[0]).toBeNull();
    expect(asOther.data!._entities[1]).toMatchObject({ id: 'o2' });
    expect(asOther.errors).toHaveLength(1);
    expect(asOther.errors![0]!.extensions?.code).toBe('FORBIDDEN');
    // Mercurius's JIT reports list indices as strings ("0"); compare by value.
    expect(asOther.errors![0]!.path?.map(String)).toEqual(['_entities', '0']);
    expectClean(asOther);

    const anonymous = await gql(app, ENTITIES_QUERY('... on Order { id }'), { representations });
    expect(anonymous.data!._entities).toEqual([null, null]);
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('lets an admin resolve any Order entity', async () => {
    const res = await gql(
      app,
      ENTITIES_QUERY(`... on Order { ${ORDER_FIELDS} }`),
      {
        representations: [
          { __typename: 'Order', id: 'o1' },
          { __typename: 'Order', id: 'o2' },
        ],
      },
      ADMIN,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((o: any) => o.user.id)).toEqual(['u1', 'u2']);
    for (const order of res.data!._entities) expectConsistentOrder(order);
  });

  it('resolves User.orders through _entities for the user themself, newest first', async () => {
    const res = await gql(app, USER_ORDERS('(first: 100)'), { representations: [{ __typename: 'User', id: 'u1' }] }, U1);
    expect(res.errors).toBeUndefined();
    const [user] = res.data!._entities;
    expect(user.id).toBe('u1');
    expect(user.orders.totalCount).toBeGreaterThanOrEqual(3);
    expect(user.orders.edges).toHaveLength(user.orders.totalCount);
    expect(user.orders.edges.map((e: any) => e.node.id)).toContain('o1');
    for (const edge of user.orders.edges) expect(edge.node.user.id).toBe('u1');
    const times = user.orders.edges.map((e: any) => Date.parse(e.node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(user.orders.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it('guards User.orders: FORBIDDEN for another user, UNAUTHENTICATED when anonymous, allowed for an admin', async () => {
    const representations = [{ __typename: 'User', id: 'u1' }];
    const other = await gql(app, USER_ORDERS(''), { representations }, U2);
    expect(other.data!._entities).toEqual([null]);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expectClean(other);

    const anonymous = await gql(app, USER_ORDERS(''), { representations });
    expect(anonymous.data!._entities).toEqual([null]);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const admin = await gql(
      app,
      USER_ORDERS('(first: 2)'),
      { representations: [...representations, { __typename: 'User', id: 'u2' }] },
      ADMIN,
    );
    expect(admin.errors).toBeUndefined();
    const [u1, u2] = admin.data!._entities;
    expect(u1.orders.edges).toHaveLength(2);
    expect(u1.orders.pageInfo.hasNextPage).toBe(true);
    for (const edge of u1.orders.edges) expect(edge.node.user.id).toBe('u1');
    for (const edge of u2.orders.edges) expect(edge.node.user.id).toBe('u2');
    expect(u2.orders.edges.length).toBeGreaterThan(0);
  });

  it('pages User.orders with cursors: no overlap, newest first, ties broken by id', async () => {
    const representations = [{ __typename: 'User', id: 'u1' }];
    const all = await gql(app, ORDERS_PAGE, { representations, first: 100 }, U1);
    const expected = all.data!._entities[0].orders.edges.map((e: any) => e.node);
    const seen: any[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: any = await gql(app, ORDERS_PAGE, { representations, first: 1, after }, U1);
      expect(res.errors).toBeUndefined();
      const { edges, pageInfo, totalCount } = res.data._entities[0].orders;
      expect(totalCount).toBe(expected.length);
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...edges.map((e: any) => e.node));
      pages += 1;
      if (!pageInfo.hasNextPage) break;
      expect(pageInfo.endCursor).toBe(edges.at(-1).cursor);
      after = pageInfo.endCursor;
      expect(pages).toBeLessThan(100);
    }
    expect(seen).toEqual(expected);
    expect(new Set(seen.map((o) => o.id)).size).toBe(seen.length);
    // Newest first; equal timestamps (the seed makes some) in descending id order.
    for (let i = 1; i < seen.length; i++) {
      const [prev, cur] = [seen[i - 1], seen[i]];
      const order = Date.parse(prev.createdAt) - Date.parse(cur.createdAt) || Number(prev.id.slice(1)) - Number(cur.id.slice(1));
      expect(order).toBeGreaterThan(0);
    }
    const tied = seen.some((o, i) => i > 0 && o.createdAt === seen[i - 1].createdAt);
    expect(tied).toBe(true);
  });

  it('answers Query.order for the owner and an admin, and refuses everyone else', async () => {
    const query = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
    const owner = await gql(app, query, { id: 'o1' }, U1);
    expect(owner.errors).toBeUndefined();
    expect(owner.data!.order).toMatchObject({ id: 'o1', user: { id: 'u1' } });
    expectConsistentOrder(owner.data!.order);

    const admin = await gql(app, query, { id: 'o1' }, ADMIN);
    expect(admin.data!.order).toEqual(owner.data!.order);

    const cases: [string, Record<string, string>, string][] = [
      ['o1', U2, 'FORBIDDEN'],
      ['o1', {}, 'UNAUTHENTICATED'],
      ['o999999', U1, 'NOT_FOUND'],
      ['o999999', ADMIN, 'NOT_FOUND'],
      ['DROP TABLE', U1, 'BAD_USER_INPUT'],
      ['o0', U1, 'BAD_USER_INPUT'],
      ['o01', U1, 'BAD_USER_INPUT'],
    ];
    for (const [id, headers, code] of cases) {
      const res = await gql(app, query, { id }, headers);
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ order: null });
      expect({ id, code: res.errors?.[0]?.extensions?.code }).toEqual({ id, code });
      expectClean(res);
    }
  });

  it('refuses subscriptions with BAD_REQUEST: the router serves them as Query.order', async () => {
    for (const [query, variables] of [
      ['subscription($id: ID!) { orderUpdated(id: $id) { id status } }', { id: 'o1' }],
      ['subscription { myOrderUpdates { id } }', {}],
    ] as const) {
      const res = await gql(app, query, variables, U1);
      expect(res.data).toBeNull();
      expect(res.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/^Subscriptions are served by the router/),
        extensions: { code: 'BAD_REQUEST' },
      });
    }
  });

  it.each([
    ['first: 0', { first: 0 }],
    ['first: 101', { first: 101 }],
    ['first: -5', { first: -5 }],
    ['a malformed cursor', { after: 'garbage!' }],
    ['a cursor from another list', { after: Buffer.from('product:3').toString('base64url') }],
    ['a cursor with an impossible date', { after: Buffer.from('order:2024-02-30T10:00:00.000Z|5').toString('base64url') }],
    ['a cursor without an id', { after: Buffer.from('order:2024-02-03T10:00:00.000Z').toString('base64url') }],
    ['a cursor with a non-numeric id', { after: Buffer.from('order:2024-02-03T10:00:00.000Z|x1').toString('base64url') }],
  ])('rejects User.orders with %s as BAD_USER_INPUT', async (_name, args) => {
    const res = await gql(app, ORDERS_PAGE, { representations: [{ __typename: 'User', id: 'u1' }], ...args }, U1);
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expectClean(res);
  });

  it('batches Order entities: the statement count does not grow with the number of representations', async () => {
    const run = (n: number) => statements(() => entities(n));
    const entities = async (n: number) => {
      // Seeded orders only (cycling when n exceeds them): other test files may add orders to a shared database.
      const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'Order', id: `o${(i % SMALL_SEED.orders) + 1}` }));
      const res = await gql(app, ENTITIES_QUERY(`... on Order { ${ORDER_FIELDS} }`), { representations }, ADMIN);
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toHaveLength(n);
      const found = res.data!._entities.filter(Boolean);
      expect(found.length).toBe(n);
      for (const order of found) expect(order.lines.length).toBeGreaterThan(0);
    };
    const five = await run(5);
    const hundred = await run(100);
    expect(five).toBe(2);
    expect(hundred).toBe(five);
  });

  it("batches User.orders pages: 5 and 20 users' pages cost the same statements, cached or not", async () => {
    const run = (n: number) => statements(() => pages(n));
    const pages = async (n: number) => {
      const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'User', id: `u${i + 1}` }));
      // first: 7 — a page size no other test asks for, so the subgraph cache starts cold for it.
      const res = await gql(
        app,
        ENTITIES_QUERY('... on User { id orders(first: 7) { totalCount edges { node { id lines { quantity } total { amount } } } } }'),
        { representations },
        ADMIN,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toHaveLength(n);
      for (const user of res.data!._entities) expect(user.orders.edges.length).toBeGreaterThan(0);
    };
    expect(await run(5)).toBe(3); // pages, counts, lines
    // Five of the twenty pages are cached: the other fifteen still cost one statement per loader.
    // The cached pages' lines load in a batch of their own — a hit does not wait for the misses
    // to come back from SQL — which is one statement more, whatever the number of users.
    expect(await run(20)).toBe(4);
    expect(await run(20)).toBe(1); // all cached: only the lines, which are not cached fields
  });
});
