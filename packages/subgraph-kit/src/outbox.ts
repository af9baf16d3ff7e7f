import { trace } from '@opentelemetry/api';
import { type AnyNewEvent, createEnvelope, type EventEnvelope, type EventMetrics, type EventStream } from '@shop/events';
import type { Logger } from '@shop/platform';
import { inBackground } from './background.ts';
import type { Database, Queryable } from './db.ts';

/** The W3C `traceparent` of the active span, when the write runs inside a traced request. */
function activeTraceparent(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !trace.isSpanContextValid(context)) return undefined;
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** Queues `events` in `<schema>.outbox` inside the caller's transaction (see write.ts). */
export async function insertOutboxEvents(tx: Queryable, schema: string, events: readonly AnyNewEvent[]): Promise<EventEnvelope[]> {
  const traceparent = activeTraceparent();
  const envelopes = events.map((e) => createEnvelope(e, { traceparent }));
  // One statement for the whole write, however many events it has.
  await tx.query(
    `INSERT INTO ${schema}.outbox (id, type, aggregate, aggregate_id, version, occurred_at, data, tags, traceparent)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, type text, aggregate text, aggregate_id text, version integer,
       occurred_at timestamptz, data jsonb, tags jsonb, traceparent text)`,
    [
      JSON.stringify(
        envelopes.map((e) => ({
          id: e.id,
          type: e.type,
          aggregate: e.aggregate,
          aggregate_id: e.aggregateId,
          version: e.version,
          occurred_at: e.occurredAt,
          data: e.data,
          tags: e.tags,
          traceparent: e.traceparent ?? null,
        })),
      ),
    ],
  );
  return envelopes;
}

interface OutboxRow {
  position: string;
  id: string;
  type: string;
  aggregate: string;
  aggregate_id: string;
  version: number;
  occurred_at: Date | string;
  data: unknown;
  tags: unknown;
  traceparent: string | null;
}

const toEnvelope = (row: OutboxRow): EventEnvelope =>
  ({
    id: row.id,
    type: row.type,
    aggregate: row.aggregate,
    aggregateId: row.aggregate_id,
    version: row.version,
    occurredAt: new Date(row.occurred_at).toISOString(),
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    tags: (typeof row.tags === 'string' ? JSON.parse(row.tags) : row.tags) as string[],
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  }) as EventEnvelope;

export interface OutboxRelayOptions {
  db: Database;
  schema: string;
  stream: EventStream;
  logger: Logger;
  metrics: EventMetrics;
  /** Events per publish (and per transaction holding their rows). */
  batchSize?: number;
  /** How often the outbox is looked at without a kick: rows a crashed replica left, a stream that came back. */
  pollMs?: number;
  /** Published rows are kept this long (for inspection and replays), then deleted. */
  retainMs?: number;
  /** processed_events rows are kept this long: longer than the stream keeps an event (it could come again until then). */
  processedRetainMs?: number;
  /** Tests: called after the stream stored a batch and before the rows are marked (a relay killed in between). */
  afterPublish?: ((envelopes: readonly EventEnvelope[]) => void | Promise<void>) | undefined;
}

