import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from '@shop/platform';
import { redisProxy } from '@shop/platform/testing';
import { client, disconnectClients } from './cache-client-helpers.ts';

/**
 * The fail-open cache client against a real Redis (directly, and through a proxy that can pause
 * it). Real-services tier only: the cases that need no Redis are in cache-client.test.ts.
 */
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) throw new Error('REDIS_URL must be set: run these with npm run test:services');

const proxies: { close(): Promise<void> }[] = [];
afterEach(async () => {
  disconnectClients();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

const ready = (redis: Redis) =>
  new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));

describe('fail-open cache client', () => {
  it('reads back what it wrote, under its key prefix', async () => {
    const { redis, cache, errors } = client(REDIS_URL);
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
    await redis.del('Query.warehouses~{}', 'r:Warehouse:w1');
  });

  it('gives up on a paused Redis after the timeout, then stops asking until it recovers', async () => {
    const proxy = await redisProxy(REDIS_URL);
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
