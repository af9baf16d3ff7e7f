import { createRequire } from 'node:module';
import { type ChainableCommander, Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/** Redis Cluster's CRC16 key slot, `{…}` hash tags honoured (the package ioredis itself uses; it ships no types). */
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/**
 * Either a single Redis (or a primary behind a failover address) or a Redis Cluster: the commands
 * every caller uses (GET, SET, MGET, EVAL, pipelines, pub/sub) are common to both. On a cluster a
 * command or script may touch keys of one slot only, and a pipeline may only hold commands for
 * one node: callers that read or write many keys at once go through `mgetPerSlot`,
 * `delPerSlot` and `pipelinePerNode` below, which are plain MGET / DEL / one pipeline on a single
 * Redis.
 */
export type RedisClient = Redis | Cluster;

/** A Redis Cluster's target (`redisUrl` in every config) starts with this, before the seed nodes. */
const CLUSTER_TARGET = 'cluster:';

/**
 * Where Redis is, as every config and settings object carries it (`redisUrl`): the URL of a
 * single Redis, or `cluster:` and the seed nodes' URLs, comma-separated, for a Redis Cluster
 * (REDIS_CLUSTER=true; see readRedisTarget in config.ts). One string, so it travels through every
 * service's settings unchanged and createRedis alone tells the two apart.
 */
export function redisTarget(urls: readonly string[], cluster: boolean): string {
  return cluster ? `${CLUSTER_TARGET}${urls.join(',')}` : urls[0]!;
}

/** The seed URLs of a target and whether it is a cluster. */
export function parseRedisTarget(target: string): { urls: string[]; cluster: boolean } {
  const cluster = target.startsWith(CLUSTER_TARGET);
  const list = cluster ? target.slice(CLUSTER_TARGET.length) : target;
  return { urls: list.split(',').map((url) => url.trim()), cluster };
}

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster;

/**
 * A Redis client for caches and the bus, set to fail fast: commands issued while disconnected
 * fail at once instead of queueing, each command has a timeout, and the client reconnects in the
 * background. Callers treat a failure as a cache miss (fail open), never as a failed request.
 * `target` is a URL or a cluster target (see redisTarget): a Cluster gets the same bounds for
 * every node's connection, and reads go to primaries only (a replica may be behind a write that
 * an invalidation just dropped).
 */
export function createRedis(
  target: string,
  { logger, commandTimeoutMs = 100, keyPrefix }: { logger: Logger; commandTimeoutMs?: number; keyPrefix?: string | undefined },
): RedisClient {
  const failFast = {
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs > 0 ? commandTimeoutMs : undefined,
    connectTimeout: 1_000,
  };
  const retry = (attempt: number) => Math.min(attempt * 200, 2_000);
  const { urls, cluster } = parseRedisTarget(target);
  let redis: RedisClient;
  if (cluster) {
    const seeds = urls.map((url) => new URL(url));
    const first = seeds[0]!;
    redis = new Cluster(
      seeds.map((seed) => ({ host: seed.hostname, port: Number(seed.port || 6379) })),
      {
        ...(keyPrefix ? { keyPrefix } : {}),
        enableOfflineQueue: false,
        scaleReads: 'master',
        clusterRetryStrategy: retry,
        // The slot map is reloaded on every MOVED and on this interval, so a resharding or a
        // failover is followed within seconds even without traffic to the moved slots; a node
        // that does not answer the reload within the bound is skipped for the next one.
        slotsRefreshInterval: 5_000,
        slotsRefreshTimeout: 1_000,
        // Without an offline queue, a command for a node whose connection is still being opened
        // (just after start, a failover, a new node) is refused and retried after this delay, the
        // slot map reloaded: short, so it lands well within a cache timeout once the node is up.
        // Every retry stays bounded by the caller's deadline (within / withDeadline).
        retryDelayOnFailover: 20,
        retryDelayOnClusterDown: 100,
        lazyConnect: false,
        redisOptions: {
          ...failFast,
          ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
          ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
          ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
        },
      },
    );
  } else {
    redis = new Redis(urls[0]!, {
      ...(keyPrefix ? { keyPrefix } : {}),
      ...failFast,
      enableOfflineQueue: false,
      retryStrategy: retry,
      lazyConnect: false,
    });
  }
  if (isCluster(redis)) {
    const cluster = redis;
    // A cluster is ready once it knows the slot map; the connection to each node opens on its first
    // command, and until it is open commands for that node are refused (and retried, above). Open
    // them all at once instead, so the first requests after start do not each pay for it.
    cluster.on('ready', () => {
      for (const node of cluster.nodes('all')) if (node.status === 'wait') node.connect().catch(() => {});
    });
  }
  let healthy = true;
  redis.on('error', (error) => {
    if (healthy) logger.warn({ err: error }, 'redis unavailable; caches fail open until it is back');
    healthy = false;
  });
  redis.on('ready', () => {
    if (!healthy) logger.info('redis is back');
    healthy = true;
  });
  return redis;
}

type PipelineResults = [Error | null, unknown][];

/** The slot of `key` as the client sends it (its key prefix included: a `{…}` in the prefix decides). */
function slotOf(redis: Cluster, key: string): number {
  return calculateSlot(`${redis.options.keyPrefix ?? ''}${key}`);
}

/** Fails at once when a cluster's slot map is not known (not connected yet, or every node lost). */
function primaryOf(redis: Cluster, slot: number): string {
  const primary = redis.slots[slot]?.[0];
  if (!primary || redis.status !== 'ready') throw new Error("Cluster isn't ready and enableOfflineQueue options is false");
  return primary;
}

/**
 * Sends one command per item (`add` queues it on the pipeline it is given; `keyOf` names the key
 * it touches) and resolves with each item's [error, result] in the order of `items`. A single Redis
 * gets one pipeline. A Cluster gets one pipeline per primary, all sent at once, each holding only
 * the commands for the slots that primary serves: ioredis refuses a pipeline across nodes, and
 * Redis a command across slots, so every command `add` queues must touch keys of `keyOf`'s slot
 * only. Rejects when a pipeline cannot be sent at all (not connected); one command's failure is
 * in its result.
 */
export async function pipelinePerNode<T>(
  redis: RedisClient,
  items: readonly T[],
  keyOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
): Promise<PipelineResults> {
  if (!items.length) return [];
  if (!isCluster(redis)) {
    const pipeline = redis.pipeline();
    for (const item of items) add(pipeline, item);
    return checked(await pipeline.exec(), items.length);
  }
  const groups = new Map<string, number[]>();
  for (const [i, item] of items.entries()) {
    const node = primaryOf(redis, slotOf(redis, keyOf(item)));
    const group = groups.get(node);
    if (group) group.push(i);
    else groups.set(node, [i]);
  }
  const results: PipelineResults = new Array(items.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) add(pipeline, items[i]!);
      const answered = checked(await pipeline.exec(), indexes.length);
      for (const [j, i] of indexes.entries()) results[i] = answered[j]!;
    }),
  );
  return results;
}

