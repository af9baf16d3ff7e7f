import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { type PostgresReplica, startPostgresReplica } from '@shop/platform/testing';
import { createDatabase, type Database, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, statementsByServer, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * PRICING_READ_DATABASE_URL on a real streaming replica of the local PostgreSQL (a database of this
 * file's own): prices and promotions are read from the replica, and a price change is what the
 * admin reads back at once, even while the replica lags. The subgraph cache is off so that every
 * read reaches the database.
 */
let replica: PostgresReplica;
let app: FastifyInstance;
let onReplica: Database;

const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const PRICES = ENTITIES_QUERY('... on Product { id price(region: IN) { amount currency } listPrice(region: SEA) { amount } }');
const READS: [string, Record<string, unknown>][] = [
  [PRICES, { representations: [1, 2, 3, 4, 5].map((n) => ({ __typename: 'Product', id: `p${n}` })) }],
  ['{ promotions(region: IN, includeExpired: true) { id discountPercent } }', {}],
];
const SET =
  'mutation($id: ID!, $amount: String!) { setListPrice(productId: $id, region: US, amount: $amount) { id listPrice(region: US) { amount } } }';
const LIST_PRICE = ENTITIES_QUERY('... on Product { listPrice(region: US) { amount } }');
const listPrice = async (id: string) =>
  (await gql(app, LIST_PRICE, { representations: [{ __typename: 'Product', id }] })).data!._entities[0].listPrice.amount;

beforeAll(async () => {
  replica = await startPostgresReplica();
  app = await buildServer({
    config: readConfig({
      PRICING_DATABASE_URL: replica.primaryUrl,
      PRICING_READ_DATABASE_URL: replica.replicaUrl,
      ROUTER_SECRET: TEST_ROUTER_SECRET,
      SUBGRAPH_CACHE: 'false',
    }),
    seedSize: SMALL_SEED,
  });
  onReplica = await createDatabase({ url: replica.replicaUrl });
  // Until the replica has replayed the seed the service reads from the primary.
  await vi.waitFor(
    async () => {
      const before = await statementsByServer(app);
      await gql(app, ...READS[0]!);
      expect((await statementsByServer(app)).replica).toBeGreaterThan(before.replica);
    },
    { timeout: 30_000, interval: 200 },
  );
});
afterAll(async () => {
  await app?.close();
  await onReplica?.close();
  await replica?.close();
});

describe('pricing with a read replica', () => {
  it('reads prices and promotions from the replica', async () => {
    const before = await statementsByServer(app);
    for (let i = 0; i < 20; i++) {
      for (const [query, variables] of READS) {
        const res = await gql(app, query, variables);
        expect(res.errors).toBeUndefined();
      }
    }
    const after = await statementsByServer(app);
    expect(after.primary - before.primary).toBe(0);
    expect(after.replica - before.replica).toBeGreaterThanOrEqual(READS.length * 20);
    console.info(`[replica] pricing: 40 reads sent ${after.replica - before.replica} statements to the replica, 0 to the primary`);
  });

  it('answers a price change with the new price and reads it back at once, caught up or lagging', async () => {
    const changed = await gql(app, SET, { id: 'p11', amount: '123.45' }, ADMIN);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.setListPrice.listPrice.amount).toBe('123.45');
    expect(await listPrice('p11')).toBe('123.45');

    await onReplica.query('SELECT pg_wal_replay_pause()');
    try {
      // The mutation's own `listPrice` is read after the write, in this request: from the primary,
      // since the replica has not replayed the write.
      const lagging = await gql(app, SET, { id: 'p12', amount: '67.89' }, ADMIN);
      expect(lagging.data!.setListPrice.listPrice.amount).toBe('67.89');
      expect(await listPrice('p12')).toBe('67.89');
      const [stale] = await onReplica.query<{ amount: string }>(
        "SELECT amount::text AS amount FROM pricing.list_price WHERE product_id = 'p12' AND region = 'US'",
      );
      expect(stale?.amount).not.toBe('67.89');
    } finally {
      await onReplica.query('SELECT pg_wal_replay_resume()');
    }
  });
});
