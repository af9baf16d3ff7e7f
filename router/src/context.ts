import type { Viewer } from '@shop/platform';
import type { ResponseCachePolicy } from './cache/policy.ts';
import type { ResponseCacheState } from './cache/response-cache.ts';
import type { RequestDedupState } from './request-dedup.ts';

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
}
