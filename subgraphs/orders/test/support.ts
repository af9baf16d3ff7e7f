import { createLogger } from '@shop/platform';
import { createWrite, type Queryable, type Database, type Write } from '@shop/subgraph-kit';

export const logger = createLogger('orders-test', 'silent');

/** Stands in for the invalidation bus: what the writes published, in order. */
export function recorder() {
  const published: string[][] = [];
  return { published, publish: async (tags: readonly string[]) => void published.push([...tags]) };
}

/** The subgraph's write (events into orders.outbox), with `bus` recording the tags. */
export const writeTo = (db: Database, bus: { publish(tags: readonly string[]): Promise<void> } = recorder()): Write =>
  createWrite({ db, schema: 'orders', bus, logger });

export interface OutboxEvent {
  type: string;
  aggregateId: string;
  data: Record<string, unknown>;
  tags: string[];
}

/** The events in orders.outbox whose data names `userId` (each test uses users of its own), in order. */
export async function eventsOf(db: Queryable, userId: string): Promise<OutboxEvent[]> {
  const rows = await db.query<{ type: string; aggregate_id: string; data: unknown; tags: unknown }>(
    `SELECT type, aggregate_id, data, tags FROM orders.outbox
     WHERE data->>'userId' = $1
        OR data->>'orderId' IN (SELECT id FROM orders.orders WHERE user_id = $1)
        OR data->>'key' IN (SELECT key FROM orders.payments WHERE user_id = $1)
        OR (type = 'payment.voided' AND data->>'paymentId' IN (SELECT payment_id FROM orders.payments WHERE user_id = $1))
     ORDER BY position`,
    [userId],
  );
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return rows.map((r) => ({ type: r.type, aggregateId: r.aggregate_id, data: json(r.data), tags: json(r.tags) }));
}

const RUN = Math.floor(Math.random() * 1e9);
let users = 0;
/** A user no seed and no other test uses, so its rows and events are this test's alone. */
export const freshUser = () => ({ userId: `u${RUN}${String(users++).padStart(3, '0')}`, scopes: [] as string[] });
