import {
  boolVar,
  ConfigError,
  DEFAULT_CACHE_KEY_PREFIX,
  type Env,
  intVar,
  isProduction,
  type ListenerTimeouts,
  optionalString,
  readListenerTimeouts,
  readTracingConfig,
  stringVar,
  type TracingConfig,
  urlVar,
} from '@shop/platform';

/** Settings every subgraph reads the same way; each subgraph's config module adds its own. */
export interface SubgraphBaseConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  pgliteDataDir: string | undefined;
  routerSecret: string | undefined;
  production: boolean;
  seed: boolean;
  logLevel: string;
  /** Shared cache storage and invalidation bus; absent: in-process memory and an in-process bus. */
  redisUrl: string | undefined;
  /** The subgraph cache layer (mercurius-cache); `Cache-Control` headers are sent either way. */
  subgraphCache: boolean;
  /** Longest a request waits on Redis for the cache before answering without it. */
  cacheTimeoutMs: number;
  /** SUBGRAPH_CACHE_MAX_BYTES: all in-memory stores of the cache layer together, in accounted bytes. */
  cacheMaxBytes: number;
  /** SUBGRAPH_CACHE_MAX_ENTRY_BYTES: a larger value is not cached, in memory or in Redis. */
  cacheMaxEntryBytes: number;
  /**
   * Prefix of every Redis key and of the invalidation channel, so deployments (or test runs)
   * sharing one Redis never read each other's entries or hear each other's invalidations.
   */
  cacheKeyPrefix: string;
  /**
   * On SIGTERM/SIGINT: how long `/ready` answers 503 while the subgraph still serves, before the
   * listener closes (set it to the load balancer's probe interval so it stops sending first).
   */
  shutdownDelayMs: number;
  /** After the listener closes, how long in-flight requests may take; past it they are cut and the process exits 1. */
  drainTimeoutMs: number;
  /** OpenTelemetry tracing (off unless an OTLP endpoint is set). */
  tracing: TracingConfig;
  /** Header, body and keep-alive bounds on the HTTP listener. */
  listener: ListenerTimeouts;
}

/** Byte bounds of the subgraph cache layer (see subgraph-cache.ts). */
export const DEFAULT_SUBGRAPH_CACHE_BOUNDS = { maxBytes: 64 * 1024 ** 2, maxEntryBytes: 1024 ** 2 } as const;

export function readSubgraphBaseConfig(env: Env, name: string, defaultPort: number): SubgraphBaseConfig {
  const upper = name.toUpperCase();
  const production = isProduction(env);
  const routerSecret = optionalString(env, 'ROUTER_SECRET');
  if (production && !routerSecret) {
    throw new ConfigError('ROUTER_SECRET is required when NODE_ENV=production: subgraphs trust identity headers only from the router');
  }
  return {
    port: intVar(env, 'PORT', defaultPort, { min: 0, max: 65535 }),
    host: stringVar(env, 'HOST', '127.0.0.1'),
    databaseUrl: urlVar(env, `${upper}_DATABASE_URL`),
    pgliteDataDir: optionalString(env, 'PGLITE_DATA_DIR'),
    routerSecret,
    production,
    seed: boolVar(env, 'SEED', !production),
    logLevel: stringVar(env, 'LOG_LEVEL', production ? 'info' : 'warn'),
    redisUrl: urlVar(env, 'REDIS_URL'),
    subgraphCache: boolVar(env, 'SUBGRAPH_CACHE', true),
    cacheTimeoutMs: intVar(env, 'CACHE_TIMEOUT_MS', 100, { min: 1, max: 5_000 }),
    cacheMaxBytes: intVar(env, 'SUBGRAPH_CACHE_MAX_BYTES', DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxBytes, { min: 1_024, max: 16 * 1024 ** 3 }),
    cacheMaxEntryBytes: intVar(env, 'SUBGRAPH_CACHE_MAX_ENTRY_BYTES', DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxEntryBytes, {
      min: 1_024,
      max: 512 * 1024 ** 2,
    }),
    cacheKeyPrefix: stringVar(env, 'CACHE_KEY_PREFIX', DEFAULT_CACHE_KEY_PREFIX),
    shutdownDelayMs: intVar(env, 'SHUTDOWN_DELAY_MS', 0, { min: 0, max: 60_000 }),
    drainTimeoutMs: intVar(env, 'DRAIN_TIMEOUT_MS', 10_000, { min: 0, max: 120_000 }),
    tracing: readTracingConfig(env),
    listener: readListenerTimeouts(env),
  };
}
