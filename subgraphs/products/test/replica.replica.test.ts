import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { type PostgresReplica, startPostgresReplica } from '@shop/platform/testing';
import { createDatabase, type Database, databaseOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, gql, metricValue, statementsByServer, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * PRODUCTS_READ_DATABASE_URL on a real streaming replica of the local PostgreSQL (pg_basebackup
 * into a temporary directory, started on a free port, in a database of this file's own): reads go
 * to it, a write is read back at once, and a replica that hangs or stops costs no request.
 * The subgraph cache is off so that every read reaches the database.
 */
let replica: PostgresReplica;
let app: FastifyInstance;
/** The test's own connections, to look at each server under the service. */
let onPrimary: Database;
let onReplica: Database;

const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const READS = [
  '{ product(id: "p3") { id name brand category { id name } } }',
  '{ products(first: 5) { totalCount edges { node { id name } } } }',
  '{ searchProducts(query: "a", first: 3) { edges { node { id } } } }',
  '{ categories { id slug } }',
];
const UPDATE = 'mutation($id: ID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id name } }';
const NAME = 'query($id: ID!) { product(id: $id) { id name } }';

beforeAll(async () => {
  replica = await startPostgresReplica();
  app = await buildServer({
    config: readConfig({
      PRODUCTS_DATABASE_URL: replica.primaryUrl,
      PRODUCTS_READ_DATABASE_URL: replica.replicaUrl,
      ROUTER_SECRET: TEST_ROUTER_SECRET,
      SUBGRAPH_CACHE: 'false',
    }),
    seedSize: SMALL_SEED,
  });
  onPrimary = await createDatabase({ url: replica.primaryUrl });
  onReplica = await createDatabase({ url: replica.replicaUrl });
  // The seed may still be replaying: the service reads from the primary until the replica has it.
  await vi.waitFor(async () => expect(await readLandsOn()).toBe('replica'), { timeout: 30_000, interval: 200 });
});
afterAll(async () => {
  await app?.close();
  await onPrimary?.close();
  await onReplica?.close();
  await replica?.close();
});

/** Runs one read; which server its statements went to. */
async function readLandsOn(): Promise<'primary' | 'replica' | 'both' | 'none'> {
  const before = await statementsByServer(app);
  const res = await gql(app, READS[0]!);
  expect(res.errors).toBeUndefined();
  const after = await statementsByServer(app);
  const primary = after.primary > before.primary;
  const onReplica = after.replica > before.replica;
  return primary && onReplica ? 'both' : primary ? 'primary' : onReplica ? 'replica' : 'none';
}

/** Transactions committed in the test's database on the replica server, from its own statistics. */
async function replicaCommits(): Promise<number> {
  const [row] = await onReplica.query<{ n: string }>(
    'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row?.n ?? 0);
}

describe('products with a read replica', () => {
  it('sends every read to the replica, counted by the service and by the replica server itself', async () => {
    const commitsBefore = await replicaCommits();
    const before = await statementsByServer(app);
    for (let i = 0; i < 20; i++) {
      for (const query of READS) {
        const res = await gql(app, query);
        expect(res.errors).toBeUndefined();
      }
    }
    const after = await statementsByServer(app);
    const onTheReplica = after.replica - before.replica;
    expect(after.primary - before.primary).toBe(0);
    expect(onTheReplica).toBeGreaterThanOrEqual(READS.length * 20);
    // Each of those statements is a transaction of its own on the replica; its statistics are
    // flushed lazily (PostgreSQL 15: within about 10 s of a backend going idle), hence the poll.
    await expect
      .poll(async () => (await replicaCommits()) - commitsBefore, { timeout: 30_000, interval: 500 })
      .toBeGreaterThanOrEqual(onTheReplica);
    console.info(
      `[replica] products: 80 reads sent ${onTheReplica} statements to the replica, 0 to the primary; replica pg_stat_database +${(await replicaCommits()) - commitsBefore} commits`,
    );
  });

  it("shows the writer its write at once: the mutation's answer and the next read", async () => {
    const res = await gql(app, UPDATE, { id: 'p7', name: 'Replicated Kettle' }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateProduct).toEqual({ id: 'p7', name: 'Replicated Kettle' });
    // The write waited for the replica to replay its commit, so a read on either server has it.
    const read = await gql(app, NAME, { id: 'p7' });
    expect(read.data!.product).toEqual({ id: 'p7', name: 'Replicated Kettle' });
  });

  it('reads a write back from the primary while the replica lags behind it, and from the replica once it caught up', async () => {
    // Replay paused: the replica answers, with what it had before the write.
    await onReplica.query('SELECT pg_wal_replay_pause()');
    try {
      const res = await gql(app, UPDATE, { id: 'p8', name: 'Lagging Lamp' }, ADMIN);
      expect(res.data!.updateProduct).toEqual({ id: 'p8', name: 'Lagging Lamp' });
      const before = await statementsByServer(app);
      const read = await gql(app, NAME, { id: 'p8' });
      const after = await statementsByServer(app);
      expect(read.data!.product).toEqual({ id: 'p8', name: 'Lagging Lamp' });
      expect(after.primary).toBeGreaterThan(before.primary);
      expect(after.replica).toBe(before.replica);
      // It really lags: the replica itself still has the old name.
      const [stale] = await onReplica.query<{ name: string }>("SELECT name FROM products.product WHERE id = 'p8'");
      expect(stale!.name).not.toBe('Lagging Lamp');
    } finally {
      await onReplica.query('SELECT pg_wal_replay_resume()');
    }
    await expect.poll(() => readLandsOn(), { timeout: 10_000, interval: 100 }).toBe('replica');
    expect((await gql(app, NAME, { id: 'p8' })).data!.product.name).toBe('Lagging Lamp');
  });

  it('fails a statement the replica refuses for itself, as the primary would, without running it there', async () => {
    const db = databaseOf(app);
    const before = await statementsByServer(app);
    const fallbacks = await metricValue(app, 'db_replica_fallbacks_total');
    // A syntax error, a bad value, and a write sent as a read (the replica is read-only: it shows the mistake).
    await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    await expect(db.query("SELECT 'x'::int")).rejects.toMatchObject({ code: '22P02' });
    await expect(db.query("UPDATE products.product SET name = name WHERE id = 'p1'")).rejects.toMatchObject({ code: '25006' });
    const after = await statementsByServer(app);
    expect(after.replica - before.replica).toBe(3);
    expect(after.primary).toBe(before.primary);
    expect(await metricValue(app, 'db_replica_fallbacks_total')).toBe(fallbacks);
  });

  it('a replica that hangs (SIGSTOP) or stops falls back to the primary with no failed request, and gets the reads back when it returns', async () => {
    const fallbacksBefore = await metricValue(app, 'db_replica_fallbacks_total');
    let running = true;
    let answered = 0;
    const failures: unknown[] = [];
    // Four clients reading in a loop for the whole test.
    const clients = Array.from({ length: 4 }, async (_, c) => {
      for (let i = c; running; i++) {
        const res = await gql(app, READS[i % READS.length]!);
        if (res.status !== 200 || res.errors || !res.data) failures.push(res.errors ?? res.status);
        answered++;
      }
    });
    const served = async (more: number) => {
      const target = answered + more;
      await expect.poll(() => answered, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(target);
    };
    const backOnReplica = async () => {
      const before = await statementsByServer(app);
      await expect
        .poll(async () => (await statementsByServer(app)).replica - before.replica, { timeout: 30_000, interval: 100 })
        .toBeGreaterThan(0);
    };
    try {
      await served(20);
      const fallbacks: Record<string, number> = {};

      // Hung: connections open, nothing answers; each read gives up after the statement timeout.
      await replica.pause();
      await expect
        .poll(async () => (await metricValue(app, 'db_replica_fallbacks_total')) - fallbacksBefore, { timeout: 30_000, interval: 100 })
        .toBeGreaterThan(0);
      const primaryDuringHang = (await statementsByServer(app)).primary;
      await served(40);
      expect((await statementsByServer(app)).primary).toBeGreaterThan(primaryDuringHang);
      fallbacks.hung = (await metricValue(app, 'db_replica_fallbacks_total')) - fallbacksBefore;
      await replica.resume();
      await backOnReplica();

      // Stopped (fast shutdown): refused connections, then a server starting up.
      const beforeStop = await metricValue(app, 'db_replica_fallbacks_total');
      await replica.stop();
      await expect
        .poll(async () => (await metricValue(app, 'db_replica_fallbacks_total')) - beforeStop, { timeout: 30_000, interval: 100 })
        .toBeGreaterThan(0);
      await served(40);
      await replica.start();
      await backOnReplica();
      fallbacks.stopped = (await metricValue(app, 'db_replica_fallbacks_total')) - beforeStop;
      await served(20);
      console.info(
        `[replica] products: ${answered} reads under a hung then stopped replica, ${failures.length} failed; fallbacks ${JSON.stringify(fallbacks)}`,
      );
    } finally {
      running = false;
      await Promise.all(clients);
      await replica.resume();
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
