import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { type PostgresReplica, startPostgresReplica } from '@shop/platform/testing';
import { createDatabase, type Database, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, statementsByServer } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * INVENTORY_READ_DATABASE_URL on a real streaming replica of the local PostgreSQL (a database of
 * this file's own): stock is read from the replica, while checkout's stock checks (reserveStock,
 * which reads the rows it takes FOR UPDATE in its transaction) see the primary even when the
 * replica is behind. The subgraph cache is off so that every read reaches the database.
 */
let replica: PostgresReplica;
let app: FastifyInstance;
let onPrimary: Database;
let onReplica: Database;

const SECRET = 's3cret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser(ADMIN_USER_ID, ['admin'], SECRET);
const STOCK = ENTITIES_QUERY('... on Product { id stock(region: IN) { available inStock } }');
const RESERVE = `mutation($id: ID!, $lines: [ReserveLineInput!]!) {
  reserveStock(reservationId: $id, region: IN, lines: $lines) { id status lines { productId quantity } } }`;
const ADJUST = `mutation($p: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: "w1", delta: $d) { available } }`;
/** Products no seed stocks, stocked here in warehouse w1 (IN) only. */
const SOLD_OUT = 'p900000001';
const RESTOCKED = 'p900000002';

const available = async (productId: string) =>
  (await gql(app, STOCK, { representations: [{ __typename: 'Product', id: productId }] })).data!._entities[0].stock.available as number;
const onTheReplica = async (productId: string) =>
  (await onReplica.query<{ available: number }>('SELECT available FROM inventory.stock WHERE product_id = $1', [productId]))[0]?.available;

beforeAll(async () => {
  replica = await startPostgresReplica();
  app = await buildServer({
    config: readConfig({
      INVENTORY_DATABASE_URL: replica.primaryUrl,
      INVENTORY_READ_DATABASE_URL: replica.replicaUrl,
      ROUTER_SECRET: SECRET,
      SUBGRAPH_CACHE: 'false',
    }),
    seedSize: SMALL_SEED,
  });
  onPrimary = await createDatabase({ url: replica.primaryUrl });
  onReplica = await createDatabase({ url: replica.replicaUrl });
  await vi.waitFor(
    async () => {
      const before = await statementsByServer(app);
      await available('p1');
      expect((await statementsByServer(app)).replica).toBeGreaterThan(before.replica);
    },
    { timeout: 30_000, interval: 200 },
  );
});
afterAll(async () => {
  await app?.close();
  await onPrimary?.close();
  await onReplica?.close();
  await replica?.close();
});

describe('inventory with a read replica', () => {
  it('reads stock from the replica, and shows an adjustment at once', async () => {
    const before = await statementsByServer(app);
    for (let n = 1; n <= 40; n++) expect(await available(`p${n}`)).toBeGreaterThanOrEqual(0);
    const after = await statementsByServer(app);
    expect(after.primary - before.primary).toBe(0);
    expect(after.replica - before.replica).toBeGreaterThanOrEqual(40);
    console.info(`[replica] inventory: 40 stock reads sent ${after.replica - before.replica} statements to the replica, 0 to the primary`);

    for (const product of [SOLD_OUT, RESTOCKED]) {
      const res = await gql(app, ADJUST, { p: product, d: 5 }, ADMIN);
      expect(res.data!.adjustStock.available).toBe(5);
      expect(await available(product)).toBe(5);
    }
  });

  it("checks checkout's stock on the primary while the replica answers from older data", async () => {
    await vi.waitFor(async () => expect(await onTheReplica(RESTOCKED)).toBe(5), { timeout: 10_000 });
    await onReplica.query('SELECT pg_wal_replay_pause()');
    try {
      // Changed on the primary behind the service's back: the service does not know the replica is behind.
      await onPrimary.query("UPDATE inventory.stock SET available = 0 WHERE product_id = $1 AND warehouse_id = 'w1'", [SOLD_OUT]);
      await onPrimary.query("UPDATE inventory.stock SET available = 8 WHERE product_id = $1 AND warehouse_id = 'w1'", [RESTOCKED]);
      // Reads outside checkout come from the replica, which still has 5 of each.
      expect(await available(SOLD_OUT)).toBe(5);
      expect(await available(RESTOCKED)).toBe(5);

      const before = await statementsByServer(app);
      const short = await gql(app, RESERVE, { id: `r-${Date.now()}-a`, lines: [{ productId: SOLD_OUT, quantity: 1 }] }, INTERNAL);
      const after = await statementsByServer(app);
      expect(short.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
      expect(after.primary).toBeGreaterThan(before.primary);
      expect(after.replica).toBe(before.replica);

      const held = await gql(app, RESERVE, { id: `r-${Date.now()}-b`, lines: [{ productId: RESTOCKED, quantity: 8 }] }, INTERNAL);
      expect(held.errors).toBeUndefined();
      expect(held.data!.reserveStock).toMatchObject({ status: 'HELD', lines: [{ productId: RESTOCKED, quantity: 8 }] });
      expect(await onTheReplica(RESTOCKED)).toBe(5);
      // The service wrote (the reservation) and knows the replica has not replayed it: reads go to the primary.
      expect(await available(RESTOCKED)).toBe(0);
    } finally {
      await onReplica.query('SELECT pg_wal_replay_resume()');
    }
    await vi.waitFor(async () => expect(await onTheReplica(RESTOCKED)).toBe(0), { timeout: 10_000 });
  });
});
