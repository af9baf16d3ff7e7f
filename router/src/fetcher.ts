import type { Fetcher } from '@apollo/utils.fetcher';
import { Agent, fetch } from 'undici';

/**
 * The router's subgraph fetcher: undici with a keep-alive pool per origin and a hard timeout per
 * fetch. The gateway's default fetcher opens connections eagerly and never times out, so one hung
 * subgraph would hold every request that touches it.
 */
export function createFetcher({ timeoutMs, connections = 64 }: { timeoutMs: number; connections?: number }) {
  const agent = new Agent({
    connections,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    pipelining: 1,
  });
  const fetcher = ((url: string, init?: Record<string, unknown>) =>
    fetch(url, { ...(init as object), dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) })) as unknown as Fetcher;
  return { fetcher, close: () => agent.close() };
}
