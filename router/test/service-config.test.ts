import { ConfigError, readServiceBaseConfig } from '@shop/platform';
import { readConfig as readRouterConfig } from '../src/config.ts';
import { describe, expect, it } from 'vitest';
import { readSubgraphBaseConfig } from '@shop/subgraph-kit';

/** The settings the router and every subgraph share are read by one function, so they cannot drift. */
describe('the settings every service shares', () => {
  const shared = (config: object) => {
    const keys = [
      'production',
      'routerSecret',
      'logLevel',
      'redisUrl',
      'cacheTimeoutMs',
      'cacheKeyPrefix',
      'shutdownDelayMs',
      'drainTimeoutMs',
    ];
    return Object.fromEntries(keys.map((key) => [key, (config as Record<string, unknown>)[key]]));
  };

  it('reads the same values for the router and a subgraph', () => {
    const env = {
      REDIS_URL: 'redis://cache:6379',
      CACHE_TIMEOUT_MS: '7500',
      CACHE_KEY_PREFIX: 'eu:',
      SHUTDOWN_DELAY_MS: '5000',
      DRAIN_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'debug',
    };
    const base = shared(readServiceBaseConfig(env));
    expect(base).toMatchObject({ cacheTimeoutMs: 7500, cacheKeyPrefix: 'eu:', shutdownDelayMs: 5000, logLevel: 'debug' });
    expect(shared(readSubgraphBaseConfig(env, 'products', 4001))).toEqual(base);
    expect(shared(readRouterConfig(env))).toEqual(base);
  });

  it('refuses the same bad values in both, with the same message', () => {
    for (const env of [{ CACHE_TIMEOUT_MS: '10001' }, { NODE_ENV: 'production' }]) {
      const messageOf = (read: () => unknown) => {
        try {
          read();
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return (error as Error).message;
        }
        throw new Error(`${JSON.stringify(env)} was accepted`);
      };
      const subgraph = messageOf(() => readSubgraphBaseConfig(env, 'products', 4001));
      expect(messageOf(() => readRouterConfig(env))).toBe(subgraph);
    }
  });
});
