import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALL_TAGS } from '@shop/events';
import { createInvalidationBus, invalidationChannel } from '@shop/platform';
import type { RouterCacheHandle } from '../src/cache/create.ts';
import { ListedEntityTypes } from '../src/cache/listed-types.ts';
import type { RouterMetrics } from '../src/metrics.ts';
import { routerOn } from './support/cache-failure.ts';
import {
  delay,
  representationsOf,
  startFakeSubgraph,
  type FakeHandler,
  type FakeSubgraph,
  type ReceivedRequest,
} from './support/fake-subgraph.ts';
import {
  CountingStorage,
  createRouterMetrics,
  dataSourceFor,
  deleteKeys,
  ENTITIES,
  logger,
  product,
  productId,
  REDIS_URL,
  RouterCache,
  storageFor,
  testPrefix,
  total,
} from './support/harness.ts';
import { TINY_SUPERGRAPH } from './support/tiny-router.ts';

const alice = { userId: 'u-alice', scopes: [] };
const bob = { userId: 'u-bob', scopes: [] };

/** Pricing-like answers: price = the number in the id × 100 (+ a per-test offset to see refetches). */
let priceOffset = 0;
const priceOf = (id: string) => Number(id.split('-').at(-1)) * 100 + priceOffset;
const entities = (request: ReceivedRequest) => representationsOf(request).map((r) => ({ price: priceOf(r.id) }));
const publicPrices =
  (maxAge = 60): FakeHandler =>
  (request) => ({ body: { data: { _entities: entities(request) } }, cacheControl: `public, max-age=${maxAge}` });

const ROOT = 'query Listing__products__0($first:Int){products(first:$first){__typename id name}}';
const rootProducts: FakeHandler = (request) => ({
  body: {
    data: {
      products: Array.from({ length: request.variables.first ?? 2 }, (_, i) => ({
        __typename: 'Product',
        id: productId(i + 1),
        name: `Product ${i + 1}`,
      })),
    },
  },
  cacheControl: 'public, max-age=600',
});

const storages: [kind: string, redisUrl: string | undefined][] = [
  ['memory', undefined],
  ...(REDIS_URL ? [['redis', REDIS_URL] as [string, string]] : []),
];
const prefixes: string[] = [];
afterAll(async () => {
  if (REDIS_URL) for (const prefix of prefixes) await deleteKeys(REDIS_URL, prefix);
});

