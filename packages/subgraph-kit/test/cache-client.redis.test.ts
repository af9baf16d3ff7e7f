import { afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '@shop/platform';
import { redisProxy, requireTestRedis } from '@shop/platform/testing';
import { client, disconnectClients } from './cache-client-helpers.ts';

/**
 * The fail-open cache client against a real Redis (directly, and through a proxy that can pause
 * it). Real-services tier only: the cases that need no Redis are in cache-client.test.ts.
 */
const testRedis = requireTestRedis();

const proxies: { close(): Promise<void> }[] = [];
afterEach(async () => {
  disconnectClients();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

const ready = (redis: RedisClient) =>
  new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));

describe('fail-open cache client', () => {
  it('reads back what it wrote, under its key prefix', async () => {
    const { redis, cache, errors } = client(testRedis.target);
    await ready(redis);
    await cache.set('Query.warehouses~{}', '"w1"', 'EX', 60);
    await cache
      .pipeline([
        ['sadd', 'r:Warehouse:w1', 'Query.warehouses~{}'],
        ['expire', 'r:Warehouse:w1', 60],
      ])
      .exec();
    // Writes are not waited for, but run in order on the one connection, before this read.
    expect(await cache.get('Query.warehouses~{}')).toBe('"w1"');
    const [[, members]] = (await cache.pipeline([['smembers', 'r:Warehouse:w1']]).exec()) as [[null, string[]]];
    expect(members).toEqual(['Query.warehouses~{}']);
    expect(errors).toEqual([]);
    await redis.del('Query.warehouses~{}');
    await redis.del('r:Warehouse:w1');
  });

  it('runs pipelines whose keys span slots (on a cluster: one per primary), results in order', async () => {
    const { redis, cache, errors } = client(testRedis.target);
    await ready(redis);
    const keys = Array.from({ length: 30 }, (_, i) => `Query.product~{"arg":{"id":"p${i}"}}`);
    // What the storage sends on a fill: entries' reference sets and tags' key sets, many slots.
    await cache
      .pipeline(
        keys.flatMap((key, i): [string, ...unknown[]][] => [
          ['sadd', `r:Product:p${i}`, key],
          ['sadd', `k:${key}`, [`Product:p${i}`, 'Product']],
        ]),
      )
      .exec();
    for (const [i, key] of keys.entries()) await cache.set(key, `"v${i}"`, 'EX', 60);
    // And on an invalidation: the key sets of many tags read in one pipeline.
    const results = (await cache.pipeline(keys.map((_, i) => ['smembers', `r:Product:p${i}`])).exec()) as [null, string[]][];
    expect(results.map(([, members]) => members)).toEqual(keys.map((key) => [key]));
    const references = (await cache.pipeline(keys.map((key) => ['smembers', `k:${key}`])).exec()) as [null, string[]][];
    expect(references.map(([, members]) => [...members].sort())).toEqual(keys.map((_, i) => ['Product', `Product:p${i}`].sort()));
    expect(await cache.get(keys[7]!)).toBe('"v7"');
    expect(errors).toEqual([]);
    await cache
      .pipeline(
        keys.flatMap((key, i): [string, ...unknown[]][] => [
          ['del', key],
          ['del', `k:${key}`],
          ['del', `r:Product:p${i}`],
        ]),
      )
      .exec();
  });

  // Single Redis only (the `unit-redis` project): the proxy stands in front of one node, and a
  // cluster client learns every node's own address from the cluster and would go around it.
  if (!testRedis.cluster)
    it('gives up on a paused Redis after the timeout, then stops asking until it recovers', async () => {
      const proxy = await redisProxy(testRedis.target);
      proxies.push(proxy);
      const { redis, cache, errors } = client(proxy.url, 200);
      await ready(redis);
      expect(await cache.get('Query.me~{}')).toBeNull();

      proxy.pause();
      // The read is abandoned after the cache timeout; the generous bound only proves it did not hang.
      const started = performance.now();
      await expect(cache.get('Query.me~{}')).rejects.toThrow(/timed out/);
      expect(performance.now() - started).toBeLessThan(1_000);
      // The breaker is open: the next read fails without sending anything to Redis.
      const sent = proxy.commandsSeen();
      await expect(cache.get('Query.me~{}')).rejects.toThrow(/unavailable/);
      expect(proxy.commandsSeen()).toBe(sent);
      expect(errors).toEqual(['Query.me~{}', 'Query.me~{}']);

      // Redis answers again: after the cool-down the next read goes through by itself.
      proxy.resume();
      await expect
        .poll(
          async () =>
            cache.get('Query.me~{}').then(
              () => 'ok',
              () => 'failed',
            ),
          { timeout: 5_000, interval: 100 },
        )
        .toBe('ok');
    });
});
