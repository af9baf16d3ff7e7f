import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '@shop/platform';
import { MemoryStorage } from '../src/cache/memory-storage.ts';
import { OperationShapes } from '../src/cache/operations.ts';
import { RedisStorage } from '../src/cache/redis-storage.ts';
import { entryBytes } from '../src/cache/sizes.ts';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES, readManifests } from '../src/persisted/manifests.ts';
import { RedisApqCache } from '../src/persisted/apq-store.ts';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { total } from './support/harness.ts';
import { copyManifests, manifestOf } from './support/persisted.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * Issue 12, "Memory, in bytes" and F2: every store a client can fill is bounded in bytes, an entry
 * over the per-entry maximum is not stored, and variables an operation does not declare never make
 * a response cache entry. In production mode, where F2 was found.
 */

/** A name of 1,000 characters: a page of `first` products is about `first` KB of JSON. */
const LONG = 'x'.repeat(1_000);

let products: FakeSubgraph;
let pricing: FakeSubgraph;

beforeAll(async () => {
  products = await startFakeSubgraph(({ query, variables }) => {
    const first = Number(/first:\s*(\d+)/.exec(query)?.[1] ?? variables.first ?? 2);
    const list = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `${i + 1} ${LONG}` }));
    return { body: { data: { products: list } }, cacheControl: 'public, max-age=600' };
  });
  pricing = await startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) })) } },
    cacheControl: 'public, max-age=600',
  }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
});

