import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createRedis, failOpenCacheClient, type Redis } from '../src/index.ts';
import { pausableRedisProxy } from '../src/testing.ts';

/**
 * The Redis client behind the subgraph cache's Redis storage: it must fail open — never make a
 * request fail, never make one wait past the cache timeout — and come back by itself.
 */
const logger = createLogger('cache-client-test', 'silent');
const REDIS_URL = process.env.REDIS_URL;
const TIMEOUT_MS = 100;

const clients: Redis[] = [];
const proxies: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

function client(url: string, cooldownMs = 1_000) {
  const redis = createRedis(url, { logger, commandTimeoutMs: 2_000, keyPrefix: `test:${randomBytes(6).toString('hex')}:` });
  clients.push(redis);
  const errors: string[] = [];
  const cache = failOpenCacheClient(redis, { timeoutMs: TIMEOUT_MS, cooldownMs, onError: (key) => errors.push(key) });
  return { redis, cache, errors };
}

const ready = (redis: Redis) => new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));

describe('fail-open cache client', () => {
  it('fails at once, counted, when Redis cannot be reached; writes are dropped and whole-database commands refused', async () => {
    const { cache, errors } = client('redis://127.0.0.1:1');
    await expect(cache.get('Query.products~{}')).rejects.toThrow(/unavailable/);
    expect(errors).toEqual(['Query.products~{}']);
    await expect(cache.set('Query.products~{}', '[]', 'EX', 60)).resolves.toBe('OK');
    await expect(cache.pipeline([['sadd', 'r:Product:p1', 'k']]).exec()).resolves.toEqual([[null, null]]);
    expect(errors).toHaveLength(1);
    await expect(cache.flushall()).rejects.toThrow(/refused/);
  });

  it.skipIf(!REDIS_URL)('reads back what it wrote, under its key prefix', async () => {
    const { redis, cache, errors } = client(REDIS_URL!);
    await ready(redis);
    await cache.set('Query.warehouses~{}', '"w1"', 'EX', 60);
    await cache.pipeline([['sadd', 'r:Warehouse:w1', 'Query.warehouses~{}'], ['expire', 'r:Warehouse:w1', 60]]).exec();
    // Writes are not waited for, but run in order on the one connection, before this read.
    expect(await cache.get('Query.warehouses~{}')).toBe('"w1"');
    const [[, members]] = (await cache.pipeline([['smembers', 'r:Warehouse:w1']]).exec()) as [[null, string[]]];
    expect(members).toEqual(['Query.warehouses~{}']);
    expect(errors).toEqual([]);
    await redis.del('Query.warehouses~{}', 'r:Warehouse:w1');
  });

  it.skipIf(!REDIS_URL)('gives up on a paused Redis after the timeout, then stops asking until it recovers', async () => {
    const proxy = await pausableRedisProxy(REDIS_URL!);
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
    await expect.poll(async () => cache.get('Query.me~{}').then(() => 'ok', () => 'failed'), { timeout: 5_000, interval: 100 }).toBe('ok');
  });
});
