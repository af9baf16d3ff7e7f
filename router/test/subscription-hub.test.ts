import { createEnvelope, type EventEnvelope } from '@shop/events';
import { describe, expect, it } from 'vitest';
import { EventHub, type HubListener } from '../src/subscriptions/hub.ts';

const occurredAt = new Date('2026-01-01T00:00:00.000Z');
const stock = (productId: string): EventEnvelope =>
  createEnvelope(
    { type: 'stock.changed', aggregateId: productId, data: { productId, reason: 'adjusted', available: 1, reserved: 0 }, tags: [] },
    { now: occurredAt },
  );
const shipped = (orderId: string, userId: string): EventEnvelope =>
  createEnvelope({ type: 'order.shipped', aggregateId: orderId, data: { orderId, userId, reservationId: null }, tags: [] });

function recorder(): HubListener & { heard: [string, number, number | undefined][] } {
  const heard: [string, number, number | undefined][] = [];
  return { heard, deliver: (entityId, sequence, at) => heard.push([entityId, sequence, at]) };
}

/** A hub on a clock the test moves. */
function hub(options: { windowMs?: number; maxEvents?: number } = {}) {
  const clock = { now: 1_000_000 };
  const events = new EventHub({ windowMs: options.windowMs ?? 60_000, maxEvents: options.maxEvents ?? 100, now: () => clock.now });
  return { hub: events, clock };
}

