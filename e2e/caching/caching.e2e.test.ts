import { beforeAll, describe, expect, it } from 'vitest';
import { counter, logIn, metricsUrlOf, query, subgraphUrl, type SubgraphName } from '../setup/client.ts';
import { placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';

/** Requests a subgraph has received, from its own /metrics. */
const requestsTo = (name: SubgraphName) => counter(metricsUrlOf(subgraphUrl(name)), 'graphql_requests_total');
const cursorAfter = (n: number) => Buffer.from(`product:${n}`).toString('base64url');

let admin: string;
beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
});

describe('router entity cache', () => {
  it('answers a repeated listing with no fetch to pricing or inventory', async () => {
    const listing = `{ products(first: 6, after: "${cursorAfter(3000)}") { edges { node {
      id name price(region: ME) { amount currency } stock(region: ME) { available } } } } }`;
    const first = await query(listing);
    expect(first.errors).toBeUndefined();
    const before = { pricing: await requestsTo('pricing'), inventory: await requestsTo('inventory') };
    const second = await query(listing);
    expect(second.data).toEqual(first.data);
    expect((await requestsTo('pricing')) - before.pricing).toBe(0);
    expect((await requestsTo('inventory')) - before.inventory).toBe(0);
  });

  it('tells clients how long the whole response may be cached', async () => {
    const listing = await query(`{ products(first: 2, after: "${cursorAfter(3100)}") { edges { node { name stock(region: IN) { available } } } } }`);
    // The lowest maxAge among the fields: stock (30 s).
    expect(listing.headers.get('cache-control')).toMatch(/^public, max-age=([1-9]|[12]\d|30)$/);
    const catalogOnly = await query(`{ products(first: 2, after: "${cursorAfter(3200)}") { edges { node { name category { name } } } } }`);
    expect(catalogOnly.headers.get('cache-control')).toMatch(/^public, max-age=(\d+)$/);
    expect(Number(/max-age=(\d+)/.exec(catalogOnly.headers.get('cache-control')!)![1])).toBeGreaterThan(30);
    const user = await logIn('user30@example.com', 'password');
    const me = await query('{ me { id } }', {}, { token: user.token });
    expect(me.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    const failed = await query('{ products(first: 0) { totalCount } }');
    expect(failed.headers.get('cache-control')).toBe('no-store');
    const mutation = await query('mutation { logIn(email: "user30@example.com", password: "password") { token } }');
    expect(mutation.headers.get('cache-control')).toBe('no-store');
  });

  it('never shows one user the private data of another', async () => {
    const a = await logIn('user31@example.com', 'password');
    const b = await logIn('user32@example.com', 'password');
    const mine = '{ me { id email orders(first: 3) { edges { node { id user { id } } } } } }';
    for (let round = 0; round < 2; round++) {
      for (const [who, email] of [[a, 'user31@example.com'], [b, 'user32@example.com']] as const) {
        const result = await query(mine, {}, { token: who.token });
        expect(result.errors).toBeUndefined();
        expect(result.data.me).toMatchObject({ id: who.userId, email });
        for (const edge of result.data.me.orders.edges) expect(edge.node.user.id).toBe(who.userId);
      }
    }
    const anonymous = await query(mine);
    expect(anonymous.data?.me ?? null).toBeNull();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('serves cached answers with the time they have left, not a fresh TTL', async () => {
    // Expiry itself is proven with a 1-second TTL in router/test (memory and Redis); here the
    // client-facing header counts down as the cached entry ages.
    const stock = '{ product(id: "p3300") { stock(region: SEA) { available } } }';
    const first = await query(stock);
    const maxAge = (r: { headers: Headers }) => Number(/max-age=(\d+)/.exec(r.headers.get('cache-control') ?? '')?.[1]);
    const before = await requestsTo('inventory');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const later = await query(stock);
    expect((await requestsTo('inventory')) - before).toBe(0);
    expect(later.data).toEqual(first.data);
    expect(maxAge(later)).toBeLessThanOrEqual(maxAge(first) - 2);
    expect(maxAge(later)).toBeGreaterThan(0);
  });

  it('never caches a response with errors', async () => {
    await query('{ products(first: 0) { totalCount } }');
    const before = await requestsTo('products');
    const again = await query('{ products(first: 0) { totalCount } }');
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await requestsTo('products')) - before).toBe(1);
  });
});

describe('invalidation', () => {
  it('shows stock taken by an order on the very next query', async () => {
    await setStock(admin, 'p3400', 9);
    expect((await stockOf('p3400')).available).toBe(9); // now cached
    expect((await stockOf('p3400')).available).toBe(9);
    const buyer = await logIn('user33@example.com', 'password');
    const order = await placeOrder(buyer.token, uniqueKey('cache'), [{ productId: 'p3400', quantity: 2 }]);
    expect(order.errors).toBeUndefined();
    expect((await stockOf('p3400')).available).toBe(7);
  });

  it('shows a new list price on the very next query', async () => {
    const read = async () => (await query('{ product(id: "p3401") { listPrice(region: US) { amount } } }')).data.product.listPrice.amount;
    await query('mutation { setListPrice(productId: "p3401", region: US, amount: "10.00") { id } }', {}, { token: admin });
    expect(await read()).toBe('10.00');
    expect(await read()).toBe('10.00'); // cached for 60 s
    await query('mutation { setListPrice(productId: "p3401", region: US, amount: "12.34") { id } }', {}, { token: admin });
    expect(await read()).toBe('12.34');
  });

  it("shows a new order in the buyer's history on the very next query", async () => {
    await setStock(admin, 'p3402', 5);
    const buyer = await logIn('user34@example.com', 'password');
    const history = async () => (await query('{ me { orders(first: 1) { totalCount edges { node { id } } } } }', {}, { token: buyer.token })).data.me.orders;
    const before = await history();
    expect(await history()).toEqual(before);
    const placed = await placeOrder(buyer.token, uniqueKey('history'), [{ productId: 'p3402', quantity: 1 }]);
    const after = await history();
    expect(after.totalCount).toBe(before.totalCount + 1);
    expect(after.edges[0].node.id).toBe(placed.data.placeOrder.id);
  });
});
