import { randomBytes } from 'node:crypto';
import { createLogger, createRedis, type RedisClient } from '@shop/platform';
import { failOpenCacheClient } from '../src/index.ts';

/** Shared by cache-client.test.ts and cache-client.redis.test.ts. */
const logger = createLogger('cache-client-test', 'silent');
export const TIMEOUT_MS = 100;

const clients: RedisClient[] = [];
/** Disconnects every client `client` created; call it after each test. */
export function disconnectClients() {
  for (const client of clients.splice(0)) client.disconnect();
}

/** A fail-open cache client on `url` (a Redis URL or a cluster target, as createRedis takes it), under a key prefix of its own, recording the keys it failed on. */
export function client(url: string, cooldownMs = 1_000) {
  const redis = createRedis(url, { logger, commandTimeoutMs: 2_000, keyPrefix: `test:${randomBytes(6).toString('hex')}:` });
  clients.push(redis);
  const errors: string[] = [];
  const cache = failOpenCacheClient(redis, { timeoutMs: TIMEOUT_MS, cooldownMs, onError: (key) => errors.push(key) });
  return { redis, cache, errors };
}
