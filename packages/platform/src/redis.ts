import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * A Redis client for caches and the bus, set to fail fast: commands issued while disconnected
 * fail at once instead of queueing, each command has a timeout, and the client reconnects in the
 * background. Callers treat a failure as a cache miss (fail open), never as a failed request.
 */
export function createRedis(
  url: string,
  { logger, commandTimeoutMs = 100, keyPrefix }: { logger: Logger; commandTimeoutMs?: number; keyPrefix?: string | undefined },
): Redis {
  const redis = new Redis(url, {
    ...(keyPrefix ? { keyPrefix } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs > 0 ? commandTimeoutMs : undefined,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
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

export type { Redis };
