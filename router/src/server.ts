import { randomUUID } from 'node:crypto';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import {
  createLogger,
  listenerTimeouts,
  setupTracing,
  type Viewer,
  traceRequests,
  validTraceparent,
  type Logger,
  type SpanExporter,
  type Tracing,
} from '@shop/platform';
import { createAuthenticator } from './auth.ts';
import { credentialLimitPlugin } from './credential-limits.ts';
import { createRouterCache } from './cache/create.ts';
import { redactedErrorLogging, redactSubgraphError, scrubInternals } from './errors.ts';
import { ResponseCachePolicy } from './cache/policy.ts';
import { requestKey, ResponseCache, type ResponseCacheState } from './cache/response-cache.ts';
import type { RouterCache } from './cache/router-cache.ts';
import type { RouterConfig, SubgraphName } from './config.ts';
import type { RouterContext } from './context.ts';
import { SubgraphDataSource } from './datasource.ts';
import { subgraphFetches } from './inflight.ts';
import { createRouterMetrics, type RouterMetrics } from './metrics.ts';
import { createApqStore } from './persisted/apq-store.ts';
import { conditionalGet } from './persisted/etag.ts';
import { operationLimits } from './limits.ts';
import { loadTrustedDocuments } from './persisted/manifests.ts';
import { persistedQueryPlugin } from './persisted/safelist.ts';
import { fastifyTrustProxy, registerRateLimit, viewerPerRequest } from './rate-limit.ts';
import { RequestDedup } from './request-dedup.ts';
import { registerRequestShapeCheck } from './request-shape.ts';
import { requestSizeGuard } from './request-size.ts';
import { createSubgraphClients } from './subgraph-clients.ts';
import { fileSupergraph } from './supergraph.ts';

export interface BuildRouterOptions {
  config: RouterConfig;
  logger?: Logger;
  /** Tests: trace to this exporter (turns tracing on whatever the configuration says). */
  spanExporter?: SpanExporter | undefined;
}

export interface Router {
  app: FastifyInstance;
  metrics: RouterMetrics;
  /** The entity cache, when ROUTER_CACHE is on. */
  cache: RouterCache | undefined;
  logger: Logger;
  /** OpenTelemetry tracing (`enabled: false` unless configured); close() flushes it. */
  tracing: Tracing;
  /** Marks the router not ready (`/ready` answers 503) while it keeps serving; close() does it too. */
  beginShutdown(): void;
  /** Stops accepting, lets in-flight requests finish, then closes the gateway and connections. */
  close(): Promise<void>;
}

/** Larger request bodies are refused with 413 and code PAYLOAD_TOO_LARGE before they are parsed. */
const BODY_LIMIT = 2 * 1024 * 1024;
const CLIENT_NAME_HEADER = 'apollographql-client-name';