const PRODUCTION = { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', ROUTER_CACHE: 'true', RATE_LIMIT: 'false' };

function post(router: Router, body: object) {
  return router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

const responseHits = (router: Router) => total(router.metrics.cacheHits, { layer: 'router', type: 'response' });

/** Whether the response cache answers this request (it is sent twice: the first may store it). */
async function servedFromCache(router: Router, body: object): Promise<boolean> {
  const before = await responseHits(router);
  const response = await post(router, body);
  expect(response.statusCode).toBe(200);
  return (await responseHits(router)) > before;
}

describe('F2: unused variables never make a response cache entry (production)', () => {
  let router: Router;
  beforeAll(async () => {
    router = await buildTinyRouter({ products, pricing }, PRODUCTION);
  });
  afterAll(() => router?.close());

  const PAGE = '{ products(first: 100) { id name price } }';

  it('answers a stream of distinct unused variables without storing one entry per request', async () => {
    for (let i = 0; i < 100; i++) {
      const response = await post(router, { query: PAGE, variables: { nonce: i } });
      expect(response.statusCode).toBe(200);
      expect(response.json().data.products).toHaveLength(100);
    }
    // None of them was stored: sent again, each runs the pipeline (before: a hit per nonce, 100 entries of ~100 KB).
    expect(await servedFromCache(router, { query: PAGE, variables: { nonce: 0 } })).toBe(false);
    expect(await servedFromCache(router, { query: PAGE, variables: { nonce: 99 } })).toBe(false);
    // The same page without them is one entry, answered from the cache the second time.
    expect(await servedFromCache(router, { query: PAGE })).toBe(false);
    expect(await servedFromCache(router, { query: PAGE })).toBe(true);
    expect(await servedFromCache(router, { query: PAGE, variables: {} })).toBe(true);
  });

  it('does not store an answer whose request adds an undeclared variable to declared ones', async () => {
    const query = 'query Page($first: Int) { products(first: $first) { id } }';
    expect(await servedFromCache(router, { query, variables: { first: 3, extra: 'x' } })).toBe(false);
    expect(await servedFromCache(router, { query, variables: { first: 3, extra: 'x' } })).toBe(false);
    // Declared variables still key entries of their own.
    expect(await servedFromCache(router, { query, variables: { first: 3 } })).toBe(false);
    expect(await servedFromCache(router, { query, variables: { first: 3 } })).toBe(true);
  });
});

describe('the response cache is bounded in bytes (production)', () => {
  let router: Router;
  beforeAll(async () => {
    // Pages of 15–19 products are 31–40 KB counted; 30 products are ~62 KB, over the entry maximum.
    router = await buildTinyRouter(
      { products, pricing },
      { ...PRODUCTION, RESPONSE_CACHE_MAX_BYTES: '100000', CACHE_MAX_ENTRY_BYTES: '50000' },
    );
  });
  afterAll(() => router?.close());

  const PAGE = 'query Page($first: Int) { products(first: $first) { id name } }';

  it('evicts the least recently used entries once the bytes are used up', async () => {
    for (let first = 15; first < 20; first++) expect(await servedFromCache(router, { query: PAGE, variables: { first } })).toBe(false);
    // The newest two fit in 100 KB; the oldest were evicted by size, not by count (10,000 entries).
    expect(await servedFromCache(router, { query: PAGE, variables: { first: 19 } })).toBe(true);
    expect(await servedFromCache(router, { query: PAGE, variables: { first: 18 } })).toBe(true);
    expect(await servedFromCache(router, { query: PAGE, variables: { first: 15 } })).toBe(false);
  });

  it('does not store an answer over the per-entry maximum, and counts it', async () => {
    const skipped = () => total(router.metrics.cacheSkips, { layer: 'router', type: 'response', reason: 'too_large' });
    const before = await skipped();
    expect(await servedFromCache(router, { query: PAGE, variables: { first: 30 } })).toBe(false);
    expect(await servedFromCache(router, { query: PAGE, variables: { first: 30 } })).toBe(false);
    expect(await skipped()).toBe(before + 2);
    // The entity cache has the same per-entry maximum: the 30-product root fetch was not stored either.
    expect(await total(router.metrics.cacheSkips, { layer: 'router', type: 'entity', reason: 'too_large' })).toBeGreaterThan(0);
  });
});

describe('MemoryStorage byte bound', () => {
  const write = (key: string, chars: number, tags: string[] = []) => ({ key, value: 'v'.repeat(chars), ttlMs: 60_000, tags });

  it('keeps the accounted bytes under maxBytes, evicting the least recently used', async () => {
    const storage = new MemoryStorage({ maxEntries: 1_000_000, maxBytes: 100_000, maxEntryBytes: 50_000 });
    for (let i = 0; i < 1_000; i++) await storage.setMany([write(`k${i}`, 5_000, [`Product:p${i}`])]);
    expect(storage.bytes).toBeLessThanOrEqual(100_000);
    expect(storage.size).toBeLessThan(10);
    expect(await storage.getMany(['k0', 'k999'])).toEqual([undefined, 'v'.repeat(5_000)]);
    // The tag index follows evictions: invalidating an evicted entry's tag finds nothing to drop.
    await storage.invalidate(['Product:p0']);
    expect(await storage.getMany(['k999'])).toEqual(['v'.repeat(5_000)]);
  });

  it('stores nothing over maxEntryBytes, drops what the key held, and reports the skip', async () => {
    const skips: string[] = [];
    const storage = new MemoryStorage({
      maxEntries: 100,
      maxBytes: 1_000_000,
      maxEntryBytes: 10_000,
      onSkip: (reason) => skips.push(reason),
    });
    await storage.setMany([write('a', 1_000)]);
    expect(entryBytes('a', 'v'.repeat(5_000))).toBeGreaterThan(10_000);
    await storage.setMany([write('a', 5_000), write('b', 5_000)]);
    expect(await storage.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    expect(skips).toEqual(['too_large', 'too_large']);
    expect(storage.bytes).toBe(0);
  });
});

describe('trusted documents are bounded too', () => {
  it('refuses a manifest file larger than MAX_MANIFEST_BYTES (the load fails, so the last good set is kept)', async () => {
    const copy = await copyManifests();
    try {
      expect((await readManifests(copy.dir)).size).toBeGreaterThan(0);
      const body = `query Huge { products(first: 1) { id } }\n#${'x'.repeat(MAX_MANIFEST_BYTES)}`;
      await mkdir(join(copy.dir, 'huge', MANIFEST_PATH[0]), { recursive: true });
      await writeFile(join(copy.dir, 'huge', ...MANIFEST_PATH), manifestOf([{ name: 'Huge', type: 'query', body }]));
      await expect(readManifests(copy.dir)).rejects.toThrow(/larger than the \d+ bytes a manifest may have/);
    } finally {
      await copy.remove();
    }
  });
});

describe('the per-entry maximum applies to Redis writes', () => {
  /** Records the SETs a pipeline or a client would send, without a Redis. */
  function fakeRedis() {
    const sets: string[] = [];
    const pipeline = { set: (key: string) => sets.push(key), eval: () => undefined, exec: async () => [] };
    const redis = {
      pipeline: () => pipeline,
      set: async (key: string) => {
        sets.push(key);
        return 'OK';
      },
    } as unknown as Redis;
    return { redis, sets };
  }

  it('RedisStorage writes entries up to maxEntryBytes and skips larger ones', async () => {
    const { redis, sets } = fakeRedis();
    const skips: string[] = [];
    const storage = new RedisStorage(redis, {
      prefix: 'p:',
      timeoutMs: 1_000,
      maxEntryBytes: 10_000,
      onError: () => {},
      onSkip: (reason) => skips.push(reason),
    });
    await storage.setMany([
      { key: 'small', value: 'v'.repeat(1_000), ttlMs: 60_000, tags: ['Product:p1'] },
      { key: 'large', value: 'v'.repeat(10_000), ttlMs: 60_000, tags: ['Product:p2'] },
    ]);
    expect(sets).toEqual(['p:small']);
    expect(skips).toEqual(['too_large']);
  });

  it('the APQ store writes nothing its storable check refuses', async () => {
    const { redis, sets } = fakeRedis();
    const cache = new RedisApqCache(redis, {
      prefix: 'p:',
      timeoutMs: 1_000,
      ttlSeconds: 60,
      onError: () => {},
      storable: (value) => value.length <= 100,
    });
    await cache.set('apq:a', '{ __typename }');
    await cache.set('apq:b', `#${'x'.repeat(200)}\n{ __typename }`);
    expect(sets).toEqual(['p:apq:a']);
  });
});

describe('the entity cache remembers operation texts within a byte bound', () => {
  it('holds at most 8 MiB of subgraph operation texts however large and many they are', () => {
    const shapes = new OperationShapes();
    for (let i = 0; i < 200; i++) {
      // A 100 KB comment per text: 200 distinct texts would be 40 MB counted.
      const shape = shapes.of(`query Q${i} { products(first: ${i}) { id } }\n#${'x'.repeat(100_000)}`);
      expect(shape.operation).toBe('query');
    }
    expect(shapes.bytes).toBeGreaterThan(0);
    expect(shapes.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
