import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createInvalidationBus, createLogger, type InvalidationBus } from '../src/index.ts';

const logger = createLogger('bus-test', 'silent');
const REDIS_URL = process.env.REDIS_URL;
/** A channel of this test's own: parallel runs on one Redis do not hear each other. */
const channel = () => `test:${randomBytes(6).toString('hex')}:invalidate`;

const open: InvalidationBus[] = [];
const bus = (options: Partial<Parameters<typeof createInvalidationBus>[0]> & { channel: string }) => {
  const created = createInvalidationBus({ logger, ...options });
  open.push(created);
  return created;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

/** Resolves with the next tags a bus delivers to a new subscriber. */
const nextTags = (b: InvalidationBus) => new Promise<string[]>((resolve) => {
  const stop = b.subscribe((tags) => {
    stop();
    resolve(tags);
  });
});

describe('invalidation bus, in process', () => {
  it('delivers to every subscriber on the channel, and only on it', async () => {
    const name = channel();
    const a = bus({ channel: name });
    const b = bus({ channel: name });
    const other = bus({ channel: channel() });
    const heard: string[][] = [];
    b.subscribe((tags) => void heard.push(tags));
    other.subscribe((tags) => void heard.push(['wrong channel', ...tags]));
    await a.publish(['Product:p1', 'Promotion:promo2']);
    expect(heard).toEqual([['Product:p1', 'Promotion:promo2']]);
  });

  it('resolves publish after the subscribers have finished, even when one fails', async () => {
    const name = channel();
    const a = bus({ channel: name });
    let dropped = false;
    a.subscribe(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      dropped = true;
    });
    a.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    await expect(a.publish(['Order:o1'])).resolves.toBeUndefined();
    expect(dropped).toBe(true);
  });

  it('stops delivering after unsubscribe, and publishes nothing for no tags', async () => {
    const a = bus({ channel: channel() });
    const heard: string[][] = [];
    const stop = a.subscribe((tags) => void heard.push(tags));
    await a.publish([]);
    stop();
    await a.publish(['User:u1']);
    expect(heard).toEqual([]);
  });
});

describe.skipIf(!REDIS_URL)('invalidation bus over Redis', () => {
  /** Waits until `count` connections are subscribed to the channel (a subscription is asynchronous). */
  async function subscribed(name: string, count: number) {
    const redis = new Redis(REDIS_URL!);
    try {
      await expect.poll(async () => Number(((await redis.pubsub('NUMSUB', name)) as [string, number])[1]), { timeout: 5_000 }).toBeGreaterThanOrEqual(count);
    } finally {
      redis.disconnect();
    }
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

  it('still delivers in process, and does not fail the write, when Redis is unreachable', async () => {
    const errors: unknown[] = [];
    const down = bus({ channel: channel(), redisUrl: 'redis://127.0.0.1:1', onPublishError: (error) => errors.push(error) });
    const heard = nextTags(down);
    await expect(down.publish(['Product:p9'])).resolves.toBeUndefined();
    expect(await heard).toEqual(['Product:p9']);
    expect(errors).toHaveLength(1);
  });
});
