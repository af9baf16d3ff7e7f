import { randomUUID } from 'node:crypto';
import { createLogger, type InvalidationBus } from '@shop/platform';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ALL_TAGS,
  createEnvelope,
  createEventMetrics,
  createInProcessStream,
  createStreamInvalidationBus,
  type EventEnvelope,
  type EventStream,
  event,
  type FollowHandlers,
  openEventStream,
  openInvalidationBus,
} from '../src/index.ts';
import { waitFor } from '../src/testing.ts';

const logger = createLogger('events-test', 'silent');
const scope = () => `test-${randomUUID()}`;
const stock = (productId: string, tags: string[] = [`Product:${productId}`]) =>
  createEnvelope(event('stock.changed', productId, { productId, reason: 'adjusted', available: 1, reserved: 0 }, tags));
const shipped = (orderId: string) => createEnvelope(event('order.shipped', orderId, { orderId, userId: 'u1', reservationId: null }, []));
/** Lets the stream's deliveries (on setImmediate, which the fake timers leave real) run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};
const ids = (events: readonly EventEnvelope[]) => events.map((e) => e.id);
const counterValue = async (registry: Registry, name: string, consumer?: string) => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => consumer === undefined || v.labels.consumer === consumer).reduce((sum, v) => sum + v.value, 0);
};

const open: EventStream[] = [];
const track = <S extends EventStream>(s: S): S => {
  open.push(s);
  return s;
};
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('in-process stream: publish', () => {
  it('stores each id once: a re-publish reaches neither consumers nor followers again', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const consumed: EventEnvelope[] = [];
    const followed: EventEnvelope[] = [];
    stream.consume({ name: 'c', types: ['stock.changed'] }, async (e) => void consumed.push(e));
    stream.follow({ event: (e) => void followed.push(e) });
    const a = stock('p1');
    const b = stock('p2');
    await stream.publish([a, b]);
    await stream.publish([a]);
    await stream.publish([b, a]);
    const c = stock('p3');
    await stream.publish([c]);
    await waitFor(() => consumed.length >= 3 && followed.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ids(consumed)).toEqual([a.id, b.id, c.id]);
    expect(ids(followed)).toEqual([a.id, b.id, c.id]);
  });

  it('forgets the oldest events (and their ids) beyond maxEvents', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger, maxEvents: 2 }));
    const [a, b, c] = [stock('p1'), stock('p2'), stock('p3')];
    await stream.publish([a, b, c]);
    // `a` left the log, so its id is no longer known: a re-publish is stored again.
    await stream.publish([a]);
    const seen: EventEnvelope[] = [];
    stream.consume({ name: 'late', types: ['stock.changed'] }, async (e) => void seen.push(e));
    await waitFor(() => seen.length >= 2);
    expect(ids(seen)).toEqual([c.id, a.id]);
  });

  it('delivers after publish returns, never inside its call stack', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const seen: string[] = [];
    stream.consume({ name: 'c', types: ['stock.changed'] }, async (e) => void seen.push(e.id));
    stream.follow({ event: (e) => void seen.push(e.id) });
    const published = stream.publish([stock('p1')]);
    expect(seen).toEqual([]);
    await published;
    expect(seen).toEqual([]);
    await waitFor(() => seen.length === 2);
  });
});

describe('in-process stream: durable consumers', () => {
  it('delivers the events of its types in order, attempt 1, and skips the other types', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const seen: { id: string; attempt: number }[] = [];
    stream.consume({ name: 'c', types: ['stock.changed'] }, async (e, d) => void seen.push({ id: e.id, attempt: d.attempt }));
    const events = [stock('p1'), shipped('o1'), stock('p2'), stock('p3'), shipped('o2')];
    await stream.publish(events);
    await waitFor(() => seen.length >= 3);
    expect(seen).toEqual(events.filter((e) => e.type === 'stock.changed').map((e) => ({ id: e.id, attempt: 1 })));
  });

  it('retries a failing event after each backoff (the last repeats), then dead-letters it and goes on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    const stream = track(createInProcessStream({ scope: scope(), logger, metrics }));
    const attempts: number[] = [];
    const handled: string[] = [];
    const poison = stock('p1');
    stream.consume({ name: 'fragile', types: ['stock.changed'], maxDeliver: 4, backoffMs: [1_000, 5_000] }, async (e, d) => {
      if (e.id === poison.id) {
        attempts.push(d.attempt);
        throw new Error('cannot apply');
      }
      handled.push(e.id);
    });
    const next = stock('p2');
    await stream.publish([poison, next]);
    await settle();
    expect(attempts).toEqual([1]);
    // A failed event waits aside: the one behind it is not held up.
    expect(handled).toEqual([next.id]);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(attempts).toEqual([1, 2, 3]);
    // The last backoff repeats.
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(stream.deadLetters('fragile')).toHaveLength(1);
    expect(stream.deadLetters('fragile')[0]).toMatchObject({ consumer: 'fragile', attempts: 4, error: 'cannot apply' });
    expect(stream.deadLetters('fragile')[0]?.event.id).toBe(poison.id);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toHaveLength(4);
    expect(await counterValue(registry, 'events_dead_lettered_total', 'fragile')).toBe(1);
    expect(await counterValue(registry, 'events_redelivered_total', 'fragile')).toBe(3);
  });

  it('delivers again after a failure and stops once the handler succeeds', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const attempts: number[] = [];
    stream.consume({ name: 'flaky', types: ['stock.changed'], backoffMs: [1] }, async (_e, d) => {
      attempts.push(d.attempt);
      if (d.attempt < 3) throw new Error('not yet');
    });
    await stream.publish([stock('p1')]);
    await waitFor(() => attempts.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(attempts).toEqual([1, 2, 3]);
    expect(stream.deadLetters('flaky')).toEqual([]);
  });

  it('shares one position among consumers of one name: each event reaches exactly one of them', async () => {
    const name = scope();
    const a = track(createInProcessStream({ scope: name, logger }));
    const b = track(createInProcessStream({ scope: name, logger }));
    const byA: string[] = [];
    const byB: string[] = [];
    a.consume({ name: 'worker', types: ['stock.changed'] }, async (e) => void byA.push(e.id));
    b.consume({ name: 'worker', types: ['stock.changed'] }, async (e) => void byB.push(e.id));
    const events = Array.from({ length: 10 }, (_, i) => stock(`p${i}`));
    await a.publish(events.slice(0, 5));
    await b.publish(events.slice(5));
    await waitFor(() => byA.length + byB.length >= 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([...byA, ...byB].sort()).toEqual(ids(events).sort());
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
  });

  it('gives a new name the events already in the log, and a returning name only what it has not handled', async () => {
    const name = scope();
    const first = track(createInProcessStream({ scope: name, logger }));
    const before = [stock('p1'), stock('p2')];
    await first.publish(before);
    const seen: string[] = [];
    const consumer = first.consume({ name: 'durable', types: ['stock.changed'] }, async (e) => void seen.push(e.id));
    await waitFor(() => seen.length >= 2);
    await consumer.stop();
    const whileAway = [stock('p3')];
    await first.publish(whileAway);
    // Another handle of the scope (a subgraph rebuilt in the same process) picks the name up.
    const second = track(createInProcessStream({ scope: name, logger }));
    const later: string[] = [];
    second.consume({ name: 'durable', types: ['stock.changed'] }, async (e) => void later.push(e.id));
    await waitFor(() => later.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(ids(before));
    expect(later).toEqual(ids(whileAway));
  });

  it('reports as lag the events of its types not yet handled', async () => {
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    const stream = track(createInProcessStream({ scope: scope(), logger, metrics }));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    stream.consume({ name: 'slow', types: ['stock.changed'] }, async (e) => {
      seen.push(e.id);
      await gate;
    });
    await stream.publish([stock('p1'), stock('p2'), shipped('o1'), stock('p3')]);
    await waitFor(() => seen.length === 1);
    // The one in flight and the two behind it; the order.shipped is not its type.
    expect(await counterValue(registry, 'events_consumer_lag', 'slow')).toBe(3);
    release();
    await waitFor(() => seen.length === 3);
    await waitFor(async () => (await counterValue(registry, 'events_consumer_lag', 'slow')) === 0);
  });

  it('refuses a spec JetStream could not run: a bad durable name, an unknown type, a bad retry policy', () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const handler = async () => {};
    expect(() => stream.consume({ name: 'has.dot', types: ['stock.changed'] }, handler)).toThrow(/consumer name/);
    expect(() => stream.consume({ name: 'ok', types: ['stock.nope' as 'stock.changed'] }, handler)).toThrow(/not an event type/);
    expect(() => stream.consume({ name: 'ok', types: ['stock.changed'], maxDeliver: 0 }, handler)).toThrow(/maxDeliver/);
    expect(() => stream.consume({ name: 'ok', types: ['stock.changed'], backoffMs: [-1] }, handler)).toThrow(/backoffMs/);
  });

  it('stop() waits for the handler in flight, and close() stops only this handle', async () => {
    const name = scope();
    const a = createInProcessStream({ scope: name, logger });
    const b = track(createInProcessStream({ scope: name, logger }));
    let finished = false;
    let started = false;
    a.consume({ name: 'only-a', types: ['stock.changed'] }, async () => {
      started = true;
      await new Promise((resolve) => setTimeout(resolve, 30));
      finished = true;
    });
    const followedByB: string[] = [];
    b.follow({ event: (e) => void followedByB.push(e.id) });
    await b.publish([stock('p1')]);
    await waitFor(() => started);
    await a.close();
    expect(finished).toBe(true);
    const after = stock('p2');
    await b.publish([after]);
    await waitFor(() => followedByB.length === 2);
    expect(followedByB[1]).toBe(after.id);
    await expect(a.publish([stock('p3')])).rejects.toThrow(/closed/);
  });
});

describe('in-process stream: follow', () => {
  it('gives every follower every event published after it started, in order', async () => {
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    const stream = track(createInProcessStream({ scope: scope(), logger, metrics }));
    await stream.publish([stock('p0')]);
    const one: string[] = [];
    const two: string[] = [];
    stream.follow({ event: (e) => void one.push(e.id) });
    stream.follow({
      event: async (e) => {
        // A slow follower still sees them in order.
        await new Promise((resolve) => setTimeout(resolve, 1));
        two.push(e.id);
      },
    });
    const events = [stock('p1'), shipped('o1'), stock('p2')];
    await stream.publish(events.slice(0, 1));
    await stream.publish(events.slice(1));
    await waitFor(() => one.length === 3 && two.length === 3);
    expect(one).toEqual(ids(events));
    expect(two).toEqual(ids(events));
    expect(await counterValue(registry, 'events_followed_total')).toBe(6);
  });

  it('a follower that throws is logged and keeps following', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const seen: string[] = [];
    stream.follow({
      event: (e) => {
        seen.push(e.id);
        throw new Error('boom');
      },
    });
    await stream.publish([stock('p1'), stock('p2')]);
    await waitFor(() => seen.length === 2);
  });
});

describe('openEventStream', () => {
  it('without NATS opens the in-process stream, shared by stream name and prefix', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const a = track(await openEventStream({ natsUrl: undefined, stream: 'SHOP_EVENTS', subjectPrefix: prefix, logger }));
    const b = track(await openEventStream({ natsUrl: undefined, stream: 'SHOP_EVENTS', subjectPrefix: prefix, logger }));
    const other = track(await openEventStream({ natsUrl: undefined, stream: 'OTHER', subjectPrefix: prefix, logger }));
    expect(a.kind).toBe('in-process');
    const heard: string[] = [];
    const elsewhere: string[] = [];
    b.follow({ event: (e) => void heard.push(e.id) });
    other.follow({ event: (e) => void elsewhere.push(e.id) });
    const e = stock('p1');
    await a.publish([e]);
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual([e.id]);
    expect(elsewhere).toEqual([]);
  });
});

/** A stream that only records its follower, to drive the bus by hand. */
function fakeStream(kind: EventStream['kind']): EventStream & { follower(): FollowHandlers | undefined; follows: number } {
  let handlers: FollowHandlers | undefined;
  const fake = {
    kind,
    follows: 0,
    follower: () => handlers,
    publish: async () => {},
    consume: () => ({ stop: async () => {} }),
    follow(h: FollowHandlers) {
      fake.follows++;
      handlers = h;
      return {
        stop: async () => {
          handlers = undefined;
        },
      };
    },
    close: async () => {},
  };
  return fake;
}

