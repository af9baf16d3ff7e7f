/**
 * Environment parsing shared by every service's own config module. Each service parses its
 * configuration once, at start-up, through these helpers so a bad value fails fast with a message
 * that names the variable, instead of surfacing later as a confusing runtime error.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export function optionalString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function stringVar(env: Env, name: string, fallback: string): string {
  return optionalString(env, name) ?? fallback;
}

export function intVar(env: Env, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

export function urlVar(env: Env, name: string, fallback: string): string;
export function urlVar(env: Env, name: string): string | undefined;
export function urlVar(env: Env, name: string, fallback?: string): string | undefined {
  const raw = optionalString(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
  return raw;
}

export function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function isProduction(env: Env): boolean {
  return env.NODE_ENV === 'production';
}

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
  /**
   * Prefix of every Redis key and of the invalidation channel, so deployments (or test runs)
   * sharing one Redis never read each other's entries or hear each other's invalidations.
   */
  cacheKeyPrefix: string;
}

export const DEFAULT_CACHE_KEY_PREFIX = 'shop:';

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
    cacheKeyPrefix: stringVar(env, 'CACHE_KEY_PREFIX', DEFAULT_CACHE_KEY_PREFIX),
  };
}
