import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createLogger } from '@shop/platform';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectJetStream,
  createEnvelope,
  createEventMetrics,
  createStreamInvalidationBus,
  deadLetterSubjectOf,
  type EventEnvelope,
  event,
  type JetStreamEventStream,
  openEventStream,
  openInvalidationBus,
} from '../src/index.ts';
import { type NatsServer, startNatsServer, waitFor } from '../src/testing.ts';

const logger = createLogger('events-nats-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const stock = (productId: string, tags: string[] = [`Product:${productId}`]) =>
  createEnvelope(event('stock.changed', productId, { productId, reason: 'adjusted', available: 1, reserved: 0 }, tags));
const shipped = (orderId: string) => createEnvelope(event('order.shipped', orderId, { orderId, userId: 'u1', reservationId: null }, []));
const price = (productId: string) =>
  createEnvelope(
    event('price.changed', productId, { productId, region: 'EU', currency: 'EUR', amount: '10.00' }, [`Product:${productId}`]),
  );
const ids = (events: readonly EventEnvelope[]) => events.map((e) => e.id);
const counterValue = async (registry: Registry, name: string, consumer?: string) => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => consumer === undefined || v.labels.consumer === consumer).reduce((sum, v) => sum + v.value, 0);
};

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.dispose();
});

