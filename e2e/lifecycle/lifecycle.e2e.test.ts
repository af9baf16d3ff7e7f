import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { logIn, query } from '../setup/client.ts';
import { ledger, setFaults } from '../setup/payments.ts';
import { placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';

/**
 * The order lifecycle through the router, with the stack's payment sandbox and event stream:
 * PLACED (authorised, reserved) → SHIPPED (captured; inventory turns the reservation into a
 * shipment from the order.shipped event) → DELIVERED, and PLACED → CANCELLED (voided, released).
 */
let admin: string;
let carol: { token: string; userId: string };
let dave: { token: string; userId: string };

beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
  carol = await logIn('user41@example.com', 'password');
  dave = await logIn('user42@example.com', 'password');
});

afterEach(async () => {
  await setFaults({});
});

const ORDER_FIELDS = 'id status paymentStatus shippedAt deliveredAt cancelledAt';
const ship = (id: string, token = admin) => query(`mutation($id: ID!) { shipOrder(id: $id) { ${ORDER_FIELDS} } }`, { id }, { token });
const deliver = (id: string, token = admin) => query(`mutation($id: ID!) { deliverOrder(id: $id) { ${ORDER_FIELDS} } }`, { id }, { token });
const cancel = (id: string, token: string) => query(`mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`, { id }, { token });

async function placed(productId: string, quantity: number, token = carol.token) {
  const result = await placeOrder(token, uniqueKey('life'), [{ productId, quantity }]);
  expect(result.errors).toBeUndefined();
  return result.data.placeOrder as { id: string; status: string };
}

