import { afterEach, describe, expect, it } from 'vitest';
import { client, disconnectClients } from './cache-client-helpers.ts';

/**
 * The Redis client behind the subgraph cache's Redis storage: it must fail open — never make a
 * request fail, never make one wait past the cache timeout — and come back by itself. The cases
 * that need a real Redis are in cache-client.redis.test.ts (real-services tier).
 */
afterEach(disconnectClients);

describe('fail-open cache client', () => {
  it('fails at once, counted, when Redis cannot be reached; writes are dropped and whole-database commands refused', async () => {
    const { cache, errors } = client('redis://127.0.0.1:1');
    await expect(cache.get('Query.products~{}')).rejects.toThrow(/unavailable/);
    expect(errors).toEqual(['Query.products~{}']);
    await expect(cache.set('Query.products~{}', '[]', 'EX', 60)).resolves.toBe('OK');
    await expect(cache.pipeline([['sadd', 'r:Product:p1', 'k']]).exec()).resolves.toEqual([[null, null]]);
    expect(errors).toHaveLength(1);
    await expect(cache.flushall()).rejects.toThrow(/refused/);
  });
});
