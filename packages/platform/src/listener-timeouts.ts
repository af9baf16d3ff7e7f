import type { ListenerTimeouts } from './config.ts';

/**
 * The Fastify constructor options that bound every connection in time (see ListenerTimeouts):
 * spread into `Fastify({...})` by the subgraph shell and by the router alike.
 */
export function listenerTimeouts(timeouts: ListenerTimeouts): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  const shortest = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  return {
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      // Node only looks for expired requests this often (30 s by default, longer than the bounds
      // themselves): a connection is cut at most a quarter of the shortest bound (or 1 s) late.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(shortest / 4))),
    },
  };
}
