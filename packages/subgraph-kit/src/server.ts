import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import {
  DEFAULT_LISTENER_TIMEOUTS,
  type ListenerTimeouts,
  type Logger,
  MAX_OPERATION_LABELS,
  operationLabel,
  SUBGRAPH_OPERATION_LABEL_PATTERN,
  type CacheHints,
  isCodedError,
  isTrustedCaller,
  viewerFromHeaders,
  type Viewer,
  listenerTimeouts,
  traceRequests,
  type Tracing,
} from '@shop/platform';
import { sendCacheControl } from './cache-headers.ts';
import { guardSchemaIntrospection } from './introspection-guard.ts';
import type { ServiceMetrics } from './metrics.ts';
import { beginRequestScope } from './request-scope.ts';
import { registerSubgraphCache, type SubgraphCacheOptions } from './subgraph-cache.ts';

export interface SubgraphServerOptions<C extends object> {
  name: string;
  schema: GraphQLSchema;
  metrics: ServiceMetrics;
  logger: Logger;
  routerSecret: string | undefined;
  production: boolean;
  /**
   * Builds the per-request context (fresh DataLoaders every request). `trusted` says the caller
   * proved it is the router or a sibling service (internal fields check it).
   */
  context: (viewer: Viewer | null, trusted: boolean, request: FastifyRequest) => C;
  /** The SDL's `@cacheControl` hints, for every response's `Cache-Control`. */
  cacheHints: CacheHints;
  /** The subgraph cache layer (see subgraph-cache.ts); absent when it is turned off. */
  cache?: Pick<SubgraphCacheOptions, 'bus' | 'redisUrl' | 'timeoutMs' | 'keyPrefix' | 'maxBytes' | 'maxEntryBytes'> | undefined;
  /** Extra routes (for example the users subgraph's JWKS). */
  routes?: (app: FastifyInstance) => void;
  /** Runs on close, after the server stops accepting (close pools here). */
  onClose?: () => Promise<void>;
  /** With tracing on, every /graphql request runs in a SERVER span (see traceRequests). */
  tracing?: Tracing | undefined;
  /** Header, body and keep-alive time bounds on the listener; the defaults when absent. */
  listener?: ListenerTimeouts | undefined;
}

const BODY_LIMIT = 2 * 1024 * 1024;

/**
 * The HTTP shell every subgraph shares: Fastify + Mercurius (JIT on) serving a schema built by
 * `buildSubgraphSchema`, `/health`, `/metrics`, `Cache-Control` on every answer, the subgraph cache
 * layer, and an error policy that keeps internals inside: errors thrown on purpose keep their
 * code and message; anything else is logged and masked.
 */