describe('stream invalidation bus', () => {
  const buses: InvalidationBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('publish reaches this bus’s handlers before it resolves, and no other bus', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const mine = createStreamInvalidationBus({ stream, logger });
    const theirs = createStreamInvalidationBus({ stream, logger });
    buses.push(mine, theirs);
    const heardMine: string[][] = [];
    const heardTheirs: string[][] = [];
    mine.subscribe((tags) => void heardMine.push(tags));
    theirs.subscribe((tags) => void heardTheirs.push(tags));
    await mine.publish(['Product:p1']);
    expect(heardMine).toEqual([['Product:p1']]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heardTheirs).toEqual([]);
  });

  it('hands every handler the tags of each event on the stream, skipping events without tags', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const bus = createStreamInvalidationBus({ stream, logger });
    buses.push(bus);
    const heard: string[][] = [];
    const also: string[][] = [];
    bus.subscribe((tags) => void heard.push(tags));
    bus.subscribe((tags) => void also.push(tags));
    await stream.publish([stock('p1', ['Product:p1', 'Product']), shipped('o1'), stock('p2')]);
    await waitFor(() => heard.length === 2);
    expect(heard).toEqual([['Product:p1', 'Product'], ['Product:p2']]);
    expect(also).toEqual(heard);
  });

  it('follows only once subscribed, once, and on a gap tells handlers to drop everything', async () => {
    const stream = fakeStream('jetstream');
    const bus = openInvalidationBus({ stream, redisUrl: undefined, logger });
    buses.push(bus);
    expect(stream.follows).toBe(0);
    const heard: string[][] = [];
    bus.subscribe((tags) => void heard.push(tags));
    bus.subscribe(() => {});
    expect(stream.follows).toBe(1);
    stream.follower()?.gap?.();
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual([[ALL_TAGS]]);
    await bus.close();
    expect(stream.follower()).toBeUndefined();
  });

  it('a failing handler does not keep the others from hearing, nor make publish reject', async () => {
    const stream = fakeStream('jetstream');
    const bus = createStreamInvalidationBus({ stream, logger });
    buses.push(bus);
    const heard: string[][] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((tags) => void heard.push(tags));
    await expect(bus.publish(['A'])).resolves.toBeUndefined();
    expect(heard).toEqual([['A']]);
  });

  it('openInvalidationBus without JetStream is the platform bus: in one process every bus of a channel hears it', async () => {
    const stream = track(createInProcessStream({ scope: scope(), logger }));
    const channel = `test-${randomUUID()}`;
    const a = openInvalidationBus({ stream, redisUrl: undefined, channel, logger });
    const b = openInvalidationBus({ stream, redisUrl: undefined, channel, logger });
    buses.push(a, b);
    const heard: string[][] = [];
    b.subscribe((tags) => void heard.push(tags));
    await a.publish(['Order:o1']);
    expect(heard).toEqual([['Order:o1']]);
    // Nothing follows the in-process stream for it: events' tags reach caches through the writer's publish.
    await stream.publish([stock('p1')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([['Order:o1']]);
  });
});