describe.each(storages)('router entity cache on %s', (_kind, redisUrl) => {
  let subgraph: FakeSubgraph;
  let metrics: RouterMetrics;
  let storage: CountingStorage;
  let cache: RouterCache;
  let source: ReturnType<typeof dataSourceFor>;

  beforeEach(async () => {
    priceOffset = 0;
    const prefix = testPrefix();
    prefixes.push(prefix);
    metrics = createRouterMetrics();
    storage = new CountingStorage(storageFor(redisUrl, metrics, prefix));
    // What the gateway hands the stage on every supergraph load (stages/entity-cache.ts).
    cache = new RouterCache({ storage, metrics, listedTypes: new ListedEntityTypes(readFileSync(TINY_SUPERGRAPH, 'utf8')) });
    subgraph = await startFakeSubgraph(publicPrices());
    source = dataSourceFor(subgraph.url, metrics, cache);
    // A Redis client is connecting until its first `ready`: wait, or the first lookups count as outages.
    if (redisUrl) {
      await vi.waitFor(
        async () => {
          const before = await total(metrics.cacheErrors);
          await storage.getMany(['warm-up']);
          expect(await total(metrics.cacheErrors)).toBe(before);
        },
        { timeout: 5_000 },
      );
      metrics.cacheErrors.reset();
    }
    storage.reads = 0;
  });

  afterEach(async () => {
    await cache.close();
    await source.close();
    await subgraph.close();
  });

  const prices = (response: { data?: Record<string, any> | null }) => (response.data!._entities as { price: number }[]).map((e) => e.price);

  it('looks every representation up in one read, fetches only the misses in one request, and merges them in order', async () => {
    const first = await source.run(ENTITIES, { representations: [product(1), product(2)] });
    expect(prices(first.response)).toEqual([100, 200]);
    await cache.idle();

    subgraph.requests.length = 0;
    storage.reads = 0;
    const second = await source.run(ENTITIES, { representations: [product(1), product(3), product(2), product(4)] });
    expect(prices(second.response)).toEqual([100, 300, 200, 400]);
    expect(storage.reads).toBe(1);
    expect(subgraph.requests).toHaveLength(1);
    expect(representationsOf(subgraph.requests[0]!)).toEqual([product(3), product(4)]);
    await cache.idle();

    subgraph.requests.length = 0;
    const third = await source.run(ENTITIES, { representations: [product(4), product(3), product(1)] });
    expect(prices(third.response)).toEqual([400, 300, 100]);
    expect(subgraph.requests).toHaveLength(0);
    expect(await total(metrics.cacheHits, { layer: 'router', type: 'Product' })).toBe(5);
    expect(await total(metrics.cacheMisses, { layer: 'router', type: 'Product' })).toBe(4);
  });

  it('keys entities by selection and other variables, not by the name the gateway gave the fetch', async () => {
    await source.run(ENTITIES, { representations: [product(1)] });
    await cache.idle();
    const renamed = ENTITIES.replace('Listing__pricing__1', 'Detail__pricing__2');
    await source.run(renamed, { representations: [product(1)] });
    expect(subgraph.requests).toHaveLength(1);
    const otherSelection =
      'query($representations:[_Any!]!,$region:Region){_entities(representations:$representations){...on Product{price(region:$region)}}}';
    await source.run(otherSelection, { representations: [product(1)], region: 'US' });
    await cache.idle();
    await source.run(otherSelection, { representations: [product(1)], region: 'EU' });
    await source.run(otherSelection, { representations: [product(1)], region: 'US' });
    expect(subgraph.requests).toHaveLength(3);
  });

  it('caches root fetches by query and variables', async () => {
    subgraph.handle(rootProducts);
    const first = await source.run(ROOT, { first: 2 });
    await cache.idle();
    const again = await source.run(ROOT, { first: 2 });
    expect(again.response.data).toEqual(first.response.data);
    expect(subgraph.requests).toHaveLength(1);
    await source.run(ROOT, { first: 3 });
    expect(subgraph.requests).toHaveLength(2);
    expect(await total(metrics.cacheHits, { type: 'root:pricing' })).toBe(1);
  });

  it('keeps an entry as long as the subgraph’s max-age and fetches again after', async () => {
    subgraph.handle(publicPrices(1));
    await source.run(ENTITIES, { representations: [product(1)] });
    await cache.idle();
    await source.run(ENTITIES, { representations: [product(1)] });
    expect(subgraph.requests).toHaveLength(1);
    await delay(1_100);
    priceOffset = 7;
    const later = await source.run(ENTITIES, { representations: [product(1)] });
    expect(prices(later.response)).toEqual([107]);
    expect(subgraph.requests).toHaveLength(2);
  });

  it('stores nothing marked no-store, without Cache-Control, or from a response with errors', async () => {
    const replies: FakeHandler[] = [
      (request) => ({ body: { data: { _entities: entities(request) } }, cacheControl: 'no-store' }),
      (request) => ({ body: { data: { _entities: entities(request) } } }),
      (request) => ({
        body: {
          data: { _entities: [...entities(request).slice(0, -1), null] },
          errors: [{ message: 'price unavailable', path: ['_entities', 1, 'price'] }],
        },
        cacheControl: 'public, max-age=60',
      }),
    ];
    for (const reply of replies) {
      subgraph.handle(reply);
      subgraph.requests.length = 0;
      for (let i = 0; i < 2; i++) {
        await source.run(ENTITIES, { representations: [product(1), product(2)] });
        await cache.idle();
      }
      expect(subgraph.requests).toHaveLength(2);
    }
    subgraph.handle(() => ({
      body: { data: { products: null }, errors: [{ message: 'boom', path: ['products'] }] },
      cacheControl: 'public, max-age=600',
    }));
    subgraph.requests.length = 0;
    for (let i = 0; i < 2; i++) {
      const { cacheControl } = await source.run(ROOT, { first: 1 });
      expect(cacheControl).toBe('public, max-age=600'); // the fetch's own policy; the plugin makes errors no-store
      await cache.idle();
    }
    expect(subgraph.requests).toHaveLength(2);
  });

  it('never serves PRIVATE data to another user or to an anonymous viewer', async () => {
    const QUERY = 'query($representations:[_Any!]!){_entities(representations:$representations){...on User{email}}}';
    subgraph.handle((request) => ({
      body: {
        data: { _entities: representationsOf(request).map(() => ({ email: `${request.headers['x-user-id'] ?? 'nobody'}@example.com` })) },
      },
      cacheControl: 'private, max-age=60',
    }));
    const user = { __typename: 'User', id: productId(9) };
    const email = async (viewer: typeof alice | null) =>
      (await source.run(QUERY, { representations: [user] }, viewer)).response.data?._entities[0].email;

    expect(await email(alice)).toBe('u-alice@example.com');
    await cache.idle();
    expect(await email(alice)).toBe('u-alice@example.com');
    expect(subgraph.requests).toHaveLength(1); // alice's own entry

    expect(await email(bob)).toBe('u-bob@example.com');
    expect(await email(null)).toBe('nobody@example.com');
    await cache.idle();
    expect(await email(null)).toBe('nobody@example.com');
    expect(subgraph.requests).toHaveLength(4); // bob and the anonymous viewer never got alice's
    const served = await source.run(QUERY, { representations: [user] }, alice);
    expect(served.cacheControl).toMatch(/^private, max-age=\d+$/);
    expect(subgraph.requests).toHaveLength(4);

    // What is private is about its viewer: `User:<viewer>` drops it (a new order empties a cached history).
    await cache.invalidate(['User:u-alice']);
    expect(await email(alice)).toBe('u-alice@example.com');
    expect(subgraph.requests).toHaveLength(5);
  });

  it('drops entries by tag: the entity’s own and any object it shows', async () => {
    await source.run(ENTITIES, { representations: [product(1), product(2)] });
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 });
    await cache.idle();
    expect(subgraph.requests).toHaveLength(2);

    await cache.invalidate([`Product:${productId(1)}`]);
    expect(await total(metrics.cacheInvalidations, { layer: 'router', type: 'Product' })).toBe(1);
    priceOffset = 1;
    subgraph.handle(publicPrices());
    const after = await source.run(ENTITIES, { representations: [product(1), product(2)] });
    expect(prices(after.response)).toEqual([101, 200]); // p2 still cached
    expect(representationsOf(subgraph.requests[2]!)).toEqual([product(1)]);
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 }); // the listing showed p1: dropped too
    expect(subgraph.requests).toHaveLength(4);
  });

  it('tags a root-field list with its entities’ bare type, and `_entities` answers only with Type:id', async () => {
    await source.run(ENTITIES, { representations: [product(1), product(2)] });
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 });
    const SINGLE = 'query Detail__pricing__0($id:ID!){product(id:$id){__typename id name}}';
    subgraph.handle((request) => ({
      body: { data: { product: { __typename: 'Product', id: request.variables.id, name: 'One' } } },
      cacheControl: 'public, max-age=600',
    }));
    await source.run(SINGLE, { id: productId(1) });
    await cache.idle();
    expect(subgraph.requests).toHaveLength(3);

    // A product created or discontinued: its event carries the bare type.
    await cache.invalidate(['Product']);
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 }); // the listing showed which products exist: dropped
    expect(subgraph.requests).toHaveLength(4);
    subgraph.handle(publicPrices());
    await source.run(ENTITIES, { representations: [product(1), product(2)] }); // each product's own entry stays
    subgraph.handle(() => ({ body: { data: { product: null } }, cacheControl: 'public, max-age=600' }));
    const single = await source.run(SINGLE, { id: productId(1) }); // one product is no listing: stays
    expect(single.response.data?.product).toEqual({ __typename: 'Product', id: productId(1), name: 'One' });
    expect(subgraph.requests).toHaveLength(4);
  });

  it('tags an empty listing (or one without __typename) with the bare type its selection lists, a single product not', async () => {
    const emptyOrUntyped: FakeHandler = (request) => ({
      body: {
        data: { products: Array.from({ length: request.variables.first ?? 0 }, (_, i) => ({ id: productId(i + 1), name: 'No typename' })) },
      },
      cacheControl: 'public, max-age=600',
    });
    const LISTING = 'query Listing__products__0($first:Int){products(first:$first){id name}}';
    const SINGLE = 'query Detail__products__0($id:ID!){product(id:$id){id name}}';
    subgraph.handle(emptyOrUntyped);
    expect((await source.run(LISTING, { first: 0 })).response.data).toEqual({ products: [] });
    await source.run(LISTING, { first: 2 });
    subgraph.handle((request) => ({
      body: { data: { product: { id: request.variables.id, name: 'One' } } },
      cacheControl: 'public, max-age=600',
    }));
    await source.run(SINGLE, { id: productId(1) });
    await cache.idle();
    subgraph.handle(emptyOrUntyped);
    await source.run(LISTING, { first: 0 });
    await source.run(LISTING, { first: 2 });
    expect(subgraph.requests).toHaveLength(3); // all three stored

    // A product created: the empty page and the untyped one are dropped, though their data named no Product.
    await cache.invalidate(['Product']);
    await source.run(LISTING, { first: 0 });
    await source.run(LISTING, { first: 2 });
    expect(subgraph.requests).toHaveLength(5);
    subgraph.handle(() => ({ body: { data: { product: null } }, cacheControl: 'public, max-age=600' }));
    const single = await source.run(SINGLE, { id: productId(1) }); // one product is no listing: stays
    expect(single.response.data?.product).toEqual({ id: productId(1), name: 'One' });
    expect(subgraph.requests).toHaveLength(5);
  });

  it('tags a root fetch’s entities without __typename by the id its selection has there, by the bare type where it has none', async () => {
    const SINGLE = 'query Detail__products__0($id:ID!){product(id:$id){id name}}';
    const UNKEYED = 'query Detail__products__0($id:ID!){product(id:$id){name}}';
    const ALIASED = 'query Detail__products__0($id:ID!){item:product(id:$id){key:id name}}';
    const PAGE = 'query Listing__products__0($first:Int){products(first:$first){id name}}';
    let name = 'Old';
    // No __typename anywhere, as the planner asks a root field it needs no join for.
    const untyped: FakeHandler = ({ query, variables }) => {
      const id = variables.id as string;
      const data =
        query === SINGLE
          ? { product: { id, name } }
          : query === UNKEYED
            ? { product: { name } }
            : query === ALIASED
              ? { item: { key: id, name } }
              : query === PAGE
                ? { products: [1, 2].map((n) => ({ id: productId(n), name: `${name} ${n}` })) }
                : { _entities: entities({ query, variables, headers: {} }) };
      return { body: { data }, cacheControl: 'public, max-age=600' };
    };
    subgraph.handle(untyped);
    const all = async () => {
      const answers = [];
      for (const query of [SINGLE, UNKEYED, ALIASED]) answers.push((await source.run(query, { id: productId(1) })).response.data);
      answers.push((await source.run(PAGE, { first: 2 })).response.data);
      answers.push((await source.run(ENTITIES, { representations: [product(1)] })).response.data);
      return answers;
    };
    await all();
    await cache.idle();
    expect(subgraph.requests).toHaveLength(5);
    await all();
    expect(subgraph.requests).toHaveLength(5); // all five stored

    // An update of p1 (`Product:p1`, here without the bare type its event also carries).
    name = 'New';
    await cache.invalidate([`Product:${productId(1)}`]);
    const [single, unkeyed, aliased, page] = await all();
    expect(single).toEqual({ product: { id: productId(1), name: 'New' } });
    expect(aliased).toEqual({ item: { key: productId(1), name: 'New' } });
    expect(page).toEqual({
      products: [
        { id: productId(1), name: 'New 1' },
        { id: productId(2), name: 'New 2' },
      ],
    });
    // Without `id` the entry could name no product: only the bare type drops it.
    expect(unkeyed).toEqual({ product: { name: 'Old' } });
    expect(subgraph.requests.slice(5).map((r) => r.query)).toEqual([SINGLE, ALIASED, PAGE, ENTITIES]);

    // The bare type: the entry without `id` and the page go; the keyed single entries and `_entities` stay.
    await cache.idle();
    await cache.invalidate(['Product']);
    expect((await all())[1]).toEqual({ product: { name: 'New' } });
    expect(subgraph.requests.slice(9).map((r) => r.query)).toEqual([UNKEYED, PAGE]);
  });

  it('drops everything on ALL_TAGS (the stream lost events), and stores nothing fetched before it', async () => {
    await source.run(ENTITIES, { representations: [product(1), product(2)] });
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 });
    await cache.idle();
    expect(subgraph.requests).toHaveLength(2);

    subgraph.handle(async (request) => {
      await delay(150);
      return publicPrices()(request);
    });
    const slow = source.run(ENTITIES, { representations: [product(3)] });
    await delay(50);
    await cache.invalidate([ALL_TAGS]);
    expect(await total(metrics.cacheInvalidations, { layer: 'router', type: ALL_TAGS })).toBe(1);
    await slow;
    await cache.idle();

    subgraph.handle(publicPrices());
    subgraph.requests.length = 0;
    await source.run(ENTITIES, { representations: [product(1), product(2), product(3)] });
    expect(subgraph.requests).toHaveLength(1);
    expect(representationsOf(subgraph.requests[0]!)).toEqual([product(1), product(2), product(3)]);
    subgraph.handle(rootProducts);
    await source.run(ROOT, { first: 2 });
    expect(subgraph.requests).toHaveLength(2);
    await cache.idle();
    // What was fetched after it is stored again as usual.
    await source.run(ROOT, { first: 2 });
    await source.run(ENTITIES, { representations: [product(1), product(2), product(3)] });
    expect(subgraph.requests).toHaveLength(2);
  });

  it('does not store what was fetched before an invalidation of it arrived', async () => {
    subgraph.handle(async (request) => {
      await delay(150);
      return publicPrices()(request);
    });
    const slow = source.run(ENTITIES, { representations: [product(1)] });
    await delay(50);
    await cache.invalidate([`Product:${productId(1)}`]);
    await slow;
    await cache.idle();
    await source.run(ENTITIES, { representations: [product(1)] });
    expect(subgraph.requests).toHaveLength(2);
  });

  it('shares one identical fetch in flight, and gives each caller its own copy', async () => {
    subgraph.handle(async (request) => {
      await delay(100);
      return publicPrices()(request);
    });
    const [a, b, c] = await Promise.all([
      source.run(ENTITIES, { representations: [product(1)] }, alice),
      source.run(ENTITIES, { representations: [product(1)] }, alice),
      source.run(ENTITIES, { representations: [product(1)] }, bob),
    ]);
    expect(subgraph.requests).toHaveLength(2); // alice's two became one; bob's is his own
    expect(await total(metrics.cacheDedupes, { layer: 'router', type: 'Product' })).toBe(1);
    expect(prices(a.response)).toEqual([100]);
    expect(b.response.data).toEqual(a.response.data);
    expect(b.response.data).not.toBe(a.response.data);
    a.response.data!._entities[0].price = -1; // the gateway mutates what it receives
    expect(prices(b.response)).toEqual([100]);
    expect(prices(c.response)).toEqual([100]);
  });

  it('never caches or deduplicates a mutation, and marks it no-store', async () => {
    const MUTATION = 'mutation($id:ID!){setPrice(id:$id,price:5){price}}';
    subgraph.handle(async () => {
      await delay(50);
      return { body: { data: { setPrice: { price: 5 } } }, cacheControl: 'public, max-age=60' };
    });
    const [one] = await Promise.all([source.run(MUTATION, { id: productId(1) }), source.run(MUTATION, { id: productId(1) })]);
    await cache.idle();
    await source.run(MUTATION, { id: productId(1) });
    expect(subgraph.requests).toHaveLength(3);
    expect(one.cacheControl).toBe('no-store');
  });

  it('reports the remaining TTL and scope of what it served, for the client’s Cache-Control', async () => {
    const fetched = await source.run(ENTITIES, { representations: [product(1)] });
    expect(fetched.cacheControl).toBe('public, max-age=60');
    await cache.idle();
    subgraph.handle(publicPrices(5));
    const mixed = await source.run(ENTITIES, { representations: [product(1), product(2)] });
    expect(mixed.cacheControl).toBe('public, max-age=5'); // lowest of the hit (≤ 60) and the fetch (5)
    await cache.idle();
    const served = await source.run(ENTITIES, { representations: [product(1)] });
    expect(served.cacheControl).toMatch(/^public, max-age=(59|60)$/);
  });

  it('points errors of a narrowed fetch at the representations the gateway sent', async () => {
    await source.run(ENTITIES, { representations: [product(1)] });
    await cache.idle();
    subgraph.handle((request) => ({
      body: {
        data: { _entities: [null, ...entities(request).slice(1)] },
        errors: [{ message: 'no price', path: ['_entities', 0, 'price'] }],
      },
      cacheControl: 'public, max-age=60',
    }));
    const { response } = await source.run(ENTITIES, { representations: [product(1), product(2), product(3)] });
    expect(response.data?._entities).toEqual([{ price: 100 }, null, { price: 300 }]);
    expect(response.errors?.[0]?.path).toEqual(['_entities', 1, 'price']);
  });
});

