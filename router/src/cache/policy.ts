import { cacheControlHeader, type CacheScope, type OperationPolicy } from '@shop/platform';

export const NOT_CACHEABLE: OperationPolicy = { cacheable: false };

/** The stricter of two policies: the lower maxAge, PRIVATE if either is, not cacheable if either is not. */
export function combinePolicies(a: OperationPolicy, b: OperationPolicy): OperationPolicy {
  if (!a.cacheable || !b.cacheable) return NOT_CACHEABLE;
  return {
    cacheable: true,
    maxAge: Math.min(a.maxAge, b.maxAge),
    scope: a.scope === 'PRIVATE' || b.scope === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC',
  };
}

/**
 * The client-facing cache policy of one request, narrowed by every subgraph fetch it makes
 * (fetched: the subgraph's Cache-Control; served from the cache: the entry's remaining TTL and
 * scope). Lives in the request's RouterContext; the router's response plugin turns it into the
 * `Cache-Control` header.
 */
export class ResponseCachePolicy {
  private maxAge = Number.POSITIVE_INFINITY;
  private scope: CacheScope = 'PUBLIC';
  private noStore = false;

  restrict(policy: OperationPolicy): void {
    if (!policy.cacheable) {
      this.noStore = true;
      return;
    }
    this.maxAge = Math.min(this.maxAge, policy.maxAge);
    if (policy.scope === 'PRIVATE') this.scope = 'PRIVATE';
  }

  /**
   * The policy of the whole response. `uncacheable` is for what the fetches cannot see: errors in
   * the response, a mutation. A request that fetched nothing (introspection, `__typename`) has no
   * hint to go by and is not cacheable either.
   */
  policy({ uncacheable = false }: { uncacheable?: boolean } = {}): OperationPolicy {
    if (uncacheable || this.noStore || !Number.isFinite(this.maxAge) || this.maxAge <= 0) return NOT_CACHEABLE;
    return { cacheable: true, maxAge: this.maxAge, scope: this.scope };
  }

  /** `public, max-age=N`, `private, max-age=N` or `no-store`. */
  header(options: { uncacheable?: boolean } = {}): string {
    return cacheControlHeader(this.policy(options));
  }
}
