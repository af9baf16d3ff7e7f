import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { databaseOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, gql, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { paymentKey } from '../src/checkout.ts';
import { createLifecycle } from '../src/lifecycle.ts';
import type { PaymentProvider } from '../src/payments/port.ts';
import { createServiceClient } from '../src/services.ts';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { CARDS, fakePayments } from './fake-payments.ts';
import { eventsOf, type FakeSiblings, fakeSiblings, freshUser, logger, ordersEnv, writeTo } from './support.ts';

/**
 * The order lifecycle through the subgraph's API: PLACED → SHIPPED → DELIVERED, PLACED →
 * CANCELLED, money moving first (capture, void) and the events of each move in the outbox.
 * Pricing and inventory are a small HTTP server that prices everything at 10.00 INR and records
 * each reservation; the payment provider is the in-memory double.
 */
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const payments = fakePayments();
const reservations = new Map<string, 'HELD' | 'RELEASED'>();
let inventoryDown = false;
let app: FastifyInstance;
let siblings: FakeSiblings;

beforeAll(async () => {
  siblings = await fakeSiblings({ reservations, inventoryDown: () => inventoryDown });
  app = await buildServer({
    config: readConfig(ordersEnv(siblings.url)),
    seedSize: SMALL_SEED,
    paymentProvider: payments.provider,
  });
});
afterAll(async () => {
  await app?.close();
  await siblings?.close();
});

const ORDER_FIELDS = 'id status paymentStatus shippedAt deliveredAt cancelledAt total { amount currency }';
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`;
const SHIP = `mutation($id: ID!) { shipOrder(id: $id) { ${ORDER_FIELDS} } }`;
const DELIVER = `mutation($id: ID!) { deliverOrder(id: $id) { ${ORDER_FIELDS} } }`;
const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`;

let n = 0;
/** A PLACED order of a user of its own, with its payment and reservation. */
async function placed() {
  const user = freshUser();
  const idempotencyKey = `life-${n++}`;
  const res = await gql(
    app,
    PLACE,
    { input: { idempotencyKey, region: 'IN', paymentMethod: CARDS.ok, lines: [{ productId: 'p3', quantity: 2 }] } },
    asUser(user.userId),
  );
  expect(res.errors).toBeUndefined();
  const order = res.data!.placeOrder;
  const key = paymentKey(user.userId, idempotencyKey);
  const [payment] = payments.heldFor(key);
  const db = databaseOf(app);
  const [row] = await db.query<{ reservationId: string }>('SELECT reservation_id AS "reservationId" FROM orders.orders WHERE id = $1', [
    order.id,
  ]);
  return { order, user, key, payment: payment!, reservationId: row!.reservationId, headers: asUser(user.userId) };
}

const events = (userId: string) => eventsOf(databaseOf(app), userId);
const paymentRow = async (key: string) =>
  (await databaseOf(app).query<{ status: string }>('SELECT status FROM orders.payments WHERE key = $1', [key]))[0]?.status;
const statusOf = async (id: string) => (await gql(app, `query($id: ID!) { order(id: $id) { status } }`, { id }, ADMIN)).data?.order?.status;
const iso = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

describe('order lifecycle', () => {
  it('places an order AUTHORISED, with no lifecycle times yet', async () => {
    const { order } = await placed();
    expect(order).toEqual({
      id: order.id,
      status: 'PLACED',
      paymentStatus: 'AUTHORISED',
      shippedAt: null,
      deliveredAt: null,
      cancelledAt: null,
      total: { amount: '20.00', currency: 'INR' },
    });
  });

  it('ships: captures the payment, then PLACED → SHIPPED with order.shipped and payment.captured', async () => {
    const { order, user, key, payment, reservationId } = await placed();
    const res = await gql(app, SHIP, { id: order.id }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.shipOrder).toMatchObject({ status: 'SHIPPED', paymentStatus: 'CAPTURED', shippedAt: iso, deliveredAt: null });
    expect(payment.status).toBe('captured');
    expect(payments.calls.filter((c) => c.operation === 'capture').map((c) => c.key)).toContain(`capture:${order.id}`);
    expect(await paymentRow(key)).toBe('captured');
    // Orders does not touch the reservation: inventory turns it into a shipment from order.shipped.
    expect(reservations.get(reservationId)).toBe('HELD');
    const shipped = (await events(user.userId)).slice(2);
    expect(shipped).toEqual([
      {
        type: 'order.shipped',
        aggregateId: order.id,
        data: { orderId: order.id, userId: user.userId, reservationId },
        tags: [`Order:${order.id}`, `User:${user.userId}`],
      },
      {
        type: 'payment.captured',
        aggregateId: key,
        data: { paymentId: payment.paymentId, orderId: order.id, amount: '20.00', currency: 'INR' },
        tags: [],
      },
    ]);
  });

  it('delivers a shipped order: SHIPPED → DELIVERED with order.delivered', async () => {
    const { order, user } = await placed();
    expect((await gql(app, SHIP, { id: order.id }, ADMIN)).errors).toBeUndefined();
    const res = await gql(app, DELIVER, { id: order.id }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.deliverOrder).toMatchObject({ status: 'DELIVERED', paymentStatus: 'CAPTURED', shippedAt: iso, deliveredAt: iso });
    expect((await events(user.userId)).at(-1)).toEqual({
      type: 'order.delivered',
      aggregateId: order.id,
      data: { orderId: order.id, userId: user.userId },
      tags: [`Order:${order.id}`, `User:${user.userId}`],
    });
  });

  it('cancels a placed order: voids, releases the stock, PLACED → CANCELLED with order.cancelled and payment.voided', async () => {
    const { order, user, key, payment, reservationId, headers } = await placed();
    const res = await gql(app, CANCEL, { id: order.id }, headers);
    expect(res.errors).toBeUndefined();
    expect(res.data!.cancelOrder).toMatchObject({ status: 'CANCELLED', paymentStatus: 'VOIDED', cancelledAt: iso, shippedAt: null });
    expect(payment.status).toBe('voided');
    expect(reservations.get(reservationId)).toBe('RELEASED');
    expect(await paymentRow(key)).toBe('voided');
    expect((await events(user.userId)).slice(2)).toEqual([
      {
        type: 'order.cancelled',
        aggregateId: order.id,
        data: { orderId: order.id, userId: user.userId, reservationId },
        tags: [`Order:${order.id}`, `User:${user.userId}`],
      },
      {
        type: 'payment.voided',
        aggregateId: key,
        data: { paymentId: payment.paymentId, orderId: order.id, reason: 'cancelled' },
        tags: [],
      },
    ]);
    // Cancelling again returns the cancelled order and changes nothing.
    const again = await gql(app, CANCEL, { id: order.id }, headers);
    expect(again.data!.cancelOrder).toEqual(res.data!.cancelOrder);
    expect(await events(user.userId)).toHaveLength(4);
  });

  it('refuses every forbidden transition with BAD_USER_INPUT naming the current status, and writes nothing', async () => {
    const cancelled = await placed();
    expect((await gql(app, CANCEL, { id: cancelled.order.id }, cancelled.headers)).errors).toBeUndefined();
    const delivered = await placed();
    expect((await gql(app, SHIP, { id: delivered.order.id }, ADMIN)).errors).toBeUndefined();
    expect((await gql(app, DELIVER, { id: delivered.order.id }, ADMIN)).errors).toBeUndefined();
    const shipped = await placed();
    expect((await gql(app, SHIP, { id: shipped.order.id }, ADMIN)).errors).toBeUndefined();
    const fresh = await placed();

    const cases: [string, typeof fresh, string, Record<string, string>][] = [
      [DELIVER, fresh, 'PLACED', ADMIN],
      [SHIP, shipped, 'SHIPPED', ADMIN], // shipping twice is an error, not a replay
      [CANCEL, shipped, 'SHIPPED', shipped.headers],
      [SHIP, delivered, 'DELIVERED', ADMIN],
      [DELIVER, delivered, 'DELIVERED', ADMIN],
      [CANCEL, delivered, 'DELIVERED', ADMIN],
      [SHIP, cancelled, 'CANCELLED', ADMIN],
      [DELIVER, cancelled, 'CANCELLED', ADMIN],
    ];
    const movesBefore = payments.count('capture') + payments.count('void');
    for (const [mutation, { order, user }, currentStatus, headers] of cases) {
      const before = await events(user.userId);
      const res = await gql(app, mutation, { id: order.id }, headers);
      expect(res.data).toBeNull();
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', currentStatus });
      expect(res.errors?.[0]?.message).toContain(`is ${currentStatus}`);
      expect(await statusOf(order.id)).toBe(currentStatus);
      expect(await events(user.userId)).toEqual(before);
    }
    expect(payments.count('capture') + payments.count('void')).toBe(movesBefore);
  });

  it('ship and deliver are for admins: UNAUTHENTICATED without a viewer, FORBIDDEN without the scope', async () => {
    const { order, headers, user } = await placed();
    for (const mutation of [SHIP, DELIVER]) {
      const anonymous = await gql(app, mutation, { id: order.id });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const owner = await gql(app, mutation, { id: order.id }, headers);
      expect(owner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await statusOf(order.id)).toBe('PLACED');
    expect(await events(user.userId)).toHaveLength(2);
    const other = await gql(app, CANCEL, { id: order.id }, asUser(freshUser().userId));
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers NOT_FOUND for an unknown order and BAD_USER_INPUT for a malformed id', async () => {
    for (const mutation of [SHIP, DELIVER, CANCEL]) {
      expect((await gql(app, mutation, { id: 'o999999999' }, ADMIN)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await gql(app, mutation, { id: 'DROP TABLE' }, ADMIN)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('a capture the provider cannot make: PAYMENT_UNAVAILABLE, the order stays PLACED; the retry captures once', async () => {
    const { order, user, payment } = await placed();
    payments.setDown(true);
    try {
      const res = await gql(app, SHIP, { id: order.id }, ADMIN);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PAYMENT_UNAVAILABLE', operation: 'capture' });
      expect(await statusOf(order.id)).toBe('PLACED');
      expect(payment.status).toBe('authorised');
      expect(await events(user.userId)).toHaveLength(2);
    } finally {
      payments.setDown(false);
    }
    expect((await gql(app, SHIP, { id: order.id }, ADMIN)).data!.shipOrder.status).toBe('SHIPPED');
    expect(payment.status).toBe('captured');
    expect((await events(user.userId)).map((e) => e.type)).toEqual([
      'order.placed',
      'payment.authorised',
      'order.shipped',
      'payment.captured',
    ]);
  });

  it('a void the provider cannot make: PAYMENT_UNAVAILABLE, the order stays PLACED and keeps its stock', async () => {
    const { order, user, payment, reservationId, headers } = await placed();
    payments.setDown(true);
    try {
      const res = await gql(app, CANCEL, { id: order.id }, headers);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PAYMENT_UNAVAILABLE', operation: 'void' });
    } finally {
      payments.setDown(false);
    }
    expect(await statusOf(order.id)).toBe('PLACED');
    expect(reservations.get(reservationId)).toBe('HELD');
    expect(payment.status).toBe('authorised');
    expect(await events(user.userId)).toHaveLength(2);
  });

  it('inventory down at cancel: the order stays PLACED (the void is repeated under its key on the retry)', async () => {
    const { order, user, headers } = await placed();
    inventoryDown = true;
    try {
      expect((await gql(app, CANCEL, { id: order.id }, headers)).errors?.[0]?.extensions?.code).toBe('DEPENDENCY_UNAVAILABLE');
    } finally {
      inventoryDown = false;
    }
    expect(await statusOf(order.id)).toBe('PLACED');
    expect(await events(user.userId)).toHaveLength(2);
    expect((await gql(app, CANCEL, { id: order.id }, headers)).data!.cancelOrder.status).toBe('CANCELLED');
    expect(payments.calls.filter((c) => c.key === `void:${order.id}`)).toHaveLength(2);
  });

  it('two concurrent ships capture once and write once; the loser is told the order is SHIPPED', async () => {
    const { order, user, key } = await placed();
    const [a, b] = await Promise.all([gql(app, SHIP, { id: order.id }, ADMIN), gql(app, SHIP, { id: order.id }, ADMIN)]);
    const results = [a, b].map((r) => (r.errors ? r.errors[0]!.extensions : r.data!.shipOrder.status));
    expect(results).toContainEqual('SHIPPED');
    expect(results).toContainEqual(expect.objectContaining({ code: 'BAD_USER_INPUT', currentStatus: 'SHIPPED' }));
    const shipped = (await events(user.userId)).filter((e) => e.type === 'order.shipped' || e.type === 'payment.captured');
    expect(shipped.map((e) => e.type)).toEqual(['order.shipped', 'payment.captured']);
    // However many capture calls raced, they carried one key: the provider charged once.
    expect(new Set(payments.calls.filter((c) => c.operation === 'capture' && c.key === `capture:${order.id}`).map((c) => c.key)).size).toBe(
      1,
    );
    expect(payments.heldFor(key).map((p) => p.status)).toEqual(['captured']);
  });

  it('never ships an order with no payment on record (from before payments); cancelling one moves no money', async () => {
    const user = freshUser();
    const db = databaseOf(app);
    const [legacy] = await db.query<{ id: string }>(
      `INSERT INTO orders.orders (user_id, status, region, currency, total) VALUES ($1, 'PLACED', 'IN', 'INR', 10) RETURNING id`,
      [user.userId],
    );
    const id = legacy!.id;
    const ship = await gql(app, SHIP, { id }, ADMIN);
    expect(ship.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', currentStatus: 'PLACED' });
    expect(await statusOf(id)).toBe('PLACED');
    const movesBefore = payments.calls.length;
    const cancel = await gql(app, CANCEL, { id }, asUser(user.userId));
    expect(cancel.data!.cancelOrder).toMatchObject({ status: 'CANCELLED', paymentStatus: 'VOIDED' });
    expect(payments.calls.length).toBe(movesBefore);
    expect((await events(user.userId)).map((e) => e.type)).toEqual(['order.cancelled']);
  });

  it('two ships that both passed the status check (both captured) still write once: the move is conditional', async () => {
    const { order, user } = await placed();
    // Each capture waits until both have been asked for, so both ships are past their status check.
    let arrived = 0;
    let bothIn: () => void = () => {};
    const barrier = new Promise<void>((resolve) => (bothIn = resolve));
    const gated: PaymentProvider = {
      ...payments.provider,
      capture: async (request) => {
        if (++arrived === 2) bothIn();
        await barrier;
        return payments.provider.capture(request);
      },
    };
    const db = databaseOf(app);
    const lifecycle = createLifecycle({
      db,
      inventory: createServiceClient('inventory', siblings.url, TEST_ROUTER_SECRET, 3_000),
      payments: gated,
      write: writeTo(db),
      logger,
    });
    const admin = { userId: ADMIN_USER_ID, scopes: ['admin'] };
    const outcomes = await Promise.allSettled([lifecycle.shipOrder(admin, order.id), lifecycle.shipOrder(admin, order.id)]);
    expect(arrived).toBe(2);
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value.status)).toEqual(['SHIPPED']);
    const [lost] = outcomes.filter((o) => o.status === 'rejected');
    expect(lost?.reason).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', currentStatus: 'SHIPPED' } });
    expect((await events(user.userId)).map((e) => e.type)).toEqual([
      'order.placed',
      'payment.authorised',
      'order.shipped',
      'payment.captured',
    ]);
  });
});
