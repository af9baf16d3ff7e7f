import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SUBGRAPH_ERROR_POLICIES, type SubgraphErrorPolicy } from './errors.ts';
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from './limits.ts';
import { SAFELIST_MODES, type SafelistMode, type SafelistModes } from './persisted/modes.ts';
import { DEFAULT_MAX_INPUT_DEPTH } from './request-shape.ts';
import { subgraphsOf } from './supergraph.ts';
import {
  boolVar,
  ConfigError,
  intVar,
  optionalString,
  readServiceBaseConfig,
  stringVar,
  urlVar,
  type Env,
  type ServiceBaseConfig,
} from '@shop/platform';

/** `<NAME>` of a subgraph's variables: its name upper-cased, anything not a letter or digit `_` (`my-shop` → `MY_SHOP`). */
export const subgraphEnvName = (subgraph: string): string => subgraph.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** Variables ending in `_URL` / `_TIMEOUT_MS` that are not subgraph overrides (the router's own, and the subgraphs' databases). */
const NOT_SUBGRAPH_URLS = /^(REDIS|JWKS|NATS|.*_DATABASE)_URL$/;
const NOT_SUBGRAPH_TIMEOUTS = /^(SUBGRAPH|CACHE|DRAIN|HEADERS|REQUEST|KEEP_ALIVE|SUBSCRIPTION_INIT|SUBSCRIPTION_IDLE)_TIMEOUT_MS$/;

