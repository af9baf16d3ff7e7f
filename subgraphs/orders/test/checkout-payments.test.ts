import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '@shop/platform';
import type { Database, Write } from '@shop/subgraph-kit';
import { createCheckout, paymentKey, type PlaceOrderInput } from '../src/checkout.ts';
import type { PaymentProvider } from '../src/payments/port.ts';
import type { ServiceClient } from '../src/services.ts';
import { CARDS, fakePayments } from './fake-payments.ts';
import { eventsOf, fakeInventory, freshUser, logger, ordersDatabase, recorder, writeTo } from './support.ts';

/**
 * Checkout's payment step on a real database, with pricing and inventory scripted and the provider
 * played by an in-memory double with a card provider's idempotency (the e2e suite runs the sandbox).
 */
let db: Database;
beforeAll(async () => {
  db = await ordersDatabase();
});
afterAll(() => db?.close());

let unitPrice = '12.50';
const pricing: ServiceClient = {
  async call<T>(_query: string, variables: Record<string, unknown>) {
    const ids = variables.productIds as string[];
    return { quote: ids.map((productId) => ({ productId, unitPrice: { amount: unitPrice, currency: 'INR' } })) } as T;
  },
};

function setup({ payments = fakePayments(), write }: { payments?: ReturnType<typeof fakePayments>; write?: Write } = {}) {
  const inventory = fakeInventory();
  const bus = recorder();
  const checkout = createCheckout({
    db,
    pricing,
    inventory: inventory.client,
    payments: payments.provider,
    logger,
    abandonedAfterMs: 60_000,
    paymentSweepAfterMs: 600_000,
    write: write ?? writeTo(db, bus),
  });
  return { checkout, inventory, payments, bus };
}

let n = 0;
const order = (paymentMethod: string = CARDS.ok): PlaceOrderInput => ({
  idempotencyKey: `pay-${n++}`,
  region: 'IN',
  paymentMethod,
  lines: [
    { productId: 'p2', quantity: 2 },
    { productId: 'p5', quantity: 1 },
  ],
});

const ordersOf = (userId: string) => db.query<{ id: string }>('SELECT id FROM orders.orders WHERE user_id = $1', [userId]);
const paymentOf = async (viewer: Viewer, input: PlaceOrderInput) =>
  (
    await db.query<{ status: string; order_id: string | null; payment_id: string | null; amount: string }>(
      'SELECT status, order_id, payment_id, amount::text AS amount FROM orders.payments WHERE key = $1',
      [paymentKey(viewer.userId, input.idempotencyKey)],
    )
  )[0];
const claimOf = async (viewer: Viewer, input: PlaceOrderInput) =>
  (await db.query('SELECT 1 FROM orders.checkout WHERE user_id = $1 AND idempotency_key = $2', [viewer.userId, input.idempotencyKey]))
    .length;
/** Makes a payment look untouched for an hour, so the sweeper's age test passes without waiting. */
const age = (viewer: Viewer, input: PlaceOrderInput) =>
  db.query(`UPDATE orders.payments SET updated_at = now() - interval '1 hour' WHERE key = $1`, [
    paymentKey(viewer.userId, input.idempotencyKey),
  ]);