describe('EventHub', () => {
  it('delivers an event to the listeners of its keys only, with its sequence and when it happened, until they are removed', () => {
    const { hub: events } = hub();
    const product = recorder();
    const order = recorder();
    const mine = recorder();
    events.add(['product:p1', 'product:p2'], product);
    events.add(['order:o1'], order);
    events.add(['orders-of:u1'], mine);
    expect(events.listenerCount).toBe(4);

    events.handle(stock('p1'), 1);
    events.handle(shipped('o1', 'u1'), 2);
    events.handle(stock('p3'), 3);
    events.handle(stock('p2'), 4);
    expect(product.heard).toEqual([
      ['p1', 1, occurredAt.getTime()],
      ['p2', 4, occurredAt.getTime()],
    ]);
    expect(order.heard.map(([id, seq]) => [id, seq])).toEqual([['o1', 2]]);
    expect(mine.heard.map(([id, seq]) => [id, seq])).toEqual([['o1', 2]]);
    expect(events.latestSequence).toBe(4);

    events.remove(['product:p1', 'product:p2'], product);
    events.remove(['product:p1'], product); // again: nothing to remove
    events.handle(stock('p1'), 5);
    expect(product.heard).toHaveLength(2);
    expect(events.listenerCount).toBe(2);
  });

  it('ignores an event at or before the last sequence heard', () => {
    const { hub: events } = hub();
    const listener = recorder();
    events.add(['product:p1'], listener);
    events.handle(stock('p1'), 5);
    events.handle(stock('p1'), 5);
    events.handle(stock('p1'), 3);
    expect(listener.heard.map(([, seq]) => seq)).toEqual([5]);
    expect(events.latestSequence).toBe(5);
    expect(events.since(2, ['product:p1'])).toBeUndefined(); // 3 was not taken for one of the events after 2
  });

  it('answers since() within the window with the entities of those keys changed after the sequence, oldest first', () => {
    const { hub: events, clock } = hub();
    events.handle(stock('p1'), 1);
    clock.now += 10;
    events.handle(shipped('o1', 'u1'), 2);
    events.handle(stock('p2'), 3);
    events.handle(stock('p1'), 4);
    events.handle(stock('p9'), 5);
    const keys = ['product:p1', 'product:p2', 'orders-of:u1'];
    expect(events.since(0, keys)).toEqual([
      { entityId: 'p1', sequence: 1 },
      { entityId: 'o1', sequence: 2 },
      { entityId: 'p2', sequence: 3 },
      { entityId: 'p1', sequence: 4 },
    ]);
    expect(events.since(2, keys)).toEqual([
      { entityId: 'p2', sequence: 3 },
      { entityId: 'p1', sequence: 4 },
    ]);
    expect(events.since(4, keys)).toEqual([]); // p9 is nobody's here
    expect(events.since(5, keys)).toEqual([]); // nothing heard since
    expect(events.since(2, ['product:p7'])).toEqual([]);
  });

  it('answers since() with an empty list for the last sequence even when nothing is held any more', () => {
    const { hub: events, clock } = hub({ windowMs: 1_000 });
    events.handle(stock('p1'), 7);
    clock.now += 5_000;
    expect(events.since(7, ['product:p1'])).toEqual([]);
    expect(events.since(6, ['product:p1'])).toBeUndefined();
  });

  it('cannot say what changed (undefined) once the window no longer reaches back far enough, by age', () => {
    const { hub: events, clock } = hub({ windowMs: 1_000 });
    events.handle(stock('p1'), 1);
    clock.now += 600;
    events.handle(stock('p1'), 2);
    clock.now += 600; // 1 is now 1200 ms old, 2 600 ms
    expect(events.since(0, ['product:p1'])).toBeUndefined(); // 1 is gone
    expect(events.since(1, ['product:p1'])).toEqual([{ entityId: 'p1', sequence: 2 }]);
    clock.now += 1_000;
    expect(events.since(1, ['product:p1'])).toBeUndefined();
  });

  it('cannot say what changed (undefined) once more than maxEvents came after the sequence', () => {
    const { hub: events } = hub({ maxEvents: 3 });
    for (let sequence = 1; sequence <= 5; sequence++) events.handle(stock(`p${sequence}`), sequence);
    // Held: 3, 4, 5.
    expect(events.since(1, ['product:p3'])).toBeUndefined();
    expect(events.since(2, ['product:p3', 'product:p5'])).toEqual([
      { entityId: 'p3', sequence: 3 },
      { entityId: 'p5', sequence: 5 },
    ]);
  });

  it('keeps nothing for resuming when the window or the count is 0, but still delivers', () => {
    for (const options of [{ windowMs: 0 }, { maxEvents: 0 }]) {
      const { hub: events } = hub(options);
      const listener = recorder();
      events.add(['product:p1'], listener);
      events.handle(stock('p1'), 1);
      events.handle(stock('p1'), 2);
      expect(listener.heard).toHaveLength(2);
      expect(events.since(1, ['product:p1'])).toBeUndefined();
      expect(events.since(2, ['product:p1'])).toEqual([]);
    }
  });

  it('cannot say what changed (undefined) for a sequence from the future, or before anything was heard', () => {
    const { hub: events } = hub();
    expect(events.since(0, ['product:p1'])).toBeUndefined();
    expect(events.since(3, ['product:p1'])).toBeUndefined();
    events.handle(stock('p1'), 1);
    events.handle(stock('p1'), 2);
    expect(events.since(3, ['product:p1'])).toBeUndefined();
    expect(events.since(1_000, ['product:p1'])).toBeUndefined();
  });

  it('after a gap, resumes from no sequence before it, and from those after it again', () => {
    const { hub: events } = hub();
    events.handle(stock('p1'), 1);
    events.handle(stock('p1'), 2);
    events.gap();
    // Events after 2 were lost: a client that heard 2 missed them as well.
    expect(events.since(1, ['product:p1'])).toBeUndefined();
    expect(events.since(2, ['product:p1'])).toBeUndefined();
    events.handle(stock('p1'), 9); // the first event still in the stream
    expect(events.since(1, ['product:p1'])).toBeUndefined();
    expect(events.since(2, ['product:p1'])).toBeUndefined();
    events.handle(stock('p1'), 10);
    expect(events.since(9, ['product:p1'])).toEqual([{ entityId: 'p1', sequence: 10 }]);
    expect(events.since(10, ['product:p1'])).toEqual([]);
  });

  it('keeps delivering after a gap where the stream went back (recreated: sequences start again)', () => {
    const { hub: events } = hub();
    const listener = recorder();
    events.add(['product:p1'], listener);
    events.handle(stock('p1'), 500);
    events.gap();
    events.handle(stock('p1'), 1);
    events.handle(stock('p1'), 2);
    expect(listener.heard.map(([, seq]) => seq)).toEqual([500, 1, 2]);
    expect(events.latestSequence).toBe(2);
    // An id could be of the old stream or the new one: no resume is answered from it.
    expect(events.since(500, ['product:p1'])).toBeUndefined();
    expect(events.since(1, ['product:p1'])).toBeUndefined();
    expect(events.since(2, ['product:p1'])).toBeUndefined();
    // Only the event right after a gap is taken out of order.
    events.handle(stock('p1'), 2);
    expect(listener.heard.map(([, seq]) => seq)).toEqual([500, 1, 2]);
  });

  it('holds at most maxEvents, however many it heard', () => {
    const { hub: events } = hub({ maxEvents: 1_000 });
    const listener = recorder();
    events.add(['product:p1'], listener);
    for (let sequence = 1; sequence <= 100_000; sequence++) events.handle(stock(sequence % 2 ? 'p1' : 'p2'), sequence);
    expect(listener.heard).toHaveLength(50_000);
    const held = (events as unknown as { heard: unknown[]; head: number }).heard;
    const head = (events as unknown as { head: number }).head;
    expect(held.length - head).toBe(1_000);
    // Compacted now and then: the array is a small multiple of the bound, not everything ever heard.
    expect(held.length).toBeLessThanOrEqual(3_000);
    expect(events.since(100_000 - 1_000, ['product:p1'])).toHaveLength(500);
    expect(events.since(100_000 - 1_001, ['product:p1'])).toBeUndefined();
  });
});