export interface RouterConfig extends ServiceBaseConfig {
  port: number;
  host: string;
  /**
   * Where a subgraph is fetched: `<NAME>_URL` (see subgraphEnvName) when set, else the
   * `join__graph(url:)` the loaded supergraph gives it. Works for any subgraph the supergraph names.
   */
  subgraphUrl(subgraph: string, supergraphUrl: string): string;
  /**
   * The snapshot of `<NAME>_URL` and `<NAME>_TIMEOUT_MS` variables taken at start-up, by variable
   * name (not the router's own REDIS_URL, JWKS_URL, SUBGRAPH_TIMEOUT_MS, …). Each is checked when a
   * supergraph names its subgraph, so a variable that only looks like one (BASE_URL) is harmless.
   */
  subgraphOverrides: Readonly<Record<string, string>>;
  /** Where the users subgraph publishes the keys that sign JWTs. */
  jwksUrl: string;
  supergraphPath: string;
  /** Upper bound for one subgraph fetch; a hung subgraph costs at most this. */
  subgraphTimeoutMs: number;
  /** Per-subgraph fetch timeout: `<NAME>_TIMEOUT_MS` (e.g. PRICING_TIMEOUT_MS), else SUBGRAPH_TIMEOUT_MS; any subgraph name. */
  subgraphTimeout(subgraph: string): number;
  /** Most bytes of one subgraph response body the router reads (SUBGRAPH_MAX_RESPONSE_BYTES); larger fails that fetch (fetcher.ts). */
  subgraphMaxResponseBytes: number;
  /** The circuit breaker in front of each subgraph (see breaker.ts). */
  breaker: BreakerConfig;
  /** How much of a subgraph's error message reaches clients (see errors.ts): `all` in development, `public` in production. */
  subgraphErrorMessages: SubgraphErrorPolicy;
  /**
   * @apollo/gateway reports anonymous usage to Apollo and probes cloud metadata endpoints unless
   * told not to. A self-hosted router keeps that off unless its operator opts in.
   */
  apolloTelemetry: boolean;
  /**
   * CACHE_STATUS_HEADER (default: on outside production, off in production): every `/graphql`
   * response carries an RFC 9211 `Cache-Status` naming each router cache layer it met and how
   * (see stages/cache-status.ts). Off, no response says anything about the caches.
   */
  cacheStatusHeader: boolean;
  /** The router's entity cache (ROUTER_CACHE=false: every fetch goes to its subgraph). */
  routerCache: boolean;
  /**
   * Without the entity cache: identical query fetches to a subgraph in flight at the same moment
   * share one request (SUBGRAPH_DEDUP=false sends each). The entity cache always does this.
   */
  subgraphDedup: boolean;
  /** Identical client requests in flight at once run the pipeline once (request-dedup.ts; REQUEST_DEDUP=false runs each). */
  requestDedup: boolean;
  /** Bound on the in-memory entity cache (least recently used entries go first). */
  cacheMaxEntries: number;
  /** Byte bound on the in-memory entity cache (ROUTER_CACHE_MAX_BYTES; strings counted at 2 bytes a character). */
  cacheMaxBytes: number;
  /** Largest entry any router cache stores, in memory or Redis (CACHE_MAX_ENTRY_BYTES); larger ones are skipped and counted. */
  cacheMaxEntryBytes: number;
  /** The whole-response cache in front of the pipeline (cache/response-cache.ts); only with routerCache. */
  responseCache: boolean;
  /** Bound on the whole-response cache (memory of each router process). */
  responseCacheMaxEntries: number;
  /** Byte bound on the whole-response cache (RESPONSE_CACHE_MAX_BYTES). */
  responseCacheMaxBytes: number;
  /** Folder holding `<app>/__generated__/persisted-query-manifest.json` for each client app. */
  persistedQueriesDir: string;
  /** Trusted-documents mode per client name (`apollographql-client-name`), `*` for the rest. */
  safelistModes: SafelistModes;
  /** Bound on the in-memory APQ store (used without REDIS_URL). */
  apqMaxEntries: number;
  /** Byte bound on the in-memory APQ store (APQ_MAX_BYTES). */
  apqMaxBytes: number;
  /**
   * Largest query text accepted, in UTF-8 bytes of the raw string, comments and whitespace
   * included (MAX_DOCUMENT_BYTES): POST, GET and APQ registrations; larger is 413 DOCUMENT_TOO_LARGE.
   */
  maxDocumentBytes: number;
  /** Largest `variables`, as JSON text in UTF-8 bytes (MAX_VARIABLES_BYTES); larger is 413 VARIABLES_TOO_LARGE. */
  maxVariablesBytes: number;
  /** How long an APQ registration lives; clients re-register on PERSISTED_QUERY_NOT_FOUND. */
  apqTtlSeconds: number;
  /** Depth, alias, token, directive and cost limits per operation (see limits.ts for codes and defaults). */
  operationLimits: OperationLimits;
  /** How deeply `variables` and `extensions` may nest (MAX_INPUT_DEPTH); deeper is 400 BAD_REQUEST (request-shape.ts). */
  maxInputDepth: number;
  /** Per-client request limits on `/graphql` (see rate-limit.ts). */
  rateLimit: RateLimitConfig;
  /**
   * Fastify's `trustProxy` (TRUST_PROXY): which proxies may set X-Forwarded-For, so that behind a
   * load balancer `request.ip` (the rate limit's key for anonymous clients) is the client's, not the
   * balancer's. `false` (default) trusts none; `true` trusts all (only when every hop is yours); a
   * number trusts that many hops; a list trusts those addresses/CIDRs.
   */
  trustProxy: boolean | number | string[];
  /** GraphQL subscriptions over graphql-ws and SSE (subscriptions/; defaults in SUBSCRIPTION_DEFAULTS). */
  subscriptions: SubscriptionConfig;
}

