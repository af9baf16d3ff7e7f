import type { FastifyRequest } from 'fastify';
import type { CacheStatus } from '../context.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * RFC 9211 `Cache-Status` on every `/graphql` response (CACHE_STATUS_HEADER: on outside
 * production, off in production), so tests and developers can see which router cache layer
 * answered. One entry per layer the request met, the client's side first:
 *
 *   router-response; hit                 answered from the whole-response cache
 *   router-response; fwd=miss[; stored]  looked up, not there (and the answer was then stored)
 *   router-response; fwd=bypass          not looked up or not cacheable: a mutation, or a request it may not answer
 *   router-dedup; collapsed              answered by joining an identical request in flight
 *   router-entity; hit; detail="hits=H misses=0"      every entity-cache lookup of the request's fetches hit
 *   router-entity; fwd=miss; detail="hits=H misses=M" some missed (H and M summed over all its fetches)
 *
 * `router-response` is listed whenever the whole-response cache is on; `router-entity` only when the
 * entity cache was consulted. e2e tests read exactly this format.
 */
export function cacheStatus({ config }: RouterParts): Stage | undefined {
  if (!config.cacheStatusHeader) return undefined;
  const responseCacheOn = config.routerCache && config.responseCache;
  return {
    name: 'cache-status',
    context: (request) => ({ cacheStatus: cacheStatusOf(request) }),
    async onSend(request, reply, payload) {
      const value = formatCacheStatus(cacheStatusOf(request), responseCacheOn);
      if (value) void reply.header('cache-status', value);
      return payload;
    },
  };
}

const statuses = new WeakMap<FastifyRequest, CacheStatus>();

/** The request's record, which the cache stages fill in as they go (kept whether or not the header is on: it is a few fields). */
export function cacheStatusOf(request: FastifyRequest): CacheStatus {
  let status = statuses.get(request);
  if (!status) statuses.set(request, (status = {}));
  return status;
}

export function formatCacheStatus(status: CacheStatus, responseCacheOn: boolean): string | undefined {
  const entries: string[] = [];
  if (responseCacheOn) {
    if (status.response === 'hit') entries.push('router-response; hit');
    else if (status.response === 'miss') entries.push(`router-response; fwd=miss${status.stored ? '; stored' : ''}`);
    else entries.push('router-response; fwd=bypass');
  }
  if (status.collapsed) entries.push('router-dedup; collapsed');
  if (status.entity) {
    const { hits, misses } = status.entity;
    entries.push(`router-entity; ${misses ? 'fwd=miss' : 'hit'}; detail="hits=${hits} misses=${misses}"`);
  }
  return entries.length ? entries.join(', ') : undefined;
}
