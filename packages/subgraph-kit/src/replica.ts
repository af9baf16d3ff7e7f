import pg from 'pg';
import type { Logger } from '@shop/platform';
import { inBackground } from './background.ts';
import type { Database, PoolStats } from './db.ts';

/**
 * A Postgres primary with a streaming read replica, seen as one Database:
 *  - `query` (the repositories' reads outside a write) goes to the replica;
 *  - `transaction` (every write, and every read made inside one: checkout's stock reservation reads
 *    its rows FOR UPDATE there), `exec` (migrations, seeds) and `primary` go to the primary.
 *
 * Read-your-writes: after a transaction commits, it waits (at most `catchUpMs`) until the replica
 * has replayed the primary's WAL up to that commit, so by the time the write answers (and its cache
 * tags are dropped, write.ts), a read on the replica, from this process or any other, sees it. A
 * mutation's own answer is read in its transaction, on the primary. If the replica is slower than
 * that, this process reads from the primary until the replica has caught up with its last write
 * (other processes may then read the older row for as long as the replica lags).
 *
 * A replica that fails for want of a connection or an answer (refused, reset, shut down, starting
 * up, a connect or statement timeout: see `replicaUnavailable`) costs no request: the statement is
 * run again on the primary, counted in `onFallback`, and reads stay on the primary for `cooldownMs`;
 * then one read tries the replica again (the others keep to the primary until it has answered). A
 * statement the replica refuses for itself (a syntax error, a bad value) fails as it would on the
 * primary: running it again there would fail the same way.
 */
export interface ReplicaOptions {
  /** How long reads keep to the primary after the replica failed. */
  cooldownMs?: number;
  /** How long a commit waits for the replica to replay it (see above). */
  catchUpMs?: number;
  /** Called for each statement the replica failed and the primary ran instead. */
  onFallback?: () => void;
  logger?: Pick<Logger, 'warn' | 'info'> | undefined;
}

export const REPLICA_COOLDOWN_MS = 5_000;
export const REPLICA_CATCH_UP_MS = 500;
/** The replica pool's bounds (createDatabase options): a dead replica costs a read at most this long before the primary answers it. */
export const REPLICA_CONNECT_TIMEOUT_MS = 1_000;
export const REPLICA_STATEMENT_TIMEOUT_MS = 2_000;

/** How often a commit checks whether the replica has replayed it, and how often reads check while it lags behind. */
const CATCH_UP_POLL_MS = 10;
const BEHIND_RECHECK_MS = 100;

