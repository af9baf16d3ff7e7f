import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';

describe('router config', () => {
  it(
    'sends each subgraph to its supergraph URL unless <NAME>_URL overrides it, for any name, ' +
      'and derives the JWKS URL from the users URL',
    () => {
      const config = readConfig({});
      expect(config.port).toBe(4000);
      expect(config.subgraphUrl('products', 'http://localhost:4001/graphql')).toBe('http://localhost:4001/graphql');
      expect(config.subgraphUrl('products', 'http://products.internal/graphql')).toBe('http://products.internal/graphql');
      expect(config.jwksUrl).toBe('http://localhost:4004/.well-known/jwks.json');
      const overridden = readConfig({
        PRODUCTS_URL: 'http://p:1/graphql',
        GIFT_CARDS_URL: 'http://g:2/graphql',
        USERS_URL: 'http://u:3/graphql',
      });
      expect(overridden.subgraphUrl('products', 'http://localhost:4001/graphql')).toBe('http://p:1/graphql');
      expect(overridden.subgraphUrl('gift-cards', 'http://elsewhere/graphql')).toBe('http://g:2/graphql'); // non-alnum → _
      expect(overridden.subgraphUrl('pricing', 'http://localhost:4003/graphql')).toBe('http://localhost:4003/graphql');
      expect(overridden.jwksUrl).toBe('http://u:3/.well-known/jwks.json');
      // The router's own *_URL variables are not subgraph overrides.
      expect(readConfig({ REDIS_URL: 'redis://cache:6379', JWKS_URL: 'http://k/jwks', CACHE_TIMEOUT_MS: '50' }).subgraphOverrides).toEqual(
        {},
      );
      // A variable that only looks like an override (Vite's BASE_URL) is checked only if a supergraph names that subgraph.
      expect(readConfig({ BASE_URL: '/' }).subgraphUrl('products', 'http://localhost:4001/graphql')).toBe('http://localhost:4001/graphql');
      expect(() => readConfig({ REVIEWS_URL: 'nope' }).subgraphUrl('reviews', 'http://localhost:4009/graphql')).toThrow(
        /REVIEWS_URL must be a URL/,
      );
      expect(config.apolloTelemetry).toBe(false);
    },
  );

  it('caches in memory by default, bounded, with a 100 ms cache timeout', () => {
    const config = readConfig({});
    expect(config.redisUrl).toBeUndefined();
    expect(config.routerCache).toBe(true);
    expect(config.cacheTimeoutMs).toBe(100);
    expect(config.cacheMaxEntries).toBe(50_000);
    expect(config.cacheKeyPrefix).toBe('shop:');
  });

  it('reads the cache settings from the environment', () => {
    const config = readConfig({
      REDIS_URL: 'redis://cache:6379',
      ROUTER_CACHE: 'false',
      CACHE_TIMEOUT_MS: '50',
      ROUTER_CACHE_MAX_ENTRIES: '10',
      CACHE_KEY_PREFIX: 'x:',
    });
    expect(config).toMatchObject({
      redisUrl: 'redis://cache:6379',
      routerCache: false,
      cacheTimeoutMs: 50,
      cacheMaxEntries: 10,
      cacheKeyPrefix: 'x:',
    });
  });

  it('safelists the mobile apps by default, allows the rest in development and logs it in production', () => {
    const development = readConfig({});
    expect(development.safelistModes).toEqual({ ios: 'safelist', android: 'safelist', '*': 'allow' });
    expect(development.persistedQueriesDir).toMatch(/[/\\]clients$/);
    expect(development).toMatchObject({ apqMaxEntries: 10_000, apqTtlSeconds: 86_400 });
    expect(readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's' }).safelistModes).toEqual({
      ios: 'safelist',
      android: 'safelist',
      '*': 'log_unknown',
    });
  });

  it('reads the persisted query settings from the environment, over the defaults', () => {
    const config = readConfig({
      SAFELIST_MODES: ' web=log_unknown, android=allow ,*=safelist',
      PERSISTED_QUERIES_DIR: '/srv/clients',
      APQ_MAX_ENTRIES: '5',
      APQ_TTL_SECONDS: '60',
    });
    expect(config.safelistModes).toEqual({ ios: 'safelist', android: 'allow', web: 'log_unknown', '*': 'safelist' });
    expect(config).toMatchObject({ persistedQueriesDir: '/srv/clients', apqMaxEntries: 5, apqTtlSeconds: 60 });
  });

  it('limits operations by default and reads the limits from the environment', () => {
    expect(readConfig({}).operationLimits).toEqual({
      maxDepth: 12,
      maxAliases: 30,
      maxTokens: 3_000,
      maxDirectives: 30,
      maxCost: 10_000,
      maxResponseFields: 30_000,
      costListSize: 10,
    });
    const env = {
      MAX_DEPTH: '8',
      MAX_ALIASES: '0',
      MAX_TOKENS: '500',
      MAX_DIRECTIVES: '5',
      MAX_COST: '2000',
      MAX_RESPONSE_FIELDS: '5000',
      COST_LIST_SIZE: '25',
    };
    expect(readConfig(env).operationLimits).toEqual({
      maxDepth: 8,
      maxAliases: 0,
      maxTokens: 500,
      maxDirectives: 5,
      maxCost: 2_000,
      maxResponseFields: 5_000,
      costListSize: 25,
    });
  });

  it('times out each subgraph fetch after SUBGRAPH_TIMEOUT_MS unless <NAME>_TIMEOUT_MS overrides it', () => {
    const defaults = readConfig({});
    expect(['products', 'inventory', 'pricing', 'users', 'orders', 'reviews'].map((name) => defaults.subgraphTimeout(name))).toEqual([
      10_000, 10_000, 10_000, 10_000, 10_000, 10_000,
    ]);
    const config = readConfig({
      SUBGRAPH_TIMEOUT_MS: '3000',
      PRICING_TIMEOUT_MS: '500',
      USERS_TIMEOUT_MS: '8000',
      REVIEWS_TIMEOUT_MS: '700',
    });
    expect(config.subgraphTimeoutMs).toBe(3_000);
    expect(['products', 'inventory', 'pricing', 'users', 'orders', 'reviews'].map((name) => config.subgraphTimeout(name))).toEqual([
      3_000, 3_000, 500, 8_000, 3_000, 700,
    ]);
  });

  it('reads at most SUBGRAPH_MAX_RESPONSE_BYTES (16 MiB) of a subgraph answer', () => {
    expect(readConfig({}).subgraphMaxResponseBytes).toBe(16 * 1024 ** 2);
    expect(readConfig({ SUBGRAPH_MAX_RESPONSE_BYTES: '65536' }).subgraphMaxResponseBytes).toBe(65_536);
    expect(() => readConfig({ SUBGRAPH_MAX_RESPONSE_BYTES: '10' })).toThrow(/SUBGRAPH_MAX_RESPONSE_BYTES/);
    expect(() => readConfig({ MAX_RESPONSE_FIELDS: '0' })).toThrow(/MAX_RESPONSE_FIELDS/);
  });

  it('opens a circuit after 5 failures for 5 s by default, and reads the breaker settings from the environment', () => {
    expect(readConfig({}).breaker).toEqual({ failureThreshold: 5, cooldownMs: 5_000, windowMs: 60_000 });
    expect(readConfig({ BREAKER_FAILURE_THRESHOLD: '2', BREAKER_COOLDOWN_MS: '250', BREAKER_WINDOW_MS: '1000' }).breaker).toEqual({
      failureThreshold: 2,
      cooldownMs: 250,
      windowMs: 1_000,
    });
  });

  it('drains for up to 10 s with no readiness delay by default, and reads both from the environment', () => {
    expect(readConfig({})).toMatchObject({ drainTimeoutMs: 10_000, shutdownDelayMs: 0 });
    expect(readConfig({ DRAIN_TIMEOUT_MS: '0', SHUTDOWN_DELAY_MS: '5000' })).toMatchObject({ drainTimeoutMs: 0, shutdownDelayMs: 5_000 });
    expect(readConfig({ DRAIN_TIMEOUT_MS: '120000' }).drainTimeoutMs).toBe(120_000);
  });

  it('takes subgraph URLs from the environment', () => {
    expect(
      readConfig({ PRICING_URL: 'http://pricing.internal:8080/graphql' }).subgraphUrl('pricing', 'http://localhost:4003/graphql'),
    ).toBe('http://pricing.internal:8080/graphql');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ ORDERS_URL: 'not a url' }, /ORDERS_URL must be a URL/],
    [{ SUBGRAPH_TIMEOUT_MS: '0' }, /SUBGRAPH_TIMEOUT_MS/],
    [{ PRICING_TIMEOUT_MS: 'soon' }, /PRICING_TIMEOUT_MS must be an integer/],
    [{ ORDERS_TIMEOUT_MS: '0' }, /ORDERS_TIMEOUT_MS/],
    [{ BREAKER_FAILURE_THRESHOLD: '0' }, /BREAKER_FAILURE_THRESHOLD/],
    [{ BREAKER_COOLDOWN_MS: '-5' }, /BREAKER_COOLDOWN_MS/],
    [{ BREAKER_WINDOW_MS: 'x' }, /BREAKER_WINDOW_MS/],
    [{ NODE_ENV: 'production' }, /ROUTER_SECRET is required/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL must be a URL/],
    [{ ROUTER_CACHE: 'maybe' }, /ROUTER_CACHE must be true or false/],
    [{ CACHE_TIMEOUT_MS: '0' }, /CACHE_TIMEOUT_MS/],
    [{ ROUTER_CACHE_MAX_ENTRIES: '0' }, /ROUTER_CACHE_MAX_ENTRIES/],
    [{ SAFELIST_MODES: 'ios=strict' }, /SAFELIST_MODES must be a list of client=mode/],
    [{ SAFELIST_MODES: 'ios' }, /SAFELIST_MODES/],
    [{ SAFELIST_MODES: 'i o s=allow' }, /SAFELIST_MODES/],
    [{ APQ_MAX_ENTRIES: '0' }, /APQ_MAX_ENTRIES/],
    [{ APQ_TTL_SECONDS: '-1' }, /APQ_TTL_SECONDS/],
    [{ MAX_DEPTH: '0' }, /MAX_DEPTH must be an integer/],
    [{ MAX_ALIASES: '-1' }, /MAX_ALIASES/],
    [{ MAX_TOKENS: 'lots' }, /MAX_TOKENS/],
    [{ MAX_DIRECTIVES: '1.5' }, /MAX_DIRECTIVES/],
    [{ MAX_COST: '0' }, /MAX_COST/],
    [{ COST_LIST_SIZE: '-1' }, /COST_LIST_SIZE/],
    [{ DRAIN_TIMEOUT_MS: '120001' }, /DRAIN_TIMEOUT_MS/],
    [{ DRAIN_TIMEOUT_MS: '-1' }, /DRAIN_TIMEOUT_MS/],
    [{ DRAIN_TIMEOUT_MS: 'ten' }, /DRAIN_TIMEOUT_MS must be an integer/],
    [{ SHUTDOWN_DELAY_MS: '60001' }, /SHUTDOWN_DELAY_MS/],
  ])('fails fast with a message naming the variable for %o', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});

