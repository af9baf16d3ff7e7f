import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { type EventEnvelope, type EventStream, openEventStream } from '@shop/events';
import { createLogger } from '@shop/platform';
import { testCache } from '@shop/platform/testing';
import { openPglite, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, gql } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { CONSUMER, counter, probe, shipped, stockChanged, until } from './events-support.ts';

/**
 * Inventory's events: what each write puts in its outbox (stock.changed per product it moved), and
 * the order-shipped consumer, fed through the stream as orders would feed it. The stream is this
 * file's own (NATS_STREAM), so no other file's events reach its consumer; the products and
 * reservation ids are the run's own, so the file passes on a shared, persistent database.
 *
 * On the embedded tier the file opens one PGlite and shares it, so that a second replica (a
 * second server on the same database, with a stream of its own) can be built for the redelivery case.
 */
const SECRET = 'events-secret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser('u0', ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const rid = (name: string) => `${RUN}-${name}`;
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
let made = 0;
const newProduct = () => `p${RUN_BASE + made++}`;

const cache = testCache();
const env = (stream: string) => ({
  ROUTER_SECRET: SECRET,
  INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL,
  NATS_STREAM: stream,
  ...cache.env,
});
const ENV = env(`INV_EVENTS_${RUN}`);
let pglite: Awaited<ReturnType<typeof openPglite>> | undefined;
let app: FastifyInstance;
let stream: EventStream;
const logger = createLogger('inventory', 'silent');
const info = vi.spyOn(logger, 'info');
const warn = vi.spyOn(logger, 'warn');

beforeAll(async () => {
  pglite = process.env.INVENTORY_DATABASE_URL ? undefined : await openPglite();
  app = await buildServer({ config: readConfig(ENV), pglite, seedSize: SMALL_SEED, logger });
  // The server's stream, as orders' relay would reach it: the in-process one of the same name here, JetStream under NATS_URL.
  stream = await openEventStream({ ...readConfig(ENV).events, logger: createLogger('test', 'silent') });
});
afterAll(async () => {
  await stream?.close();
  await app?.close();
  await pglite?.close();
  await cache.cleanup();
});

const RESERVE = `mutation($id: ID!, $region: Region!, $lines: [ReserveLineInput!]!) {
  reserveStock(reservationId: $id, region: $region, lines: $lines) { id status lines { productId warehouseId quantity } } }`;
const RELEASE = 'mutation($id: ID!) { releaseStock(reservationId: $id) { id status } }';
const ADJUST = 'mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d) { available reserved } }';

type Line = { productId: string; quantity: number };
const reserve = (id: string, lines: Line[], region = 'IN') => gql(app, RESERVE, { id, region, lines }, INTERNAL);
const release = (id: string) => gql(app, RELEASE, { id }, INTERNAL);
const adjust = (p: string, w: string, d: number) => gql(app, ADJUST, { p, w, d }, ADMIN);

const { outboxOf, stockOf, statusOf, processed, failShipmentOf } = probe(() => app);

/** Publishes order.shipped events to the server's stream and waits until its consumer has applied each. */
async function deliver(...envelopes: EventEnvelope[]): Promise<void> {
  await stream.publish(envelopes);
  for (const e of envelopes) await until(`event ${e.id} processed`, () => processed(e.id));
}

