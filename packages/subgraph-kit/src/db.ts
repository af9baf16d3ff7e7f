import { PGlite } from '@electric-sql/pglite';
import { SpanKind, SpanStatusCode, type Tracer, trace, context } from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { badInput } from '@shop/platform';

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
  /** Connections right now, for `db_pool_connections` (absent on a transaction seen as a Database). */
  poolStats?(): PoolStats;
  /**
   * With a read replica (replica.ts): the primary, for reads that must see the latest commit and
   * for work that writes outside `transaction` (the outbox relay). Absent: this is the primary.
   */
  readonly primary?: Database;
}

/** Where reads that must be fresh, and writes outside a transaction, go: the primary behind a replicated database. */
export function primaryOf(db: Database): Database {
  return db.primary ?? db;
}

/**
 * pg: the pool's open, idle and waiting counts. PGlite is one connection that runs one statement
 * at a time: total 1, idle 1 when this service has nothing in flight on it, and waiting the calls
 * queued behind the one running (only this service's, when several share one PGlite).
 */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
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
  /** pg: how long to wait for a new connection (0: as long as the OS takes). A read replica's is short, see replica.ts. */
  connectionTimeoutMillis?: number;
  /**
   * pg: the server cancels a statement running longer than this (`statement_timeout`), and the
   * client gives up 1 s later whatever the server does (a hung server answers nothing). 0: no bound.
   */
  statementTimeoutMillis?: number;
  /**
   * With tracing on: a CLIENT span per statement sent within a traced request (child of the active
   * span; none outside one, so seeding and migrations make no spans), carrying `db.system` and
   * the statement's verb only, never its text or values.
   */
  tracer?: Tracer | undefined;
  /**
   * pg: how many distinct statement texts this pool sends as named prepared statements
   * (`PG_PREPARED_STATEMENTS`; 0: none, every statement is parsed and planned anew). See
   * `preparedStatements`.
   */
  preparedStatements?: number;
}

export async function openPglite(dataDir?: string): Promise<PGlite> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  return db;
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const count = options.onStatement ?? (() => {});
  const database = options.url
    ? createPgDatabase(options.url, count, {
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.connectionTimeoutMillis ?? 0,
        statementTimeoutMillis: options.statementTimeoutMillis ?? 0,
        preparedStatements: options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS,
      })
    : createPgliteDatabase(options.pglite ?? (await openPglite(options.pgliteDataDir)), count, !options.pglite);
  const checked = withClientTextErrors(database);
  return options.tracer ? traced(checked, options.tracer) : checked;
}

/**
 * SQLSTATE classes that mean the client's text cannot be stored or compared at all (a NUL byte in
 * a search string, say): the client's mistake, so BAD_USER_INPUT rather than a masked 500.
 */
const CLIENT_TEXT_ERRORS = new Set(['22021', '22P05']);

function withClientTextErrors(database: Database): Database {
  const rethrow = (error: unknown): never => {
    if (CLIENT_TEXT_ERRORS.has((error as { code?: string } | undefined)?.code ?? '')) {
      throw badInput('Text contains a NUL or another character the database cannot store');
    }
    throw error;
  };
  const wrap = (queryable: Queryable): Queryable => ({
    query: <R>(text: string, params?: readonly unknown[]) => queryable.query<R>(text, params).catch(rethrow),
  });
  return {
    ...database,
    query: <R>(text: string, params?: readonly unknown[]) => database.query<R>(text, params).catch(rethrow),
    transaction: (fn) => database.transaction((tx) => fn(wrap(tx))).catch(rethrow),
  };
}

