/**
 * What both halves of `npm run bench:events` need from the machine: a throw-away Postgres database,
 * a NATS with JetStream (a private nats-server when the binary is there, else NATS_URL), JetStream
 * streams of the bench's own removed afterwards, and reading a Prometheus histogram from /metrics.
 * Every probe answers "not reachable, because …" rather than throwing: a fresh machine skips, never fails.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER_BINARY, startNatsServer } from '@shop/events/testing';
import { createDatabase, type Database } from '@shop/subgraph-kit';

/** A name suffix unique to this run, so nothing the bench creates collides with anyone else's. */
export const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

const STARTED = performance.now();
/** A progress line on stderr, with the seconds since the bench started. */
export function progress(message: string): void {
  process.stderr.write(`[events +${((performance.now() - STARTED) / 1_000).toFixed(1)}s] ${message}\n`);
}

export type Reachable<T> = { ok: true; value: T } | { ok: false; reason: string };

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const BENCH_POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Drops the database (closing whatever still holds it open). */
  drop(): Promise<void>;
}

/** Creates `bench_events_<run>` on the bench's Postgres; the database is dropped by `drop()`. */
export async function scratchPostgres(): Promise<Reachable<ScratchDatabase>> {
  const admin = new URL(BENCH_POSTGRES);
  const name = `bench_events_${RUN_ID}`;
  let db: Database | undefined;
  try {
    db = await createDatabase({ url: admin.toString(), poolSize: 1 });
    await withTimeout(db.query(`CREATE DATABASE ${name}`), 5_000, `Postgres at ${admin.host}`);
  } catch (error) {
    await db?.close().catch(() => {});
    return { ok: false, reason: `Postgres at ${admin.host} not reachable: ${errorText(error)}` };
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    ok: true,
    value: {
      url: url.toString(),
      name,
      async drop() {
        try {
          // FORCE (Postgres 13+): a pool the bench failed to close must not keep the database alive.
          await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await db.close();
        }
      },
    },
  };
}

export interface BenchNats {
  url: string;
  /** `private nats-server on :<port>` or `NATS_URL`. */
  where: string;
  /** Deletes the streams the bench created (by name), then stops the private server and removes its store. */
  dispose(streams: readonly string[]): Promise<void>;
}

/** A private nats-server with JetStream on a free port when the binary exists, else NATS_URL; neither: a reason. */
export async function benchNats(): Promise<Reachable<BenchNats>> {
  if (existsSync(NATS_SERVER_BINARY)) {
    try {
      const server = await startNatsServer();
      return {
        ok: true,
        value: {
          url: server.url,
          where: `private nats-server on :${server.port}`,
          async dispose(streams) {
            await deleteStreams(server.url, streams).catch(() => {});
            await server.dispose();
          },
        },
      };
    } catch (error) {
      return { ok: false, reason: `${NATS_SERVER_BINARY} did not start: ${errorText(error)}` };
    }
  }
  const url = process.env.NATS_URL;
  if (!url) return { ok: false, reason: `no ${NATS_SERVER_BINARY} and NATS_URL is not set` };
  try {
    const nc = await connect({ servers: url, timeout: 3_000 });
    await nc.close();
  } catch (error) {
    return { ok: false, reason: `NATS at NATS_URL not reachable: ${errorText(error)}` };
  }
  return { ok: true, value: { url, where: 'NATS_URL', dispose: (streams) => deleteStreams(url, streams) } };
}

/** Deletes JetStream streams by name; one that is not there is nothing to delete. */
export async function deleteStreams(url: string, streams: readonly string[]): Promise<void> {
  if (!streams.length) return;
  const nc = await connect({ servers: url, timeout: 3_000 });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of streams) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Messages a JetStream stream holds (events in = events out for the relay figure). */
export async function streamMessages(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url, timeout: 3_000 });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

/** A Prometheus histogram as scraped: cumulative counts per upper bound (ascending, +Inf last), sum and count. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Reads histogram `name` from a /metrics text, adding up every label set (one per service here). */
export function parseHistogram(text: string, name: string): Histogram {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const bucket = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\S+)`).exec(line);
    if (bucket) {
      const le = bucket[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bucket[1]);
      byLe.set(le, (byLe.get(le) ?? 0) + Number(bucket[2]));
    } else if (line.startsWith(`${name}_sum`)) sum += Number(line.split(' ').at(-1));
    else if (line.startsWith(`${name}_count`)) count += Number(line.split(' ').at(-1));
  }
  const buckets = [...byLe].map(([le, n]) => ({ le, count: n })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/** `after - before`: what was observed between two scrapes of the same process. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

export function addHistograms(histograms: readonly Histogram[]): Histogram {
  const byLe = new Map<number, number>();
  for (const h of histograms) for (const b of h.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
  return {
    buckets: [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le),
    sum: histograms.reduce((s, h) => s + h.sum, 0),
    count: histograms.reduce((s, h) => s + h.count, 0),
  };
}

/**
 * The q-quantile the way Prometheus' histogram_quantile computes it: the bucket holding the rank,
 * linear between its bounds (the first bucket starts at 0). A rank in the +Inf bucket answers the
 * highest finite bound, flagged `above`, since nothing is known beyond it. Undefined when empty.
 */
export function histogramQuantile(q: number, h: Histogram): { seconds: number; above: boolean } | undefined {
  if (h.count <= 0 || !h.buckets.length) return undefined;
  const rank = q * h.count;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return { seconds: lowerLe, above: true };
      const inBucket = b.count - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return { seconds: lowerLe + (b.le - lowerLe) * fraction, above: false };
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return { seconds: lowerLe, above: true };
}

/** Exact quantile of a sample (client-side latencies), nearest rank. */
export function sampleQuantile(q: number, values: readonly number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