describe('checkout payment outcomes', () => {
  it('authorised: one transaction writes the order, its payment and the events order.placed and payment.authorised', async () => {
    const { checkout, inventory, payments, bus } = setup();
    const viewer = freshUser();
    const input = order();
    const placed = await checkout.placeOrder(viewer, input);
    expect(placed).toMatchObject({ status: 'PLACED', total: '37.50', currency: 'INR', userId: viewer.userId });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    const [held] = payments.heldFor(key);
    expect(payments.heldFor(key)).toHaveLength(1);
    expect(held).toMatchObject({ status: 'authorised', amount: '37.50', currency: 'INR' });
    expect(placed.paymentId).toBe(held!.paymentId);
    expect(await paymentOf(viewer, input)).toEqual({
      status: 'authorised',
      order_id: placed.id,
      payment_id: held!.paymentId,
      amount: '37.50',
    });
    expect(inventory.states()).toEqual(['HELD']);

    const [reservationId] = [...inventory.held.keys()];
    expect(await eventsOf(db, viewer.userId)).toEqual([
      {
        type: 'order.placed',
        aggregateId: placed.id,
        data: {
          orderId: placed.id,
          userId: viewer.userId,
          region: 'IN',
          currency: 'INR',
          total: '37.50',
          reservationId,
          paymentId: held!.paymentId,
          lines: [
            { productId: 'p2', quantity: 2, unitPrice: '12.50' },
            { productId: 'p5', quantity: 1, unitPrice: '12.50' },
          ],
        },
        tags: [`Order:${placed.id}`, `User:${viewer.userId}`],
      },
      {
        type: 'payment.authorised',
        aggregateId: key,
        data: { paymentId: held!.paymentId, key, userId: viewer.userId, amount: '37.50', currency: 'INR' },
        tags: [],
      },
    ]);
    expect(bus.published).toEqual([[`Order:${placed.id}`, `User:${viewer.userId}`]]);

    // A replay answers the same order: no second authorisation, no second event.
    expect((await checkout.placeOrder(viewer, input)).id).toBe(placed.id);
    expect(payments.count('authorize')).toBe(1);
    expect(await eventsOf(db, viewer.userId)).toHaveLength(2);
  });

  it('declined: PAYMENT_DECLINED, no order, stock released, claim dropped, payment.failed; the key stays declined', async () => {
    const { checkout, inventory, payments, bus } = setup();
    const viewer = freshUser();
    const input = order(CARDS.declined);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({
      extensions: { code: 'PAYMENT_DECLINED', reason: 'card_declined' },
    });
    expect(await ordersOf(viewer.userId)).toEqual([]);
    expect(inventory.states()).toEqual(['RELEASED']);
    expect(await claimOf(viewer, input)).toBe(0);
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'declined', order_id: null, payment_id: null });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    expect(await eventsOf(db, viewer.userId)).toEqual([
      { type: 'payment.failed', aggregateId: key, data: { key, userId: viewer.userId, reason: 'declined' }, tags: [] },
    ]);
    expect(bus.published).toEqual([]);

    // The same request again: declined again, without reserving stock or asking the provider.
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_DECLINED' } });
    expect(inventory.held.size).toBe(1);
    expect(payments.count('authorize')).toBe(1);
    expect(await eventsOf(db, viewer.userId)).toHaveLength(1);
    // The key with another card is another request: refused, not retried with the new card.
    await expect(checkout.placeOrder(viewer, { ...input, paymentMethod: CARDS.ok })).rejects.toMatchObject({
      extensions: { code: 'IDEMPOTENCY_KEY_REUSED' },
    });
    // A new key with a card that works places the order.
    expect(
      await checkout.placeOrder(viewer, { ...input, idempotencyKey: `${input.idempotencyKey}-2`, paymentMethod: CARDS.ok }),
    ).toMatchObject({
      status: 'PLACED',
    });
  });

  it('provider down: PAYMENT_UNAVAILABLE, no order, stock released, payment left pending; the same key retries safely', async () => {
    const { checkout, inventory, payments } = setup();
    const viewer = freshUser();
    const input = order();
    payments.setDown(true);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    expect(await ordersOf(viewer.userId)).toEqual([]);
    expect(inventory.states()).toEqual(['RELEASED']);
    expect(await claimOf(viewer, input)).toBe(0);
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'pending', order_id: null });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    expect(await eventsOf(db, viewer.userId)).toEqual([
      { type: 'payment.failed', aggregateId: key, data: { key, userId: viewer.userId, reason: 'unavailable' }, tags: [] },
    ]);

    payments.setDown(false);
    const placed = await checkout.placeOrder(viewer, input);
    expect(placed.status).toBe('PLACED');
    expect(payments.heldFor(key)).toHaveLength(1);
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'authorised', order_id: placed.id });
    // The first attempt's reservation was released; the order holds the second one.
    expect(inventory.states()).toEqual(['RELEASED', 'HELD']);
    expect((await eventsOf(db, viewer.userId)).map((e) => e.type)).toEqual(['payment.failed', 'order.placed', 'payment.authorised']);
  });

  it('timed out after the provider charged: the retry with the same key reuses that charge (charged once)', async () => {
    const { checkout, payments } = setup();
    const viewer = freshUser();
    const input = order(CARDS.chargeThenTimeout);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    expect(payments.heldFor(key)).toHaveLength(1); // the provider did charge
    expect(await ordersOf(viewer.userId)).toEqual([]);

    const placed = await checkout.placeOrder(viewer, input);
    expect(payments.heldFor(key)).toHaveLength(1);
    expect(placed.paymentId).toBe(payments.heldFor(key)[0]!.paymentId);
    expect(payments.calls.filter((c) => c.operation === 'authorize').map((c) => c.key)).toEqual([key, key]);
  });

  it('refuses a payment method outside 1–255 characters before reserving anything', async () => {
    const { checkout, inventory, payments } = setup();
    const viewer = freshUser();
    for (const paymentMethod of ['', 'x'.repeat(256)]) {
      await expect(checkout.placeOrder(viewer, order(paymentMethod))).rejects.toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', argument: 'paymentMethod' },
      });
    }
    expect(inventory.held.size).toBe(0);
    expect(payments.calls).toEqual([]);
    expect(await checkout.placeOrder(viewer, order('x'.repeat(255)))).toMatchObject({ status: 'PLACED' });
  });

  it('writes nothing when the order write fails after authorising; the retry reuses the authorisation', async () => {
    const payments = fakePayments();
    const real = writeTo(db);
    let failWrites = true;
    // The database fails at the end of the order's transaction: everything in it rolls back.
    const failing: Write = (work) =>
      real(async (tx) => {
        const written = await work(tx);
        if (failWrites) throw new Error('connection lost');
        return written;
      });
    const { checkout, inventory } = setup({ payments, write: failing });
    const viewer = freshUser();
    const input = order();
    await expect(checkout.placeOrder(viewer, input)).rejects.toThrow('connection lost');
    expect(await ordersOf(viewer.userId)).toEqual([]);
    expect(await eventsOf(db, viewer.userId)).toEqual([]);
    expect(inventory.states()).toEqual(['RELEASED']);
    expect(await claimOf(viewer, input)).toBe(0);
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'pending', order_id: null });

    failWrites = false;
    const placed = await checkout.placeOrder(viewer, input);
    expect(payments.heldFor(paymentKey(viewer.userId, input.idempotencyKey))).toHaveLength(1);
    expect((await eventsOf(db, viewer.userId)).map((e) => e.type)).toEqual(['order.placed', 'payment.authorised']);
    expect(placed.status).toBe('PLACED');
  });

  it('a retry at a new price cannot reuse the first attempt’s payment: IDEMPOTENCY_KEY_EXPIRED', async () => {
    const { checkout, inventory, payments } = setup();
    const viewer = freshUser();
    const input = order();
    payments.setDown(true);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    payments.setDown(false);
    unitPrice = '13.00';
    try {
      await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({
        extensions: { code: 'IDEMPOTENCY_KEY_EXPIRED', argument: 'idempotencyKey' },
      });
    } finally {
      unitPrice = '12.50';
    }
    expect(inventory.states()).toEqual(['RELEASED', 'RELEASED']);
    expect(payments.count('authorize')).toBe(1);
    expect(await ordersOf(viewer.userId)).toEqual([]);
  });
});

