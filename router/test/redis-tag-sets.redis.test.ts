import { afterAll, describe, expect, it, vi } from 'vitest';
import { requireTestRedis } from '@shop/platform/testing';
import { delay } from './support/fake-subgraph.ts';
import { createRouterMetrics, deleteKeys, storageFor, testPrefix } from './support/harness.ts';

/**
 * A tag's key set in Redis (redis-storage.ts) does not keep the keys of entries that expired while
 * the set itself is kept alive by new writes: a bare type tag (`Product`, on every listing and
 * search) would otherwise grow by one member per distinct search until a product is created.
 * Real-services tier only.
 */
const testRedis = requireTestRedis();
const prefix = testPrefix();
afterAll(() => deleteKeys(testRedis.target, prefix));

describe('Redis tag sets', () => {
  it('drop members whose entry expired as new members come in', async () => {
    const storage = storageFor(testRedis.target, createRouterMetrics(), prefix, 2_000);
    const redis = testRedis.client();
    try {
      const write = (key: string, ttlMs: number) => storage.setMany([{ key, value: 'v', ttlMs, tags: ['Product'] }]);
      // The storage's client fails fast until it is connected: wait until a write lands.
      await vi.waitFor(
        async () => {
          await storage.setMany([{ key: 'warm-up', value: 'v', ttlMs: 50, tags: [] }]);
          expect(await redis.exists(`${prefix}warm-up`)).toBe(1);
        },
        { timeout: 5_000 },
      );
      for (let i = 0; i < 100; i++) await write(`short-${i}`, 50);
      await delay(200); // every one of them has expired
      for (let i = 0; i < 100; i++) await write(`long-${i}`, 60_000);
      const members = await redis.zrange(`${prefix}tag:Product`, '0', '-1');
      // Every live entry is still reachable by its tag; the 100 expired ones are gone (the set is
      // scored by expiry: without pruning it would hold all 200).
      for (let i = 0; i < 100; i++) expect(members).toContain(`${prefix}long-${i}`);
      expect(members).toHaveLength(100);
      await storage.invalidate(['Product']);
      // One key per EXISTS: on a cluster the entry and the set are in different slots.
      expect(await redis.exists(`${prefix}long-0`)).toBe(0);
      expect(await redis.exists(`${prefix}tag:Product`)).toBe(0);
    } finally {
      redis.disconnect();
      await storage.close();
    }
  });
});