export async function buildRouter({ config, logger, spanExporter }: BuildRouterOptions): Promise<Router> {
  const log = logger ?? createLogger('router', config.logLevel);
  const metrics = createRouterMetrics();
  // The router's provider is the process's global one, so @apollo/gateway's own spans are reported.
  const tracing = await setupTracing({ serviceName: 'router', config: config.tracing, exporter: spanExporter, global: true });
  const subgraphClients = createSubgraphClients(config, metrics);
  // One JWT check per request, shared by the rate limit's key and the GraphQL context.
  const viewerOf = viewerPerRequest(createAuthenticator(config.jwksUrl));
  const responseCache = config.routerCache && config.responseCache ? new ResponseCache({ maxEntries: config.responseCacheMaxEntries, maxBytes: config.responseCacheMaxBytes, maxEntryBytes: config.cacheMaxEntryBytes, metrics }) : undefined;
  const routerCache = config.routerCache
    ? createRouterCache({
        responseCache,
        redisUrl: config.redisUrl,
        cacheTimeoutMs: config.cacheTimeoutMs,
        cacheMaxEntries: config.cacheMaxEntries,
        cacheMaxBytes: config.cacheMaxBytes,
        cacheMaxEntryBytes: config.cacheMaxEntryBytes,
        cacheKeyPrefix: config.cacheKeyPrefix,
        logger: log,
        metrics,
      })
    : undefined;

  const apqStore = createApqStore({
    redisUrl: config.redisUrl,
    cacheKeyPrefix: config.cacheKeyPrefix,
    cacheTimeoutMs: config.cacheTimeoutMs,
    maxEntries: config.apqMaxEntries,
    maxBytes: config.apqMaxBytes,
    maxDocumentBytes: config.maxDocumentBytes,
    ttlSeconds: config.apqTtlSeconds,
    logger: log,
    metrics,
  });
  const documents = await loadTrustedDocuments(config.persistedQueriesDir, log, (manifests) => {
    metrics.persistedQueryManifestLoads.inc();
    // Known apps and their operations take label slots before first-come names (while there is room).
    metrics.labels.client.admit(manifests.keys());
    for (const operations of manifests.values()) metrics.labels.operation.admit([...operations.values()].map((operation) => operation.name));
    responseCache?.clear(); // an operation may no longer be allowed
  });

  const requestDedup = config.requestDedup ? new RequestDedup(metrics) : undefined;
  // Shared by every subgraph's data source (see datasource.ts); the entity cache has its own.
  const inFlight = config.subgraphDedup && !routerCache ? subgraphFetches() : undefined;

  // The gateway reads this switch from the environment only, in its constructor.
  if (!config.apolloTelemetry) process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: fileSupergraph(config.supergraphPath, log, () => metrics.supergraphLoads.inc()),
    // URLs come from configuration, not from the supergraph file, so one artifact serves every environment.
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        subgraph: name,
        url: config.subgraphUrls[name as SubgraphName] ?? url!,
        fetcher: subgraphClients.fetcherFor(name),
        breaker: subgraphClients.breakerFor(name),
        routerSecret: config.routerSecret,
        metrics,
        cache: routerCache?.cache,
        tracer: tracing.enabled ? tracing.tracer : undefined,
        inFlight,
      }),
    logger: log,
  });

  // A new supergraph may remove what stored responses show: start over once the gateway has it.
  if (responseCache) gateway.onSchemaLoadOrUpdate(() => responseCache.clear());

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // A client trickling its headers or body, or idling on keep-alive, is cut off (408 / close).
    ...listenerTimeouts(config.listener),
    // On close, idle keep-alive sockets are closed at once; busy ones finish their request (sent
    // with `Connection: close`), so keep-alive clients cannot hold a draining router open.
    forceCloseConnections: 'idle',
    // TRUST_PROXY: behind a load balancer, request.ip (the rate limit's key) is the real client's.
    trustProxy: fastifyTrustProxy(config.trustProxy),
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }) as unknown as FastifyInstance;
  traceRequests(app, tracing, { onEnd: (span, request) => span.setAttribute('graphql.client.name', clientName(request.headers[CLIENT_NAME_HEADER])) });

  const limits = operationLimits(config.operationLimits, { hideSuggestions: config.production, exposeCost: !config.production, metrics });
  const server = new ApolloServer<RouterContext>({
    gateway,
    // Shutdown is ours (index.ts / handleShutdownSignals): Apollo's own SIGINT/SIGTERM handler
    // (on unless NODE_ENV=test) would stop at once, skipping the not-ready delay, then re-raise the signal.
    stopOnTerminationSignals: false,
    // One operation per request: a JSON array body is refused with 400 (BAD_REQUEST), so a batch
    // cannot multiply the operation limits below.
    allowBatchedHttpRequests: false,
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    introspection: !config.production,
    includeStacktraceInErrorResponses: false,
    // A browser cannot send a non-simple header cross-site without a CORS preflight, so the client
    // name header proves a request is not a CSRF as well as Apollo's own two do. Mobile apps send it
    // on their persisted-query GETs, which carry no content type.
    csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', CLIENT_NAME_HEADER] },
    persistedQueries: { cache: apqStore.cache, ttl: config.apqTtlSeconds },
    // Apollo's own cache-control plugin would only see fetches the gateway made, not cache hits.
    plugins: [
      persistedQueryPlugin({ documents, modes: config.safelistModes, metrics, logger: log }),
      metricsPlugin(metrics),
      cacheControlPlugin(),
      ...(responseCache ? [responseCache.plugin()] : []),
      ...(requestDedup ? [requestDedup.plugin()] : []),
      ApolloServerPluginCacheControlDisabled(),
      ...limits.plugins,
      // Sign-in and sign-up work per operation and per address (credential-limits.ts).
      credentialLimitPlugin(() => rateLimit.credentialLimit),
      redactedErrorLogging(log, config.subgraphErrorMessages),
      // No IDE in production, whatever NODE_ENV Apollo itself sees.
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
    formatError: (formatted, error) => redactSubgraphError(scrubInternals(limits.formatError(formatted, error)), config.subgraphErrorMessages),
  });
  await server.start();

  // Requests Fastify cannot parse never reach Apollo: answer them in GraphQL's shape, not with a 500.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const tooLarge = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    const status = tooLarge ? 413 : error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'request failed');
    const message =
      status === 500 ? 'Internal server error'
      : tooLarge ? `Request body is larger than ${BODY_LIMIT / 1024 / 1024} MB`
      : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'Unsupported content type; send application/json'
      : 'Request body is not valid JSON';
    const code = status === 500 ? 'INTERNAL_SERVER_ERROR' : tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    void reply.status(status).send({ errors: [{ message, extensions: { code } }] });
  });

  const responseStates = new WeakMap<FastifyRequest, ResponseCacheState>();
  /** A request answered before Apollo still counts in the request metrics. */
  const answeredEarly = (request: FastifyRequest, reply: FastifyReply, client: string, resolvedName?: string | null) => {
    const operation = resolvedName ?? (request.body as { operationName?: unknown } | null | undefined)?.operationName;
    const labels = metrics.labels.pair(operation, client);
    metrics.requests.inc({ ...labels, status: 'ok' });
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
    return reply;
  };
  const rateLimit = await registerRateLimit(app, { config, metrics, logger: log, viewerOf });
  // Before the route's own hooks: nothing keys, shares or parses deeply nested client JSON.
  registerRequestShapeCheck(app, { maxDepth: config.maxInputDepth });
  app.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/graphql',
    // Sharing takes the response before conditional GET can turn it into a 304 for this client only.
    onSend: requestDedup ? [requestDedup.onSend, conditionalGet] : conditionalGet,
    // Before anything keys, stores or parses the request (see request-size.ts).
    preValidation: requestSizeGuard(config),
    // Answered here, before Apollo, when possible: a query answered before, from the response
    // cache (cache/response-cache.ts); an identical request already in flight, with its response
    // (request-dedup.ts).
    ...(responseCache || requestDedup
      ? {
          preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
            const client = clientName(request.headers[CLIENT_NAME_HEADER]);
            const key = requestKey(request, client);
            if (!key) return;
            let viewer: Viewer | null;
            try {
              viewer = await viewerOf(request);
            } catch {
              return; // the pipeline answers 401 (or 503)
            }
            if (responseCache) {
              responseStates.set(request, { key, generation: responseCache.currentGeneration, viewer, startedAt: Date.now(), tags: new Set() });
              if (await responseCache.serve(key, viewer, reply)) return answeredEarly(request, reply, client);
            }
            const shared = await requestDedup?.handle(request, reply, key, viewer);
            if (shared) return answeredEarly(request, reply, client, shared.operationName);
          },
        }
      : {}),
    handler: fastifyApolloHandler(server, {
      context: async (request) => ({
        responseCache: responseStates.get(request),
        requestDedup: requestDedup?.stateOf(request),
        viewer: await viewerOf(request),
        requestId: request.id,
        clientIp: request.ip,
        clientName: clientName(request.headers[CLIENT_NAME_HEADER]),
        cachePolicy: new ResponseCachePolicy(),
        ...(tracing.enabled ? {} : upstreamTrace(request.headers)),
      }),
    }),
  });

  let closing = false;
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const subgraphs = closing ? {} : await probeSubgraphs(config.subgraphUrls);
    const ready = !closing && Object.values(subgraphs).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ ready, supergraph: !closing, subgraphs });
  });
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    metrics,
    cache: routerCache?.cache,
    logger: log,
    tracing,
    beginShutdown() {
      closing = true;
    },
    async close() {
      closing = true;
      // Fastify first: it stops accepting and waits for in-flight requests (index.ts bounds that
      // with DRAIN_TIMEOUT_MS). Then Apollo: stopping it stops the gateway, its supergraph watcher
      // and its document and query-plan caches, which otherwise stay reachable after close.
      await app.close();
      await server.stop();
      await subgraphClients.close();
      await routerCache?.close();
      await responseCache?.close();
      await apqStore.close();
      await rateLimit.close();
      documents.close();
      await tracing.shutdown();
    },
  };
}

