import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { Tracer } from '@opentelemetry/api';
import { GraphQLError, Kind } from 'graphql';
import { IDENTITY_HEADERS, inClientSpan, injectTraceContext, parseCacheControl } from '@shop/platform';
import { CircuitOpenError, SubgraphUnavailableError, type CircuitBreaker } from './breaker.ts';
import { tagsOf } from './cache/keys.ts';
import type { RouterCache } from './cache/router-cache.ts';
import type { RouterContext } from './context.ts';
import { fetchKey, type InFlight, type SubgraphAnswer } from './inflight.ts';
import type { RouterMetrics } from './metrics.ts';

export interface SubgraphDataSourceOptions {
  subgraph: string;
  url: string;
  fetcher: Fetcher;
  routerSecret: string | undefined;
  metrics: RouterMetrics;
  /** The entity cache; without it every fetch goes to the subgraph (ROUTER_CACHE=false). */
  cache?: RouterCache | undefined;
  /** Fails fetches fast while the subgraph is down; without it every fetch goes out. */
  breaker?: CircuitBreaker | undefined;
  /**
   * With tracing on: a CLIENT span per fetch, whose `traceparent` the subgraph receives. Without
   * it, a `traceparent` the client sent (RouterContext.traceparent) is passed on unchanged.
   */
  tracer?: Tracer | undefined;
  /**
   * Without the entity cache (which does the same for its misses): identical query fetches in
   * flight at once share one subgraph request (SUBGRAPH_DEDUP). One instance for all subgraphs,
   * so a mutation to any of them stops later fetches from joining ones that started before it.
   */
  inFlight?: InFlight<SubgraphAnswer> | undefined;
}

