import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { redisProxy, requireTestRedis, testCache } from '@shop/platform/testing';
import { ADMIN, newProductId, post, PROMOTIONS, startReplicas, statements, type Replicas } from './caching-helpers.ts';

/**
 * The pricing subgraph cache on a real Redis: replicas sharing Query entries through it, and an
 * invalidation it missed while paused. Real-services tier only: the cases that need no Redis are
 * in caching.test.ts. Its promotion (in SEA) is on a product of its own (newProductId).
 */
const testRedis = requireTestRedis();

let replicas: Replicas | undefined;
let app: FastifyInstance;
let replica: FastifyInstance;
let cache: Replicas['cache'];
let build: Replicas['build'];

/**
 * Waits until a server's Redis client has connected (until then the cache fails open and fills
 * nothing): until a listing it read, in a region no test here uses, is in Redis.
 */
async function connected(server: FastifyInstance, region: string) {
  await vi.waitFor(
    async () => {
      await post(server, PROMOTIONS(region));
      if ((await cache.keys(`pricing:Query.promotions~*${region}*`)).length === 0) throw new Error(`no ${region} listing in Redis yet`);
    },
    { timeout: 10_000, interval: 100 },
  );
}

beforeAll(async () => {
  replicas = await startReplicas();
  ({ app, replica, cache, build } = replicas);
  await connected(app, 'US');
  await connected(replica, 'IN');
});
afterAll(() => replicas?.close());

describe('subgraph cache', () => {
  it('shares Query entries between replicas through Redis', async () => {
    let first: any;
    expect(await statements(app, async () => (first = await post(app, PROMOTIONS('ME'))))).toBeGreaterThan(0);
    // The entry is written without holding up the answer: wait until Redis has it.
    await expect.poll(async () => (await cache.keys('pricing:Query.promotions~*ME*')).length).toBe(1);
    let second: any;
    expect(await statements(replica, async () => (second = await post(replica, PROMOTIONS('ME'))))).toBe(0);
    expect(second.data).toEqual(first.data);
  });

  /** The admin starts a 5% promotion in `region` on a product of its own; resolves with its id. */
  const createPromotion = async (server: Parameters<typeof post>[0], region: string, label: string): Promise<string> => {
    const created = await post(
      server,
      'mutation($input: CreatePromotionInput!) { createPromotion(input: $input) { id } }',
      {
        input: {
          name: `Caching test ${label} ${Date.now()}`,
          region,
          discountPercent: 5,
          endsAt: new Date(Date.now() + 86_400_000).toISOString(),
          productIds: [newProductId()],
        },
      },
      ADMIN,
    );
    expect(created.errors).toBeUndefined();
    return created.data.createPromotion.id as string;
  };

  it('drops the Redis entries a write through another replica invalidates, and caches them again', async () => {
    // The ME listing is in Redis (the test above): the replica answers it without SQL.
    expect(await statements(replica, () => post(replica, PROMOTIONS('ME')))).toBe(0);
    const id = await createPromotion(app, 'ME', 'shared');
    // The writer dropped the entry from Redis before answering (on a cluster: reference sets and
    // entries on many slots, one pipeline per primary): the replica reads the new list at once.
    let listed: { id: string }[] = [];
    expect(await statements(replica, async () => (listed = (await post(replica, PROMOTIONS('ME'))).data.promotions))).toBeGreaterThan(0);
    expect(listed.map((p) => p.id)).toContain(id);
    // Had the invalidation failed in Redis, Query fields would bypass it from now on (every read
    // with SQL); it did not: the new list is cached again and shared.
    await expect.poll(() => statements(app, () => post(app, PROMOTIONS('ME'))), { timeout: 5_000 }).toBe(0);
    expect(await cache.keys('pricing:Query.promotions~*ME*')).toHaveLength(1);
  });

  // Single Redis only (the `unit-redis` project): the proxy stands in front of one node, and a
  // cluster client learns every node's own address from the cluster and would go around it.
  if (!testRedis.cluster)
    it('applies an invalidation Redis missed while paused once it answers again, serving no stale entry meanwhile', async () => {
      const proxy = await redisProxy(testRedis.target);
      const own = testCache();
      const server = await build({ SEED: 'false', ...own.env, REDIS_URL: proxy.url, CACHE_TIMEOUT_MS: '100' });
      try {
        const listed = async () => {
          const res = await post(server, PROMOTIONS('SEA'));
          expect(res.errors).toBeUndefined();
          return (res.data.promotions as { id: string }[]).map((p) => p.id);
        };
        // Read until the list is in Redis (the client may still be connecting; fills are not waited for).
        await expect
          .poll(
            async () => {
              await listed();
              return (await own.keys('pricing:Query.promotions~*SEA*')).length;
            },
            { timeout: 5_000 },
          )
          .toBe(1);

        // Redis stops answering; a promotion starts. Its invalidation cannot reach Redis.
        proxy.pause();
        const id = await createPromotion(server, 'SEA', 'paused');
        // Meanwhile Query fields bypass Redis (it may hold what the tag should have dropped).
        expect(await listed()).toContain(id);

        // Redis answers again, still holding the list without the promotion: the missed
        // invalidation is applied before the store is used again, so it is never served.
        proxy.resume();
        let latest: string[] = [];
        await expect
          .poll(async () => statements(server, async () => (latest = await listed())), { timeout: 10_000, interval: 200 })
          .toBe(0);
        expect(latest).toContain(id);
      } finally {
        await server.close();
        await proxy.close();
        await own.cleanup();
      }
    });
});
