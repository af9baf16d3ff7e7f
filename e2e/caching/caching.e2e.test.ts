import { beforeAll, describe, expect, it } from 'vitest';
import { counter, logIn, metricsUrlOf, query, routerUrl, subgraphUrl, type SubgraphName } from '../setup/client.ts';
import { placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';

/** Requests a subgraph has received, from its own /metrics. */
const requestsTo = (name: SubgraphName) => counter(metricsUrlOf(subgraphUrl(name)), 'graphql_requests_total');
const cursorAfter = (n: number) => Buffer.from(`product:${n}`).toString('base64url');

/** One router cache series (`cache_hits_total`, layer router, type `Product` or `response`). */
async function routerCacheCounter(name: 'cache_hits_total' | 'cache_misses_total', type: string): Promise<number> {
  const text = await (await fetch(metricsUrlOf(routerUrl()))).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes('layer="router"') && line.includes(`type="${type}"`))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/**
 * A member of the router's Cache-Status header (RFC 9211, outside production), e.g.
 * `router-response; fwd=miss; stored` or `router-entity; hit; detail="hits=4 misses=0"`.
 */
interface CacheLayer {
  hit: boolean;
  fwd: string | undefined;
  stored: boolean;
  collapsed: boolean;
  /** From `detail="hits=H misses=M"` (router-entity only). */
  hits: number | undefined;
  misses: number | undefined;
}

/** The Cache-Status members in the order the header lists them (client side first), by cache name. */
function cacheStatus(result: { headers: Headers }): { names: string[]; layer: (name: string) => CacheLayer | undefined } {
  const header = result.headers.get('cache-status') ?? '';
  const layers = new Map<string, CacheLayer>();
  // Members are separated by commas outside quoted strings; parameters by semicolons.
  for (const member of header.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const [name, ...params] = member.split(';').map((part) => part.trim());
    if (!name) continue;
    const layer: CacheLayer = { hit: false, fwd: undefined, stored: false, collapsed: false, hits: undefined, misses: undefined };
    for (const param of params) {
      const equals = param.indexOf('=');
      const key = equals < 0 ? param : param.slice(0, equals);
      const value = equals < 0 ? '' : param.slice(equals + 1).replace(/^"|"$/g, '');
      if (key === 'hit') layer.hit = true;
      else if (key === 'fwd') layer.fwd = value;
      else if (key === 'stored') layer.stored = true;
      else if (key === 'collapsed') layer.collapsed = true;
      else if (key === 'detail') {
        layer.hits = Number(/\bhits=(\d+)/.exec(value)?.[1]);
        layer.misses = Number(/\bmisses=(\d+)/.exec(value)?.[1]);
      }
    }
    layers.set(name, layer);
  }
  return { names: [...layers.keys()], layer: (name) => layers.get(name) };
}

/** Asserts the answer came through the entity cache, every fetch of it a hit, past a response-cache miss. */
function expectEntityCacheAnswered(result: { headers: Headers }) {
  const status = cacheStatus(result);
  const shown = `Cache-Status: ${result.headers.get('cache-status')}`;
  expect(status.layer('router-response'), shown).toMatchObject({ hit: false, fwd: 'miss' });
  const entity = status.layer('router-entity');
  expect(entity, shown).toMatchObject({ hit: true, misses: 0 });
  expect(entity!.hits).toBeGreaterThan(0);
}

let admin: string;
beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
});

