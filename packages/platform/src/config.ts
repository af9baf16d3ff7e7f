import { parseRedisTarget, redisTarget } from './redis.ts';

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

/**
 * REDIS_URL and REDIS_CLUSTER as createRedis takes them (see redisTarget in redis.ts): the URL of
 * one Redis; with REDIS_CLUSTER=true, the seed nodes of a Redis Cluster, REDIS_URL then listing one
 * or more URLs separated by commas (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`). Any reachable
 * seed is enough: the client learns the other nodes from it.
 */
export function readRedisTarget(env: Env): string | undefined {
  const given = optionalString(env, 'REDIS_URL');
  // A target as this function returns it (`cluster:` and the seeds) reads back as itself, so a
  // config's `redisUrl` can be handed to another service's env as REDIS_URL.
  const parsed = given === undefined ? undefined : parseRedisTarget(given);
  const cluster = boolVar(env, 'REDIS_CLUSTER', parsed?.cluster ?? false);
  if (given === undefined) {
    if (cluster) throw new ConfigError('REDIS_CLUSTER=true needs REDIS_URL: the URL of one or more of the cluster nodes, comma-separated');
    return undefined;
  }
  if (parsed?.cluster && !cluster) throw new ConfigError(`REDIS_URL names a Redis Cluster but REDIS_CLUSTER is false, got "${given}"`);
  const raw = parsed!.urls.join(',');
  const urls = parsed!.urls;
  if (urls.length > 1 && !cluster) {
    throw new ConfigError(
      `REDIS_URL lists ${urls.length} URLs; set REDIS_CLUSTER=true for the seed nodes of a Redis Cluster, got "${raw}"`,
    );
  }
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`REDIS_URL must be ${cluster ? 'a comma-separated list of URLs' : 'a URL'}, got "${raw}"`);
    }
    if (!/^rediss?:$/.test(parsed.protocol)) throw new ConfigError(`REDIS_URL must use redis:// or rediss://, got "${url}"`);
    // A cluster has one database only: a node refuses SELECT with any other number.
    if (cluster && parsed.pathname.replace(/^\//, '') !== '' && parsed.pathname !== '/0') {
      throw new ConfigError(`REDIS_URL of a Redis Cluster cannot name a database (a cluster has only database 0), got "${url}"`);
    }
  }
  return redisTarget(urls, cluster);
}

/** Prefix of every Redis key and invalidation channel unless CACHE_KEY_PREFIX says otherwise. */
export const DEFAULT_CACHE_KEY_PREFIX = 'shop:';

/**
 * Time bounds on every HTTP listener (router and subgraphs), so a client cannot hold a connection
 * by sending slowly or not at all. Node checks them on an interval, so a connection is cut a little
 * after its bound, never before. None of them limits how long the server may take to answer: the
 * request timeout ends when the request has been received.
 */
export interface ListenerTimeouts {
  /** HEADERS_TIMEOUT_MS: from connection (or the previous response) until the request's headers are in. */
  headersTimeoutMs: number;
  /** REQUEST_TIMEOUT_MS: until the whole request (headers and body) is in; a trickled body is cut (408). */
  requestTimeoutMs: number;
  /**
   * KEEP_ALIVE_TIMEOUT_MS: how long an idle keep-alive connection stays open after a response.
   * Keep it above the load balancer's idle timeout in front, so it never reuses a socket we just closed.
   */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LISTENER_TIMEOUTS: ListenerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
};