/**
 * One per subgraph. Sends only the identity the router verified (never headers a client sent),
 * plus the shared secret that lets the subgraph believe it, and records fetch metrics. Fetches
 * for client operations go through the entity cache, and every one narrows the request's
 * client-facing cache policy.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  private readonly subgraph: string;
  private readonly routerSecret: string | undefined;
  private readonly metrics: RouterMetrics;
  private readonly cache: RouterCache | undefined;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly inFlight: InFlight<SubgraphAnswer> | undefined;

  constructor({ subgraph, url, fetcher, routerSecret, metrics, cache, breaker, tracer, inFlight }: SubgraphDataSourceOptions) {
    // The router computes the client's Cache-Control itself (cache hits included), not the gateway.
    super({ url, fetcher, honorSubgraphCacheControlHeader: false });
    this.subgraph = subgraph;
    this.routerSecret = routerSecret;
    this.metrics = metrics;
    this.cache = cache;
    this.breaker = breaker;
    this.tracer = tracer;
    this.inFlight = inFlight;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = request.http!.headers;
    if (this.routerSecret) headers.set(IDENTITY_HEADERS.routerSecret, this.routerSecret);
    const viewer = 'viewer' in context ? context.viewer : null;
    if (viewer) {
      headers.set(IDENTITY_HEADERS.userId, viewer.userId);
      headers.set(IDENTITY_HEADERS.scopes, viewer.scopes.join(' '));
    }
    // For subgraphs that key by client (the users subgraph throttles sign-ins per account and address).
    if ('clientIp' in context && context.clientIp) headers.set(IDENTITY_HEADERS.clientIp, context.clientIp);
    if ('requestId' in context && context.requestId) headers.set('x-request-id', context.requestId);
    if (this.tracer) {
      injectTraceContext(headers); // the fetch's span, active here (see fetchOnce)
    } else if ('traceparent' in context && context.traceparent) {
      headers.set('traceparent', context.traceparent);
      if (context.tracestate) headers.set('tracestate', context.tracestate);
    }
  }

  override async process(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    try {
      return await this.resolveFetch(options);
    } catch (error) {
      throw fetchError(this.subgraph, error);
    }
  }

  private async resolveFetch(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    // Health checks and schema loads carry no incoming request (the gateway does not export the kind enum).
    if (!('incomingRequestContext' in options)) return this.send(options);
    const context = options.context;
    if (!this.cache) {
      const { response, cacheControl } = await this.sendShared(options);
      context.cachePolicy.restrict(parseCacheControl(cacheControl));
      return response;
    }
    const { response, policy } = await this.cache.resolve({
      subgraph: this.subgraph,
      request: options.request,
      document: options.document,
      viewer: context.viewer ?? null,
      fetch: (request) => this.send({ ...options, request }),
    });
    context.cachePolicy.restrict(policy);
    // The whole-response cache drops a response when anything it showed changes: collect the
    // tags of what this fetch asked about and got back.
    const tags = context.responseCache?.tags;
    if (tags) {
      tagsOf(options.request.variables?.representations, tags);
      tagsOf(response.data, tags);
    }
    return response;
  }

  /**
   * A query joins an identical one in flight (same subgraph, viewer, operation and variables)
   * when there is one. A mutation always goes out, and once it has been answered later queries
   * start afresh: one that set off before it may have read what it changed.
   */
  private async sendShared(options: GraphQLDataSourceProcessOptions<RouterContext>): Promise<SubgraphAnswer> {
    const inFlight = this.inFlight;
    const answer = async (): Promise<SubgraphAnswer> => {
      const response = await this.send(options);
      return { response, cacheControl: response.http?.headers.get('cache-control') ?? null };
    };
    if (!inFlight) return answer();
    if (operationKind(options) !== 'query') {
      try {
        return await answer();
      } finally {
        inFlight.clear();
      }
    }
    const viewer = 'viewer' in options.context ? (options.context.viewer ?? null) : null;
    const { value, leader } = await inFlight.run(fetchKey(this.subgraph, viewer, options.request), answer);
    if (!leader) this.metrics.subgraphDedupes.inc({ subgraph: this.subgraph });
    return value;
  }

  /**
   * One real request to the subgraph, through its circuit breaker: while the circuit is open this
   * throws CircuitOpenError (SUBGRAPH_UNAVAILABLE) at once, and the gateway reports it as this
   * fetch's error. Nothing here retries, so a mutation is sent at most once.
   */
  private send(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    if (!this.breaker) return this.fetchOnce(options);
    return this.breaker.run(() => this.fetchOnce(options)).catch((error: unknown) => {
      if (error instanceof CircuitOpenError) this.metrics.subgraphFetches.inc({ subgraph: this.subgraph, outcome: 'circuit_open' });
      throw error;
    });
  }

  private fetchOnce(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    if (!this.tracer) return this.fetchMeasured(options);
    const attributes = {
      'service.name': 'router',
      'shop.subgraph': this.subgraph,
      'graphql.operation.name': options.request.operationName ?? 'anonymous',
    };
    return inClientSpan(this.tracer, `fetch ${this.subgraph}`, attributes, () => this.fetchMeasured(options), (response) => !!response.errors?.length);
  }

  private async fetchMeasured(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    const stop = this.metrics.subgraphFetchDuration.startTimer({ subgraph: this.subgraph });
    try {
      const response = await super.process(options);
      this.metrics.subgraphFetches.inc({ subgraph: this.subgraph, outcome: response.errors?.length ? 'errors' : 'ok' });
      return response;
    } catch (error) {
      this.metrics.subgraphFetches.inc({ subgraph: this.subgraph, outcome: 'failed' });
      throw error;
    } finally {
      stop();
    }
  }
}

/**
 * The kind of the one operation the gateway sends in a fetch. Unknown (a document the gateway
 * did not parse for us, or several operations) counts as a mutation: never shared.
 */
function operationKind(options: GraphQLDataSourceProcessOptions<RouterContext>): string {
  const document = 'document' in options ? options.document : undefined;
  if (document) {
    const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    return operations.length === 1 ? operations[0]!.operation : 'unknown';
  }
  const match = /^\s*(query|mutation|subscription)\b|^\s*\{/.exec(options.request.query ?? '');
  return match ? (match[1] ?? 'query') : 'unknown';
}

/**
 * What the gateway gets when a fetch fails: always a GraphQLError naming the subgraph. The gateway
 * itself names only errors inside a subgraph's answer; a fetch that throws (no connection, a
 * timeout, a body that is not JSON, a non-2xx) would otherwise reach the client, and the
 * SUBGRAPH_ERROR_MESSAGES policy, with no subgraph named and maybe not as a GraphQLError at all.
 */
function fetchError(subgraph: string, error: unknown): GraphQLError {
  if (error instanceof GraphQLError) {
    if (error.extensions.serviceName) return error;
    return new GraphQLError(error.message, { extensions: { ...error.extensions, serviceName: subgraph }, originalError: error });
  }
  return new SubgraphUnavailableError(subgraph, error);
}