export function createReplicatedDatabase(primary: Database, replica: Database, options: ReplicaOptions = {}): Database {
  const { cooldownMs = REPLICA_COOLDOWN_MS, catchUpMs = REPLICA_CATCH_UP_MS, onFallback = () => {}, logger } = options;
  /** Reads keep to the primary until then; past it (and non-zero) the next read is a probe. */
  let downUntil = 0;
  let probing = false;
  /** The newest commit of this process the replica may not have replayed yet ('' when none). */
  let behind = '';
  let behindCheck: Promise<void> | undefined;
  let lastBehindCheck = 0;

  const markDown = (error: unknown) => {
    if (downUntil === 0) logger?.warn({ err: error, cooldownMs }, 'the read replica is unavailable; reads go to the primary');
    downUntil = Date.now() + cooldownMs;
  };

  const replayed = async (lsn: string): Promise<boolean> => {
    // NULL replay position: not a standby (promoted, or the primary itself), so nothing to wait for.
    const [row] = await replica.query<{ caught: boolean | null }>(
      'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, NOT pg_is_in_recovery()) AS caught',
      [lsn],
    );
    return row?.caught === true;
  };

  /** While behind: at most one check in flight and one per BEHIND_RECHECK_MS; reads do not wait for it. */
  const recheckBehind = () => {
    if (behindCheck || Date.now() < downUntil || Date.now() - lastBehindCheck < BEHIND_RECHECK_MS) return;
    lastBehindCheck = Date.now();
    const lsn = behind;
    // The service's own upkeep, not the cost of the read that happened to start it.
    behindCheck = inBackground(() => replayed(lsn))
      .then((caught) => {
        if (caught && behind === lsn) behind = '';
      })
      .catch((error: unknown) => {
        if (replicaUnavailable(error)) markDown(error);
      })
      .finally(() => {
        behindCheck = undefined;
      });
  };

  const noteBehind = (lsn: string) => {
    if (!behind || lsnValue(lsn) > lsnValue(behind)) behind = lsn;
  };

  const afterCommit = async () => {
    let lsn: string | undefined;
    try {
      lsn = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]?.lsn;
    } catch (error) {
      // The write has committed: its caller must not see an error (it might undo what was done).
      logger?.warn({ err: error }, 'could not read the WAL position after a commit; the replica may lag behind it');
    }
    if (!lsn) return;
    // Down: reads are on the primary, and stay there once it is back until it has replayed this.
    if (downUntil !== 0) return noteBehind(lsn);
    // A hung replica must not hold the write past catchUpMs: the wait races a timer.
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), catchUpMs)));
    let waiting = true;
    const caughtUp = (async () => {
      while (waiting) {
        if (await replayed(lsn)) return true;
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
      }
      return false;
    })().catch((error: unknown) => {
      if (replicaUnavailable(error)) markDown(error);
      return false;
    });
    const caught = await Promise.race([caughtUp, timeUp]);
    waiting = false;
    clearTimeout(timer);
    if (!caught) noteBehind(lsn);
  };

  async function read<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
    if (behind) {
      recheckBehind();
      return primary.query<R>(text, params);
    }
    const probe = downUntil !== 0;
    if (probe && (Date.now() < downUntil || probing)) return primary.query<R>(text, params);
    if (probe) probing = true;
    try {
      const rows = await replica.query<R>(text, params);
      if (probe) up();
      return rows;
    } catch (error) {
      if (!replicaUnavailable(error)) {
        if (probe) up(); // it answered, if only to refuse the statement
        throw error;
      }
      markDown(error);
      onFallback();
      return primary.query<R>(text, params);
    } finally {
      if (probe) probing = false;
    }
  }

  function up() {
    downUntil = 0;
    logger?.info({}, 'the read replica answers again; reads go back to it');
  }

  return {
    kind: 'postgres',
    primary,
    query: read,
    async transaction(fn) {
      const result = await primary.transaction(fn);
      await afterCommit();
      return result;
    },
    exec: (script) => primary.exec(script),
    async close() {
      await Promise.all([primary.close(), replica.close()]);
    },
    // Both pools together: `db_pool_connections{state="waiting"}` rises when either is short.
    poolStats: (): PoolStats => {
      const a = primary.poolStats?.() ?? { total: 0, idle: 0, waiting: 0 };
      const b = replica.poolStats?.() ?? { total: 0, idle: 0, waiting: 0 };
      return { total: a.total + b.total, idle: a.idle + b.idle, waiting: a.waiting + b.waiting };
    },
  };
}

/** A WAL position (`16/B374D848`) as a number, to compare two. */
function lsnValue(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** Socket-level failures: the server is not there, or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that cannot serve now, whatever the statement: connection exceptions
 * (class 08), shutting down or starting up (57P01–57P03), too many connections or out of resources
 * (class 53), an I/O error (class 58); a statement cancelled by the replica's statement_timeout
 * (57014: no statement the services send takes that long on a healthy server); and a read
 * cancelled by a recovery conflict (40001: the replica runs no serializable transactions, so on it
 * that code means replay cancelled the read), which the primary cannot have.
 */
function unavailableState(code: string): boolean {
  return (
    code.startsWith('08') ||
    /^57P0[123]$/.test(code) ||
    code.startsWith('53') ||
    code.startsWith('58') ||
    code === '57014' ||
    code === '40001'
  );
}

/** pg's own errors for a connection that failed, closed, or did not answer in time. */
const CLIENT_MESSAGES = [
  /^Connection terminated/,
  /^Query read timeout$/,
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/** Whether the replica failed to serve a statement (rather than refused the statement itself). */
export function replicaUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof pg.DatabaseError) return unavailableState(error.code ?? '');
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(replicaUnavailable);
  if (CLIENT_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  return error.cause !== undefined && replicaUnavailable(error.cause);
}