/** Every bound a subscriber is held to (README "Subscriptions" lists the variables). */
export interface SubscriptionConfig {
  /** SUBSCRIPTIONS (default true); off, `/graphql` upgrades and `/graphql/stream` are refused. */
  enabled: boolean;
  /** SUBSCRIPTION_MAX_PER_CONNECTION: operations one WebSocket or SSE connection may run at once. */
  maxPerConnection: number;
  /** SUBSCRIPTION_MAX_PER_USER: operations one signed-in user may run at once, over every connection of this router. */
  maxPerUser: number;
  /** SUBSCRIPTION_MAX_CONNECTIONS_PER_IP: open WebSocket and SSE connections from one client address. */
  maxConnectionsPerIp: number;
  /** SUBSCRIPTION_MAX_CONNECTIONS: open subscription connections in all (the router's memory bound). */
  maxConnections: number;
  /** SUBSCRIPTION_INIT_TIMEOUT_MS: a WebSocket that sends no `connection_init` by then is closed (4408). */
  initTimeoutMs: number;
  /** SUBSCRIPTION_KEEPALIVE_MS: WebSocket ping / SSE comment interval; a WebSocket that misses a pong is cut. */
  keepAliveMs: number;
  /** SUBSCRIPTION_IDLE_TIMEOUT_MS: a connection running no operation for this long is closed. */
  idleTimeoutMs: number;
  /** SUBSCRIPTION_MAX_MESSAGE_BYTES: largest WebSocket message or SSE request body a client may send. */
  maxMessageBytes: number;
  /** SUBSCRIPTION_MAX_BUFFERED_BYTES: unsent bytes a slow client may hold before it is cut off. */
  maxBufferedBytes: number;
  /** SUBSCRIPTION_MAX_PRODUCT_IDS: ids one `productUpdated` may watch. */
  maxProductIds: number;
  /** SUBSCRIPTION_RESUME_WINDOW_MS: how far back an SSE `Last-Event-ID` can resume from. */
  resumeWindowMs: number;
  /** SUBSCRIPTION_RESUME_MAX_EVENTS: events kept for resuming (the window's memory bound). */
  resumeMaxEvents: number;
}

/**
 * Sized for the start script's 384 MB heap: bench:subscriptions measures about 23 KiB of router
 * RSS per subscriber, so 5,000 connections hold ~120 MB beside the caches' 104 MiB of bounds.
 */
export const SUBSCRIPTION_DEFAULTS: Omit<SubscriptionConfig, 'enabled'> = {
  maxPerConnection: 20,
  maxPerUser: 50,
  maxConnectionsPerIp: 50,
  maxConnections: 5_000,
  initTimeoutMs: 3_000,
  keepAliveMs: 15_000,
  idleTimeoutMs: 60_000,
  maxMessageBytes: 64 * 1024,
  maxBufferedBytes: 1024 ** 2,
  maxProductIds: 20,
  resumeWindowMs: 300_000,
  resumeMaxEvents: 10_000,
};

function subscriptionConfig(env: Env): SubscriptionConfig {
  const d = SUBSCRIPTION_DEFAULTS;
  return {
    enabled: boolVar(env, 'SUBSCRIPTIONS', true),
    maxPerConnection: intVar(env, 'SUBSCRIPTION_MAX_PER_CONNECTION', d.maxPerConnection, { min: 1, max: 10_000 }),
    maxPerUser: intVar(env, 'SUBSCRIPTION_MAX_PER_USER', d.maxPerUser, { min: 1, max: 1_000_000 }),
    maxConnectionsPerIp: intVar(env, 'SUBSCRIPTION_MAX_CONNECTIONS_PER_IP', d.maxConnectionsPerIp, { min: 1, max: 1_000_000 }),
    maxConnections: intVar(env, 'SUBSCRIPTION_MAX_CONNECTIONS', d.maxConnections, { min: 1, max: 10_000_000 }),
    initTimeoutMs: intVar(env, 'SUBSCRIPTION_INIT_TIMEOUT_MS', d.initTimeoutMs, { min: 10, max: 600_000 }),
    keepAliveMs: intVar(env, 'SUBSCRIPTION_KEEPALIVE_MS', d.keepAliveMs, { min: 10, max: 3_600_000 }),
    idleTimeoutMs: intVar(env, 'SUBSCRIPTION_IDLE_TIMEOUT_MS', d.idleTimeoutMs, { min: 10, max: 86_400_000 }),
    maxMessageBytes: intVar(env, 'SUBSCRIPTION_MAX_MESSAGE_BYTES', d.maxMessageBytes, { min: 256, max: 16 * 1024 ** 2 }),
    maxBufferedBytes: intVar(env, 'SUBSCRIPTION_MAX_BUFFERED_BYTES', d.maxBufferedBytes, { min: 1_024, max: 1024 ** 3 }),
    maxProductIds: intVar(env, 'SUBSCRIPTION_MAX_PRODUCT_IDS', d.maxProductIds, { min: 1, max: 1_000 }),
    resumeWindowMs: intVar(env, 'SUBSCRIPTION_RESUME_WINDOW_MS', d.resumeWindowMs, { min: 0, max: 86_400_000 }),
    resumeMaxEvents: intVar(env, 'SUBSCRIPTION_RESUME_MAX_EVENTS', d.resumeMaxEvents, { min: 0, max: 10_000_000 }),
  };
}

