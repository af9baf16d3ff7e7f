import { describe, expect, it, vi } from 'vitest';
import { LiveSubscription, type LiveResult } from '../src/subscriptions/live.ts';

/** A resolver whose answers the test releases one by one, recording what it was asked. */
function controlled() {
  const calls: [string, number][] = [];
  const waiting: ((answer: LiveResult) => void)[] = [];
  const resolve = (entityId: string, sequence: number) => {
    calls.push([entityId, sequence]);
    return new Promise<LiveResult>((done) => waiting.push(done));
  };
  const release = (answer: Partial<LiveResult> = {}) => {
    const next = waiting.shift();
    if (!next) throw new Error('nothing is being resolved');
    next({ result: { data: { at: calls.length } }, ...answer });
  };
  return { calls, resolve, release, pending: () => waiting.length };
}

/** Resolves at once with the entity and sequence it was asked for. */
const echo = async (entityId: string, sequence: number): Promise<LiveResult> => ({ result: { data: { entityId } }, sequence });

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LiveSubscription', () => {
  it('answers a burst for one entity once, with the latest sequence and when that change happened', async () => {
    const resolver = vi.fn(echo);
    const live = new LiveSubscription(resolver, () => {});
    live.deliver('o1', 1, 100);
    live.deliver('o1', 2, 200);
    live.deliver('o1', 3, 300);
    expect(await live.next()).toEqual({ done: false, value: { result: { data: { entityId: 'o1' } }, sequence: 3, occurredAt: 300 } });
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(resolver).toHaveBeenCalledWith('o1', 3);

    // Nothing else pending: the next one waits for an event.
    const next = live.next();
    await tick();
    expect(resolver).toHaveBeenCalledTimes(1);
    live.deliver('o1', 4);
    expect((await next).value?.sequence).toBe(4);
    expect(resolver).toHaveBeenCalledTimes(2);
  });

  it('coalesces what arrives while an answer is being resolved, and resolves it after', async () => {
    const { calls, resolve, release } = controlled();
    const live = new LiveSubscription(resolve, () => {});
    live.deliver('o1', 1);
    const first = live.next();
    await tick();
    live.deliver('o1', 2);
    live.deliver('o1', 3);
    release();
    await first;
    const second = live.next();
    await tick();
    release();
    await second;
    expect(calls).toEqual([
      ['o1', 1],
      ['o1', 3],
    ]);
  });

  it('answers entities in the order of their latest change', async () => {
    const live = new LiveSubscription(echo, () => {});
    live.deliver('p1', 1);
    live.deliver('p2', 2);
    live.deliver('p3', 3);
    live.deliver('p1', 4); // p1 moves behind p3
    const order: [unknown, number | undefined][] = [];
    for (let i = 0; i < 3; i++) {
      const { value } = await live.next();
      order.push([value?.result.data?.entityId, value?.sequence]);
    }
    expect(order).toEqual([
      ['p2', 2],
      ['p3', 3],
      ['p1', 4],
    ]);
  });

  it('wakes a waiting next() when an event arrives', async () => {
    const live = new LiveSubscription(echo, () => {});
    const next = live.next();
    await tick();
    live.deliver('p1', 9);
    expect(await next).toEqual({ done: false, value: { result: { data: { entityId: 'p1' } }, sequence: 9, occurredAt: undefined } });
  });

  it('end(last) yields that result, marked final, then is done; events after it are not answered', async () => {
    const onFinish = vi.fn();
    const resolver = vi.fn(echo);
    const live = new LiveSubscription(resolver, onFinish);
    live.deliver('o1', 1);
    const last: LiveResult = { result: { errors: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED' } }] } };
    live.end(last);
    live.deliver('o1', 2);
    expect(await live.next()).toEqual({ done: false, value: { ...last, final: true } });
    expect(onFinish).not.toHaveBeenCalled();
    expect(await live.next()).toEqual({ done: true, value: undefined });
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(live.done).toBe(true);
    expect(resolver).not.toHaveBeenCalled();
    expect(await live.next()).toEqual({ done: true, value: undefined });
    expect(onFinish).toHaveBeenCalledTimes(1);
  });

  it('end(last) while an answer is being resolved sends the ending instead', async () => {
    const { resolve, release } = controlled();
    const live = new LiveSubscription(resolve, () => {});
    live.deliver('o1', 1);
    const next = live.next();
    await tick();
    const last: LiveResult = { result: { errors: [{ message: 'shutting down' }] } };
    live.end(last);
    release();
    expect(await next).toEqual({ done: false, value: { ...last, final: true } });
    expect((await live.next()).done).toBe(true);
  });

  it('end() without a result finishes at once, a waiting next() included', async () => {
    const onFinish = vi.fn();
    const live = new LiveSubscription(echo, onFinish);
    const waiting = live.next();
    await tick();
    live.deliver('o1', 1); // wakes the waiting next(), but end() runs before it does
    live.end();
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(live.done).toBe(true);
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(await live.next()).toEqual({ done: true, value: undefined });
    live.end();
    expect(onFinish).toHaveBeenCalledTimes(1);
  });

  it('return() while a next() is waiting resolves that next as done and finishes once', async () => {
    const onFinish = vi.fn();
    const resolver = vi.fn(echo);
    const live = new LiveSubscription(resolver, onFinish);
    const waiting = live.next();
    await tick();
    expect(await live.return()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(onFinish).toHaveBeenCalledTimes(1);
    live.deliver('o1', 1);
    expect(await live.next()).toEqual({ done: true, value: undefined });
    await live.return();
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(resolver).not.toHaveBeenCalled();
  });

  it('return() while an answer is being resolved drops that answer', async () => {
    const { resolve, release } = controlled();
    const onFinish = vi.fn();
    const live = new LiveSubscription(resolve, onFinish);
    live.deliver('o1', 1);
    const next = live.next();
    await tick();
    await live.return();
    release();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(onFinish).toHaveBeenCalledTimes(1);
  });

  it('ends after an answer that says it is final (access lost), without resolving what else is pending', async () => {
    const onFinish = vi.fn();
    const resolver = vi.fn(
      async (entityId: string, sequence: number): Promise<LiveResult> => ({
        result: { errors: [{ message: 'no', extensions: { code: 'FORBIDDEN' } }] },
        sequence,
        final: entityId === 'o1',
      }),
    );
    const live = new LiveSubscription(resolver, onFinish);
    live.deliver('o1', 1);
    live.deliver('o2', 2);
    const first = await live.next();
    expect(first.done).toBe(false);
    expect(first.value?.final).toBe(true);
    expect(await live.next()).toEqual({ done: true, value: undefined });
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(resolver).toHaveBeenCalledTimes(1);
  });

  it('throw() finishes and rethrows; it is its own async iterator', async () => {
    const onFinish = vi.fn();
    const live = new LiveSubscription(echo, onFinish);
    expect(live[Symbol.asyncIterator]()).toBe(live);
    await expect(live.throw(new Error('transport closed'))).rejects.toThrow('transport closed');
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(live.done).toBe(true);
  });

  it('drives a for-await loop to its end', async () => {
    const live = new LiveSubscription(echo, () => {});
    live.deliver('p1', 1);
    live.deliver('p2', 2);
    live.end({ result: { data: null }, sequence: 3 });
    const seen: (number | undefined)[] = [];
    for await (const { sequence } of live) seen.push(sequence);
    // The ending was given before either event was answered: it is all that goes out.
    expect(seen).toEqual([3]);
  });
});
