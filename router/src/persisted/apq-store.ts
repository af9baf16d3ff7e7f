import type { PersistedQueryOptions } from '@apollo/server';
import { createRedis, within, type Logger, type RedisClient } from '@shop/platform';
import { LRUCache } from 'lru-cache';
import { entryBytes } from '../cache/sizes.ts';
import type { RouterMetrics } from '../metrics.ts';

/** Apollo's KeyValueCache, as its APQ support takes it. */
export type ApqCache = NonNullable<PersistedQueryOptions['cache']>;

export interface ApqStore {
  cache: ApqCache;
  close(): Promise<void>;
}

export interface ApqStoreSettings {
  /** Registrations in Redis, shared by every replica; without it, a bounded in-memory LRU per replica. */
  redisUrl: string | undefined;
  /** Apollo prefixes every APQ key with `apq:` itself, so keys end up as `<cacheKeyPrefix>apq:<sha256>`. */
  cacheKeyPrefix: string;
  cacheTimeoutMs: number;
  maxEntries: number;
  /** Byte bound on the in-memory store (accounted as in cache/sizes.ts). */
  maxBytes: number;
  /**
   * Largest document stored, in UTF-8 bytes: MAX_DOCUMENT_BYTES, which the router checks before
   * Apollo sees a request; checked again here so no path stores more, in memory or in Redis.
   */
  maxDocumentBytes: number;
  ttlSeconds: number;
  logger: Logger;
  metrics: RouterMetrics;
}

/**
 * The APQ registrations. A lost registration costs one round trip (the client gets
 * PERSISTED_QUERY_NOT_FOUND and resends the document), so the store fails open: a read that fails
 * or exceeds the cache timeout is a miss, a write that fails is dropped. Anyone can register a
 * document, so the store is bounded in bytes as well as entries, and a document over
 * `maxDocumentBytes` is never stored. Every Redis command names one key (`<prefix>apq:<sha256>`),
 * so a Redis Cluster needs nothing more.
 */
export function createApqStore(settings: ApqStoreSettings): ApqStore {
  const { redisUrl, metrics } = settings;
  const storable = (value: string) => {
    if (Buffer.byteLength(value) <= settings.maxDocumentBytes) return true;
    metrics.cacheSkips.inc({ layer: 'router', type: 'apq', reason: 'too_large' });
    return false;
  };
  if (!redisUrl) {
    const lru = new LRUCache<string, string>({
      max: settings.maxEntries,
      maxSize: settings.maxBytes,
      sizeCalculation: (value, key) => entryBytes(key, value),
      ttl: settings.ttlSeconds * 1_000,
    });
    return {
      cache: {
        get: async (key) => lru.get(key),
        set: async (key, value) => void (storable(value) && lru.set(key, value)),
        delete: async (key) => lru.delete(key),
      },
      close: async () => lru.clear(),
    };
  }
  const redis = createRedis(redisUrl, { logger: settings.logger, commandTimeoutMs: 5_000 });
  const cache = new RedisApqCache(redis, {
    storable,
    prefix: settings.cacheKeyPrefix,
    timeoutMs: settings.cacheTimeoutMs,
    ttlSeconds: settings.ttlSeconds,
    onError: (operation) => metrics.cacheErrors.inc({ layer: 'router', type: `apq_${operation}` }),
  });
  return { cache, close: async () => redis.disconnect() };
}

export class RedisApqCache implements ApqCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: {
      prefix: string;
      timeoutMs: number;
      ttlSeconds: number;
      onError: (operation: 'read' | 'write') => void;
      /** False for a value that must not be written (too large). */
      storable?: (value: string) => boolean;
    },
  ) {}

  async get(key: string): Promise<string | undefined> {
    const { prefix, timeoutMs, onError } = this.options;
    const read = this.redis.get(prefix + key).then((value) => value ?? undefined);
    return within(read, timeoutMs, undefined, () => onError('read'));
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const { prefix, timeoutMs, onError, storable } = this.options;
    if (storable && !storable(value)) return;
    // Registrations expire so hashes of operations no client sends any more do not pile up.
    const ttl = options?.ttl ?? this.options.ttlSeconds;
    await within(this.redis.set(prefix + key, value, 'EX', ttl), timeoutMs, undefined, () => onError('write'));
  }

  async delete(key: string): Promise<boolean> {
    const { prefix, timeoutMs } = this.options;
    return within(
      this.redis.del(prefix + key).then((n) => n > 0),
      timeoutMs,
      false,
    );
  }
}