export interface RateLimitConfig {
  /** RATE_LIMIT (default true); off, no request is counted or refused. */
  enabled: boolean;
  /** RATE_LIMIT_MAX: requests per window per key (a signed-in user, else a client IP). */
  max: number;
  /** RATE_LIMIT_WINDOW_MS: the fixed window the count is kept for. */
  windowMs: number;
  /**
   * RATE_LIMIT_IP_MAX: requests per window from one client IP, signed in or not (default 5 ×
   * RATE_LIMIT_MAX, so a few customers behind one NAT still fit): self-registered accounts do not
   * multiply an address's allowance.
   */
  ipMax: number;
  /** SIGN_IN_RATE_LIMIT_MAX per SIGN_IN_RATE_LIMIT_WINDOW_MS: `logIn` attempts per client IP. */
  signIn: { max: number; windowMs: number };
  /** SIGN_UP_RATE_LIMIT_MAX per SIGN_UP_RATE_LIMIT_WINDOW_MS: `signUp` attempts per client IP. */
  signUp: { max: number; windowMs: number };
}

/** Defaults of the per-address buckets beside RATE_LIMIT_MAX (see rate-limit.ts). */
export const DEFAULT_CREDENTIAL_LIMITS = {
  ipMaxPerClientMax: 5,
  signIn: { max: 30, windowMs: 60_000 },
  signUp: { max: 5, windowMs: 3_600_000 },
} as const;

export interface BreakerConfig {
  /** Consecutive failures (network error, timeout, 5xx) that open a subgraph's circuit. */
  failureThreshold: number;
  /** How long an open circuit fails fast before one probe may go through. */
  cooldownMs: number;
  /** A failure streak older than this starts over. */
  windowMs: number;
}

/**
 * Byte bounds of what clients can fill, sized for the start script's 384 MB heap: entity cache 64 MiB
 * + response cache 32 MiB + APQ 8 MiB + rate-limit tables (a few MiB) beside Apollo's own document
 * and query-plan caches (~60 MB), leaving most of the heap to the requests being answered.
 * The largest shipped operation is 614 bytes (web); 32 KiB leaves room for hand-written ones.
 */
export const DEFAULT_MEMORY_BOUNDS = {
  cacheMaxBytes: 64 * 1024 ** 2,
  responseCacheMaxBytes: 32 * 1024 ** 2,
  cacheMaxEntryBytes: 1024 ** 2,
  apqMaxBytes: 8 * 1024 ** 2,
  maxDocumentBytes: 32 * 1024,
  maxVariablesBytes: 64 * 1024,
} as const;

/** Every variable that may override a subgraph's URL or timeout, as it was at start-up. */
function subgraphOverrides(env: Env): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const url = /^[A-Z0-9_]+_URL$/.test(name) && !NOT_SUBGRAPH_URLS.test(name);
    const timeout = /^[A-Z0-9_]+_TIMEOUT_MS$/.test(name) && !NOT_SUBGRAPH_TIMEOUTS.test(name);
    if (url || timeout) overrides[name] = value;
  }
  return overrides;
}

