import { pipelinePerNode, type RedisClient, withDeadline } from '@shop/platform';

/**
 * The Redis client handed to mercurius-cache's Redis storage (async-cache-dedupe's StorageRedis),
 * shaped so that the cache can never make a request fail nor wait longer than `timeoutMs`:
 *
 *  - Reads (`get`, read pipelines) run under the timeout (`withDeadline`, which does not take a
 *    stalled event loop for a slow Redis; give the client a longer command timeout of its own). A failure or timeout opens a breaker
 *    for `cooldownMs`; while it is open (or the client is not connected) reads fail at once
 *    instead of waiting out the timeout again, so an outage costs each request nothing. The next
 *    read after the cool-down probes Redis, so the cache comes back by itself.
 *  - Writes (`set`, `del`, write-only pipelines) are sent and not waited for: the storage awaits
 *    its cache fill before returning the resolver's value, and a fill is never worth delaying an
 *    answer. Commands on one connection run in order, so a later read still sees them.
 *  - `smembers` answers `[]` at once. The storage calls it on a fill, to unlink the key from tags
 *    it no longer carries (tag sets otherwise expire by themselves); waiting for it would add a
 *    round trip to every miss. A stale link only makes a later invalidation drop an entry
 *    early. (Invalidation reads tag sets through pipelines, which do run.)
 *  - Whole-database commands (`flushall`, `keys`, `scan`) refuse: the Redis may be shared.
 *  - On a Redis Cluster every command the storage sends names one key; its pipelines, which mix
 *    entries and tag sets (`r:…`, `k:…`) of many slots, are split into one per primary.
 *
 * The storage swallows every error into a log line and treats it as a miss; `onError` is where
 * those failures are counted, with the cache key (`Query.products~…`) or tag (`r:Product:p4`) that
 * failed.
 */
export interface FailOpenClientOptions {
  timeoutMs: number;
  cooldownMs?: number;
  onError: (key: string, error: unknown) => void;
}

type Command = [string, ...unknown[]];
type PipelineResult = [Error | null, unknown][];

const WRITE_COMMANDS = new Set(['set', 'del', 'sadd', 'srem', 'expire']);

export function failOpenCacheClient(redis: RedisClient, { timeoutMs, cooldownMs = 1_000, onError }: FailOpenClientOptions) {
  let openUntil = 0;
  const unavailable = () => redis.status !== 'ready' || performance.now() < openUntil;
  const fail = (key: string, error: unknown) => {
    openUntil = performance.now() + cooldownMs;
    onError(key, error);
  };

  async function read<T>(key: string, run: () => Promise<T>): Promise<T> {
    if (unavailable()) {
      const error = new Error('cache unavailable (Redis down or recently failing)');
      onError(key, error);
      throw error;
    }
    try {
      return await withDeadline(run(), timeoutMs);
    } catch (error) {
      fail(key, error);
      throw error;
    }
  }

  function write(key: string, run: () => Promise<unknown>): void {
    // Dropped without a count: the read before it already counted this outage.
    if (unavailable()) return;
    run().catch((error: unknown) => fail(key, error));
  }

  const firstKey = (commands: readonly Command[]) => String(commands[0]?.[1] ?? 'pipeline');
  // The storage's pipelines mix keys and tag sets of many slots, one key per command: on a Redis
  // Cluster they go as one pipeline per primary (see pipelinePerNode), on a single Redis as one.
  const perNode = (commands: readonly Command[]) =>
    pipelinePerNode(
      redis,
      commands,
      ([, key]) => String(key),
      (pipeline, [name, ...args]) => void pipeline.call(name, ...(args.flat() as (string | number)[])),
    );

  return {
    get: (key: string) => read(key, () => redis.get(key)),
    pttl: (key: string) => read(key, () => redis.pttl(key)),
    async set(key: string, ...args: unknown[]) {
      write(key, () => (redis.set as (...a: unknown[]) => Promise<unknown>)(key, ...args));
      return 'OK';
    },
    async del(key: string) {
      write(key, () => redis.del(key));
      return 0;
    },
    async smembers(): Promise<string[]> {
      return [];
    },
    pipeline(commands: Command[]) {
      return {
        async exec(): Promise<PipelineResult> {
          if (commands.length === 0) return [];
          const key = firstKey(commands);
          const send = async () => throwOnFailedItem(await perNode(commands));
          if (commands.every(([name]) => WRITE_COMMANDS.has(name.toLowerCase()))) {
            write(key, send);
            return commands.map(() => [null, null]);
          }
          return read(key, send);
        },
      };
    },
    async flushall(): Promise<never> {
      throw new Error('refused: the cache never flushes a shared Redis');
    },
    async keys(): Promise<never> {
      throw new Error('refused: the cache never scans a shared Redis');
    },
    async scan(): Promise<never> {
      throw new Error('refused: the cache never scans a shared Redis');
    },
  };
}

/** A pipeline resolves even when its commands fail; a failed command is a failed read here. */
function throwOnFailedItem(results: PipelineResult): PipelineResult {
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  return results;
}
