import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHECKOUT_LIMITS, MAX_LINE_QUANTITY } from '@shop/domain';
import { ConfigError } from '@shop/platform';
import type { Database } from '@shop/subgraph-kit';
import { createCheckout, DEFAULT_CONCURRENT_WAIT_MS, sumCents } from '../src/checkout.ts';
import { readConfig } from '../src/config.ts';
import { createLifecycle } from '../src/lifecycle.ts';
import type { ServiceClient } from '../src/services.ts';
import { CARDS, fakePayments } from './fake-payments.ts';
import { fakeInventory, logger, ordersDatabase, recorder, writeTo } from './support.ts';

/**
 * The checkout orchestration on a real database, with pricing and inventory played by scripted
 * clients so each failure can be placed exactly (the e2e suite covers the real services).
 */
let db: Database;
beforeAll(async () => {
  db = await ordersDatabase();
});
afterAll(() => db?.close());

const pricing: ServiceClient = {
  async call<T>(_query: string, variables: Record<string, unknown>) {
    const ids = variables.productIds as string[];
    return { quote: ids.map((productId) => ({ productId, unitPrice: { amount: '10.05', currency: 'INR' } })) } as T;
  },
};

const quiet = recorder();
/**
 * A checkout on the test database with what every case here shares (a provider that authorises,
 * the scripted pricing, the sweepers' default ages, a write whose tags nobody checks); a case
 * passes its inventory and whatever else it varies.
 */
const checkoutWith = (deps: Partial<Parameters<typeof createCheckout>[0]> & { inventory: ServiceClient }) =>
  createCheckout({
    payments: fakePayments().provider,
    paymentSweepAfterMs: 600_000,
    db,
    pricing,
    logger,
    abandonedAfterMs: 60_000,
    write: writeTo(db, quiet),
    ...deps,
  });

const viewer = { userId: 'u7', scopes: [] };
let n = 0;
const key = () => `unit-${Date.now()}-${n++}`;