/** The subgraphs of the supergraph file the router will start with; none if it cannot be read (the gateway then says why). */
function startingSubgraphs(path: string): { name: string; url: string }[] {
  try {
    return subgraphsOf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** Where the users subgraph listens locally, for the default JWKS_URL. */
const DEFAULT_USERS_URL = 'http://localhost:4004/graphql';

export const DEFAULT_BREAKER: BreakerConfig = { failureThreshold: 5, cooldownMs: 5_000, windowMs: 60_000 };

/** The only place the router reads the environment. */
export function readConfig(env: Env): RouterConfig {
  const base = readServiceBaseConfig(env);
  const { production } = base;
  const subgraphTimeoutMs = intVar(env, 'SUBGRAPH_TIMEOUT_MS', 10_000, { min: 1, max: 300_000 });
  const overrides = subgraphOverrides(env);
  const subgraphUrl = (subgraph: string, supergraphUrl: string) => urlVar(overrides, `${subgraphEnvName(subgraph)}_URL`, supergraphUrl);
  const subgraphTimeout = (subgraph: string) =>
    intVar(overrides, `${subgraphEnvName(subgraph)}_TIMEOUT_MS`, subgraphTimeoutMs, { min: 1, max: 300_000 });
  const supergraphPath = stringVar(env, 'SUPERGRAPH_PATH', fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url)));
  // Fail fast on a bad override for a subgraph of the supergraph the router starts with; one a later
  // supergraph brings fails its load (the gateway keeps the schema it had).
  for (const { name, url } of startingSubgraphs(supergraphPath)) {
    subgraphUrl(name, url);
    subgraphTimeout(name);
  }
  return {
    ...base,
    port: intVar(env, 'PORT', 4000, { min: 0, max: 65535 }),
    host: stringVar(env, 'HOST', production ? '0.0.0.0' : '127.0.0.1'),
    subgraphUrl,
    subgraphOverrides: overrides,
    // The users subgraph signs the JWTs: its override's origin, else its local port (the JWKS is
    // needed before any supergraph is loaded).
    jwksUrl: urlVar(env, 'JWKS_URL', new URL('/.well-known/jwks.json', subgraphUrl('users', DEFAULT_USERS_URL)).toString()),
    supergraphPath,
    subgraphTimeoutMs,
    subgraphTimeout,
    subgraphMaxResponseBytes: intVar(env, 'SUBGRAPH_MAX_RESPONSE_BYTES', 16 * 1024 ** 2, { min: 1_024, max: 1024 ** 3 }),
    breaker: {
      failureThreshold: intVar(env, 'BREAKER_FAILURE_THRESHOLD', DEFAULT_BREAKER.failureThreshold, { min: 1, max: 1_000 }),
      cooldownMs: intVar(env, 'BREAKER_COOLDOWN_MS', DEFAULT_BREAKER.cooldownMs, { min: 1, max: 3_600_000 }),
      windowMs: intVar(env, 'BREAKER_WINDOW_MS', DEFAULT_BREAKER.windowMs, { min: 1, max: 3_600_000 }),
    },
    subgraphErrorMessages: subgraphErrorPolicy(env, production),
    apolloTelemetry: boolVar(env, 'APOLLO_TELEMETRY', false),
    cacheStatusHeader: boolVar(env, 'CACHE_STATUS_HEADER', !production),
    routerCache: boolVar(env, 'ROUTER_CACHE', true),
    subgraphDedup: boolVar(env, 'SUBGRAPH_DEDUP', true),
    requestDedup: boolVar(env, 'REQUEST_DEDUP', true),
    // lru-cache allocates its entry slots up front (~40 bytes each): entry bounds stay at a million.
    cacheMaxEntries: intVar(env, 'ROUTER_CACHE_MAX_ENTRIES', 50_000, { min: 1, max: 1_000_000 }),
    cacheMaxBytes: intVar(env, 'ROUTER_CACHE_MAX_BYTES', DEFAULT_MEMORY_BOUNDS.cacheMaxBytes, { min: 1_024, max: 16 * 1024 ** 3 }),
    cacheMaxEntryBytes: intVar(env, 'CACHE_MAX_ENTRY_BYTES', DEFAULT_MEMORY_BOUNDS.cacheMaxEntryBytes, {
      min: 1_024,
      max: 512 * 1024 ** 2,
    }),
    responseCache: boolVar(env, 'RESPONSE_CACHE', true),
    responseCacheMaxEntries: intVar(env, 'RESPONSE_CACHE_MAX_ENTRIES', 10_000, { min: 1, max: 1_000_000 }),
    responseCacheMaxBytes: intVar(env, 'RESPONSE_CACHE_MAX_BYTES', DEFAULT_MEMORY_BOUNDS.responseCacheMaxBytes, {
      min: 1_024,
      max: 16 * 1024 ** 3,
    }),
    persistedQueriesDir: stringVar(env, 'PERSISTED_QUERIES_DIR', fileURLToPath(new URL('../../clients', import.meta.url))),
    safelistModes: safelistModes(env, production),
    apqMaxEntries: intVar(env, 'APQ_MAX_ENTRIES', 10_000, { min: 1, max: 1_000_000 }),
    apqMaxBytes: intVar(env, 'APQ_MAX_BYTES', DEFAULT_MEMORY_BOUNDS.apqMaxBytes, { min: 1_024, max: 16 * 1024 ** 3 }),
    maxDocumentBytes: intVar(env, 'MAX_DOCUMENT_BYTES', DEFAULT_MEMORY_BOUNDS.maxDocumentBytes, { min: 256, max: 1024 ** 2 }),
    maxVariablesBytes: intVar(env, 'MAX_VARIABLES_BYTES', DEFAULT_MEMORY_BOUNDS.maxVariablesBytes, { min: 256, max: 1024 ** 2 }),
    apqTtlSeconds: intVar(env, 'APQ_TTL_SECONDS', 86_400, { min: 1, max: 365 * 86_400 }),
    operationLimits: {
      maxDepth: intVar(env, 'MAX_DEPTH', DEFAULT_OPERATION_LIMITS.maxDepth, { min: 1, max: 1_000 }),
      maxAliases: intVar(env, 'MAX_ALIASES', DEFAULT_OPERATION_LIMITS.maxAliases, { min: 0, max: 100_000 }),
      maxTokens: intVar(env, 'MAX_TOKENS', DEFAULT_OPERATION_LIMITS.maxTokens, { min: 1, max: 1_000_000 }),
      maxDirectives: intVar(env, 'MAX_DIRECTIVES', DEFAULT_OPERATION_LIMITS.maxDirectives, { min: 0, max: 100_000 }),
      maxCost: intVar(env, 'MAX_COST', DEFAULT_OPERATION_LIMITS.maxCost, { min: 1, max: 100_000_000 }),
      maxResponseFields: intVar(env, 'MAX_RESPONSE_FIELDS', DEFAULT_OPERATION_LIMITS.maxResponseFields, { min: 1, max: 100_000_000 }),
      costListSize: intVar(env, 'COST_LIST_SIZE', DEFAULT_OPERATION_LIMITS.costListSize, { min: 0, max: 10_000 }),
    },
    maxInputDepth: intVar(env, 'MAX_INPUT_DEPTH', DEFAULT_MAX_INPUT_DEPTH, { min: 1, max: 1_000 }),
    rateLimit: rateLimitConfig(env),
    trustProxy: trustProxy(env),
    subscriptions: subscriptionConfig(env),
  };
}

