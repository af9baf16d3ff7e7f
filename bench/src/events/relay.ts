/**
 * Relay throughput: N events committed to a subgraph-like outbox (the kit's own migrations on
 * schema `bench`, through prepareStorage, as every subgraph's storage is prepared), then one
 * createOutboxRelay(...).drain() timed from the call until it resolved with every event published.
 *
 * The events are written the way checkouts write them: one transaction per write through
 * insertOutboxEvents, each write an order.placed (two lines), a payment.authorised and a
 * stock.changed per line, `--writers` writes in flight at once. The relay is created only after
 * the writes, so its poll cannot start publishing early; what drain() measures is the relay
 * working off a backlog at its production batch size, the ceiling of what it sustains.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AnyNewEvent, connectJetStream, createEventMetrics, createInProcessStream, type EventStream, event } from '@shop/events';
import { createLogger } from '@shop/platform';
import { createDatabase, createOutboxRelay, type Database, insertOutboxEvents, prepareStorage } from '@shop/subgraph-kit';
import { Registry } from 'prom-client';
import { type BenchNats, progress, RUN_ID, type ScratchDatabase, sampleQuantile, streamMessages } from './support.ts';

const SCHEMA = 'bench';
const logger = createLogger('bench-events', 'silent');

export interface RelayOptions {
  events: number;
  writers: number;
  /** The relay's batch size (events per publish and per transaction holding their rows). */
  batchSize: number;
  /** Single writes drained alone after the backlog, for the floor under the lag. */
  roundTrips: number;
}

export interface RelayResult {
  label: string;
  database: 'pglite' | 'postgres';
  stream: 'in-process' | 'jetstream';
  where: string;
  events: number;
  writes: number;
  insertSeconds: number;
  insertEventsPerSecond: number;
  drainSeconds: number;
  eventsPerSecond: number;
  published: number;
  /** Of the drain, the seconds spent in stream.publish (the rest is reading and marking rows). */
  publishSeconds: number;
  /**
   * One checkout's events (one write, 4 events) queued and drained alone, `roundTrips` times in a
   * row on an idle relay: the floor under the lag a write sees (read, publish, mark), in ms.
   */
  oneWriteDrainMs: { p50: number | undefined; p99: number | undefined; roundTrips: number };
  /** What the stream holds (JetStream) or a follower heard (in-process) afterwards. */
  onStream: number;
  batchSize: number;
}

export interface RelaySkipped {
  label: string;
  skipped: string;
}

/** One checkout's events: order.placed with two lines, payment.authorised, stock.changed per line. */
function checkoutEvents(n: number): AnyNewEvent[] {
  const orderId = `o${n}`;
  const userId = `u${(n % 1_000) + 1}`;
  const products = [`p${(n % 500) + 1}`, `p${((n * 7) % 500) + 1}`];
  const paymentId = `pay_${n.toString(36).padStart(8, '0')}`;
  return [
    event(
      'order.placed',
      orderId,
      {
        orderId,
        userId,
        region: 'IN',
        currency: 'INR',
        total: '2598.00',
        reservationId: `r${n}`,
        paymentId,
        lines: products.map((productId) => ({ productId, quantity: 1, unitPrice: '1299.00' })),
      },
      [`Order:${orderId}`, `User:${userId}`],
    ),
    event('payment.authorised', paymentId, { paymentId, key: `k-${n}`, userId, amount: '2598.00', currency: 'INR' }, []),
    ...products.map((productId) =>
      event('stock.changed', productId, { productId, reason: 'reserved' as const, available: 1_000 - (n % 900), reserved: n % 900 }, [
        `Product:${productId}`,
      ]),
    ),
  ];
}

