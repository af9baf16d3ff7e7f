import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@shop/platform';
import { createDatabase, createWrite, prepareStorage, SMALL_SEED, type Queryable, type Database, type Write } from '@shop/subgraph-kit';
import { TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { seed } from '../src/db/seed.ts';
import { DependencyUnavailable, type ServiceClient } from '../src/services.ts';

export const logger = createLogger('orders-test', 'silent');

/** The test database with the orders schema migrated and the small seed in it; the caller closes it. */
export async function ordersDatabase(): Promise<Database> {
  const db = await createDatabase({ url: process.env.ORDERS_DATABASE_URL });
  await prepareStorage(db, 'orders', new URL('../src/db/migrations/', import.meta.url), (tx) => seed(tx, SMALL_SEED));
  return db;
}

/**
 * Inventory as a scripted client: reserving holds (once per reservation id), releasing releases a
 * held reservation and answers null for one it never saw, and while `setDown(true)` every call
 * fails as an unreachable inventory does, so a case can place an outage exactly.
 */
export function fakeInventory() {
  const held = new Map<string, 'HELD' | 'RELEASED'>();
  let down = false;
  const client: ServiceClient = {
    async call<T>(query: string, variables: Record<string, unknown>) {
      if (down) throw new DependencyUnavailable('inventory');
      const id = String(variables.reservationId);
      if (query.includes('reserveStock')) {
        if (!held.has(id)) held.set(id, 'HELD');
        return { reserveStock: { id, status: held.get(id) } } as T;
      }
      if (held.get(id) === 'HELD') held.set(id, 'RELEASED');
      return { releaseStock: held.has(id) ? { id, status: held.get(id) } : null } as T;
    },
  };
  return { client, held, states: () => [...held.values()], setDown: (value: boolean) => (down = value) };
}

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

export interface FakeSiblings {
  /** Both services' GraphQL endpoint (PRICING_URL and INVENTORY_URL). */
  url: string;
  close(): Promise<void>;
}

/**
 * Pricing and inventory as one small HTTP server: quote prices every product at 10.00 INR,
 * reserveStock holds and releaseStock releases whatever reservation it is asked about. Records each
 * reservation's status in `reservations` when given one; while `inventoryDown()` answers true,
 * inventory's calls get a 503 (pricing still answers), as an unreachable inventory would.
 */
export async function fakeSiblings({
  reservations,
  inventoryDown = () => false,
}: {
  reservations?: Map<string, 'HELD' | 'RELEASED'>;
  inventoryDown?: () => boolean;
} = {}): Promise<FakeSiblings> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { query, variables } = JSON.parse(body) as { query: string; variables: { productIds?: string[]; reservationId?: string } };
      response.setHeader('content-type', 'application/json');
      if (query.includes('quote')) {
        const quote = (variables.productIds ?? []).map((productId) => ({ productId, unitPrice: { amount: '10.00', currency: 'INR' } }));
        response.end(JSON.stringify({ data: { quote } }));
        return;
      }
      if (inventoryDown()) {
        response.statusCode = 503;
        response.end('{}');
        return;
      }
      const id = String(variables.reservationId);
      const [field, status] = query.includes('reserveStock')
        ? (['reserveStock', 'HELD'] as const)
        : (['releaseStock', 'RELEASED'] as const);
      reservations?.set(id, status);
      response.end(JSON.stringify({ data: { [field]: { id, status } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** The settings every orders server in these tests starts from: the test router secret, the test database, siblings at `siblingsUrl`. */
export const ordersEnv = (siblingsUrl: string) => ({
  ROUTER_SECRET: TEST_ROUTER_SECRET,
  ORDERS_DATABASE_URL: process.env.ORDERS_DATABASE_URL,
  PRICING_URL: siblingsUrl,
  INVENTORY_URL: siblingsUrl,
});
