import { randomBytes } from 'node:crypto';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { EventEnvelope } from '@shop/events';
import { type NatsServer, startNatsServer, waitFor } from '@shop/events/testing';
import { databaseUrlVar, SUBGRAPH_NAMES, type SubgraphName } from '@shop/registry';
import { type Stack, startStack } from '@shop/stack';
import type { Send } from '../setup/client.ts';
import { stockOf } from '../setup/shop.ts';

/**
 * What the e2e-nats files share: databases, a NATS server and a stack of their own.
 *
 * Why own databases rather than the tier's seeded `*_DATABASE_URL` ones: these files run in the same
 * vitest run as the `e2e` project, whose global stack stays up until the run ends, on those very
 * databases, with its outbox relays polling every second and publishing to the shared NATS. Its
 * relays would take this file's outbox rows (`FOR UPDATE SKIP LOCKED` shares them between replicas)
 * and put them on the shared stream: the private stream would never see them, and "the outbox holds
 * them while NATS is down" would not hold. So each file creates its databases on the same server
 * (named after the tier's, with a suffix), seeds them small, and drops them at the end.
 */

/** Enough users for `user51`..`user60`; the rest as small as the seed's shape allows. */
export const STREAM_SEED = { products: 500, categories: 60, users: 80, orders: 40 };

export interface OwnDatabases {
  env: Record<string, string>;
  urls: Record<SubgraphName, string>;
  drop(): Promise<void>;
}

/** The server of the tier's databases (ORDERS_DATABASE_URL etc.), or the local default. */
function serverUrl(env: NodeJS.ProcessEnv): URL {
  const given = SUBGRAPH_NAMES.map((name) => env[databaseUrlVar(name)]).find((u): u is string => Boolean(u));
  const url = new URL(given ?? `postgres://${env.PGUSER ?? 'postgres'}@${env.PGHOST ?? '127.0.0.1'}:${env.PGPORT ?? '5432'}/postgres`);
  url.pathname = '/postgres';
  return url;
}

export async function createOwnDatabases(label: string, env: NodeJS.ProcessEnv = process.env): Promise<OwnDatabases> {
  const server = serverUrl(env);
  // Unique per run, so two runs (or a left-over of a crashed one) never meet.
  const suffix = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const names = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `shop_stream_${suffix}_${name}`])) as Record<SubgraphName, string>;
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    for (const db of Object.values(names)) await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  const urls = Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => {
      const url = new URL(server.toString());
      url.pathname = `/${names[name]}`;
      return [name, url.toString()];
    }),
  ) as Record<SubgraphName, string>;
  return {
    urls,
    env: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [databaseUrlVar(name), urls[name]])),
    async drop() {
      const client = new pg.Client({ connectionString: server.toString() });
      await client.connect();
      try {
        for (const db of Object.values(names)) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface StreamWorld {
  nats: NatsServer;
  stack: Stack;
  databases: OwnDatabases;
  /** The env the stack was started with (a second router reuses it). */
  env: Record<string, string | undefined>;
  streamName: string;
  subjectPrefix: string;
  close(): Promise<void>;
}

/** Own databases, a private NATS (own stream name and subjects) and a stack on both; Redis as the tier gives it. */
export async function startStreamWorld(label: string): Promise<StreamWorld> {
  const started = Date.now();
  const databases = await createOwnDatabases(label);
  let nats: NatsServer | undefined;
  try {
    nats = await startNatsServer();
    const id = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    const streamName = `SHOP_STREAM_${id}`.toUpperCase();
    const subjectPrefix = `shop-stream-${id}`.replaceAll('_', '-');
    const cacheKeyPrefix = `${process.env.CACHE_KEY_PREFIX ?? 'shop-test:'}stream-${id}:`;
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...databases.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      RATE_LIMIT: 'false',
      ROUTER_SECRET: randomBytes(24).toString('base64url'),
      NATS_URL: nats.url,
      NATS_STREAM: streamName,
      NATS_SUBJECT_PREFIX: subjectPrefix,
      // Redis entries of this file's own: its databases are not the tier's, so neither are its caches.
      CACHE_KEY_PREFIX: cacheKeyPrefix,
      PAYMENT_PROVIDER_URL: '',
    };
    const stack = await startStack({ env, freePorts: true, seedSize: STREAM_SEED });
    process.stderr.write(`[e2e-nats] ${label}: stack on own databases ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    const server = nats;
    return {
      nats: server,
      stack,
      databases,
      env,
      streamName,
      subjectPrefix,
      async close() {
        const closing = Date.now();
        await stack.close().catch(() => {});
        const stackMs = Date.now() - closing;
        await server.dispose().catch(() => {});
        await databases.drop();
        if (env.REDIS_URL) await dropRedisKeys(env.REDIS_URL, cacheKeyPrefix).catch(() => {});
        process.stderr.write(`[e2e-nats] ${label}: closed in ${Date.now() - closing} ms (stack ${stackMs} ms)\n`);
      },
    };
  } catch (error) {
    await nats?.dispose().catch(() => {});
    await databases.drop().catch(() => {});
    throw error;
  }
}

/** Removes the Redis entries under this file's prefix (the tier removes its own prefix's at the end too). */
async function dropRedisKeys(url: string, prefix: string) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface StoredEvent {
  seq: number;
  subject: string;
  event: EventEnvelope;
}

/** Every message the stream holds, in order, read by sequence (the stream is small: a few hundred events). */
export async function readStream(natsUrl: string, stream: string): Promise<StoredEvent[]> {
  const nc = await connect({ servers: natsUrl, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const out: StoredEvent[] = [];
    // An ordered consumer from the first message: one pass, no sequence gaps to guess around.
    const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const total = info.state.messages;
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, total - out.length), expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        out.push({ seq: m.seq, subject: m.subject, event: m.json<EventEnvelope>() });
        got++;
      }
      if (!got) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** A TCP proxy a test can cut and restore (from @shop/platform/testing). */
export { type TcpProxy, tcpProxy } from '@shop/platform/testing';

/**
 * setStock of e2e/setup/shop.ts, but waiting for the router to see the new figure: with NATS_URL the
 * router's caches hear of inventory's write when its event has travelled the stream (milliseconds),
 * so a read straight after the mutation may still be the cached one.
 */
export async function setStockAndWait(adminToken: string, productId: string, units: number, region: string, send: Send) {
  const { warehouses } = await stockOf(productId, region, send);
  if (!warehouses.length) throw new Error(`${productId} has no warehouse in ${region}`);
  for (const [i, w] of warehouses.entries()) {
    const delta = (i === 0 ? units : 0) - w.available;
    if (delta === 0) continue;
    const result = await send(
      'mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d) { available } }',
      { p: productId, w: w.warehouse.id, d: delta },
      { token: adminToken },
    );
    if (result.errors) throw new Error(`adjustStock failed: ${JSON.stringify(result.errors)}`);
  }
  await waitFor(async () => (await stockOf(productId, region, send)).available === units, {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: `the router did not see ${units} units of ${productId}`,
  });
}