async function insertAll(db: Database, { events, writers }: RelayOptions): Promise<{ writes: number; seconds: number }> {
  const perWrite = checkoutEvents(0).length;
  const writes = Math.ceil(events / perWrite);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < writes) {
        const n = next++;
        // The last write is cut so exactly `events` are queued.
        const batch = checkoutEvents(n).slice(0, Math.min(perWrite, events - n * perWrite));
        await db.transaction((tx) => insertOutboxEvents(tx, SCHEMA, batch));
      }
    }),
  );
  return { writes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function measure(
  label: string,
  db: Database,
  stream: EventStream,
  kind: RelayResult['stream'],
  where: string,
  options: RelayOptions,
  countOnStream: () => Promise<number>,
): Promise<RelayResult> {
  // The kit's migrations only: an empty folder stands for the subgraph's own.
  const own = mkdtempSync(join(tmpdir(), 'bench-events-migrations-'));
  try {
    await prepareStorage(db, SCHEMA, pathToFileURL(`${own}/`));
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
  progress(`${label}: writing ${options.events} events…`);
  const inserted = await insertAll(db, options);
  const metrics = createEventMetrics(new Registry());
  // The stream as the relay sees it, timing each publish: how the drain splits between the stream and the database.
  let publishNs = 0n;
  const timed: EventStream = {
    ...stream,
    async publish(events) {
      const t = process.hrtime.bigint();
      try {
        await stream.publish(events);
      } finally {
        publishNs += process.hrtime.bigint() - t;
      }
    },
  };
  const relay = createOutboxRelay({ db, schema: SCHEMA, stream: timed, logger, metrics, batchSize: options.batchSize });
  try {
    progress(`${label}: draining…`);
    const started = process.hrtime.bigint();
    const published = await relay.drain();
    const drainSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [pending] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`);
    if (published !== options.events || Number(pending?.n) !== 0) {
      throw new Error(`${label}: drain published ${published} of ${options.events} events, ${pending?.n} left pending`);
    }
    const publishSeconds = Number(publishNs) / 1e9;
    const onStream = await countOnStream();
    const oneWrite: number[] = [];
    for (let i = 0; i < options.roundTrips; i++) {
      await db.transaction((tx) => insertOutboxEvents(tx, SCHEMA, checkoutEvents(1_000_000 + i)));
      const t = process.hrtime.bigint();
      await relay.drain();
      oneWrite.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return {
      label,
      database: db.kind,
      stream: kind,
      where,
      events: options.events,
      writes: inserted.writes,
      insertSeconds: inserted.seconds,
      insertEventsPerSecond: options.events / inserted.seconds,
      drainSeconds,
      eventsPerSecond: published / drainSeconds,
      publishSeconds,
      oneWriteDrainMs: { p50: sampleQuantile(0.5, oneWrite), p99: sampleQuantile(0.99, oneWrite), roundTrips: options.roundTrips },
      published,
      onStream,
      batchSize: options.batchSize,
    };
  } finally {
    await relay.stop();
  }
}

/** (a) Embedded PGlite (in memory) and the in-process stream: `npm start` with nothing installed. */
export async function relayOnPglite(options: RelayOptions): Promise<RelayResult> {
  const db = await createDatabase({});
  const metrics = createEventMetrics(new Registry());
  const stream = createInProcessStream({ scope: `bench-events-${RUN_ID}`, logger, metrics });
  // A follower, as every process's caches follow the stream: events in = events heard.
  let heard = 0;
  const follower = stream.follow({ event: () => void heard++ });
  try {
    return await measure('PGlite + in-process stream', db, stream, 'in-process', 'embedded', options, async () => {
      const deadline = Date.now() + 10_000;
      while (heard < options.events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return heard;
    });
  } finally {
    await follower.stop();
    await stream.close();
    await db.close();
  }
}

/** (b) Real Postgres (a database of the bench's own) and NATS JetStream (a stream of the bench's own). */
export async function relayOnPostgres(
  options: RelayOptions,
  pg: ScratchDatabase,
  nats: BenchNats,
  streamName: string,
): Promise<RelayResult> {
  const db = await createDatabase({ url: pg.url });
  const metrics = createEventMetrics(new Registry());
  const stream = await connectJetStream({ url: nats.url, stream: streamName, subjectPrefix: `bench-relay-${RUN_ID}`, logger, metrics });
  try {
    return await measure('Postgres + NATS JetStream', db, stream, 'jetstream', `${pg.name}, ${nats.where}`, options, () =>
      streamMessages(nats.url, streamName),
    );
  } finally {
    await stream.close();
    await db.close();
  }
}
