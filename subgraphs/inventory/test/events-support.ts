import type { FastifyInstance } from 'fastify';
import { createEnvelope, type EventEnvelope, event } from '@shop/events';
import { databaseOf } from '@shop/subgraph-kit';

/** What the events tests share (events.test.ts on the in-process stream, events.nats.test.ts on JetStream). */

/** The durable name of inventory's order.shipped consumer on the stream (`<subgraph>-<name>`). */
export const CONSUMER = 'inventory-order-shipped';

export interface OutboxEvent {
  type: string;
  data: Record<string, unknown>;
  tags: string[];
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/** Reads under the API of a built inventory server (`app` is called each time: it is built in a beforeAll). */
export function probe(app: () => FastifyInstance) {
  const db = () => databaseOf(app());
  return {
    /** The events inventory's writes queued about these products, oldest first. */
    async outboxOf(...productIds: string[]): Promise<OutboxEvent[]> {
      const rows = await db().query<{ type: string; data: unknown; tags: unknown }>(
        'SELECT type, data, tags FROM inventory.outbox WHERE aggregate_id = ANY($1::text[]) ORDER BY position',
        [productIds],
      );
      return rows.map((r) => ({ type: r.type, data: json(r.data), tags: json(r.tags) }));
    },

    /** Per warehouse that has a row: available and reserved units of the product, read from the table. */
    async stockOf(productId: string): Promise<Record<string, { available: number; reserved: number }>> {
      const rows = await db().query<{ warehouseId: string; available: number; reserved: number }>(
        'SELECT warehouse_id AS "warehouseId", available, reserved FROM inventory.stock WHERE product_id = $1 ORDER BY warehouse_id',
        [productId],
      );
      return Object.fromEntries(rows.map((r) => [r.warehouseId, { available: r.available, reserved: r.reserved }]));
    },

    async statusOf(reservationId: string): Promise<string | undefined> {
      const [row] = await db().query<{ status: string }>('SELECT status FROM inventory.reservation WHERE id = $1', [reservationId]);
      return row?.status;
    },

    /** Whether the order-shipped consumer has applied (or acknowledged) this event. */
    async processed(eventId: string): Promise<boolean> {
      const rows = await db().query('SELECT 1 FROM inventory.processed_events WHERE consumer = $1 AND event_id = $2', [CONSUMER, eventId]);
      return rows.length === 1;
    },

    /**
     * Makes the shipment of one reservation fail at its last statement (HELD -> SHIPPED) until the
     * returned function is called: the stock updates before it, in the same transaction, must not survive.
     */
    async failShipmentOf(reservationId: string, run: string): Promise<() => Promise<void>> {
      const name = `fail_${run.replace(/\W/g, '_')}`;
      await db().query(
        `CREATE FUNCTION inventory.${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
      );
      await db().query(
        `CREATE TRIGGER ${name} BEFORE UPDATE ON inventory.reservation FOR EACH ROW
         WHEN (NEW.status = 'SHIPPED' AND NEW.id = '${reservationId.replace(/'/g, '')}') EXECUTE FUNCTION inventory.${name}()`,
      );
      return async () => {
        await db().query(`DROP TRIGGER IF EXISTS ${name} ON inventory.reservation`);
        await db().query(`DROP FUNCTION IF EXISTS inventory.${name}()`);
      };
    },
  };
}

/** A counter of a server's /metrics with these labels (0 when it has no such series yet). */
export async function counter(server: FastifyInstance, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** Polls until `check` holds; a bound on the wait, not a timing assertion (the stream delivers on later turns). */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An order.shipped envelope as orders' relay would put it on the stream. */
export const shipped = (reservationId: string | null, orderId = `o-${Math.random().toString(36).slice(2, 10)}`): EventEnvelope =>
  createEnvelope(event('order.shipped', orderId, { orderId, userId: 'u1', reservationId }, [`Order:${orderId}`]));

export const stockChanged = (productId: string, reason: string, available: number, reserved: number): OutboxEvent => ({
  type: 'stock.changed',
  data: { productId, reason, available, reserved },
  tags: [`Product:${productId}`],
});