/** Wraps every statement in a span when the calling request is traced (see DatabaseOptions.tracer). */
function traced(database: Database, tracer: Tracer): Database {
  const system = database.kind === 'postgres' ? 'postgresql' : 'pglite';
  const inSpan = async <T>(text: string, run: () => Promise<T>): Promise<T> => {
    const parent = context.active();
    if (!trace.getSpan(parent)) return run();
    const verb = /^\s*([a-z]+)/i.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const span = tracer.startSpan(verb, { kind: SpanKind.CLIENT, attributes: { 'db.system': system, 'db.operation.name': verb } }, parent);
    try {
      return await context.with(trace.setSpan(parent, span), run);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  };
  const wrap = (queryable: Queryable): Queryable => ({ query: (text, params) => inSpan(text, () => queryable.query(text, params)) });
  return {
    kind: database.kind,
    query: (text, params) => inSpan(text, () => database.query(text, params)),
    transaction: (fn) => inSpan('TRANSACTION', () => database.transaction((tx) => fn(wrap(tx)))),
    exec: (script) => database.exec(script),
    close: () => database.close(),
    ...(database.poolStats ? { poolStats: database.poolStats } : {}),
  };
}

interface PgPoolBounds {
  max: number;
  connectionTimeoutMillis: number;
  statementTimeoutMillis: number;
  preparedStatements: number;
}

/** The repositories send a few dozen distinct texts; this leaves room without letting texts built per call grow it. */
export const DEFAULT_PREPARED_STATEMENTS = 256;

/**
 * Names statements for one pool: the returned function gives the name a statement is prepared
 * under, or undefined to send it unnamed.
 *
 * Why: an unnamed statement is parsed, analysed and planned by PostgreSQL every time it is sent;
 * a named one once per connection (pg keeps the names it prepared on each client), after which
 * each send is bind + execute, and PostgreSQL's plan cache may settle on a generic plan. The
 * production bench put PostgreSQL's backends at a fifth to two fifths of a request's CPU, most of
 * it in statements of a few rows.
 *
 * Only statements with parameters: they already go through the extended protocol, so naming them
 * changes nothing else (a text without parameters may hold several statements, which only the
 * simple protocol runs). The name is the text's hash, so the same text gets the same name on every
 * connection and two texts never share one. At most `limit` distinct texts per pool are named:
 * every name costs a plan on each of the pool's connections, and a text built per call (a list of
 * `$n` placeholders, say) must not grow that without bound; past the limit statements are unnamed.
 */
function preparedStatements(limit: number): (text: string, params: readonly unknown[] | undefined) => string | undefined {
  const names = new Map<string, string>();
  return (text, params) => {
    if (params === undefined || limit <= 0) return undefined;
    let name = names.get(text);
    if (name === undefined && names.size < limit) {
      name = `shop_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
}

function createPgDatabase(
  url: string,
  count: () => void,
  { max, connectionTimeoutMillis, statementTimeoutMillis, preparedStatements: preparedLimit }: PgPoolBounds,
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis,
    ...(statementTimeoutMillis > 0 ? { statement_timeout: statementTimeoutMillis, query_timeout: statementTimeoutMillis + 1_000 } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const nameOf = preparedStatements(preparedLimit);
  const run = async <R>(client: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    count();
    const name = nameOf(text, params);
    const values = params as unknown[] | undefined;
    const result = await (name === undefined ? client.query(text, values) : client.query({ name, text, values }));
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
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

function createPgliteDatabase(instance: PGlite, count: () => void, owned: boolean): Database {
  // Calls in flight on the single connection (for poolStats): one runs, the rest wait.
  let inFlight = 0;
  const tracked = async <T>(run: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await run();
    } finally {
      inFlight--;
    }
  };
  return {
    kind: 'pglite',
    query(text, params) {
      count();
      return tracked(async () => (await instance.query(text, params as unknown[] | undefined)).rows as never[]);
    },
    transaction(fn) {
      count(); // BEGIN
      return tracked(() =>
        instance.transaction(async (tx) => {
          const result = await fn({
            async query(text, params) {
              count();
              return (await tx.query(text, params as unknown[] | undefined)).rows as never[];
            },
          });
          count(); // COMMIT
          return result;
        }),
      );
    },
    async exec(script) {
      count();
      await tracked(() => instance.exec(script));
    },
    async close() {
      if (owned) await instance.close();
    },
    poolStats: () => ({ total: 1, idle: inFlight === 0 ? 1 : 0, waiting: Math.max(0, inFlight - 1) }),
  };
}
