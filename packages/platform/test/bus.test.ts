import { afterEach, describe, expect, it } from 'vitest';
import { bus, channel, closeBuses, nextTags } from './bus-helpers.ts';

/** The invalidation bus. The cases that need a real Redis are in bus.redis.test.ts (real-services tier). */
afterEach(closeBuses);

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

describe('invalidation bus over Redis', () => {
  it('still delivers in process, and does not fail the write, when Redis is unreachable', async () => {
    const errors: unknown[] = [];
    const down = bus({ channel: channel(), redisUrl: 'redis://127.0.0.1:1', onPublishError: (error) => errors.push(error) });
    const heard = nextTags(down);
    await expect(down.publish(['Product:p9'])).resolves.toBeUndefined();
    expect(await heard).toEqual(['Product:p9']);
    expect(errors).toHaveLength(1);
  });
});
