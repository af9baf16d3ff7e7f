import { afterEach, describe, expect, it } from 'vitest';
import { requireTestRedis } from '../src/testing.ts';
import { bus, channel, closeBuses, nextTags } from './bus-helpers.ts';

/**
 * The invalidation bus over a real Redis. Real-services tier only: the cases that need no Redis
 * are in bus.test.ts.
 */
const testRedis = requireTestRedis();
const REDIS_URL = testRedis.target;

afterEach(closeBuses);

describe('invalidation bus over Redis', () => {
  /**
   * Waits until `count` connections are subscribed to the channel (a subscription is asynchronous),
   * counted on every node of a cluster: each subscriber picks a node of its own.
   */
  async function subscribed(name: string, count: number) {
    await expect.poll(() => testRedis.subscribers(name), { timeout: 5_000 }).toBeGreaterThanOrEqual(count);
  }

  it('carries tags from one process to another, and each hears them once', async () => {
    const name = channel();
    // Two buses on one REDIS_URL: what two replicas (two processes) would each create.
    const first = bus({ channel: name, redisUrl: REDIS_URL });
    const second = bus({ channel: name, redisUrl: REDIS_URL });
    const heardByFirst: string[][] = [];
    first.subscribe((tags) => void heardByFirst.push(tags));
    const heardBySecond = nextTags(second);
    await subscribed(name, 2);

    await first.publish(['Product:p7']);
    // The publisher's own subscribers heard it before publish resolved, without waiting on Redis.
    expect(heardByFirst).toEqual([['Product:p7']]);
    expect(await heardBySecond).toEqual(['Product:p7']);
    // The echo of its own message comes back from Redis too; it is not delivered a second time.
    await second.publish(['Product:p8']);
    await expect.poll(() => heardByFirst.length).toBe(2);
    expect(heardByFirst).toEqual([['Product:p7'], ['Product:p8']]);
  });
});
