import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createRedis, type Logger, type Viewer } from '@shop/platform';
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
 *   per router without REDIS_URL; in Redis with it, so replicas share each key's count. On a Redis
 *   Cluster too, unchanged: each count is one key and the plugin's script touches that key alone.
 * - Ceiling: `RATE_LIMIT_IP_MAX` requests per window from one address whoever is signed in, so
 *   accounts anyone can create do not each bring another RATE_LIMIT_MAX.
 * - Sign-in and sign-up attempts: buckets per address of their own (see registerRateLimit and
 *   credential-limits.ts).
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
/** `/graphql`, and the SSE subscription endpoint beside it: each subscribe there is one request. */
const LIMITED_URLS = new Set(['/graphql', '/graphql/stream']);

/** Keys each in-memory table keeps (least recently used first out); @fastify/rate-limit's default. */
const MEMORY_STORE_KEYS = 5_000;

/** The buckets a sign-in or sign-up attempt is counted in (credential-limits.ts finds the attempts). */
export type CredentialKind = 'sign_in' | 'sign_up';

/** Whether one more attempt of `kind` from `ip` may go through; refused: how long to wait. */
export type CredentialLimit = (
  kind: CredentialKind,
  ip: string,
) => Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;

/** Whether one more request by this viewer from `ip` may go through (a WebSocket subscribe, which no HTTP hook sees). */
export type RequestLimit = (
  viewer: Viewer | null,
  ip: string,
) => Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;

/** A synthetic request's rate-limit key, for counts made outside an HTTP request. */
const GIVEN_KEY = Symbol('rate-limit key');

export interface RateLimitHandle {
  /** Counts sign-in and sign-up attempts per client IP; undefined with RATE_LIMIT=false. */
  credentialLimit: CredentialLimit | undefined;
  /** Counts a request outside HTTP in the same buckets as `/graphql` (per client, then the address ceiling); undefined with RATE_LIMIT=false. */
  requestLimit: RequestLimit | undefined;
  /** Disconnects the limiter's Redis client, if it has one. */
  close(): Promise<void>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type LimitResult = Awaited<ReturnType<Limiter>>;

/**
 * Registers the limits on `app` (before its routes); RATE_LIMIT=false registers nothing. Every
 * bucket is the same plugin's (`createRateLimit`), so each is in Redis when REDIS_URL is set and
 * fails open alike:
 * - per client (`user:<sub>` or `ip:<address>`): RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS;
 * - per address for everything from it, signed in or not (`ip-all:`): RATE_LIMIT_IP_MAX per
 *   RATE_LIMIT_WINDOW_MS. Users get buckets of their own so that customers behind one NAT do not
 *   share one, but anyone can sign up for more users: without this ceiling each self-registered
 *   account was another RATE_LIMIT_MAX for the same address. Only requests the per-client bucket
 *   let through count here, so one user over their own limit does not use up their neighbours';
 * - sign-in attempts per address (`sign-in:`, SIGN_IN_RATE_LIMIT_MAX per
 *   SIGN_IN_RATE_LIMIT_WINDOW_MS) and sign-ups per address (`sign-up:`, SIGN_UP_RATE_LIMIT_MAX per
 *   SIGN_UP_RATE_LIMIT_WINDOW_MS), taken by credential-limits.ts once it has found the fields in
 *   the parsed operation.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  { config, metrics, logger, viewerOf }: RateLimitSettings,
): Promise<RateLimitHandle> {
  const { enabled, max, windowMs, ipMax, signIn, signUp } = config.rateLimit;
  if (!enabled) return { credentialLimit: undefined, requestLimit: undefined, close: async () => {} };

  // A client of its own: its command timeout is the cache timeout, so a slow Redis costs a request
  // at most CACHE_TIMEOUT_MS before it fails open (createRedis also fails at once while
  // disconnected instead of queueing).
  const redis = config.redisUrl ? createRedis(config.redisUrl, { logger, commandTimeoutMs: config.cacheTimeoutMs }) : undefined;

  await app.register(fastifyRateLimit, {
    // No hook on every route: the hook below limits /graphql only.
    global: false,
    max,
    timeWindow: windowMs,
    keyGenerator: (request) => (request as { [GIVEN_KEY]?: string })[GIVEN_KEY] ?? rateLimitKey(request, viewerOf),
    // Keys under the deployment's prefix, so deployments and test runs sharing a Redis stay apart.
    ...(redis ? { redis, nameSpace: `${config.cacheKeyPrefix}ratelimit:` } : { cache: MEMORY_STORE_KEYS }),
    // Failing open is done below rather than by the plugin (skipOnError would swallow the error
    // where it cannot be counted).
    skipOnError: false,
  });
  const perClient = app.createRateLimit();
  // The other buckets: tables of their own in memory; in Redis, keys told apart by their prefix.
  const bucket = (bucketMax: number, bucketWindowMs: number, prefix: string): Limiter =>
    app.createRateLimit({
      max: bucketMax,
      timeWindow: bucketWindowMs,
      keyGenerator: (request) => `${prefix}:${normalizeIP(request.ip)}`,
      cache: MEMORY_STORE_KEYS,
    } as Parameters<FastifyInstance['createRateLimit']>[0]);
  const perAddress = bucket(ipMax, windowMs, 'ip-all');
  const credentials: Record<CredentialKind, Limiter> = {
    sign_in: bucket(signIn.max, signIn.windowMs, 'sign-in'),
    sign_up: bucket(signUp.max, signUp.windowMs, 'sign-up'),
  };

  /** One count in `limiter`; undefined when its store failed (the request goes through). */
  const take = async (limiter: Limiter, request: FastifyRequest): Promise<LimitResult | undefined> => {
    try {
      return await limiter(request);
    } catch (error) {
      metrics.cacheErrors.inc({ layer: 'router', type: 'rate_limit' });
      request.log?.debug({ err: error }, 'rate limit store failed; request let through');
      return undefined;
    }
  };