function checked(results: PipelineResults | null, expected: number): PipelineResults {
  if (!results || results.length !== expected) throw new Error('pipeline was not executed');
  return results;
}

/** `keys` grouped by slot (a single Redis: one group of all), each group in the order given. */
export function keysPerSlot(redis: RedisClient, keys: readonly string[]): string[][] {
  if (!isCluster(redis)) return keys.length ? [[...keys]] : [];
  const slots = new Map<number, string[]>();
  for (const key of keys) {
    const slot = slotOf(redis, key);
    const group = slots.get(slot);
    if (group) group.push(key);
    else slots.set(slot, [key]);
  }
  return [...slots.values()];
}

/**
 * MGET of keys that may live in different slots: one MGET on a single Redis; on a Cluster one
 * MGET per slot, those for one primary pipelined together (one round trip per primary, all at once).
 * Values in the order of `keys`, null where absent.
 */
export async function mgetPerSlot(redis: RedisClient, keys: readonly string[]): Promise<(string | null)[]> {
  if (!keys.length) return [];
  if (!isCluster(redis)) return redis.mget([...keys]);
  const groups = keysPerSlot(redis, keys);
  const results = await pipelinePerNode(
    redis,
    groups,
    (group) => group[0]!,
    (pipeline, group) => void pipeline.mget(group),
  );
  const values = new Map<string, string | null>();
  for (const [i, [error, result]] of results.entries()) {
    if (error) throw error;
    const group = groups[i]!;
    for (const [j, value] of (result as (string | null)[]).entries()) values.set(group[j]!, value);
  }
  return keys.map((key) => values.get(key) ?? null);
}

/** DEL of keys that may live in different slots (one DEL per slot on a Cluster); the number deleted. */
export async function delPerSlot(redis: RedisClient, keys: readonly string[]): Promise<number> {
  if (!keys.length) return 0;
  // Chunks bound each command's size: an invalidated tag may list many thousand entries.
  const groups = keysPerSlot(redis, keys).flatMap((group) => chunks(group, 1_000));
  const results = await pipelinePerNode(
    redis,
    groups,
    (group) => group[0]!,
    (pipeline, group) => void pipeline.del(...group),
  );
  let deleted = 0;
  for (const [error, result] of results) {
    if (error) throw error;
    deleted += Number(result);
  }
  return deleted;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Rejects when `promise` has not settled within `ms`. A timer can fire late, after the event loop
 * was blocked (a long synchronous task, embedded PGlite), with the reply already waiting unread
 * in the socket; the deadline is therefore enforced one turn later, after pending I/O has been
 * read, so a loop stall is not mistaken for a slow Redis.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          immediate = setImmediate(() => reject(new Error(`timed out after ${ms} ms`)));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  }
}

/** Resolves with `fallback` when `promise` does not settle in time or fails. */
export async function within<T>(promise: Promise<T>, ms: number, fallback: T, onFailure?: (error: unknown) => void): Promise<T> {
  try {
    return await withDeadline(promise, ms);
  } catch (error) {
    onFailure?.(error);
    return fallback;
  }
}

export type { Cluster, Redis };