describe('payment sweeper', () => {
  it('voids a charge nobody came back for (timeout after charging), and the key then answers IDEMPOTENCY_KEY_EXPIRED', async () => {
    const { checkout, inventory, payments } = setup();
    const viewer = freshUser();
    const input = order(CARDS.chargeThenTimeout);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    const [charge] = payments.heldFor(key);

    // Young payments are left alone: the client may still be retrying.
    await checkout.sweepPayments();
    expect(charge!.status).toBe('authorised');
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'pending' });

    await age(viewer, input);
    expect(await checkout.sweepPayments()).toBeGreaterThanOrEqual(1);
    expect(charge!.status).toBe('voided');
    expect(payments.calls.filter((c) => c.operation === 'void').map((c) => c.key)).toEqual([`void:${key}`]);
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'voided', order_id: null, payment_id: charge!.paymentId });
    expect(await eventsOf(db, viewer.userId)).toEqual([
      { type: 'payment.failed', aggregateId: key, data: { key, userId: viewer.userId, reason: 'unavailable' }, tags: [] },
      { type: 'payment.voided', aggregateId: key, data: { paymentId: charge!.paymentId, orderId: null, reason: 'abandoned' }, tags: [] },
    ]);

    const reserves = inventory.held.size;
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({
      extensions: { code: 'IDEMPOTENCY_KEY_EXPIRED', argument: 'idempotencyKey' },
    });
    expect(inventory.held.size).toBe(reserves); // refused before reserving
    expect(await ordersOf(viewer.userId)).toEqual([]);
    // A second sweep has nothing left to do for it.
    await checkout.sweepPayments();
    expect(payments.count('void')).toBe(1);
  });

  it('marks a pending payment the provider has nothing for as abandoned', async () => {
    const { checkout, payments } = setup();
    const viewer = freshUser();
    const input = order();
    payments.setDown(true);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    payments.setDown(false);
    await age(viewer, input);
    await checkout.sweepPayments();
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'abandoned', order_id: null });
    expect(payments.count('void')).toBe(0);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'IDEMPOTENCY_KEY_EXPIRED' } });
  });

  it('keeps its hands off payments an order took, and off a checkout that is still in progress', async () => {
    const { checkout, payments } = setup();
    const viewer = freshUser();
    const placedInput = order();
    await checkout.placeOrder(viewer, placedInput);
    await age(viewer, placedInput);

    // An attempt in progress (its claim held) whose payment looks old: the sweeper must wait for it.
    let release: () => void = () => {};
    const stalled = fakePayments();
    const slow: PaymentProvider = {
      ...stalled.provider,
      authorize: async (request) => {
        await age(viewer, inFlight);
        await new Promise<void>((resolve) => (release = resolve));
        return stalled.provider.authorize(request);
      },
    };
    const inFlight = order();
    const running = setup({ payments: { ...stalled, provider: slow } });
    const attempt = running.checkout.placeOrder(viewer, inFlight);
    await expect.poll(() => paymentOf(viewer, inFlight).then((p) => p?.status)).toBe('pending');
    await checkout.sweepPayments();
    release();
    expect(await attempt).toMatchObject({ status: 'PLACED' });
    expect(await paymentOf(viewer, inFlight)).toMatchObject({ status: 'authorised' });
    expect(await paymentOf(viewer, placedInput)).toMatchObject({ status: 'authorised' });
    expect(payments.count('find') + stalled.count('find')).toBe(0);
  });

  it('an attempt whose payment the sweeper took meanwhile writes no order and voids what it was given', async () => {
    const payments = fakePayments();
    const viewer = freshUser();
    const input = order();
    // The sweeper takes the row while the provider is answering (as a sweep racing a late retry would).
    const racing: PaymentProvider = {
      ...payments.provider,
      authorize: async (request) => {
        await db.query('UPDATE orders.payments SET swept_at = now() WHERE key = $1', [request.key]);
        return payments.provider.authorize(request);
      },
    };
    const { checkout, inventory } = setup({ payments: { ...payments, provider: racing } });
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'IDEMPOTENCY_KEY_EXPIRED' } });
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    expect(await ordersOf(viewer.userId)).toEqual([]);
    expect(inventory.states()).toEqual(['RELEASED']);
    expect(payments.heldFor(key).map((p) => p.status)).toEqual(['voided']);
    expect((await eventsOf(db, viewer.userId)).map((e) => [e.type, e.data.reason])).toEqual([['payment.voided', 'abandoned']]);
  });

  it('leaves a payment it could not settle (provider down) for the next sweep', async () => {
    const { checkout, payments } = setup();
    const viewer = freshUser();
    const input = order(CARDS.chargeThenTimeout);
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'PAYMENT_UNAVAILABLE' } });
    await age(viewer, input);
    payments.setDown(true);
    await checkout.sweepPayments();
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'pending' });
    // Taken all the same: the key is spent even before the provider is reached.
    await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'IDEMPOTENCY_KEY_EXPIRED' } });
    payments.setDown(false);
    await checkout.sweepPayments();
    expect(await paymentOf(viewer, input)).toMatchObject({ status: 'voided' });
    expect(payments.heldFor(paymentKey(viewer.userId, input.idempotencyKey)).map((p) => p.status)).toEqual(['voided']);
  });
});