export async function createSubgraphServer<C extends object>(options: SubgraphServerOptions<C>): Promise<FastifyInstance> {
  const { metrics, logger } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // A client trickling its headers or body, or idling on keep-alive, is cut off (408 / close).
    ...listenerTimeouts(options.listener ?? DEFAULT_LISTENER_TIMEOUTS),
    // On close, idle keep-alive sockets are closed at once; busy ones finish their request (sent
    // with `Connection: close`), so keep-alive clients cannot hold a draining subgraph open.
    forceCloseConnections: 'idle',
    // The router's request id (logged as `reqId`), so one request's lines join up across services.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }) as unknown as FastifyInstance;
  if (options.tracing) traceRequests(app, options.tracing);
  if (!options.routerSecret) {
    logger.warn('ROUTER_SECRET is not set: identity headers are ignored (every caller is anonymous) and internal fields are closed');
  }

  // Unparsable bodies are the client's mistake: answer 400 in GraphQL's shape, never a 500.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'request failed');
    const message = status === 500 ? 'Internal server error' : clientMessage(error);
    void reply
      .status(status)
      .send({ errors: [{ message, extensions: { code: status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  });

  await app.register(mercurius, {
    schema: options.schema,
    jit: 1,
    graphiql: !options.production,
    path: '/graphql',
    context: (request) => {
      const viewer = viewerFromHeaders(request.headers, options.routerSecret);
      const context = options.context(viewer, isTrustedCaller(request.headers, options.routerSecret), request);
      beginRequestScope(context, viewer);
      return context;
    },
    errorFormatter: (execution, ctx) => {
      let statusCode = 200;
      const errors = ((execution.errors ?? []) as readonly Error[]).flatMap(expand).map((error) => {
        if (isCodedError(error)) {
          // A refusal of the whole request (see introspection-guard.ts) says so with its HTTP status.
          const status = (error as { statusCode?: unknown }).statusCode;
          if (!execution.data && typeof status === 'number' && status >= 400 && status < 500) statusCode = status;
          return numericIndices((error as GraphQLError).toJSON());
        }
        const original = (error as GraphQLError).originalError ?? (isGraphQLError(error) ? undefined : error);
        const httpStatus = (original as { statusCode?: number } | undefined)?.statusCode;
        if (original && httpStatus && httpStatus >= 400 && httpStatus < 500) {
          // Fastify rejected the request itself (unparsable JSON, wrong content type).
          statusCode = httpStatus;
          return { message: clientMessage(original), extensions: { code: 'BAD_REQUEST' } };
        }
        if (original && !isGraphQLError(original)) {
          ctx.reply?.log.error({ err: original, path: (error as GraphQLError).path }, 'resolver failed');
          const { path, locations } = error as GraphQLError;
          return numericIndices({ message: 'Internal server error', path, locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        }
        // Parse and validation errors from graphql-js are safe to show and say what is wrong.
        const graphqlError = error as GraphQLError;
        if (!execution.data) statusCode = 400;
        return { ...graphqlError.toJSON(), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...graphqlError.extensions } };
      });
      return { statusCode, response: { data: execution.data ?? null, errors } };
    },
  });
  // The router's supergraph is static, so in production nothing legitimate asks a subgraph for
  // its schema; only callers with the router secret may.
  if (options.production)
    guardSchemaIntrospection(app, options.schema, (request) => isTrustedCaller(request.headers, options.routerSecret));

  sendCacheControl(app, options.cacheHints);
  if (options.cache) {
    await registerSubgraphCache(app, {
      ...options.cache,
      schema: options.schema,
      hints: options.cacheHints,
      metrics: metrics.cache,
      logger,
    });
  }

  // Operation names are the caller's (the router sends `<client>__<subgraph>__N`): bounded labels.
  const operationLabels = operationLabel(MAX_OPERATION_LABELS, SUBGRAPH_OPERATION_LABEL_PATTERN);
  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/graphql')) return;
    const body = request.body as { operationName?: unknown } | null | undefined;
    const operation = operationLabels(body?.operationName);
    metrics.requests.inc({ operation, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ operation }, reply.elapsedTime / 1000);
  });

  app.get('/health', async () => ({ status: 'ok', service: options.name }));
  // Not ready once shutdown began (see beginSubgraphShutdown), so a load balancer stops sending.
  let closing = false;
  shutdownSwitches.set(app, () => (closing = true));
  app.addHook('preClose', async () => void (closing = true));
  app.get('/ready', async (_request, reply) => reply.status(closing ? 503 : 200).send({ ready: !closing }));
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  options.routes?.(app);
  if (options.onClose) app.addHook('onClose', options.onClose);
  return app;
}

const shutdownSwitches = new WeakMap<FastifyInstance, () => void>();

/**
 * Marks a subgraph server not ready: `/ready` answers 503 from now on while it keeps serving
 * (`close()` does it too). The first step of a graceful shutdown (see shutdown.ts).
 */
export function beginSubgraphShutdown(app: FastifyInstance): void {
  const begin = shutdownSwitches.get(app);
  if (!begin) throw new Error('not a server built by createSubgraphServer');
  begin();
}

/**
 * graphql-jit reports list indices in error paths as strings ("0"); the gateway places errors
 * from `_entities` fetches only when the index is a number. Field names are never all digits.
 */
function numericIndices<T extends { path?: readonly (string | number)[] | undefined }>(error: T): T {
  if (!error.path) return error;
  return { ...error, path: error.path.map((key) => (typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : key)) };
}

/** Duck-typed so errors from another copy of graphql-js are still recognised. */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError || (error instanceof Error && error.name === 'GraphQLError');
}

function expand(error: Error): Error[] {
  // Mercurius wraps validation failures in one error carrying the list.
  const inner = ((error as GraphQLError).originalError as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(inner) ? (inner as Error[]) : [error];
}

function clientMessage(error: Error & { code?: string }): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'Request body is too large';
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return 'Request body is not valid JSON';
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'Unsupported content type; send application/json';
  return 'Bad request';
}
