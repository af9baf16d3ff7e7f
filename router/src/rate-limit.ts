import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createRedis, type Logger, type Viewer } from '@shop/service-kit';
import type { RouterConfig } from './config.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * Per-client rate limiting on `/graphql` (GET and POST), with @fastify/rate-limit counting.
 *
 * - Key: `user:<sub>` for a signed-in user, else `ip:<client IP>`. The user comes only from a
 *   verified JWT: if an unverified `sub` counted, a client could mint a new one per request and
 *   never meet the IP limit. A bad, expired or unverifiable token is keyed by the IP (the request
 *   then fails 401 as before). Users get their own bucket so that many customers behind one NAT or
 *   office proxy do not share one.
 * - Count: fixed windows of `RATE_LIMIT_WINDOW_MS`, `RATE_LIMIT_MAX` requests per key. In memory
 *   per router without REDIS_URL; in Redis with it, so replicas share each key's count.
 * - Refusal: 429 in GraphQL's shape (code RATE_LIMITED) with `Retry-After`, before the body is
 *   parsed or anything is planned; `x-ratelimit-*` headers on every limited request.
 * - Redis down or slow (past CACHE_TIMEOUT_MS): the request goes through uncounted (fail open: a
 *   limiter outage must not become an API outage), counted in
 *   `cache_errors_total{layer="router",type="rate_limit"}`.
 * - `/health`, `/ready` and `/metrics` are never limited: probes and scrapers come from a few
 *   addresses, and a limited probe would take a healthy router out of rotation.
 */

export type Authenticate = (authorization: string | undefined) => Promise<Viewer | null>;
/** The request's verified viewer (null: anonymous); rejects as `authenticate` does. */
export type ViewerOf = (request: FastifyRequest) => Promise<Viewer | null>;

/**
 * Verifies a request's `Authorization` at most once: the rate limit needs the viewer in
 * `onRequest` and the GraphQL context needs it again, and a JWT check (signature, maybe a JWKS
 * fetch) should not run twice. The outcome, viewer or auth error, is kept per request object.
 */
export function viewerPerRequest(authenticate: Authenticate): ViewerOf {
  const verified = new WeakMap<FastifyRequest, Promise<Viewer | null>>();
  return (request) => {
    let viewer = verified.get(request);
    if (!viewer) {
      viewer = authenticate(request.headers.authorization);
      // Whoever awaits it gets the error; this only keeps an unawaited failure from being unhandled.
      viewer.catch(() => {});
      verified.set(request, viewer);
    }
    return viewer;
  };
}

/** `user:<sub>` from a verified token, else `ip:<address>` (IPv6 by its /64, as the plugin does). */
export async function rateLimitKey(request: FastifyRequest, viewerOf: ViewerOf): Promise<string> {
  try {
    const viewer = await viewerOf(request);
    if (viewer) return `user:${viewer.userId}`;
  } catch {
    // Not a verified user: counted against the address it came from. The GraphQL context sees the
    // same error and answers 401 (or 503 when the key set is unreachable).
  }
  return `ip:${normalizeIP(request.ip)}`;
}

export interface RateLimitSettings {
  config: Pick<RouterConfig, 'rateLimit' | 'redisUrl' | 'cacheKeyPrefix' | 'cacheTimeoutMs'>;
  metrics: RouterMetrics;
  logger: Logger;
  viewerOf: ViewerOf;
}

export interface RateLimitHandle {
  /** Disconnects the limiter's Redis client, if it has one. */
  close(): Promise<void>;
}

/**
 * TRUST_PROXY as Fastify's `trustProxy`. A hop count becomes a trust function: Fastify 5 no longer
 * honours a number (it trusts nothing for one, since a client reaching the router directly could
 * then spoof X-Forwarded-For), so `n` here trusts the nearest `n` hops whatever their address. Use
 * it only when every route to the router passes through those proxies; a CIDR list is safer.
 */
export function fastifyTrustProxy(trust: RouterConfig['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust;
  return (_address, hop) => hop < trust;
}

const LIMITED_METHODS = new Set(['GET', 'POST']);
const LIMITED_URL = '/graphql';

/** Registers the limit on `app` (before its routes); RATE_LIMIT=false registers nothing. */
export async function registerRateLimit(app: FastifyInstance, { config, metrics, logger, viewerOf }: RateLimitSettings): Promise<RateLimitHandle> {
  const { enabled, max, windowMs } = config.rateLimit;
  if (!enabled) return { close: async () => {} };

  // A client of its own: its command timeout is the cache timeout, so a slow Redis costs a request
  // at most CACHE_TIMEOUT_MS before it fails open (createRedis also fails at once while
  // disconnected instead of queueing).
  const redis = config.redisUrl ? createRedis(config.redisUrl, { logger, commandTimeoutMs: config.cacheTimeoutMs }) : undefined;

  await app.register(fastifyRateLimit, {
    // No hook on every route: the hook below limits /graphql only.
    global: false,
    max,
    timeWindow: windowMs,
    keyGenerator: (request) => rateLimitKey(request, viewerOf),
    // Keys under the deployment's prefix, so deployments and test runs sharing a Redis stay apart.
    ...(redis ? { redis, nameSpace: `${config.cacheKeyPrefix}ratelimit:` } : {}),
    // Failing open is done below rather than by the plugin (skipOnError would swallow the error
    // where it cannot be counted).
    skipOnError: false,
  });
  const limit = app.createRateLimit();

  // onRequest: refused requests cost no body parsing, no planning and no subgraph fetch.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== LIMITED_URL || !LIMITED_METHODS.has(request.method)) return;
    // Settle the token first (it is cached for the GraphQL context), so only Redis time counts below.
    await rateLimitKey(request, viewerOf);
    let result: Awaited<ReturnType<typeof limit>>;
    try {
      result = await limit(request);
    } catch (error) {
      metrics.cacheErrors.inc({ layer: 'router', type: 'rate_limit' });
      request.log.debug({ err: error }, 'rate limit store failed; request let through');
      return;
    }
    if (result.isAllowed) return;
    const retryAfter = Math.max(1, result.ttlInSeconds);
    void reply.header('x-ratelimit-limit', result.max);
    void reply.header('x-ratelimit-remaining', result.remaining);
    void reply.header('x-ratelimit-reset', retryAfter);
    if (!result.isExceeded) return;
    metrics.rateLimitRejections.inc({ kind: result.key.startsWith('user:') ? 'user' : 'ip' });
    return reply
      .code(429)
      .header('retry-after', retryAfter)
      .header('cache-control', 'no-store')
      .send({ errors: [{ message: `Too many requests; retry in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } }] });
  });

  return {
    async close() {
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