function rateLimitConfig(env: Env): RateLimitConfig {
  const max = intVar(env, 'RATE_LIMIT_MAX', 600, { min: 1, max: 10_000_000 });
  const ipMax = intVar(env, 'RATE_LIMIT_IP_MAX', max * DEFAULT_CREDENTIAL_LIMITS.ipMaxPerClientMax, { min: 1, max: 100_000_000 });
  // Below RATE_LIMIT_MAX the ceiling would quietly become every anonymous client's limit too.
  if (ipMax < max) throw new ConfigError(`RATE_LIMIT_IP_MAX (${ipMax}) must be at least RATE_LIMIT_MAX (${max})`);
  const { signIn, signUp } = DEFAULT_CREDENTIAL_LIMITS;
  return {
    enabled: boolVar(env, 'RATE_LIMIT', true),
    max,
    windowMs: intVar(env, 'RATE_LIMIT_WINDOW_MS', 10_000, { min: 100, max: 86_400_000 }),
    ipMax,
    signIn: {
      max: intVar(env, 'SIGN_IN_RATE_LIMIT_MAX', signIn.max, { min: 1, max: 1_000_000 }),
      windowMs: intVar(env, 'SIGN_IN_RATE_LIMIT_WINDOW_MS', signIn.windowMs, { min: 100, max: 86_400_000 }),
    },
    signUp: {
      max: intVar(env, 'SIGN_UP_RATE_LIMIT_MAX', signUp.max, { min: 1, max: 1_000_000 }),
      windowMs: intVar(env, 'SIGN_UP_RATE_LIMIT_WINDOW_MS', signUp.windowMs, { min: 100, max: 86_400_000 }),
    },
  };
}