describe('the order lifecycle', () => {
  it('ships a placed order: payment captured, the reservation consumed once by inventory, then delivered', async () => {
    await setStock(admin, 'p38001', 10);
    // Seeded orders may hold some of it already: every stock check below is against this baseline.
    const { reserved: held } = await stockOf('p38001');
    const before = await ledger();
    const order = await placed('p38001', 3);
    expect((await stockOf('p38001')).reserved).toBe(held + 3);
    const shipped = await ship(order.id);
    expect(shipped.errors).toBeUndefined();
    expect(shipped.data.shipOrder).toMatchObject({ status: 'SHIPPED', paymentStatus: 'CAPTURED', deliveredAt: null });
    expect(shipped.data.shipOrder.shippedAt).toEqual(expect.any(String));
    // Inventory hears shop.order.shipped: reserved goes down, available does not come back.
    await waitFor(async () => (await stockOf('p38001')).reserved === held, { message: 'inventory did not consume order.shipped' });
    expect((await stockOf('p38001')).available).toBe(7);
    const after = await ledger();
    expect(after.counts.authorizations - before.counts.authorizations).toBe(1);
    expect(after.counts.captured - before.counts.captured).toBe(1);
    // The subscriber-style read across subgraphs: the order with its products' names and stock.
    const view = await query(
      `query($id: ID!) { order(id: $id) { status lines { quantity product { name stock(region: IN) { available } } } } }`,
      { id: order.id },
      { token: carol.token },
    );
    expect(view.errors).toBeUndefined();
    expect(view.data.order).toMatchObject({ status: 'SHIPPED', lines: [{ quantity: 3, product: { stock: { available: 7 } } }] });
    const delivered = await deliver(order.id);
    expect(delivered.errors).toBeUndefined();
    expect(delivered.data.deliverOrder).toMatchObject({ status: 'DELIVERED', paymentStatus: 'CAPTURED' });
    // Shipping again changes nothing: stock stays exact to the unit.
    expect((await ship(order.id)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', currentStatus: 'DELIVERED' });
    expect(await stockOf('p38001')).toMatchObject({ available: 7, reserved: held });
  });

  it('refuses forbidden transitions with BAD_USER_INPUT naming the current status, and non-admins', async () => {
    await setStock(admin, 'p38002', 5);
    const order = await placed('p38002', 1);
    expect((await deliver(order.id)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', currentStatus: 'PLACED' });
    expect((await ship(order.id, carol.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await query('mutation($id: ID!) { shipOrder(id: $id) { id } }', { id: order.id })).errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await ship(order.id)).data.shipOrder.status).toBe('SHIPPED');
    expect((await cancel(order.id, carol.token)).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      currentStatus: 'SHIPPED',
    });
    expect((await ship('o99999999')).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('cancels a placed order: authorisation voided, stock released, never shipped', async () => {
    await setStock(admin, 'p38003', 4);
    const { reserved: held } = await stockOf('p38003');
    const before = await ledger();
    const order = await placed('p38003', 2);
    const cancelled = await cancel(order.id, carol.token);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data.cancelOrder).toMatchObject({ status: 'CANCELLED', paymentStatus: 'VOIDED' });
    expect(await stockOf('p38003')).toMatchObject({ available: 4, reserved: held });
    expect((await ledger()).counts.voided - before.counts.voided).toBe(1);
    expect((await ship(order.id)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', currentStatus: 'CANCELLED' });
    // Another customer cannot touch it.
    expect((await cancel(order.id, dave.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('payment outcomes at checkout', () => {
  it('a declined card: PAYMENT_DECLINED, no order, stock released', async () => {
    await setStock(admin, 'p38004', 6);
    const { reserved: held } = await stockOf('p38004');
    const result = await placeOrder(
      carol.token,
      uniqueKey('declined'),
      [{ productId: 'p38004', quantity: 2 }],
      'IN',
      query,
      'tok_declined',
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('PAYMENT_DECLINED');
    expect(result.data?.placeOrder ?? null).toBeNull();
    expect(await stockOf('p38004')).toMatchObject({ available: 6, reserved: held });
  });

  it('a provider that is down: PAYMENT_UNAVAILABLE, stock released; the same key later places one order, charged once', async () => {
    await setStock(admin, 'p38005', 6);
    const { reserved: held } = await stockOf('p38005');
    const key = uniqueKey('unavailable');
    const before = await ledger();
    await setFaults({ errorRate: 1 });
    const down = await placeOrder(carol.token, key, [{ productId: 'p38005', quantity: 2 }]);
    expect(down.errors?.[0]?.extensions?.code).toBe('PAYMENT_UNAVAILABLE');
    expect(await stockOf('p38005')).toMatchObject({ available: 6, reserved: held });
    await setFaults({});
    // The circuit may be open after the failures: retry the same key until it lets a call through.
    let retried = await placeOrder(carol.token, key, [{ productId: 'p38005', quantity: 2 }]);
    for (let i = 0; i < 30 && retried.errors?.[0]?.extensions?.code === 'PAYMENT_UNAVAILABLE'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      retried = await placeOrder(carol.token, key, [{ productId: 'p38005', quantity: 2 }]);
    }
    expect(retried.errors).toBeUndefined();
    expect(retried.data.placeOrder.status).toBe('PLACED');
    const again = await placeOrder(carol.token, key, [{ productId: 'p38005', quantity: 2 }]);
    expect(again.data.placeOrder.id).toBe(retried.data.placeOrder.id);
    expect((await ledger()).counts.authorizations - before.counts.authorizations).toBe(1);
    expect(await stockOf('p38005')).toMatchObject({ available: 4, reserved: held + 2 });
  });

  it('a provider that times out after charging: the retry with the same key finds the charge, one authorisation', async () => {
    await setStock(admin, 'p38006', 6);
    const before = await ledger();
    await setFaults({ timeoutAfterChargeMs: 5_000 });
    const result = await placeOrder(
      carol.token,
      uniqueKey('timeout'),
      [{ productId: 'p38006', quantity: 1 }],
      'IN',
      query,
      'tok_timeout_after_charge',
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.placeOrder.status).toBe('PLACED');
    const after = await ledger();
    expect(after.counts.authorizations - before.counts.authorizations).toBe(1);
    expect(after.counts.timedOutAfterCharge - before.counts.timedOutAfterCharge).toBe(1);
  });
});
