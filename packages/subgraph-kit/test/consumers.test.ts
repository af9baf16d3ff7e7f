import { createEnvelope, event, type EventEnvelope, type EventHandler, type EventStream } from '@shop/events';
import { waitFor } from '@shop/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceMetrics } from '../src/metrics.ts';
import { startConsumers } from '../src/consumers.ts';
import type { Database } from '../src/db.ts';
import type { SubgraphServices } from '../src/subgraph.ts';
import { createWrite } from '../src/write.ts';
import { notesDatabase, outboxRows, privateStream, quietLogger } from './events-fixture.ts';
import { createEventMetrics } from '@shop/events';

let db: Database;

beforeAll(async () => {
  db = await notesDatabase();
});

afterAll(async () => {
  await db?.close();
});

function servicesOver(stream: EventStream): SubgraphServices {
  const bus = { publish: async () => {}, subscribe: () => () => {}, close: async () => {} };
  return {
    db,
    bus,
    stream,
    metrics: createServiceMetrics('notes', { defaults: false }),
    logger: quietLogger,
    writeFor: (loaders) => createWrite({ db, schema: 'notes', bus, loaders, logger: quietLogger }),
  };
}

/** A stream that hands the consumer's handler to the test, to deliver an event as often as it likes. */
function capturingStream(): { stream: EventStream; deliver: (event: EventEnvelope, attempt?: number) => Promise<void> } {
  let handler: EventHandler | undefined;
  const { stream } = privateStream();
  return {
    stream: {
      ...stream,
      kind: stream.kind,
      consume: (_spec, h) => {
        handler = h;
        return { stop: async () => {} };
      },
    },
    deliver: (e, attempt = 1) => handler!(e, { attempt }),
  };
}

const shipped = (orderId: string) =>
  createEnvelope(event('order.shipped', orderId, { orderId, userId: 'u1', reservationId: `r-${orderId}` }, [`Order:${orderId}`]));

/** The consumer under test: each order.shipped adds a note and causes an event of its own. */
const notesFromShipments = (fail: () => boolean = () => false) => ({
  name: 'shipments',
  types: ['order.shipped'] as const,
  async handle(e: EventEnvelope, tx: Parameters<Parameters<ReturnType<typeof createWrite>>[0]>[0]) {
    const id = Number((e.data as { orderId: string }).orderId.slice(1));
    await tx.query('INSERT INTO notes.note (id, body) VALUES ($1, $2)', [id, 'shipped']);
    if (fail()) throw new Error('effect failed halfway');
    return [event('stock.changed', `p${id}`, { productId: `p${id}`, reason: 'shipped', available: 1, reserved: 0 }, [`Product:p${id}`])];
  },
});

const notesWithId = async (id: number) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notes.note WHERE id = $1', [id]))[0]!.n;
const outboxFor = async (productId: string) => (await outboxRows(db)).filter((r) => r.aggregate_id === productId).length;

describe('durable consumers', () => {
  it('apply an event delivered twice once: one effect, one row in processed_events, its own events queued once', async () => {
    const { stream, deliver } = capturingStream();
    const metrics = createEventMetrics(servicesOver(stream).metrics.registry);
    const consumers = startConsumers(servicesOver(stream), 'notes', [notesFromShipments()], metrics);
    const e = shipped('o500');
    await deliver(e);
    await deliver(e, 2);
    expect(await notesWithId(500)).toBe(1);
    expect(await outboxFor('p500')).toBe(1);
    expect(await db.query('SELECT consumer FROM notes.processed_events WHERE event_id = $1', [e.id])).toEqual([
      { consumer: 'notes-shipments' },
    ]);
    await consumers.stop();
  });

  it('leave nothing behind when the effect fails, and apply it when the event comes again', async () => {
    const { stream, deliver } = capturingStream();
    let failing = true;
    const services = servicesOver(stream);
    const consumers = startConsumers(services, 'notes', [notesFromShipments(() => failing)], createEventMetrics(services.metrics.registry));
    const e = shipped('o501');
    await expect(deliver(e)).rejects.toThrow('effect failed halfway');
    expect(await notesWithId(501)).toBe(0);
    expect(await outboxFor('p501')).toBe(0);
    expect(await db.query('SELECT 1 FROM notes.processed_events WHERE event_id = $1', [e.id])).toEqual([]);
    failing = false;
    await deliver(e, 2);
    expect(await notesWithId(501)).toBe(1);
    expect(await outboxFor('p501')).toBe(1);
    await consumers.stop();
  });

  it('take their events from the stream, retrying a failing effect with backoff', async () => {
    const { stream } = privateStream();
    let failures = 2;
    const services = servicesOver(stream);
    const metrics = createEventMetrics(services.metrics.registry);
    const definition = { ...notesFromShipments(() => failures-- > 0), backoffMs: [5] };
    const consumers = startConsumers(services, 'notes', [definition], metrics);
    await stream.publish([shipped('o502')]);
    await waitFor(async () => (await notesWithId(502)) === 1, { message: 'the consumer did not apply the event' });
    // Counted once the write returns (after its commit, cache drop and relay flush), not at the commit.
    await waitFor(async () => /outcome="processed"[^}]*\} 1/.test(await services.metrics.registry.metrics()), {
      message: 'the consumer did not count the event',
    });
    const text = await services.metrics.registry.metrics();
    expect(text).toMatch(/events_consumed_total\{consumer="notes-shipments",outcome="failed"[^}]*\} 2/);
    expect(text).toMatch(/events_consumed_total\{consumer="notes-shipments",outcome="processed"[^}]*\} 1/);
    await consumers.stop();
    await stream.close();
  });
});
