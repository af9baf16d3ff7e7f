import { afterAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { delay } from './support/fake-subgraph.ts';
import { createRouterMetrics, deleteKeys, storageFor, testPrefix } from './support/harness.ts';

/**
 * A tag's key set in Redis (redis-storage.ts) does not keep the keys of entries that expired while
 * the set itself is kept alive by new writes: a bare type tag (`Product`, on every listing and
 * search) would otherwise grow by one member per distinct search until a product is created.
 * Real-services tier only.
 */
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) throw new Error('REDIS_URL must be set: run these with npm run test:services');

const prefix = testPrefix();
afterAll(() => deleteKeys(REDIS_URL, prefix));

describe('Redis tag sets', () => {
  it('drop members whose entry expired as new members come in', async () => {
    const storage = storageFor(REDIS_URL, createRouterMetrics(), prefix, 2_000);
    const redis = new Redis(REDIS_URL);
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
      const members = await redis.smembers(`${prefix}t:Product`);
      // Every live entry is still reachable by its tag; of the 100 expired ones most are gone
      // (without pruning the set would hold all 200; with it, about 110).
      for (let i = 0; i < 100; i++) expect(members).toContain(`${prefix}long-${i}`);
      expect(members.length).toBeLessThan(150);
      await storage.invalidate(['Product']);
      expect(await redis.exists(`${prefix}long-0`, `${prefix}t:Product`)).toBe(0);
    } finally {
      redis.disconnect();
      await storage.close();
    }
  });
});