describe.each(storages)('two routers on %s', (_kind, redisUrl) => {
  const handles: RouterCacheHandle[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const handle of handles.splice(0)) await handle.close();
  });

  /** Two routers on one prefix over one subgraph, both serving p1 and p2 from their caches. */
  async function twoRouters() {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const subgraph = await startFakeSubgraph(publicPrices());
    closers.push(() => subgraph.close());
    const routers = [0, 1].map(() => {
      const router = routerOn(subgraph, redisUrl, prefix);
      handles.push(router.handle);
      closers.push(router.source.close);
      return router;
    });
    const [a, b] = routers as [(typeof routers)[0], (typeof routers)[0]];
    const representations = [product(1), product(2)];
    const fetch = async (router: typeof a) => {
      const result = await router.source.run(ENTITIES, { representations });
      await router.handle.cache.idle();
      return result.response.data?._entities;
    };
    if (redisUrl) {
      await vi.waitFor(
        async () => {
          await fetch(a);
          expect(await total(a.metrics.cacheHits)).toBeGreaterThan(0); // A's client is connected
        },
        { timeout: 5_000 },
      );
      await vi.waitFor(
        async () => {
          await fetch(b);
          expect(await total(b.metrics.cacheHits)).toBeGreaterThan(0); // …and B reads what A stored
        },
        { timeout: 5_000 },
      );
    } else {
      await fetch(a);
      await fetch(b);
      await fetch(a);
      await fetch(b);
    }
    const fetchesBefore = subgraph.requests.length;
    await fetch(a);
    await fetch(b);
    expect(subgraph.requests.length).toBe(fetchesBefore);
    return { prefix, subgraph, a, b, fetch };
  }

  it('drops entries on both when a tag is published on the bus', async () => {
    const { prefix, a, b, fetch } = await twoRouters();
    const publisher = createInvalidationBus({ redisUrl, logger, channel: invalidationChannel(prefix) });
    closers.push(() => publisher.close());
    priceOffset = 3;
    // Until the subscriber connections are up a message can be missed: publish until both heard it.
    await vi.waitFor(
      async () => {
        await publisher.publish([`Product:${productId(1)}`]);
        expect(await total(a.metrics.cacheInvalidations)).toBeGreaterThan(0);
        expect(await total(b.metrics.cacheInvalidations)).toBeGreaterThan(0);
      },
      { timeout: 5_000 },
    );
    expect(await fetch(b)).toEqual([{ price: 103 }, { price: 200 }]);
    priceOffset = 0;
  });

  it('on ALL_TAGS one replica drops everything it would serve, even what the shared store still holds for the others', async () => {
    const { subgraph, a, b, fetch } = await twoRouters();
    await a.handle.cache.invalidate([ALL_TAGS]);
    // Entries written in the millisecond of the gap are disowned too (they may hold data from before it).
    await delay(2);
    priceOffset = 5;
    const before = subgraph.requests.length;
    // B heard no gap: it still serves what it (or, on Redis, A) stored.
    expect(await fetch(b)).toEqual([{ price: 100 }, { price: 200 }]);
    expect(subgraph.requests.length).toBe(before);
    // A serves nothing stored before: on Redis the entries are still there, written before the gap.
    expect(await fetch(a)).toEqual([{ price: 105 }, { price: 205 }]);
    expect(subgraph.requests.length).toBe(before + 1);
    // What A fetched since is stored and served again.
    expect(await fetch(a)).toEqual([{ price: 105 }, { price: 205 }]);
    expect(subgraph.requests.length).toBe(before + 1);
    priceOffset = 0;
  });
});