/** Each test its own stream and prefix on the private server. */
const names = () => {
  const id = randomUUID().slice(0, 8);
  return { stream: `T_${id}`, subjectPrefix: `t${id}` };
};
const open: JetStreamEventStream[] = [];
const connectTo = async (n: { stream: string; subjectPrefix: string }, registry?: Registry) => {
  const s = await connectJetStream({
    url: server.url,
    ...n,
    logger,
    metrics: registry ? createEventMetrics(registry) : undefined,
  });
  open.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('JetStream stream', () => {
  it('creates the stream and its dead-letter stream, and stores a re-published id once', async () => {
    const n = names();
    const stream = await connectTo(n);
    const a = stock('p1');
    const b = stock('p2');
    await stream.publish([a, b]);
    await stream.publish([a]);
    await stream.publish([b, a]);
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(n.stream);
      expect(info.config.subjects).toEqual([`${n.subjectPrefix}.>`]);
      expect(info.state.messages).toBe(2);
      const dlq = await jsm.streams.info(`${n.stream}_DLQ`);
      expect(dlq.config.subjects).toEqual([`${n.subjectPrefix}-dlq.>`]);
    } finally {
      await nc.close();
    }
  });

  it('fails to connect with an error naming NATS_URL and without the credentials', async () => {
    // Port 1 on 127.0.0.1: nothing listens there.
    const error = await connectJetStream({ url: 'nats://alice:s3cret@127.0.0.1:1', ...names(), logger, connectTimeoutMs: 1_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/NATS_URL nats:\/\/127\.0\.0\.1:1\b/);
    expect((error as Error).message).not.toMatch(/alice|s3cret/);
  });

  it('a durable consumer gets the events of its types in order; two of one name share them, each once', async () => {
    const n = names();
    const a = await connectTo(n);
    const b = await connectTo(n);
    const byA: string[] = [];
    const byB: string[] = [];
    const ca = a.consume({ name: 'worker', types: ['stock.changed'] }, async (e) => void byA.push(e.id));
    const cb = b.consume({ name: 'worker', types: ['stock.changed'] }, async (e) => void byB.push(e.id));
    const events = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? shipped(`o${i}`) : stock(`p${i}`)));
    await a.publish(events);
    const wanted = ids(events.filter((e) => e.type === 'stock.changed'));
    await waitFor(() => byA.length + byB.length >= wanted.length, { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...byA, ...byB].sort()).toEqual([...wanted].sort());
    // Each process sees its share in stream order.
    expect(byA).toEqual(wanted.filter((id) => byA.includes(id)));
    expect(byB).toEqual(wanted.filter((id) => byB.includes(id)));
    await Promise.all([ca.stop(), cb.stop()]);
  });

  it('a consumer that stops hands the events it held back at once to the others of its name', async () => {
    const n = names();
    const a = await connectTo(n);
    const b = await connectTo(n);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const byA: string[] = [];
    const byB: string[] = [];
    const ca = a.consume({ name: 'handoff', types: ['stock.changed'] }, async (e) => {
      byA.push(e.id);
      await gate;
    });
    const events = Array.from({ length: 6 }, (_, i) => stock(`p${i}`));
    await a.publish(events);
    await waitFor(() => byA.length === 1);
    // Only now does the second replica ask: the first holds what it fetched.
    b.consume({ name: 'handoff', types: ['stock.changed'] }, async (e) => void byB.push(e.id));
    // The handover is to a replica that is waiting for events: its pull request is on the server
    // beside the first one's. (A nak with no pull waiting anywhere is redelivered only after the ack
    // wait by nats-server before 2.10.16, the version Debian ships.)
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.consumers.info(n.stream, 'handoff')).num_waiting >= 2);
    } finally {
      await nc.close();
    }
    const stopping = ca.stop();
    release();
    await stopping;
    // Well before the 60 s ack wait would hand them over. Delivery is at least once, so an event may come
    // twice (a nak racing the server's own redelivery): wait for every distinct event, not for a count.
    await waitFor(() => new Set([...byA, ...byB]).size >= events.length, { timeoutMs: 20_000 });
    expect([...new Set([...byA, ...byB])].sort()).toEqual(ids(events).sort());
  });

  it('a consumer of several types gets just those, and a changed spec under the same name takes effect', async () => {
    const n = names();
    const stream = await connectTo(n);
    const seen: string[] = [];
    const first = stream.consume({ name: 'multi', types: ['stock.changed', 'order.shipped'] }, async (e) => void seen.push(e.id));
    const events = [stock('p1'), price('p1'), shipped('o1'), stock('p2')];
    await stream.publish(events);
    await waitFor(() => seen.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual(ids(events.filter((e) => e.type !== 'price.changed')));
    await first.stop();
    // The next deployment's consumer of that name takes prices only (create-or-update of the durable).
    const later: string[] = [];
    stream.consume({ name: 'multi', types: ['price.changed'] }, async (e) => void later.push(e.id));
    const next = [stock('p3'), price('p3')];
    await stream.publish(next);
    await waitFor(() => later.length >= 1, { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(later).toEqual([next[1]?.id]);
  });

  it('retries a failing event with backoff, then dead-letters it with the consumer and error in headers', async () => {
    const n = names();
    const registry = new Registry();
    const stream = await connectTo(n, registry);
    const attempts: number[] = [];
    const handled: string[] = [];
    const poison = stock('p1');
    const fine = stock('p2');
    stream.consume({ name: 'fragile', types: ['stock.changed'], maxDeliver: 3, backoffMs: [50, 100] }, async (e, d) => {
      if (e.id === poison.id) {
        attempts.push(d.attempt);
        throw new Error('cannot apply this');
      }
      handled.push(e.id);
    });
    await stream.publish([poison, fine]);
    await waitFor(async () => (await counterValue(registry, 'events_dead_lettered_total', 'fragile')) === 1, { timeoutMs: 20_000 });
    expect(attempts).toEqual([1, 2, 3]);
    expect(handled).toEqual([fine.id]);
    expect(await counterValue(registry, 'events_redelivered_total', 'fragile')).toBe(2);
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const dead = await jsm.streams.getMessage(stream.deadLetterStream, {
        last_by_subj: deadLetterSubjectOf(n.subjectPrefix, 'fragile', 'stock.changed'),
      });
      expect(dead?.json<EventEnvelope>().id).toBe(poison.id);
      expect(dead?.header.get('Shop-Consumer')).toBe('fragile');
      expect(dead?.header.get('Shop-Error')).toBe('cannot apply this');
      expect(dead?.header.get('Shop-Attempts')).toBe('3');
    } finally {
      await nc.close();
    }
    // Nothing comes again after it was dead-lettered.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(attempts).toEqual([1, 2, 3]);
    // Lag: nothing left unacknowledged.
    await waitFor(async () => (await counterValue(registry, 'events_consumer_lag', 'fragile')) === 0);
  });

  it('reports as lag what its consumer has not acknowledged', async () => {
    const n = names();
    const registry = new Registry();
    const stream = await connectTo(n, registry);
    await stream.publish([stock('p1'), stock('p2'), stock('p3')]);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    stream.consume({ name: 'slow', types: ['stock.changed'] }, async (e) => {
      seen.push(e.id);
      await gate;
    });
    await waitFor(() => seen.length === 1);
    expect(await counterValue(registry, 'events_consumer_lag', 'slow')).toBe(3);
    release();
    await waitFor(() => seen.length === 3);
    await waitFor(async () => (await counterValue(registry, 'events_consumer_lag', 'slow')) === 0);
  });

  it('follow: every follower hears every event published after it started', async () => {
    const n = names();
    const registry = new Registry();
    const stream = await connectTo(n, registry);
    await stream.publish([stock('p0')]);
    const one: string[] = [];
    const two: string[] = [];
    const f1 = stream.follow({ event: (e) => void one.push(e.id) });
    const other = await connectTo(n);
    const f2 = other.follow({ event: (e) => void two.push(e.id) });
    await Promise.all([f1.ready, f2.ready]);
    const events = [stock('p1'), shipped('o1'), stock('p2')];
    await stream.publish(events);
    await waitFor(() => one.length === 3 && two.length === 3);
    expect(one).toEqual(ids(events));
    expect(two).toEqual(ids(events));
    expect(await counterValue(registry, 'events_followed_total')).toBe(3);
  });

  it('the stream invalidation bus hands its handlers the tags of events on the stream', async () => {
    const n = names();
    const writer = await connectTo(n);
    const reader = await connectTo(n);
    const bus = openInvalidationBus({ stream: reader, redisUrl: undefined, logger });
    const heard: string[][] = [];
    bus.subscribe((tags) => void heard.push(tags));
    // The follower starts on the first subscribe; wait until it listens.
    await waitFor(async () => {
      await writer.publish([stock(`probe-${randomUUID()}`, ['Probe'])]);
      return heard.length > 0;
    });
    await writer.publish([stock('p1', ['Product:p1', 'Product']), shipped('o1'), stock('p2')]);
    const real = () => heard.filter((tags) => !tags.includes('Probe'));
    await waitFor(() => real().length >= 2, { message: `heard ${JSON.stringify(heard)}` });
    expect(real()).toEqual([['Product:p1', 'Product'], ['Product:p2']]);
    await bus.close();
    // The writer's own bus: publish delivers locally at once.
    const mine = createStreamInvalidationBus({ stream: writer, logger });
    const local: string[][] = [];
    mine.subscribe((tags) => void local.push(tags));
    await mine.publish(['Order:o1']);
    expect(local).toEqual([['Order:o1']]);
    await mine.close();
  });

  it('openEventStream with a NATS URL opens JetStream', async () => {
    const stream = await openEventStream({ natsUrl: server.url, ...names(), logger });
    try {
      expect(stream.kind).toBe('jetstream');
    } finally {
      await stream.close();
    }
  });
});

