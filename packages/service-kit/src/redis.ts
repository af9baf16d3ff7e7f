import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * A Redis client for caches and the bus, set to fail fast: commands issued while disconnected
 * fail at once instead of queueing, each command has a timeout, and the client reconnects in the
 * background. Callers treat a failure as a cache miss (fail open), never as a failed request.
 */
export function createRedis(url: string, { logger, commandTimeoutMs = 100 }: { logger: Logger; commandTimeoutMs?: number }): Redis {
  const redis = new Redis(url, {
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

/** Resolves with `fallback` when `promise` does not settle in time or fails. */
export async function within<T>(promise: Promise<T>, ms: number, fallback: T, onFailure?: (error: unknown) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } catch (error) {
    onFailure?.(error);
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}

export type { Redis };