describe('router entity cache', () => {
  // The whole-response cache answers a repeat of the same request before the entity cache is
  // reached, so these repeats change the operation name: a new response-cache key, while the
  // subgraph fetches (named after the operation, cached without the name) are the same ones.
  it('answers a repeated listing from the entity cache, with no fetch to pricing or inventory', async () => {
    const selection = `products(first: 6, after: "${cursorAfter(3000)}") { edges { node {
      id name price(region: ME) { amount currency } stock(region: ME) { available } } } }`;
    const first = await query(`query EntityListing { ${selection} }`);
    expect(first.errors).toBeUndefined();
    expect(cacheStatus(first).layer('router-response')).toMatchObject({ hit: false, fwd: 'miss', stored: true });
    expect(cacheStatus(first).layer('router-entity')).toBeDefined();
    const before = {
      pricing: await requestsTo('pricing'),
      inventory: await requestsTo('inventory'),
      products: await requestsTo('products'),
      productHits: await routerCacheCounter('cache_hits_total', 'Product'),
      responseHits: await routerCacheCounter('cache_hits_total', 'response'),
    };
    const second = await query(`query EntityListingAgain { ${selection} }`);
    expect(second.data).toEqual(first.data);
    expectEntityCacheAnswered(second);
    expect((await requestsTo('pricing')) - before.pricing).toBe(0);
    expect((await requestsTo('inventory')) - before.inventory).toBe(0);
    expect((await requestsTo('products')) - before.products).toBe(0); // the root list too
    // Six products, each from pricing and from inventory: at least 12 entity hits, no response hit.
    expect((await routerCacheCounter('cache_hits_total', 'Product')) - before.productHits).toBeGreaterThanOrEqual(12);
    expect((await routerCacheCounter('cache_hits_total', 'response')) - before.responseHits).toBe(0);
  });

  it('tells clients how long the whole response may be cached', async () => {
    const listing = await query(
      `{ products(first: 2, after: "${cursorAfter(3100)}") { edges { node { name stock(region: IN) { available } } } } }`,
    );
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
    // A new operation name each round: the second round is answered by the entity cache (its
    // private entries), not by the whole-response cache.
    const mine = (round: number) => `query Mine${round} { me { id email orders(first: 3) { edges { node { id user { id } } } } } }`;
    for (let round = 0; round < 2; round++) {
      for (const [who, email] of [
        [a, 'user31@example.com'],
        [b, 'user32@example.com'],
      ] as const) {
        const result = await query(mine(round), {}, { token: who.token });
        expect(result.errors).toBeUndefined();
        expect(result.data.me).toMatchObject({ id: who.userId, email });
        for (const edge of result.data.me.orders.edges) expect(edge.node.user.id).toBe(who.userId);
        if (round === 1) expectEntityCacheAnswered(result);
      }
    }
    const anonymous = await query(mine(2));
    expect(anonymous.data?.me ?? null).toBeNull();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('serves cached answers with the time they have left, not a fresh TTL', async () => {
    // Expiry itself is proven with a 1-second TTL in router/test (memory and Redis); here the
    // client-facing header counts down as the cached entry ages.
    // Another operation name later, so the entity cache answers (the response cache is below).
    const stock = (name: string) => `query ${name} { product(id: "p3300") { stock(region: SEA) { available } } }`;
    const first = await query(stock('StockNow'));
    const maxAge = (r: { headers: Headers }) => Number(/max-age=(\d+)/.exec(r.headers.get('cache-control') ?? '')?.[1]);
    const before = await requestsTo('inventory');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const later = await query(stock('StockLater'));
    expectEntityCacheAnswered(later);
    expect((await requestsTo('inventory')) - before).toBe(0);
    expect(later.data).toEqual(first.data);
    expect(maxAge(later)).toBeLessThanOrEqual(maxAge(first) - 2);
    expect(maxAge(later)).toBeGreaterThan(0);
  });

  it('never caches a response with errors', async () => {
    const failed = await query('{ products(first: 0) { totalCount } }');
    expect(cacheStatus(failed).layer('router-response')).toMatchObject({ hit: false, stored: false });
    const before = await requestsTo('products');
    const again = await query('{ products(first: 0) { totalCount } }');
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(cacheStatus(again).layer('router-response')).toMatchObject({ hit: false, fwd: 'miss', stored: false });
    expect(cacheStatus(again).layer('router-entity')).toMatchObject({ hit: false, fwd: 'miss' });
    expect((await requestsTo('products')) - before).toBe(1);
  });
});

describe('router response cache', () => {
  it('answers the same request again from the whole-response cache, before any other layer', async () => {
    const listing = `query ResponseListing { products(first: 4, after: "${cursorAfter(3500)}") { edges { node {
      id name price(region: IN) { amount } stock(region: IN) { available } } } } }`;
    const first = await query(listing);
    expect(first.errors).toBeUndefined();
    expect(cacheStatus(first).layer('router-response')).toMatchObject({ hit: false, fwd: 'miss', stored: true });
    const subgraphs = ['products', 'pricing', 'inventory'] as const;
    const requests = async () => Promise.all(subgraphs.map((name) => requestsTo(name)));
    const before = await requests();
    const entityHitsBefore = await routerCacheCounter('cache_hits_total', 'Product');
    const responseHitsBefore = await routerCacheCounter('cache_hits_total', 'response');
    const second = await query(listing);
    expect(second.data).toEqual(first.data);
    // Answered here: no layer after it was consulted, no subgraph was asked.
    expect(cacheStatus(second).names).toEqual(['router-response']);
    expect(cacheStatus(second).layer('router-response')).toMatchObject({ hit: true, fwd: undefined });
    expect((await requests()).map((n, i) => n - before[i]!)).toEqual([0, 0, 0]);
    expect((await routerCacheCounter('cache_hits_total', 'response')) - responseHitsBefore).toBe(1);
    expect((await routerCacheCounter('cache_hits_total', 'Product')) - entityHitsBefore).toBe(0);
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
    const history = async () =>
      (await query('{ me { orders(first: 1) { totalCount edges { node { id } } } } }', {}, { token: buyer.token })).data.me.orders;
    const before = await history();
    expect(await history()).toEqual(before);
    const placed = await placeOrder(buyer.token, uniqueKey('history'), [{ productId: 'p3402', quantity: 1 }]);
    const after = await history();
    expect(after.totalCount).toBe(before.totalCount + 1);
    expect(after.edges[0].node.id).toBe(placed.data.placeOrder.id);
  });
});
