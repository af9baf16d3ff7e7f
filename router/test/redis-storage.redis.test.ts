import { afterAll, describe, expect, it, vi } from 'vitest';
import { requireTestRedis } from '@shop/platform/testing';
import { createRouterMetrics, deleteKeys, storageFor, testPrefix, total } from './support/harness.ts';

/**
 * The router's Redis storage with keys and tags that land in many slots: on a Redis Cluster (the
 * `unit-redis-cluster` project) one MGET, one pipeline or one script across slots is refused
 * (CROSSSLOT, or ioredis's "same slots allocation group"), which the storage would take for a
 * failing Redis and answer every lookup as a miss. On a single Redis the same cases hold.
 * Real-services tier only.
 */
const redis = requireTestRedis();
const prefix = testPrefix();
afterAll(() => deleteKeys(redis.target, prefix));

/** Enough keys and tags that a 3-primary cluster has every primary and many slots among them. */
const KEYS = Array.from({ length: 40 }, (_, i) => `e:pricing:Product:k${i}`);
const tagOf = (i: number) => `Product:p${i}`;

describe('router cache storage on Redis, keys across slots', () => {
  it('writes entries and reads them back in one getMany, and invalidates by tags on any slot', async () => {
    const metrics = createRouterMetrics();
    const storage = storageFor(redis.target, metrics, prefix, 2_000);
    try {
      // The storage's client fails fast until it is connected: wait until a write lands.
      await vi.waitFor(
        async () => {
          await storage.setMany([{ key: 'warm-up', value: 'v', ttlMs: 60_000, tags: [] }]);
          expect(await storage.getMany(['warm-up'])).toEqual(['v']);
        },
        { timeout: 10_000 },
      );
      const errorsBefore = await total(metrics.cacheErrors);
      await storage.setMany(KEYS.map((key, i) => ({ key, value: `v${i}`, ttlMs: 60_000, tags: [tagOf(i), 'Product'] })));
      // Every entry, in the order asked, with a miss in between for a key never written.
      expect(await storage.getMany([...KEYS, 'never-written'])).toEqual([...KEYS.map((_, i) => `v${i}`), undefined]);

      // Tags of entries on different slots (and primaries) in one invalidation.
      await storage.invalidate([tagOf(0), tagOf(1), tagOf(2), tagOf(3)]);
      const values = await storage.getMany(KEYS);
      expect(values.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
      expect(values.slice(4)).toEqual(KEYS.slice(4).map((_, i) => `v${i + 4}`));

      // The bare type tag lists every entry: all go, wherever they are.
      await storage.invalidate(['Product']);
      expect(await storage.getMany(KEYS)).toEqual(KEYS.map(() => undefined));
      expect(await total(metrics.cacheErrors)).toBe(errorsBefore);
      // The invalidated tags' sets are gone with their entries (the others expire by themselves).
      const sets = await redis.scan(`${prefix}tag:*`);
      for (const tag of ['Product', tagOf(0), tagOf(1), tagOf(2), tagOf(3)]) expect(sets).not.toContain(`${prefix}tag:${tag}`);
      expect(sets).toContain(`${prefix}tag:${tagOf(4)}`);
    } finally {
      await storage.close();
    }
  });
});
