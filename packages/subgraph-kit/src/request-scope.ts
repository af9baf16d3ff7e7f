import { performance } from 'node:perf_hooks';
import type { Viewer } from '@shop/platform';

/**
 * What the server shell knows about a request, kept beside its GraphQL context rather than in
 * it: each subgraph shapes its own context, while the cache layer needs the same two facts from
 * every one of them — who is asking (PRIVATE entries are keyed by it) and when the request began
 * (an entry computed from data read before an invalidation must not be stored after it).
 */
export interface RequestScope {
  viewer: Viewer | null;
  /** `performance.now()` when the context was built: monotonic, comparable within the process. */
  startedAt: number;
}

const scopes = new WeakMap<object, RequestScope>();

export function beginRequestScope(context: object, viewer: Viewer | null): void {
  scopes.set(context, { viewer, startedAt: performance.now() });
}

export function requestScopeOf(context: unknown): RequestScope | undefined {
  return typeof context === 'object' && context !== null ? scopes.get(context) : undefined;
}
