import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { clientFor, logIn, type Send } from '../setup/client.ts';
import { placeOrder, stockOf, uniqueKey } from '../setup/shop.ts';
import { readStream, type StoredEvent, setStockAndWait, startStreamWorld, type StreamWorld } from './support.ts';

/**
 * NATS stopped while orders are placed (issue 14, point 5): every write commits, the events wait in
 * the outboxes, and when NATS is back the relays drain them onto the stream exactly once each
 * (the events in the outboxes are the events on the stream, id for id). Then the orders ship and
 * inventory consumes each order.shipped once: reserved back to 0, available exact to the unit.
 */
const ORDERS = 30;
const STOCK = 200;
/** Three products the seed holds nothing for in IN (picked in beforeAll), so every unit reserved is one of these orders'. */
const PRODUCTS: string[] = [];

let world: StreamWorld;
let send: Send;
let admin: string;
let customers: string[];
const pools: pg.Pool[] = [];

const pool = (url: string) => {
  const p = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(p);
  return p;
};
let ordersDb: pg.Pool;
let inventoryDb: pg.Pool;

/** Unpublished rows of a subgraph's outbox. */
async function pending(db: pg.Pool, schema: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.outbox WHERE published_at IS NULL`);
  return Number(rows[0]?.n);
}

/** Outbox rows (id and type) after a position mark. */
async function outboxSince(db: pg.Pool, schema: string, after: number): Promise<{ id: string; type: string }[]> {
  const { rows } = await db.query<{ id: string; type: string }>(
    `SELECT id, type FROM ${schema}.outbox WHERE position > $1 ORDER BY position`,
    [after],
  );
  return rows;
}

async function lastPosition(db: pg.Pool, schema: string): Promise<number> {
  const { rows } = await db.query<{ p: string | null }>(`SELECT max(position) AS p FROM ${schema}.outbox`);
  return Number(rows[0]?.p ?? 0);
}

/** Order i's lines: two of the three products, quantities 1 or 2, so every product has a known total. */
const linesOf = (i: number) => [
  { productId: PRODUCTS[i % 3] as string, quantity: 1 + (i % 2) },
  { productId: PRODUCTS[(i + 1) % 3] as string, quantity: 1 },
];

const HELD_QUERY = `SELECT sum(s.reserved) AS n FROM inventory.stock s JOIN inventory.warehouse w ON w.id = s.warehouse_id
  WHERE s.product_id = $1 AND w.region = 'IN'`;

const countBy = <T>(items: readonly T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

beforeAll(async () => {
  world = await startStreamWorld('outage');
  send = clientFor(() => world.stack.routerUrl);
  ordersDb = pool(world.databases.urls.orders);
  inventoryDb = pool(world.databases.urls.inventory);
  admin = (await logIn('admin@example.com', 'admin', send)).token;
  // One after another: users refuses many sign-ins from one address at once.
  customers = [];
  for (let i = 0; i < 10; i++) customers.push((await logIn(`user${51 + i}@example.com`, 'password', send)).token);
  const { rows } = await inventoryDb.query<{ product_id: string }>(
    `SELECT s.product_id FROM inventory.stock s JOIN inventory.warehouse w ON w.id = s.warehouse_id WHERE w.region = 'IN'
     GROUP BY s.product_id HAVING sum(s.reserved) = 0 ORDER BY min(s.product_id) LIMIT 3`,
  );
  PRODUCTS.push(...rows.map((r) => r.product_id));
  expect(PRODUCTS).toHaveLength(3);
  for (const p of PRODUCTS) await setStockAndWait(admin, p, STOCK, 'IN', send);
  expect(await heldInDatabase()).toEqual(new Map(PRODUCTS.map((p) => [p, 0])));
});

afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.end()));
  await world?.close();
});

describe('NATS stopped while orders are placed', () => {
  let orderIds: string[] = [];
  let markOrders = 0;
  let markInventory = 0;
  let seqBefore = 0;

  it('commits every order while NATS is down; the outboxes hold their events and drain exactly once when it returns', async () => {
    // Everything the set-up wrote is on the stream before NATS goes: what follows is only the orders'.
    await waitFor(async () => (await pending(ordersDb, 'orders')) + (await pending(inventoryDb, 'inventory')) === 0, {
      timeoutMs: 15_000,
      message: 'the set-up events were not published',
    });
    markOrders = await lastPosition(ordersDb, 'orders');
    markInventory = await lastPosition(inventoryDb, 'inventory');
    seqBefore = (await readStream(world.nats.url, world.streamName)).length;

    await world.nats.stop();
    const outageStarted = Date.now();
    // Concurrently-ish: ten customers at a time, each placing its orders one after another.
    const results = await Promise.all(
      customers.map(async (token, c) => {
        const mine = [];
        for (let i = c; i < ORDERS; i += customers.length)
          mine.push(await placeOrder(token, uniqueKey(`outage-${i}`), linesOf(i), 'IN', send));
        return mine;
      }),
    );
    const placed = results.flat();
    for (const result of placed) expect(result.errors).toBeUndefined();
    orderIds = placed.map((r) => r.data.placeOrder.id as string);
    expect(new Set(orderIds).size).toBe(ORDERS);

    // The writes committed without the stream: every event is in an outbox, unpublished.
    const ordersOutbox = await outboxSince(ordersDb, 'orders', markOrders);
    const inventoryOutbox = await outboxSince(inventoryDb, 'inventory', markInventory);
    expect(ordersOutbox).toHaveLength(ORDERS * 2);
    expect(ordersOutbox.filter((r) => r.type === 'order.placed')).toHaveLength(ORDERS);
    expect(ordersOutbox.filter((r) => r.type === 'payment.authorised')).toHaveLength(ORDERS);
    expect(inventoryOutbox.filter((r) => r.type === 'stock.changed')).toHaveLength(ORDERS * 2);
    expect(await pending(ordersDb, 'orders')).toBe(ordersOutbox.length);
    expect(await pending(inventoryDb, 'inventory')).toBe(inventoryOutbox.length);
    // Inventory's writes committed too: the stock is held for the orders (read from its database:
    // the router's caches have not heard of it, their invalidations ride the stream that is away).
    expect(await heldInDatabase()).toEqual(expectedTotals());

    await world.nats.start();
    const restarted = Date.now();
    const outageMs = restarted - outageStarted;
    // The relays retry with a backoff of at most 30 s; the outboxes drain on their own.
    await waitFor(async () => (await pending(ordersDb, 'orders')) + (await pending(inventoryDb, 'inventory')) === 0, {
      timeoutMs: 45_000,
      intervalMs: 200,
      message: 'the outboxes did not drain after NATS came back',
    });
    process.stderr.write(
      `[e2e-nats] outage: ${ORDERS} orders placed in a ${outageMs} ms outage; outboxes drained ${Date.now() - restarted} ms after NATS restarted\n`,
    );

    // Events in = events out: the rows queued during the outage are the messages on the stream, each once.
    const stream = (await readStream(world.nats.url, world.streamName)).slice(seqBefore);
    const queued = [...ordersOutbox, ...inventoryOutbox];
    const onStream = stream.map((s) => s.event.id);
    expect(new Set(onStream).size).toBe(onStream.length);
    expect(new Set(onStream)).toEqual(new Set(queued.map((r) => r.id)));
    expect(stream).toHaveLength(queued.length);

    // And per order: one order.placed, one payment.authorised (its paymentId), one stock.changed per line.
    const placedEvents = stream.filter((s) => s.event.type === 'order.placed');
    expect(countBy(placedEvents, (s) => (s.event.data as { orderId: string }).orderId)).toEqual(new Map(orderIds.map((id) => [id, 1])));
    const paymentIds = placedEvents.map((s) => (s.event.data as { paymentId: string }).paymentId);
    const authorised = stream.filter((s) => s.event.type === 'payment.authorised');
    expect(countBy(authorised, (s) => (s.event.data as { paymentId: string }).paymentId)).toEqual(new Map(paymentIds.map((id) => [id, 1])));
    const reserved = stream.filter((s) => s.event.type === 'stock.changed' && (s.event.data as { reason: string }).reason === 'reserved');
    expect(countBy(reserved, (s) => (s.event.data as { productId: string }).productId)).toEqual(
      countBy(Array.from({ length: ORDERS }, (_, i) => linesOf(i)).flat(), (l) => l.productId),
    );
    // The router followed the stream again: its caches dropped the stock they held.
    await waitFor(async () => sameTotals(await stockReservedTotals(), expectedTotals()), {
      timeoutMs: 10_000,
      intervalMs: 200,
      message: 'the router did not hear the stock changes after NATS came back',
    });
  });

  it('ships the orders after NATS is back: inventory consumes each order.shipped exactly once', async () => {
    expect(orderIds).toHaveLength(ORDERS);
    const seqAtShip = (await readStream(world.nats.url, world.streamName)).length;
    for (const id of orderIds) {
      const shipped = await send('mutation($id: ID!) { shipOrder(id: $id) { id status paymentStatus } }', { id }, { token: admin });
      expect(shipped.errors).toBeUndefined();
      expect(shipped.data.shipOrder).toMatchObject({ status: 'SHIPPED', paymentStatus: 'CAPTURED' });
    }
    // Inventory hears shop.order.shipped: each reservation becomes a shipment; available does not come back.
    await waitFor(
      async () => (await Promise.all(PRODUCTS.map(async (p) => (await stockOf(p, 'IN', send)).reserved))).every((r) => r === 0),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: 'inventory did not consume every order.shipped',
      },
    );
    const totals = expectedTotals();
    for (const p of PRODUCTS) expect(await stockOf(p, 'IN', send)).toMatchObject({ available: STOCK - (totals.get(p) ?? 0), reserved: 0 });

    const stream: StoredEvent[] = (await readStream(world.nats.url, world.streamName)).slice(seqAtShip);
    const shipped = stream.filter((s) => s.event.type === 'order.shipped');
    expect(countBy(shipped, (s) => (s.event.data as { orderId: string }).orderId)).toEqual(new Map(orderIds.map((id) => [id, 1])));
    expect(stream.filter((s) => s.event.type === 'payment.captured')).toHaveLength(ORDERS);
    const shipments = stream.filter((s) => s.event.type === 'stock.changed' && (s.event.data as { reason: string }).reason === 'shipped');
    expect(shipments).toHaveLength(ORDERS * 2);
    // The consumer recorded each order.shipped once, in the same transaction as its effect.
    const { rows } = await inventoryDb.query<{ event_id: string }>(
      'SELECT event_id FROM inventory.processed_events WHERE event_id = ANY($1::uuid[])',
      [shipped.map((s) => s.event.id)],
    );
    expect(rows.map((r) => r.event_id).sort()).toEqual(shipped.map((s) => s.event.id).sort());
    // Stock stays exact however long it is left: nothing is consumed a second time.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const p of PRODUCTS) expect(await stockOf(p, 'IN', send)).toMatchObject({ available: STOCK - (totals.get(p) ?? 0), reserved: 0 });
  });
});

/** Units ordered per product over all orders. */
function expectedTotals(): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < ORDERS; i++) for (const l of linesOf(i)) totals.set(l.productId, (totals.get(l.productId) ?? 0) + l.quantity);
  return totals;
}

/** Units reserved per product, as inventory answers through the router (available must be what is left). */
async function stockReservedTotals(): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const p of PRODUCTS) {
    const s = await stockOf(p, 'IN', send);
    totals.set(p, s.available === STOCK - (expectedTotals().get(p) ?? 0) ? s.reserved : -1);
  }
  return totals;
}

const sameTotals = (a: Map<string, number>, b: Map<string, number>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** Units inventory holds for reservations, per product, straight from its tables. */
async function heldInDatabase(): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const p of PRODUCTS) {
    const { rows } = await inventoryDb.query<{ n: string | null }>(HELD_QUERY, [p]);
    totals.set(p, Number(rows[0]?.n ?? 0));
  }
  return totals;
}
