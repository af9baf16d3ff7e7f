import { describe, expect, it } from 'vitest';
import {
  type Cluster,
  ConfigError,
  createLogger,
  createRedis,
  isCluster,
  keysPerSlot,
  mgetPerSlot,
  parseRedisTarget,
  pipelinePerNode,
  readRedisTarget,
  readServiceBaseConfig,
} from '../src/index.ts';
import { freePort } from '../src/testing.ts';

/** REDIS_URL and REDIS_CLUSTER as every service reads them, and the client createRedis makes of them. No Redis needed. */
const logger = createLogger('redis-config-test', 'silent');
const SEEDS = 'redis://10.0.0.1:7000,redis://10.0.0.2:7001';

describe('REDIS_URL and REDIS_CLUSTER', () => {
  it('reads one URL as a single Redis, and nothing as no Redis', () => {
    expect(readRedisTarget({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBe('redis://127.0.0.1:6379');
    expect(parseRedisTarget(readRedisTarget({ REDIS_URL: 'redis://127.0.0.1:6379' })!)).toEqual({
      urls: ['redis://127.0.0.1:6379'],
      cluster: false,
    });
    expect(readRedisTarget({})).toBeUndefined();
    expect(readServiceBaseConfig({}).redisUrl).toBeUndefined();
  });

  it('reads the seed nodes of a cluster with REDIS_CLUSTER=true, one or several, and reads its own result back', () => {
    const target = readRedisTarget({ REDIS_URL: ` ${SEEDS.replace(',', ' , ')} `, REDIS_CLUSTER: 'true' })!;
    expect(parseRedisTarget(target)).toEqual({ urls: SEEDS.split(','), cluster: true });
    expect(readServiceBaseConfig({ REDIS_URL: SEEDS, REDIS_CLUSTER: 'true' }).redisUrl).toBe(target);
    // A config's redisUrl handed on as another service's REDIS_URL means the same.
    expect(readRedisTarget({ REDIS_URL: target })).toBe(target);
    expect(parseRedisTarget(readRedisTarget({ REDIS_URL: 'redis://10.0.0.1:7000', REDIS_CLUSTER: 'yes' })!)).toEqual({
      urls: ['redis://10.0.0.1:7000'],
      cluster: true,
    });
  });

  it.each([
    [{ REDIS_URL: SEEDS }, /REDIS_URL lists 2 URLs; set REDIS_CLUSTER=true/],
    [{ REDIS_CLUSTER: 'true' }, /REDIS_CLUSTER=true needs REDIS_URL/],
    [{ REDIS_URL: SEEDS, REDIS_CLUSTER: 'sometimes' }, /REDIS_CLUSTER must be true or false, got "sometimes"/],
    [{ REDIS_URL: 'redis://10.0.0.1:7000,not a url', REDIS_CLUSTER: 'true' }, /REDIS_URL must be a comma-separated list of URLs/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL must be a URL, got "not a url"/],
    [{ REDIS_URL: 'http://10.0.0.1:7000' }, /redis:\/\/ or rediss:\/\//],
    [{ REDIS_URL: 'redis://10.0.0.1:7000/2', REDIS_CLUSTER: 'true' }, /cannot name a database/],
    [{ REDIS_URL: `cluster:${SEEDS}`, REDIS_CLUSTER: 'false' }, /names a Redis Cluster but REDIS_CLUSTER is false/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => readServiceBaseConfig(env)).toThrow(ConfigError);
    expect(() => readServiceBaseConfig(env)).toThrow(message);
  });
});

describe('createRedis on a cluster target', () => {
  it('makes a fail-fast Cluster: no offline queue, reads from primaries, bounded node connections', async () => {
    const port = await freePort();
    const redis = createRedis(readRedisTarget({ REDIS_URL: `redis://:secret@127.0.0.1:${port}`, REDIS_CLUSTER: 'true' })!, {
      logger,
      commandTimeoutMs: 250,
      keyPrefix: 'p:',
    });
    try {
      expect(isCluster(redis)).toBe(true);
      const { options } = redis as Cluster;
      expect(options).toMatchObject({ enableOfflineQueue: false, scaleReads: 'master', keyPrefix: 'p:' });
      expect(options.redisOptions).toMatchObject({
        commandTimeout: 250,
        maxRetriesPerRequest: 0,
        connectTimeout: 1_000,
        password: 'secret',
      });
      expect(options.slotsRefreshTimeout).toBeGreaterThan(0);
      expect(options.slotsRefreshInterval).toBeGreaterThan(0);
      // Nothing listens there: every multi-key call fails at once instead of waiting for a slot map.
      await expect(mgetPerSlot(redis, ['a', 'b'])).rejects.toThrow(/isn't ready/);
      await expect(
        pipelinePerNode(
          redis,
          ['a'],
          (key) => key,
          (pipeline, key) => void pipeline.get(key),
        ),
      ).rejects.toThrow(/isn't ready/);
      await expect(redis.get('a')).rejects.toThrow(/isn't ready/);
    } finally {
      redis.disconnect();
    }
  });

  it('groups keys by slot, their key prefix included, with hash tags keeping keys together', async () => {
    const port = await freePort();
    const cluster = createRedis(readRedisTarget({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: 'true' })!, { logger });
    const single = createRedis(`redis://127.0.0.1:${port}`, { logger });
    try {
      const keys = ['e:{abc}', 'e:{abc}:user', 'e:{xyz}', 'e:{xyz}:user', 'plain'];
      const groups = keysPerSlot(cluster, keys);
      expect(groups).toContainEqual(['e:{abc}', 'e:{abc}:user']);
      expect(groups).toContainEqual(['e:{xyz}', 'e:{xyz}:user']);
      expect(groups.flat().sort()).toEqual([...keys].sort());
      // A single Redis has one slot space: one group, one MGET.
      expect(keysPerSlot(single, keys)).toEqual([keys]);
      // A hash tag in the key prefix puts every key in its slot.
      const tagged = createRedis(readRedisTarget({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: 'true' })!, {
        logger,
        keyPrefix: '{shop}:',
      });
      try {
        expect(keysPerSlot(tagged, keys)).toEqual([keys]);
      } finally {
        tagged.disconnect();
      }
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
