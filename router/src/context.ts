import type { Viewer } from '@shop/platform';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { ResponseCachePolicy } from './cache/policy.ts';

/**
 * The GraphQL context of one client request, and the per-request state stages keep in it. A leaf
 * module (type imports only), so stages, caches and the data source can all name it without cycles.
 */
export interface RouterContext {
  viewer: Viewer | null;
  requestId: string;
  clientName: string;
  /** The client's address as the router sees it (request.ip: TRUST_PROXY decides whose it is). */
  clientIp?: string | undefined;
  /** Narrowed by every subgraph fetch of the request; becomes the response's Cache-Control. */
  cachePolicy: ResponseCachePolicy;
  /**
   * With tracing off, the client's valid W3C `traceparent` (and `tracestate`), passed on to
   * subgraphs unchanged so a tracer upstream still links their spans. Unset with tracing on: the
   * router's own span context is sent instead.
   */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
  /** With the response cache on: this request's key and the tags its subgraph fetches met. */
  responseCache?: ResponseCacheState | undefined;
  /** With REQUEST_DEDUP on, when other identical requests may wait for this one's response. */
  requestDedup?: RequestDedupState | undefined;
  /** With CACHE_STATUS_HEADER on: what each cache layer did for this request (stages/cache-status.ts). */
  cacheStatus?: CacheStatus | undefined;
  /**
   * Set for the router's own operations on behalf of a subscriber (subscriptions/): `check` runs a
   * subscription document through Apollo's checks (trusted documents, APQ, validation, limits,
   * demand control) and stops before execution; `event` answers one event with the rewritten query.
   */
  subscription?: SubscriptionCheck | { phase: 'event' } | undefined;
}

/** A subscription document on its way through Apollo's checks; `accepted` is filled in when it passed them all. */
export interface SubscriptionCheck {
  phase: 'check';
  accepted?: {
    document: DocumentNode;
    operation: OperationDefinitionNode;
    schema: GraphQLSchema;
    variables: Record<string, unknown> | undefined;
  };
}

/** Per-request state of the whole-response cache (cache/response-cache.ts). */
export interface ResponseCacheState {
  key: string;
  /** The cache's generation when the request came in: a response planned before a clear() is not stored. */
  generation: number;
  viewer: Viewer | null;
  /** When the request came in, on InvalidationLog's clock. */
  startedAt: number;
  tags: Set<string>;
}

/** Per-request state of request sharing (request-dedup.ts), set once Apollo knows the operation. */
export interface RequestDedupState {
  operation?: string | undefined;
  operationName?: string | null | undefined;
}

/** What each router cache layer did for one request; the `Cache-Status` header is written from it. */
export interface CacheStatus {
  /** The whole-response cache: answered (hit), looked up and missed (miss), or not asked (bypass). */
  response?: 'hit' | 'miss' | 'bypass' | undefined;
  /** The response was stored in the whole-response cache. */
  stored?: boolean | undefined;
  /** Answered by joining an identical request in flight. */
  collapsed?: boolean | undefined;
  /** Entity-cache lookups summed over every fetch of the request (unset: never consulted). */
  entity?: { hits: number; misses: number } | undefined;
}