export function readListenerTimeouts(env: Env): ListenerTimeouts {
  const timeouts = {
    headersTimeoutMs: intVar(env, 'HEADERS_TIMEOUT_MS', DEFAULT_LISTENER_TIMEOUTS.headersTimeoutMs, { min: 1, max: 300_000 }),
    requestTimeoutMs: intVar(env, 'REQUEST_TIMEOUT_MS', DEFAULT_LISTENER_TIMEOUTS.requestTimeoutMs, { min: 1, max: 600_000 }),
    keepAliveTimeoutMs: intVar(env, 'KEEP_ALIVE_TIMEOUT_MS', DEFAULT_LISTENER_TIMEOUTS.keepAliveTimeoutMs, { min: 1, max: 600_000 }),
  };
  // Node refuses a headers timeout longer than the request timeout; say which variables clash.
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS (${timeouts.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs})`,
    );
  }
  return timeouts;
}

/** OpenTelemetry tracing settings, from the standard OTEL_* variables (router and subgraphs alike). */
export interface TracingConfig {
  /**
   * Where spans are exported (OTLP over HTTP, JSON bodies): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
   * given, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. Absent (or OTEL_SDK_DISABLED=true):
   * tracing is off, and costs nothing.
   */
  otlpTracesUrl: string | undefined;
  /** OTEL_SERVICE_NAME: reported as `service.name` instead of the service's own name. */
  serviceName: string | undefined;
  /**
   * OTEL_TRACES_SAMPLER_ARG: share of new traces recorded (parent-based: a request whose caller
   * sampled it, per its `traceparent`, is always recorded; one the caller dropped never is).
   */
  sampleRatio: number;
}

export function readTracingConfig(env: Env): TracingConfig {
  const tracesUrl = urlVar(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = urlVar(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const off = boolVar(env, 'OTEL_SDK_DISABLED', false);
  return {
    otlpTracesUrl: off ? undefined : (tracesUrl ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined)),
    serviceName: optionalString(env, 'OTEL_SERVICE_NAME'),
    sampleRatio: ratioVar(env, 'OTEL_TRACES_SAMPLER_ARG', 1),
  };
}

export function ratioVar(env: Env, name: string, fallback: number): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(`${name} must be a number between 0 and 1, got "${raw}"`);
  return value;
}

/**
 * What the router and every subgraph read the same way from the same variables, so one service
 * cannot drift from another in a default or a bound. Each service's config module adds its own.
 */
export interface ServiceBaseConfig {
  /** NODE_ENV=production: no introspection, no stack traces, secrets required. */
  production: boolean;
  /** ROUTER_SECRET: makes identity headers believable between the router and subgraphs. Required in production. */
  routerSecret: string | undefined;
  logLevel: string;
  /**
   * REDIS_URL (with REDIS_CLUSTER): shared caches and the invalidation bus; absent: in-process memory
   * and an in-process bus. A single Redis's URL, or a Redis Cluster's seed nodes as createRedis takes
   * them (see readRedisTarget): hand it to createRedis, not to a URL parser.
   */
  redisUrl: string | undefined;
  /** CACHE_TIMEOUT_MS: the longest any cache call may hold a request; past it the cache counts as a miss. */
  cacheTimeoutMs: number;
  /**
   * CACHE_KEY_PREFIX: prefix of every Redis key and of the invalidation channel, so deployments (or
   * test runs) sharing one Redis never read each other's entries or hear each other's invalidations.
   */
  cacheKeyPrefix: string;
  /**
   * SHUTDOWN_DELAY_MS: on SIGTERM/SIGINT, how long `/ready` answers 503 while the service still
   * serves, before the listener closes (the load balancer's probe interval, so it stops sending first).
   */
  shutdownDelayMs: number;
  /** DRAIN_TIMEOUT_MS: after the listener closes, how long in-flight requests may take; past it they are cut and the process exits 1. */
  drainTimeoutMs: number;
  /** OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (see readTracingConfig). */
  tracing: TracingConfig;
  /** Header, body and keep-alive time bounds on the listener (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS). */
  listener: ListenerTimeouts;
  /** The event stream (see readEventsConfig). */
  events: EventsConfig;
}

/**
 * NATS_URL: NATS with JetStream carries events between processes; absent: an in-process stream fed
 * from the same outbox tables. NATS_STREAM (SHOP_EVENTS) and NATS_SUBJECT_PREFIX (shop) name the
 * stream and its subjects (`shop.order.shipped`); a test run or a second deployment on one NATS
 * takes names of its own so it never consumes another's events.
 */
export interface EventsConfig {
  natsUrl: string | undefined;
  stream: string;
  subjectPrefix: string;
}

export const DEFAULT_EVENTS_STREAM = 'SHOP_EVENTS';
export const DEFAULT_EVENTS_SUBJECT_PREFIX = 'shop';

export function readEventsConfig(env: Env): EventsConfig {
  const stream = stringVar(env, 'NATS_STREAM', DEFAULT_EVENTS_STREAM);
  // JetStream names may not hold '.', '*', '>' or whitespace; subject tokens likewise.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream))
    throw new ConfigError(`NATS_STREAM must be 1 to 64 letters, digits, '_' or '-', got "${stream}"`);
  const subjectPrefix = stringVar(env, 'NATS_SUBJECT_PREFIX', DEFAULT_EVENTS_SUBJECT_PREFIX);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(subjectPrefix)) {
    throw new ConfigError(`NATS_SUBJECT_PREFIX must be 1 to 64 letters, digits, '_' or '-', got "${subjectPrefix}"`);
  }
  return { natsUrl: urlVar(env, 'NATS_URL'), stream, subjectPrefix };
}

/** Reads the settings every service shares; fails fast (ConfigError) on a bad value or a missing production secret. */
export function readServiceBaseConfig(env: Env): ServiceBaseConfig {
  const production = isProduction(env);
  const routerSecret = optionalString(env, 'ROUTER_SECRET');
  if (production && !routerSecret) {
    throw new ConfigError('ROUTER_SECRET is required when NODE_ENV=production: subgraphs believe identity headers only with it');
  }
  return {
    production,
    routerSecret,
    logLevel: stringVar(env, 'LOG_LEVEL', production ? 'info' : 'warn'),
    redisUrl: readRedisTarget(env),
    cacheTimeoutMs: intVar(env, 'CACHE_TIMEOUT_MS', 100, { min: 1, max: 10_000 }),
    cacheKeyPrefix: stringVar(env, 'CACHE_KEY_PREFIX', DEFAULT_CACHE_KEY_PREFIX),
    shutdownDelayMs: intVar(env, 'SHUTDOWN_DELAY_MS', 0, { min: 0, max: 60_000 }),
    drainTimeoutMs: intVar(env, 'DRAIN_TIMEOUT_MS', 10_000, { min: 0, max: 120_000 }),
    tracing: readTracingConfig(env),
    listener: readListenerTimeouts(env),
    events: readEventsConfig(env),
  };
}