/** With tracing off, the client's trace context, passed on to subgraphs as it came. */
function upstreamTrace(headers: Record<string, string | string[] | undefined>): { traceparent?: string; tracestate?: string } {
  const traceparent = validTraceparent(headers.traceparent);
  if (!traceparent) return {};
  const tracestate = headers.tracestate;
  return typeof tracestate === 'string' && tracestate.length <= 512 ? { traceparent, tracestate } : { traceparent };
}

function clientName(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.-]{1,40}$/.test(value) ? value : 'unknown';
}

/** `/ready` is true only when every subgraph answers its `/health` within a second. */
async function probeSubgraphs(urls: Record<SubgraphName, string>): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    Object.entries(urls).map(async ([name, url]) => {
      try {
        const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(1_000) });
        return [name, response.ok] as const;
      } catch {
        return [name, false] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * `Cache-Control` for the whole response, from the policies of all its subgraph fetches (see
 * ResponseCachePolicy): `public, max-age=N` with the lowest maxAge, `private, max-age=N` if any
 * part was PRIVATE, `no-store` for mutations, responses with errors, and anything not cacheable.
 */
function cacheControlPlugin(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation, errors }) {
          const body = response.body;
          const uncacheable =
            operation?.operation !== 'query' || (errors?.length ?? 0) > 0 || body.kind !== 'single' || (body.singleResult.errors?.length ?? 0) > 0;
          response.http.headers.set('cache-control', contextValue.cachePolicy.header({ uncacheable }));
        },
      };
    },
  };
}

function metricsPlugin(metrics: RouterMetrics): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, response, errors }) {
          const { operation, client } = metrics.labels.pair(operationName, contextValue.clientName);
          const failed = (errors?.length ?? 0) > 0 || (response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0);
          metrics.requests.inc({ operation, client, status: failed ? 'error' : 'ok' });
          metrics.requestDuration.observe({ operation, client }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}