/**
 * TRUST_PROXY: `true`/`false`, a hop count (`1`: the address the nearest proxy saw), or a comma
 * list of proxy IPs/CIDRs (`10.0.0.0/8, 192.168.1.7`). Anything else fails at start-up: a typo
 * here would silently key every anonymous client by the balancer's address.
 */
function trustProxy(env: Env): boolean | number | string[] {
  const raw = optionalString(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^(false|no|off)$/i.test(raw)) return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 100) throw new ConfigError(`TRUST_PROXY hop count must be at most 100, got "${raw}"`);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, ...extra] = entry.split('/');
    const version = isIP(address ?? '');
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 6 ? 128 : 32));
    if (!version || !validBits || extra.length) {
      throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or a comma list of IPs/CIDRs, got "${raw}"`);
    }
  }
  return entries;
}

function subgraphErrorPolicy(env: Env, production: boolean): SubgraphErrorPolicy {
  const raw = stringVar(env, 'SUBGRAPH_ERROR_MESSAGES', production ? 'public' : 'all');
  if (!SUBGRAPH_ERROR_POLICIES.includes(raw as SubgraphErrorPolicy)) {
    throw new ConfigError(`SUBGRAPH_ERROR_MESSAGES must be one of ${SUBGRAPH_ERROR_POLICIES.join(', ')}, got "${raw}"`);
  }
  return raw as SubgraphErrorPolicy;
}

/**
 * SAFELIST_MODES, e.g. `ios=safelist,android=safelist,web=allow,*=log_unknown`, over the defaults:
 * the mobile apps (whose shipped operations can never change) safelisted, every other client
 * `allow` in development and `log_unknown` in production. Clients not named keep their default.
 */
function safelistModes(env: Env, production: boolean): SafelistModes {
  const modes: Record<string, SafelistMode> = { ios: 'safelist', android: 'safelist', '*': production ? 'log_unknown' : 'allow' };
  const raw = optionalString(env, 'SAFELIST_MODES');
  for (const entry of raw?.split(',') ?? []) {
    const [client, mode, ...extra] = entry.split('=').map((part) => part.trim());
    if (!client || !/^(\*|[\w.-]{1,40})$/.test(client) || !SAFELIST_MODES.includes(mode as SafelistMode) || extra.length) {
      throw new ConfigError(`SAFELIST_MODES must be a list of client=mode with mode one of ${SAFELIST_MODES.join(', ')}, got "${raw}"`);
    }
    modes[client] = mode as SafelistMode;
  }
  return modes as SafelistModes;
}
