import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCluster, type RedisClient } from '@shop/platform';
import { redisProxy, requireTestRedis, startRedisCluster } from '@shop/platform/testing';
import { client, disconnectClients, TIMEOUT_MS } from './cache-client-helpers.ts';

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

/**
 * Resolves once the client is ready; on a cluster, once its connection to every node is open too
 * (a command for a node still connecting is refused and retried a moment later, which would
 * reorder this file's unawaited writes and the reads after them).
 */
const ready = (redis: RedisClient) =>
  vi.waitFor(
    () => {
      expect(redis.status).toBe('ready');
      if (isCluster(redis)) for (const node of redis.nodes('all')) expect(node.status).toBe('ready');
    },
    { timeout: 5_000, interval: 10 },
  );

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
      // The read is abandoned after the cache timeout: the error is the timeout's own (a hang would time the test out).
      await expect(cache.get('Query.me~{}')).rejects.toThrow(new RegExp(`timed out after ${TIMEOUT_MS} ms`));
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

  // Cluster only (the `unit-redis-cluster` project, which has redis-server): in place of the proxy,
  // a cluster of this test's own whose every node is stopped and continued (SIGSTOP / SIGCONT).
  if (testRedis.cluster)
    it('gives up on a paused cluster after the timeout, then stops asking until it recovers', async () => {
      const cluster = await startRedisCluster(3);
      proxies.push(cluster);
      const { redis, cache, errors } = client(cluster.target, 200);
      await ready(redis);
      await expect.poll(() => cache.get('Query.me~{}').catch(() => 'failed'), { timeout: 5_000, interval: 100 }).toBeNull();
      errors.length = 0;

      cluster.pause();
      await expect(cache.get('Query.me~{}')).rejects.toThrow(new RegExp(`timed out after ${TIMEOUT_MS} ms`));
      // The breaker is open: the next read fails at once, without waiting out the timeout again.
      await expect(cache.get('Query.me~{}')).rejects.toThrow(/unavailable/);
      // A pipeline across slots fails alike (one error counted, under its first key).
      await expect(
        cache
          .pipeline([
            ['smembers', 'r:Product:p1'],
            ['smembers', 'r:Product:p2'],
          ])
          .exec(),
      ).rejects.toThrow(/unavailable/);
      expect(errors).toEqual(['Query.me~{}', 'Query.me~{}', 'r:Product:p1']);

      cluster.resume();
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
