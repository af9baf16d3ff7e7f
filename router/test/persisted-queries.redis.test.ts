import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@shop/platform';
import { requireTestRedis } from '@shop/platform/testing';
import { createRouterMetrics } from '../src/metrics.ts';
import { createApqStore } from '../src/persisted/apq-store.ts';
import { deleteKeys, testPrefix } from './support/harness.ts';
import { codes, persisted, sha256, startRouter, type TestRouter } from './support/persisted.ts';

/** APQ registrations on the real Redis, shared by replicas. Real-services tier only. */
const testRedis = requireTestRedis();

describe('automatic persisted queries on Redis', () => {
  const prefix = testPrefix();
  let a: TestRouter;
  let b: TestRouter;
  beforeAll(async () => {
    const env = { ...testRedis.env, CACHE_KEY_PREFIX: prefix, SAFELIST_MODES: '*=allow', CACHE_TIMEOUT_MS: '1000' };
    a = await startRouter(env);
    b = await startRouter(env);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await deleteKeys(testRedis.target, prefix);
  });

  it('a registration on one replica is a hit on another, stored under <prefix>apq:<sha256> with an expiry', async () => {
    const query = `query Shared { products(first: 1) { id } }`;
    const hash = sha256(query);
    expect(codes(await b.post({ extensions: persisted(hash) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const redis = testRedis.client();
    try {
      // Apollo writes the registration without awaiting it, and the router's client connects in the
      // background (a write before that is dropped: fail open), so register until it is stored.
      await expect
        .poll(
          async () => {
            expect((await a.post({ query, extensions: persisted(hash) }, 'web')).body.data.products).toEqual([{ id: 'p1' }]);
            return redis.get(`${prefix}apq:${hash}`);
          },
          { timeout: 5_000, interval: 100 },
        )
        .toBe(query);
      expect(await redis.ttl(`${prefix}apq:${hash}`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    const hit = await b.post({ extensions: persisted(hash) }, 'web');
    expect(hit.body).toEqual({ data: { products: [{ id: 'p1' }] } });
    expect(await b.outcomes({ client: 'web', outcome: 'hit' })).toBe(1);
  });

  it('stores no document over MAX_DOCUMENT_BYTES in Redis: the router refuses it, and the store would not write it', async () => {
    const query = `#${'x'.repeat(1_900_000)}\n{ __typename }`;
    const hash = sha256(query);
    expect(codes(await a.post({ query, extensions: persisted(hash) }, 'web'))).toEqual(['DOCUMENT_TOO_LARGE']);
    const metrics = createRouterMetrics();
    const store = createApqStore({
      redisUrl: testRedis.target,
      cacheKeyPrefix: prefix,
      cacheTimeoutMs: 1_000,
      maxEntries: 10,
      maxBytes: 1_000_000,
      maxDocumentBytes: 1_000,
      ttlSeconds: 60,
      logger: createLogger('apq-test', 'silent'),
      metrics,
    });
    const redis = testRedis.client();
    try {
      await expect
        .poll(
          async () => {
            await store.cache.set('apq:small', '{ __typename }');
            return redis.get(`${prefix}apq:small`);
          },
          { timeout: 5_000, interval: 100 },
        )
        .toBe('{ __typename }');
      await store.cache.set('apq:large', `#${'x'.repeat(1_000)}\n{ __typename }`);
      // One key per EXISTS: on a cluster the two are in different slots.
      expect(await redis.exists(`${prefix}apq:large`)).toBe(0);
      expect(await redis.exists(`${prefix}apq:${hash}`)).toBe(0);
      expect((await metrics.cacheSkips.get()).values.find((v) => v.labels.type === 'apq')?.value).toBe(1);
    } finally {
      redis.disconnect();
      await store.close();
    }
  });
});