describe('JetStream across a NATS restart', () => {
  it('a consumer and a follower resume after the server stops and starts again, missing nothing', async () => {
    const n = names();
    const stream = await connectTo(n);
    const consumed: string[] = [];
    const followed: string[] = [];
    stream.consume({ name: 'survivor', types: ['stock.changed'], backoffMs: [50] }, async (e) => void consumed.push(e.id));
    const follower = stream.follow({ event: (e) => void followed.push(e.id) });
    await follower.ready;
    const before = [stock('p1'), stock('p2')];
    await stream.publish(before);
    await waitFor(() => consumed.length === 2 && followed.length === 2);

    await server.stop();
    const unsure = stock('p3');
    await expect(stream.publish([unsure])).rejects.toThrow();
    await server.start();

    // What the outbox does: publish again (the same ids) once the stream is back. Whether or not the
    // rejected publish reached the stream in the end, the stream holds it once.
    const after = [unsure, stock('p4')];
    await waitFor(
      async () =>
        stream.publish(after).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitFor(() => consumed.length >= 4 && followed.length >= 4, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(consumed).toEqual(ids([...before, ...after]));
    expect(followed).toEqual(ids([...before, ...after]));
  });

  it('a follower whose stream was recreated (its events gone) reports a gap and follows the new one', async () => {
    const n = names();
    const registry = new Registry();
    const stream = await connectTo(n, registry);
    const followed: string[] = [];
    let gaps = 0;
    const follower = stream.follow({ event: (e) => void followed.push(e.id), gap: () => void gaps++ });
    await follower.ready;
    await stream.publish([stock('p1'), stock('p2'), stock('p3')]);
    await waitFor(() => followed.length === 3);
    expect(gaps).toBe(0);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(n.stream);
    } finally {
      await nc.close();
    }
    // Another process creates it again (every connect makes sure it exists) and publishes.
    const other = await connectTo(n);
    await other.publish([stock('p4')]);
    await waitFor(() => gaps > 0, { timeoutMs: 30_000 });
    expect(await counterValue(registry, 'events_follow_gaps_total')).toBe(gaps);
    // What the gap covered is dropped wholesale; what comes after it is heard one by one again.
    const fresh = [stock('p5'), stock('p6')];
    await other.publish(fresh);
    await waitFor(() => fresh.every((e) => followed.includes(e.id)), { timeoutMs: 30_000 });
    expect(followed.slice(-2)).toEqual(ids(fresh));
  });

  it('after NATS comes back without its store, the streams are made again: publish, consume and follow go on', async () => {
    const n = names();
    const stream = await connectTo(n);
    const consumed: string[] = [];
    const followed: string[] = [];
    let gaps = 0;
    stream.consume({ name: 'phoenix', types: ['stock.changed'], backoffMs: [50] }, async (e) => void consumed.push(e.id));
    const follower = stream.follow({ event: (e) => void followed.push(e.id), gap: () => void gaps++ });
    await follower.ready;
    const before = [stock('p1')];
    await stream.publish(before);
    await waitFor(() => consumed.length === 1 && followed.length === 1);

    await server.stop();
    rmSync(server.storeDir, { recursive: true, force: true });
    await server.start();

    const after = [stock('p2'), stock('p3')];
    await waitFor(
      async () =>
        stream.publish(after).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // The durable was lost with the store and is made again; it gets what the new stream holds.
    await waitFor(() => consumed.length >= 3, { timeoutMs: 30_000 });
    expect(consumed).toEqual(ids([...before, ...after]));
    // The follower finds the stream went back: its caches drop everything, then it hears what comes next.
    await waitFor(() => gaps > 0, { timeoutMs: 30_000 });
    const next = stock('p4');
    await stream.publish([next]);
    await waitFor(() => followed.includes(next.id), { timeoutMs: 30_000 });
  });
});