describe('stock.changed in the outbox', () => {
  it('adjustStock: one event per adjustment with the totals over all warehouses; none when refused', async () => {
    const p = newProduct();
    expect((await adjust(p, 'w1', 10)).errors).toBeUndefined();
    expect((await adjust(p, 'w3', 5)).errors).toBeUndefined();
    expect((await adjust(p, 'w1', -4)).errors).toBeUndefined();
    const refused = await adjust(p, 'w3', -6);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await outboxOf(p)).toEqual([
      stockChanged(p, 'adjusted', 10, 0),
      stockChanged(p, 'adjusted', 15, 0),
      stockChanged(p, 'adjusted', 11, 0),
    ]);
  });

  it('reserveStock: one event per product, however many warehouses it took from; none for a retry or a short line', async () => {
    const [p, q] = [newProduct(), newProduct()];
    await adjust(p, 'w1', 3);
    await adjust(p, 'w2', 5);
    await adjust(p, 'w3', 7); // SEA: not taken, but in the totals
    await adjust(q, 'w1', 2);
    const before = (await outboxOf(p, q)).length;

    const res = await reserve(rid('reserve'), [
      { productId: p, quantity: 7 },
      { productId: q, quantity: 1 },
    ]);
    expect(res.errors).toBeUndefined();
    expect(res.data!.reserveStock.lines).toHaveLength(3); // p from w1 and w2, q from w1
    expect((await outboxOf(p, q)).slice(before)).toEqual([stockChanged(p, 'reserved', 8, 7), stockChanged(q, 'reserved', 1, 1)]);

    expect((await reserve(rid('reserve'), [{ productId: p, quantity: 7 }])).data!.reserveStock.status).toBe('HELD');
    const short = await reserve(rid('short'), [
      { productId: p, quantity: 1 },
      { productId: q, quantity: 5 },
    ]);
    expect(short.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
    expect(await outboxOf(p, q)).toHaveLength(before + 2);
  });

  it('releaseStock: one event per product given back, once however often it is released', async () => {
    const [p, q] = [newProduct(), newProduct()];
    await adjust(p, 'w1', 4);
    await adjust(q, 'w2', 4);
    expect(
      (
        await reserve(rid('release'), [
          { productId: p, quantity: 3 },
          { productId: q, quantity: 4 },
        ])
      ).errors,
    ).toBeUndefined();
    const before = (await outboxOf(p, q)).length;

    expect((await release(rid('release'))).data!.releaseStock.status).toBe('RELEASED');
    expect((await release(rid('release'))).data!.releaseStock.status).toBe('RELEASED');
    expect((await outboxOf(p, q)).slice(before)).toEqual([stockChanged(p, 'released', 4, 0), stockChanged(q, 'released', 4, 0)]);
  });
});