  // onRequest: refused requests cost no body parsing, no planning and no subgraph fetch.
  app.addHook('onRequest', async (request, reply) => {
    if (!LIMITED_URLS.has(request.routeOptions.url ?? '') || !LIMITED_METHODS.has(request.method)) return;
    // Settle the token first (it is cached for the GraphQL context), so only Redis time counts below.
    await rateLimitKey(request, viewerOf);
    const result = await take(perClient, request);
    if (!result || result.isAllowed) return;
    const retryAfter = Math.max(1, result.ttlInSeconds);
    void reply.header('x-ratelimit-limit', result.max);
    void reply.header('x-ratelimit-remaining', result.remaining);
    void reply.header('x-ratelimit-reset', retryAfter);
    if (result.isExceeded) {
      metrics.rateLimitRejections.inc({ kind: result.key.startsWith('user:') ? 'user' : 'ip' });
      return refuse(reply, retryAfter);
    }
    const ceiling = await take(perAddress, request);
    if (!ceiling || ceiling.isAllowed || !ceiling.isExceeded) return;
    metrics.rateLimitRejections.inc({ kind: 'ip_ceiling' });
    return refuse(reply, Math.max(1, ceiling.ttlInSeconds));
  });

  const credentialLimit: CredentialLimit = async (kind, ip) => {
    // The plugin needs only the address (keyGenerator) and route options (it reads a group id).
    const attempt = { ip, routeOptions: {}, log: undefined } as unknown as FastifyRequest;
    const result = await take(credentials[kind], attempt);
    if (!result || result.isAllowed || !result.isExceeded) return { allowed: true };
    metrics.rateLimitRejections.inc({ kind });
    return { allowed: false, retryAfterSeconds: Math.max(1, result.ttlInSeconds) };
  };

  const requestLimit: RequestLimit = async (viewer, ip) => {
    const key = viewer ? `user:${viewer.userId}` : `ip:${normalizeIP(ip)}`;
    const attempt = { ip, routeOptions: {}, log: undefined, [GIVEN_KEY]: key } as unknown as FastifyRequest;
    const result = await take(perClient, attempt);
    // As the HTTP hook: `isAllowed` is the plugin's allow list (never counted), a failed store lets it through.
    if (!result || result.isAllowed) return { allowed: true };
    if (result.isExceeded) {
      metrics.rateLimitRejections.inc({ kind: viewer ? 'user' : 'ip' });
      return { allowed: false, retryAfterSeconds: Math.max(1, result.ttlInSeconds) };
    }
    const ceiling = await take(perAddress, attempt);
    if (ceiling && !ceiling.isAllowed && ceiling.isExceeded) {
      metrics.rateLimitRejections.inc({ kind: 'ip_ceiling' });
      return { allowed: false, retryAfterSeconds: Math.max(1, ceiling.ttlInSeconds) };
    }
    return { allowed: true };
  };

  return {
    credentialLimit,
    requestLimit,
    async close() {
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** What every limit answers past its count: 429 in GraphQL's shape, with Retry-After. */
export const rateLimitedBody = (retryAfter: number) => ({
  errors: [{ message: `Too many requests; retry in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } }],
});

function refuse(reply: FastifyReply, retryAfter: number): FastifyReply {
  return reply.code(429).header('retry-after', retryAfter).header('cache-control', 'no-store').send(rateLimitedBody(retryAfter));
}
