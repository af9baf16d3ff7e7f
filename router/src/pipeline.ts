import { breaker } from './stages/breaker.ts';
import { cacheControl } from './stages/cache-control.ts';
import { cacheStatus } from './stages/cache-status.ts';
import { entityCache } from './stages/entity-cache.ts';
import { errors } from './stages/errors.ts';
import { fetchSharing } from './stages/fetch-sharing.ts';
import { fetchMetrics, metrics } from './stages/metrics.ts';
import { credentialLimits, operationLimits } from './stages/operation-limits.ts';
import { persistedQueries } from './stages/persisted-queries.ts';
import { rateLimit } from './stages/rate-limit.ts';
import { requestDedup } from './stages/request-dedup.ts';
import { requestShape, requestSize } from './stages/request-limits.ts';
import { responseCache } from './stages/response-cache.ts';
import { subscriptions } from './stages/subscriptions.ts';
import type { StageFactory } from './stages/stage.ts';
import { fetchTracing, tracing } from './stages/tracing.ts';
import { viewer } from './stages/viewer.ts';

/**
 * The router's pipeline, in order: the one place that says what runs before what. Each kind of
 * part runs in this order — Fastify hooks (onRequest, preValidation, preHandler, onSend), Apollo
 * plugins, context fields, formatError — and so does every subgraph fetch, outside in: a stage
 * with a `fetch` part wraps those listed after it. A new stage is one file in stages/ and one line
 * here. A factory may return nothing when its configuration turns it off.
 */
export const PIPELINE: readonly StageFactory[] = [
  tracing, //           first: the server span covers everything after it, refusals included
  rateLimit, //         onRequest: a refused request costs no body parsing, planning or fetch
  requestShape, //      preValidation, before anything keys, shares or measures deeply nested JSON
  requestSize, //       preValidation, before anything keys, stores or parses an oversized document
  viewer, //            the verified viewer for the context; identity headers on every fetch
  persistedQueries, //  the first Apollo plugin: it swaps in manifest documents before Apollo parses
  cacheStatus, //       per-request record the cache stages below fill in; writes Cache-Status
  responseCache, //     preHandler: a stored answer goes out before sharing, Apollo or any fetch
  requestDedup, //      preHandler after the response cache; its onSend before conditional GET's 304
  cacheControl, //      Cache-Control before credential limits' `no-store` overrides it; its fetch part outside the caches
  operationLimits, //   validation rules and demand control: refusals before any fetch
  credentialLimits, //  once the operation is resolved, before any fetch
  subscriptions, //     its transports beside /graphql; each event goes through every Apollo part above and every fetch part below
  metrics, //           request counts, whatever answered; /metrics
  errors, //            formatError after the limits' codes; turns every failed fetch into a named GraphQLError
  entityCache, //       per-entity answers; only its misses go on down the fetch chain
  fetchSharing, //      after the entity cache, so its misses are shared too; before the breaker: one request counts once
  breaker, //           fails fast while a subgraph is down, for fetches actually about to be sent
  fetchTracing, //      a CLIENT span only for a request that goes out (inside the breaker)
  fetchMetrics, //      innermost: measures the HTTP request itself
];