export interface OutboxRelay {
  /** Publishes what is pending soon (after a write committed events). */
  kick(): void;
  /**
   * Publishes what is pending now and resolves when it is on the stream (after a write committed
   * events); resolves at once, without trying, while the stream is known to be away (the poll
   * retries), and never rejects.
   */
  flush(): Promise<void>;
  /** Publishes everything pending now; resolves with how many it published; rejects when the stream refused. */
  drain(): Promise<number>;
  /** Stops polling, after one last bounded attempt to publish what is pending. */
  stop(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60_000;
const HOUSEKEEPING_EVERY_MS = 10 * 60_000;
const MAX_RETRY_MS = 30_000;
const STOP_DRAIN_MS = 2_000;

/**
 * The outbox relay: puts a subgraph's committed events on the stream in commit order, then marks
 * them published. A failure to publish (NATS down) leaves them in the table, where the next kick
 * or poll finds them, backing off up to 30 s while the stream stays away; nothing is lost and the
 * writes themselves never wait for the stream.
 *
 * Several replicas share one outbox. On Postgres each batch is taken `FOR UPDATE SKIP LOCKED` in a
 * transaction held across the publish, so two replicas never publish the same rows at once; on
 * PGlite (one process, one connection) rows are read, published and marked without holding a
 * transaction, which would stall every other query of the process while the stream answered.
 */
export function createOutboxRelay({
  db,
  schema,
  stream,
  logger,
  metrics,
  batchSize = 500,
  pollMs = 1_000,
  retainMs = DAY_MS,
  processedRetainMs = 8 * DAY_MS,
  afterPublish,
}: OutboxRelayOptions): OutboxRelay {
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;
  let failures = 0;
  let retryAt = 0;
  let lastWarning = 0;

  metrics.onCollect(() =>
    inBackground(async () => {
      const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.outbox WHERE published_at IS NULL`);
      metrics.outboxPending.set({ schema }, Number(row?.n ?? 0));
    }),
  );

  const select = `SELECT position, id, type, aggregate, aggregate_id, version, occurred_at, data, tags, traceparent
    FROM ${schema}.outbox WHERE published_at IS NULL ORDER BY position LIMIT $1`;

  async function publishBatch(q: Queryable, lock: boolean): Promise<number> {
    const rows = await q.query<OutboxRow>(lock ? `${select} FOR UPDATE SKIP LOCKED` : select, [batchSize]);
    if (!rows.length) return 0;
    const envelopes = rows.map(toEnvelope);
    await stream.publish(envelopes);
    await afterPublish?.(envelopes);
    await q.query(`UPDATE ${schema}.outbox SET published_at = now() WHERE position = ANY($1::bigint[])`, [rows.map((r) => r.position)]);
    const now = Date.now();
    metrics.published.inc(rows.length);
    for (const e of envelopes) metrics.publishLag.observe(Math.max(0, now - Date.parse(e.occurredAt)) / 1_000);
    return rows.length;
  }

  async function pump(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = db.kind === 'postgres' ? await db.transaction((tx) => publishBatch(tx, true)) : await publishBatch(db, false);
      total += n;
      if (n < batchSize) return total;
    }
  }

  function run(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = inBackground(async () => {
      let total = 0;
      try {
        do {
          again = false;
          total += await pump();
        } while (again && !stopped);
        failures = 0;
        retryAt = 0;
        return total;
      } catch (error) {
        failures++;
        retryAt = Date.now() + Math.min(MAX_RETRY_MS, pollMs * 2 ** Math.min(failures, 10));
        // One warning per 30 s while the stream stays away, not one per attempt.
        if (Date.now() - lastWarning > MAX_RETRY_MS) {
          lastWarning = Date.now();
          logger.warn({ err: error, schema, failures }, 'could not publish outbox events; they stay queued and are retried');
        }
        throw error;
      } finally {
        running = undefined;
      }
    });
    return running;
  }

  const quietly = () => {
    if (stopped || Date.now() < retryAt) return;
    run().catch(() => {});
  };
  const poll = setInterval(quietly, pollMs);
  poll.unref();

  async function housekeeping() {
    try {
      await db.query(
        `DELETE FROM ${schema}.outbox WHERE position IN (SELECT position FROM ${schema}.outbox
         WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1) LIMIT 10000)`,
        [retainMs / 1_000],
      );
      await db.query(
        `DELETE FROM ${schema}.processed_events WHERE (consumer, event_id) IN (SELECT consumer, event_id FROM ${schema}.processed_events
         WHERE processed_at < now() - make_interval(secs => $1) LIMIT 10000)`,
        [processedRetainMs / 1_000],
      );
    } catch (error) {
      logger.warn({ err: error, schema }, 'outbox housekeeping failed; it runs again later');
    }
  }
  const keeper = setInterval(() => void inBackground(housekeeping), HOUSEKEEPING_EVERY_MS);
  keeper.unref();

  return {
    kick() {
      // A write's commit: publish now unless the stream is known to be away (the poll retries).
      if (!stopped && Date.now() >= retryAt) queueMicrotask(quietly);
    },
    flush() {
      if (stopped || Date.now() < retryAt) return Promise.resolve();
      return run().then(
        () => {},
        () => {},
      );
    },
    drain: () => run(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(poll);
      clearInterval(keeper);
      const last = (async () => {
        await running?.catch(() => {});
        await run().catch(() => {});
      })();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([last, new Promise((resolve) => (timer = setTimeout(resolve, STOP_DRAIN_MS)))]);
      clearTimeout(timer);
    },
  };
}