describe('the order-shipped consumer', () => {
  /** A product stocked in IN (w1: 10, w2: 5) and reserved 12 (w1 10, w2 2), and a second one reserved 1. */
  async function heldOrder(name: string) {
    const [p, q] = [newProduct(), newProduct()];
    await adjust(p, 'w1', 10);
    await adjust(p, 'w2', 5);
    await adjust(q, 'w2', 1);
    const reservationId = rid(name);
    const res = await reserve(reservationId, [
      { productId: p, quantity: 12 },
      { productId: q, quantity: 1 },
    ]);
    expect(res.errors).toBeUndefined();
    expect(await stockOf(p)).toEqual({ w1: { available: 0, reserved: 10 }, w2: { available: 3, reserved: 2 } });
    return { p, q, reservationId, events: (await outboxOf(p, q)).length };
  }
  const SHIPPED_P = { w1: { available: 0, reserved: 0 }, w2: { available: 3, reserved: 0 } };
  const SHIPPED_Q = { w2: { available: 0, reserved: 0 } };

  it('turns the reservation into a shipment through the stream: reserved goes down, available stays, stock.changed shipped', async () => {
    const { p, q, reservationId, events } = await heldOrder('ship');
    await deliver(shipped(reservationId));

    expect(await stockOf(p)).toEqual(SHIPPED_P);
    expect(await stockOf(q)).toEqual(SHIPPED_Q);
    expect(await statusOf(reservationId)).toBe('SHIPPED');
    expect((await outboxOf(p, q)).slice(events)).toEqual([stockChanged(p, 'shipped', 3, 0), stockChanged(q, 'shipped', 0, 0)]);
  });

  it('ships once when the order is shipped again under another event id (the reservation is no longer HELD)', async () => {
    const { p, q, reservationId, events } = await heldOrder('twice');
    const first = shipped(reservationId, `o-${RUN}-twice`);
    const second = shipped(reservationId, `o-${RUN}-twice`);
    await deliver(first, second);

    expect(await stockOf(p)).toEqual(SHIPPED_P);
    expect(await stockOf(q)).toEqual(SHIPPED_Q);
    expect(await outboxOf(p, q)).toHaveLength(events + 2);
    expect(info).toHaveBeenCalledWith(
      expect.objectContaining({ eventId: second.id, reservationId, status: 'SHIPPED' }),
      expect.stringContaining('no longer held'),
    );
  });

  it('applies one event id once even when it is delivered again past the stream (another replica, a stream that forgot it)', async () => {
    const { p, q, reservationId, events } = await heldOrder('redelivered');
    const envelope = shipped(reservationId);
    await deliver(envelope);
    // The same stream drops a re-publish of an id it holds; a second replica with a stream of its
    // own is how the same id comes twice (JetStream's duplicate window passed, the relay republished).
    const replicaEnv = env(`INV_EVENTS_${RUN}_B`);
    const replica = await buildServer({ config: readConfig(replicaEnv), pglite, seedSize: SMALL_SEED, logger });
    const replicaStream = await openEventStream({ ...readConfig(replicaEnv).events, logger: createLogger('test', 'silent') });
    try {
      await replicaStream.publish([envelope]);
      await until(
        'the replica saw the event',
        async () => (await counter(replica, 'events_consumed_total', { outcome: 'duplicate' })) === 1,
      );
      expect(await counter(replica, 'events_consumed_total', { outcome: 'processed' })).toBe(0);
    } finally {
      await replicaStream.close();
      await replica.close();
    }
    expect(await stockOf(p)).toEqual(SHIPPED_P);
    expect(await stockOf(q)).toEqual(SHIPPED_Q);
    expect(await outboxOf(p, q)).toHaveLength(events + 2);
  });

  it('retries a handler that failed, with nothing of the failed attempt left behind', async () => {
    const { p, q, reservationId, events } = await heldOrder('fails');
    const restore = await failShipmentOf(reservationId, RUN);
    const envelope = shipped(reservationId);
    try {
      const failedBefore = await counter(app, 'events_consumed_total', { consumer: CONSUMER, outcome: 'failed' });
      await stream.publish([envelope]);
      await until(
        'the handler failed',
        async () => (await counter(app, 'events_consumed_total', { consumer: CONSUMER, outcome: 'failed' })) > failedBefore,
      );
      expect(await stockOf(p)).toEqual({ w1: { available: 0, reserved: 10 }, w2: { available: 3, reserved: 2 } });
      expect(await statusOf(reservationId)).toBe('HELD');
      expect(await processed(envelope.id)).toBe(false);
      expect(await outboxOf(p, q)).toHaveLength(events);
    } finally {
      await restore();
    }
    await until(`event ${envelope.id} processed on a retry`, () => processed(envelope.id));
    expect(await counter(app, 'events_redelivered_total', { consumer: CONSUMER })).toBeGreaterThan(0);
    expect(await stockOf(p)).toEqual(SHIPPED_P);
    expect(await stockOf(q)).toEqual(SHIPPED_Q);
    expect((await outboxOf(p, q)).slice(events)).toEqual([stockChanged(p, 'shipped', 3, 0), stockChanged(q, 'shipped', 0, 0)]);
  });

  it('never puts shipped stock back: releasing a shipped reservation moves nothing', async () => {
    const { p, q, reservationId } = await heldOrder('late-cancel');
    await deliver(shipped(reservationId));
    const events = (await outboxOf(p, q)).length;

    const res = await release(reservationId);
    expect(res.errors).toBeUndefined();
    expect(res.data!.releaseStock).toEqual({ id: reservationId, status: 'SHIPPED' });
    expect(await stockOf(p)).toEqual(SHIPPED_P);
    expect(await outboxOf(p, q)).toHaveLength(events);
  });

  it('does not ship a released reservation: a cancelled order that is shipped after all moves nothing', async () => {
    const { p, q, reservationId } = await heldOrder('cancelled');
    expect((await release(reservationId)).data!.releaseStock.status).toBe('RELEASED');
    const events = (await outboxOf(p, q)).length;
    const envelope = shipped(reservationId);
    await deliver(envelope);

    expect(await statusOf(reservationId)).toBe('RELEASED');
    expect(await stockOf(p)).toEqual({ w1: { available: 10, reserved: 0 }, w2: { available: 5, reserved: 0 } });
    expect(await outboxOf(p, q)).toHaveLength(events);
    expect(info).toHaveBeenCalledWith(expect.objectContaining({ eventId: envelope.id, status: 'RELEASED' }), expect.any(String));
  });

  it('acknowledges an order without a reservation, and warns about a reservation it does not know', async () => {
    const none = shipped(null);
    const unknown = shipped(rid('never-reserved'));
    await deliver(none, unknown);

    expect(info).toHaveBeenCalledWith(expect.objectContaining({ eventId: none.id }), expect.stringContaining('without a reservation'));
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ eventId: unknown.id, reservationId: rid('never-reserved') }),
      expect.stringContaining('does not know'),
    );
    expect(await statusOf(rid('never-reserved'))).toBeUndefined();
  });
});
