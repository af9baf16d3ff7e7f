import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { connectJetStream, createEnvelope, createEventMetrics, event, type EventEnvelope, type EventStream } from '@shop/events';
import { type NatsServer, startNatsServer, waitFor } from '@shop/events/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumers } from '../src/consumers.ts';
import { createDatabase, type Database } from '../src/db.ts';
import { createServiceMetrics } from '../src/metrics.ts';
import { prepareStorage } from '../src/migrate.ts';
import { createOutboxRelay, type OutboxRelayOptions } from '../src/outbox.ts';
import type { SubgraphServices } from '../src/subgraph.ts';
import { createWrite } from '../src/write.ts';
import { quietLogger } from './events-fixture.ts';

/**
 * The outbox, relay and consumers on NATS JetStream (a private nats-server) and, in the
 * real-services tier, on real Postgres (the database PRODUCTS_DATABASE_URL names, in a schema of
 * this test's own): the relay killed between publishing and marking, and the same event delivered
 * twice, each with one effect.
 */
// Schema names are letters and underscores (prepareStorage checks): a random suffix of letters.
const schema = `kit_nats_${randomUUID()
  .replace(/[^a-f]/g, '')
  .slice(0, 8)}`;
let db: Database;
let nats: NatsServer;
const streams: EventStream[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  db = await createDatabase({ url: process.env.PRODUCTS_DATABASE_URL });
  // The notes fixture's table, in this test's own schema.
  await prepareStorage(db, schema, new URL('./fixtures/empty-migrations/', import.meta.url));
  await db.query(`CREATE TABLE ${schema}.note (id int PRIMARY KEY, body text NOT NULL)`);
});

afterAll(async () => {
  for (const stream of streams) await stream.close().catch(() => {});
  await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await db?.close();
  await nats?.dispose();
});

async function jetStream(): Promise<{ stream: EventStream; registry: Registry }> {
  const registry = new Registry();
  const stream = await connectJetStream({
    url: nats.url,
    stream: 'KIT_TEST',
    subjectPrefix: 'kit-test',
    logger: quietLogger,
    metrics: createEventMetrics(registry),
  });
  streams.push(stream);
  return { stream, registry };
}

const bus = { publish: async () => {}, subscribe: () => () => {}, close: async () => {} };
const write = () => createWrite({ db, schema, bus, logger: quietLogger });
const pending = async () =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE published_at IS NULL`))[0]!.n;

function servicesOver(stream: EventStream): SubgraphServices {
  return {
    db,
    bus,
    stream,
    metrics: createServiceMetrics('kit', { defaults: false }),
    logger: quietLogger,
    writeFor: (loaders) => createWrite({ db, schema, bus, loaders, logger: quietLogger }),
  };
}

/** A consumer whose effect is a note per shipped order; the count of notes is the count of effects. */
let consumerRegistry = new Registry();
/** `events_consumed_total{outcome}` of the latest consumer started. */
async function consumed(outcome: string): Promise<number> {
  const metric = await consumerRegistry.getSingleMetric('events_consumed_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

function noteConsumer(stream: EventStream) {
  const services = servicesOver(stream);
  consumerRegistry = services.metrics.registry;
  return startConsumers(
    services,
    schema,
    [
      {
        name: 'notes',
        types: ['order.shipped'],
        backoffMs: [20],
        async handle(e, tx) {
          const orderId = (e.data as { orderId: string }).orderId;
          await tx.query(
            `INSERT INTO ${schema}.note (id, body) VALUES ($1, 'shipped') ON CONFLICT (id) DO UPDATE SET body = note.body || '+'`,
            [Number(orderId.slice(1))],
          );
          return [];
        },
      },
    ],
    createEventMetrics(services.metrics.registry),
  );
}

/** A relay over this test's outbox that only publishes when drained (no poll during the test). */
const relayOn = (stream: EventStream, options: Pick<OutboxRelayOptions, 'afterPublish'> = {}) =>
  createOutboxRelay({ db, schema, stream, logger: quietLogger, metrics: createEventMetrics(new Registry()), pollMs: 60_000, ...options });

const noteBody = async (id: number) => (await db.query<{ body: string }>(`SELECT body FROM ${schema}.note WHERE id = $1`, [id]))[0]?.body;

describe('the outbox on JetStream', () => {
  it('a relay killed between publishing and marking publishes again; the stream drops the repeat and the consumer applies it once', async () => {
    const { stream } = await jetStream();
    const consumers = noteConsumer(stream);
    await write()(async () => ({
      value: null,
      events: [event('order.shipped', 'o7001', { orderId: 'o7001', userId: 'u1', reservationId: null }, ['Order:o7001'])],
    }));
    const published: EventEnvelope[] = [];
    const dying = relayOn(stream, {
      afterPublish: (envelopes) => {
        published.push(...envelopes);
        throw new Error('killed before marking');
      },
    });
    await expect(dying.drain()).rejects.toThrow('killed before marking');
    expect(published.map((e) => [e.type, e.aggregateId])).toEqual([['order.shipped', 'o7001']]);
    // Its last attempt on stop dies the same way: the row stays unmarked.
    await dying.stop();
    expect(await pending()).toBe(1);
    const revived = relayOn(stream);
    expect(await revived.drain()).toBe(1);
    expect(await pending()).toBe(0);
    await waitFor(async () => (await noteBody(7001)) !== undefined, { message: 'the consumer did not apply the event' });
    // Give a (wrong) second delivery time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await noteBody(7001)).toBe('shipped');
    await revived.stop();
    await consumers.stop();
  });

  it('the same event delivered twice (stored twice by the stream, as a publisher without its message id would): one effect', async () => {
    const { stream } = await jetStream();
    const consumers = noteConsumer(stream);
    const once = createEnvelope(event('order.shipped', 'o7002', { orderId: 'o7002', userId: 'u1', reservationId: null }, ['Order:o7002']));
    // Two messages with one event id: JetStream's duplicate window cannot drop what carries no
    // Nats-Msg-Id, so the consumer gets the event twice and processed_events must catch it.
    const connection = await connect({ servers: nats.url });
    const js = jetstream(connection);
    const payload = JSON.stringify(once);
    await js.publish('kit-test.order.shipped', payload);
    await js.publish('kit-test.order.shipped', payload);
    await connection.close();
    await waitFor(async () => (await consumed('duplicate')) === 1, { message: 'the consumer did not get the event twice' });
    expect(await consumed('processed')).toBe(1);
    expect(await noteBody(7002)).toBe('shipped');
    expect(await db.query(`SELECT 1 FROM ${schema}.processed_events WHERE event_id = $1`, [once.id])).toHaveLength(1);
    await consumers.stop();
  });
});
