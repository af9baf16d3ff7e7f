import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { type EventEnvelope, type EventStream, type Follower, openEventStream } from '@shop/events';
import { type NatsServer, startNatsServer } from '@shop/events/testing';
import { createLogger } from '@shop/platform';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, gql } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { CONSUMER, counter, probe, shipped, stockChanged, until } from './events-support.ts';

/**
 * The order-shipped consumer and inventory's events on NATS JetStream: a private nats-server
 * (its own port and store, removed at the end), so nothing of the shared one is touched. The
 * same cases as events.test.ts where the stream is what matters: delivery, redelivery after a
 * failure, and the relay putting stock.changed on the stream for every other process.
 */
const SECRET = 'events-nats-secret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser('u0', ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
let made = 0;
const newProduct = () => `p${RUN_BASE + made++}`;
const quiet = createLogger('test', 'silent');

const cache = testCache();
let nats: NatsServer;
let app: FastifyInstance;
let stream: EventStream;
let follower: Follower;
const heard: EventEnvelope[] = [];
const { outboxOf, stockOf, statusOf, processed, failShipmentOf } = probe(() => app);

beforeAll(async () => {
  nats = await startNatsServer();
  const env = {
    ROUTER_SECRET: SECRET,
    INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL,
    NATS_URL: nats.url,
    NATS_STREAM: `INV_${RUN}`,
    ...cache.env,
  };
  app = await buildServer({ config: readConfig(env), seedSize: SMALL_SEED, logger: quiet });
  stream = await openEventStream({ ...readConfig(env).events, logger: quiet });
  // Another process's view of the stream: what inventory's relay published.
  follower = stream.follow({ event: (e) => void heard.push(e) });
});
afterAll(async () => {
  await follower?.stop();
  await stream?.close();
  await app?.close();
  await nats?.dispose();
  await cache.cleanup();
});

const RESERVE = `mutation($id: ID!, $lines: [ReserveLineInput!]!) {
  reserveStock(reservationId: $id, region: IN, lines: $lines) { status } }`;
const ADJUST = 'mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d) { available } }';
const adjust = async (p: string, w: string, d: number) => expect((await gql(app, ADJUST, { p, w, d }, ADMIN)).errors).toBeUndefined();

/** A product with 6 units in w1, 4 of them reserved for a new reservation. */
async function heldOrder(name: string) {
  const p = newProduct();
  await adjust(p, 'w1', 6);
  const reservationId = `${RUN}-${name}`;
  const res = await gql(app, RESERVE, { id: reservationId, lines: [{ productId: p, quantity: 4 }] }, INTERNAL);
  expect(res.errors).toBeUndefined();
  return { p, reservationId, events: (await outboxOf(p)).length };
}

describe('the order-shipped consumer on JetStream', () => {
  it('ships a reservation once, and every write’s stock.changed reaches the stream', async () => {
    const { p, reservationId } = await heldOrder('ship');
    const envelope = shipped(reservationId);
    // The second publish of the same id is dropped by the stream (its duplicate window).
    await stream.publish([envelope]);
    await stream.publish([envelope]);
    await until('the shipment', () => processed(envelope.id));

    expect(await stockOf(p)).toEqual({ w1: { available: 2, reserved: 0 } });
    expect(await statusOf(reservationId)).toBe('SHIPPED');
    const expected = [stockChanged(p, 'adjusted', 6, 0), stockChanged(p, 'reserved', 2, 4), stockChanged(p, 'shipped', 2, 0)];
    expect(await outboxOf(p)).toEqual(expected);
    const mine = () => heard.filter((e) => e.aggregateId === p).map(({ type, data, tags }) => ({ type, data, tags }));
    await until('the relay published them', async () => mine().length === expected.length);
    expect(mine()).toEqual(expected);
    // The consumer counts the event once its write returns, and a write returns only after its cache
    // invalidation and relay flush, which may finish after everything above was already visible.
    const processedCount = () => counter(app, 'events_consumed_total', { consumer: CONSUMER, outcome: 'processed' });
    await until('the consumer counted it', async () => (await processedCount()) > 0);
    expect(await processedCount()).toBe(1);
  });

  it('gets a failed event again from JetStream and applies it once, with nothing of the failure left', async () => {
    const { p, reservationId, events } = await heldOrder('fails');
    const restore = await failShipmentOf(reservationId, RUN);
    const envelope = shipped(reservationId);
    try {
      await stream.publish([envelope]);
      await until(
        'the handler failed',
        async () => (await counter(app, 'events_consumed_total', { consumer: CONSUMER, outcome: 'failed' })) > 0,
      );
      expect(await stockOf(p)).toEqual({ w1: { available: 2, reserved: 4 } });
      expect(await statusOf(reservationId)).toBe('HELD');
      expect(await processed(envelope.id)).toBe(false);
      expect(await outboxOf(p)).toHaveLength(events);
    } finally {
      await restore();
    }
    await until('the retry', () => processed(envelope.id));
    expect(await stockOf(p)).toEqual({ w1: { available: 2, reserved: 0 } });
    expect((await outboxOf(p)).slice(events)).toEqual([stockChanged(p, 'shipped', 2, 0)]);
  });
});
