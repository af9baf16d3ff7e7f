import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** Anything that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction; it is rolled back if `fn` throws, so nothing half-written survives. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations, seeds). Counts as one statement. */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…` selects real Postgres through `pg`; absent selects embedded PGlite. */
  url?: string | undefined;
  /** An already open PGlite to share (one instance costs ~0.7 GB, so `npm start` shares one). */
  pglite?: PGlite | undefined;
  /** Where a new PGlite keeps its files; absent keeps it in memory. */
  pgliteDataDir?: string | undefined;
  /** Called once per SQL statement sent; feeds `db_queries_total`. */
  onStatement?: () => void;
  poolSize?: number;
}

export async function openPglite(dataDir?: string): Promise<PGlite> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  return db;
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const count = options.onStatement ?? (() => {});
  if (options.url) return createPgDatabase(options.url, count, options.poolSize ?? 10);
  const owned = !options.pglite;
  const instance = options.pglite ?? (await openPglite(options.pgliteDataDir));
  return createPgliteDatabase(instance, count, owned);
}

function createPgDatabase(url: string, count: () => void, max: number): Database {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const run = async <R>(client: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    count();
    const result = await client.query(text, params as unknown[] | undefined);
    return result.rows as R[];
  };
  return {
    kind: 'postgres',
    query: (text, params) => run(pool, text, params),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await run(client, 'BEGIN');
        const result = await fn({ query: (text, params) => run(client, text, params) });
        await run(client, 'COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(script) {
      count();
      await pool.query(script);
    },
    close: () => pool.end(),
  };
}

function createPgliteDatabase(instance: PGlite, count: () => void, owned: boolean): Database {
  return {
    kind: 'pglite',
    async query(text, params) {
      count();
      const result = await instance.query(text, params as unknown[] | undefined);
      return result.rows as never[];
    },
    transaction(fn) {
      count(); // BEGIN
      return instance.transaction(async (tx) => {
        const result = await fn({
          async query(text, params) {
            count();
            return (await tx.query(text, params as unknown[] | undefined)).rows as never[];
          },
        });
        count(); // COMMIT
        return result;
      });
    },
    async exec(script) {
      count();
      await instance.exec(script);
    },
    async close() {
      if (owned) await instance.close();
    },
  };
}