describe('checkout orchestration', () => {
  it('totals lines in integer cents', () => {
    expect(
      sumCents([
        { productId: 'p1', quantity: 3, unitPrice: '10.05' },
        { productId: 'p2', quantity: 1, unitPrice: '0.10' },
      ]),
    ).toBe('30.25');
    expect(sumCents([{ productId: 'p1', quantity: 99, unitPrice: '99999.99' }])).toBe('9899999.01');
  });

  it('keeps a failed attempt whose release could not reach inventory, and the sweeper releases it later', async () => {
    const inventory = fakeInventory();
    const bus = recorder();
    const checkout = checkoutWith({ inventory: inventory.client, write: writeTo(db, bus) });
    const k = key();
    // Pricing quotes the wrong currency, so the attempt fails after inventory has reserved.
    const wrongCurrency: ServiceClient = {
      call: async <T>(_q: string, v: Record<string, unknown>) =>
        ({ quote: (v.productIds as string[]).map((productId) => ({ productId, unitPrice: { amount: '1.00', currency: 'USD' } })) }) as T,
    };
    // Inventory goes down right after reserving, so the failed attempt cannot release.
    const reserveThenDown: ServiceClient = {
      async call<T>(query: string, variables: Record<string, unknown>) {
        const result = await inventory.client.call<T>(query, variables);
        if (query.includes('reserveStock')) inventory.setDown(true);
        return result;
      },
    };
    const crashy = checkoutWith({ pricing: wrongCurrency, inventory: reserveThenDown, write: writeTo(db, bus) });
    await expect(
      crashy.placeOrder(viewer, { idempotencyKey: k, region: 'IN', paymentMethod: CARDS.ok, lines: [{ productId: 'p5', quantity: 1 }] }),
    ).rejects.toThrow(/pricing quoted USD/);
    expect([...inventory.held.values()]).toEqual(['HELD']);

    // A retry with the same key cannot release either while inventory is down: fails fast, holds nothing new.
    await expect(
      checkout.placeOrder(viewer, { idempotencyKey: k, region: 'IN', paymentMethod: CARDS.ok, lines: [{ productId: 'p5', quantity: 1 }] }),
    ).rejects.toMatchObject({
      extensions: { code: 'DEPENDENCY_UNAVAILABLE' },
    });
    expect(inventory.held.size).toBe(1);

    // Inventory is back: the sweeper gives the stock back and removes the claim.
    inventory.setDown(false);
    expect(await checkout.sweepAbandoned()).toBe(1);
    expect([...inventory.held.values()]).toEqual(['RELEASED']);
    // Failed attempts wrote no order, so they announced nothing; the order that was written did.
    expect(bus.published).toEqual([]);
    const order = await checkout.placeOrder(viewer, {
      idempotencyKey: k,
      region: 'IN',
      paymentMethod: CARDS.ok,
      lines: [{ productId: 'p5', quantity: 2 }],
    });
    expect(order).toMatchObject({ status: 'PLACED', total: '20.10', currency: 'INR' });
    expect(bus.published).toEqual([[`Order:${order.id}`, 'User:u7']]);
  });

  it('announces a cancellation once, and not a replayed order', async () => {
    const inventory = fakeInventory();
    const bus = recorder();
    const payments = fakePayments().provider;
    const checkout = checkoutWith({ payments, inventory: inventory.client, write: writeTo(db, bus) });
    const input = { idempotencyKey: key(), region: 'IN' as const, paymentMethod: CARDS.ok, lines: [{ productId: 'p3', quantity: 1 }] };
    const order = await checkout.placeOrder(viewer, input);
    expect((await checkout.placeOrder(viewer, input)).id).toBe(order.id);
    const lifecycle = createLifecycle({ db, inventory: inventory.client, payments, write: writeTo(db, bus), logger });
    expect(await lifecycle.cancelOrder(viewer, order.id)).toMatchObject({ status: 'CANCELLED' });
    expect(await lifecycle.cancelOrder(viewer, order.id)).toMatchObject({ status: 'CANCELLED' });
    const tags = [`Order:${order.id}`, 'User:u7'];
    expect(bus.published).toEqual([tags, tags]); // placed, cancelled: the replay and the second cancel changed nothing
  });

  it('treats the same lines in another order as the same request', async () => {
    const inventory = fakeInventory();
    const checkout = checkoutWith({ inventory: inventory.client });
    const k = key();
    const a = await checkout.placeOrder(viewer, {
      idempotencyKey: k,
      region: 'IN',
      paymentMethod: CARDS.ok,
      lines: [
        { productId: 'p1', quantity: 1 },
        { productId: 'p2', quantity: 2 },
      ],
    });
    const b = await checkout.placeOrder(viewer, {
      idempotencyKey: k,
      region: 'IN',
      paymentMethod: CARDS.ok,
      lines: [
        { productId: 'p2', quantity: 2 },
        { productId: 'p1', quantity: 1 },
      ],
    });
    expect(b.id).toBe(a.id);
    expect(inventory.held.size).toBe(1);
    await expect(
      checkout.placeOrder(viewer, {
        idempotencyKey: k,
        region: 'SEA',
        paymentMethod: CARDS.ok,
        lines: [
          { productId: 'p1', quantity: 1 },
          { productId: 'p2', quantity: 2 },
        ],
      }),
    ).rejects.toMatchObject({
      extensions: { code: 'IDEMPOTENCY_KEY_REUSED' },
    });
  });

  it(
    'a retry waits for a concurrent attempt with its key only briefly, ' +
      'then answers DEPENDENCY_UNAVAILABLE (the router never times out on it)',
    async () => {
      expect(DEFAULT_CONCURRENT_WAIT_MS).toBeLessThan(10_000); // the router's default SUBGRAPH_TIMEOUT_MS
      let unstall: () => void = () => {};
      const stalled: ServiceClient = {
        call: <T>(query: string, variables: Record<string, unknown>) =>
          new Promise<T>((resolve) => (unstall = () => resolve(pricing.call<T>(query, variables)))),
      };
      const inventory = fakeInventory();
      const checkout = checkoutWith({ pricing: stalled, inventory: inventory.client, concurrentWaitMs: 200 });
      const input = { idempotencyKey: key(), region: 'IN' as const, paymentMethod: CARDS.ok, lines: [{ productId: 'p4', quantity: 1 }] };
      const first = checkout.placeOrder(viewer, input);
      await expect(checkout.placeOrder(viewer, input)).rejects.toMatchObject({ extensions: { code: 'DEPENDENCY_UNAVAILABLE' } });
      unstall();
      const order = await first;
      expect(await checkout.placeOrder(viewer, input)).toMatchObject({ id: order.id });
    },
  );
});