describe('router config: rate limit and trusted proxies', () => {
  it('limits each client to 600 requests per 10 s by default and trusts no proxy', () => {
    const config = readConfig({});
    expect(config.rateLimit).toEqual({
      enabled: true,
      max: 600,
      windowMs: 10_000,
      ipMax: 3_000,
      signIn: { max: 30, windowMs: 60_000 },
      signUp: { max: 5, windowMs: 3_600_000 },
    });
    expect(config.trustProxy).toBe(false);
  });

  it('reads the rate limit from the environment', () => {
    expect(readConfig({ RATE_LIMIT: 'false', RATE_LIMIT_MAX: '50', RATE_LIMIT_WINDOW_MS: '60000' }).rateLimit).toMatchObject({
      enabled: false,
      max: 50,
      windowMs: 60_000,
      ipMax: 250,
    });
    expect(readConfig({ RATE_LIMIT: 'on' }).rateLimit.enabled).toBe(true);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    [' 10.0.0.1 , 192.168.0.0/16,::1, fd00::/8 ', ['10.0.0.1', '192.168.0.0/16', '::1', 'fd00::/8']],
  ])('reads TRUST_PROXY=%j', (raw, expected) => {
    expect(readConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it.each([
    [{ RATE_LIMIT: 'maybe' }, /RATE_LIMIT must be true or false/],
    [{ RATE_LIMIT_MAX: '0' }, /RATE_LIMIT_MAX/],
    [{ RATE_LIMIT_MAX: 'lots' }, /RATE_LIMIT_MAX/],
    [{ RATE_LIMIT_WINDOW_MS: '10' }, /RATE_LIMIT_WINDOW_MS/],
    [{ TRUST_PROXY: 'loadbalancer' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.1,' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '101' }, /TRUST_PROXY/],
  ])('fails fast with a message naming the variable for %o', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});