describe('checkout limits (F7)', () => {
  const lines = (count: number, quantity: number) => Array.from({ length: count }, (_, i) => ({ productId: `p${i + 1}`, quantity }));

  it(
    'refuses more than MAX_QUANTITY_PER_PRODUCT (10) of one product, ' +
      'and more than MAX_UNITS_PER_ORDER (100) in all, before reserving anything',
    async () => {
      expect(readConfig({}).checkoutLimits).toEqual(DEFAULT_CHECKOUT_LIMITS);
      expect(DEFAULT_CHECKOUT_LIMITS).toEqual({ maxQuantityPerProduct: 10, maxUnitsPerOrder: 100 });
      const inventory = fakeInventory();
      const checkout = checkoutWith({ inventory: inventory.client, limits: readConfig({}).checkoutLimits });
      // What the attack sent: 50 lines, each a product's whole regional stock.
      await expect(
        checkout.placeOrder(viewer, { idempotencyKey: key(), region: 'IN', paymentMethod: CARDS.ok, lines: lines(50, 72) }),
      ).rejects.toMatchObject({
        message: 'Quantity for p1 must be 1 to 10',
        extensions: { code: 'BAD_USER_INPUT', argument: 'lines', productId: 'p1', max: 10 },
      });
      await expect(
        checkout.placeOrder(viewer, {
          idempotencyKey: key(),
          region: 'IN',
          paymentMethod: CARDS.ok,
          lines: [{ productId: 'p9', quantity: 11 }],
        }),
      ).rejects.toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', argument: 'lines', productId: 'p9' },
      });
      // 11 lines of 10 each: every line is allowed, the order is not.
      await expect(
        checkout.placeOrder(viewer, { idempotencyKey: key(), region: 'IN', paymentMethod: CARDS.ok, lines: lines(11, 10) }),
      ).rejects.toMatchObject({
        message: 'An order holds at most 100 units in all; this one has 110',
        extensions: { code: 'BAD_USER_INPUT', argument: 'lines', max: 100 },
      });
      expect(inventory.held.size).toBe(0);
      // At the limits exactly: placed.
      expect(
        await checkout.placeOrder(viewer, { idempotencyKey: key(), region: 'IN', paymentMethod: CARDS.ok, lines: lines(10, 10) }),
      ).toMatchObject({
        status: 'PLACED',
      });
      expect(
        await checkout.placeOrder(viewer, { idempotencyKey: key(), region: 'IN', paymentMethod: CARDS.ok, lines: lines(50, 2) }),
      ).toMatchObject({
        status: 'PLACED',
      });
    },
  );

  it('reads the limits from the environment and refuses contradictory ones', async () => {
    const limits = readConfig({ MAX_QUANTITY_PER_PRODUCT: '3', MAX_UNITS_PER_ORDER: '5' }).checkoutLimits;
    expect(limits).toEqual({ maxQuantityPerProduct: 3, maxUnitsPerOrder: 5 });
    const checkout = checkoutWith({ inventory: fakeInventory().client, limits });
    await expect(
      checkout.placeOrder(viewer, {
        idempotencyKey: key(),
        region: 'IN',
        paymentMethod: CARDS.ok,
        lines: [{ productId: 'p1', quantity: 4 }],
      }),
    ).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', max: 3 },
    });
    const refused = [
      { MAX_QUANTITY_PER_PRODUCT: '0' },
      { MAX_UNITS_PER_ORDER: 'lots' },
      { MAX_QUANTITY_PER_PRODUCT: '20', MAX_UNITS_PER_ORDER: '10' },
      // Above the line cap inventory enforces, placeOrder would accept lines that reserving refuses.
      { MAX_QUANTITY_PER_PRODUCT: String(MAX_LINE_QUANTITY + 1), MAX_UNITS_PER_ORDER: '500' },
    ];
    for (const env of refused) {
      expect(() => readConfig(env)).toThrow(ConfigError);
    }
  });
});
