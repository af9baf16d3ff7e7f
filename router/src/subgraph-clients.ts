import type { Fetcher } from '@apollo/utils.fetcher';
import { CIRCUIT_STATES, CircuitBreaker } from './breaker.ts';
import type { RouterConfig } from './config.ts';
import { createFetcher } from './fetcher.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * The fetcher (with that subgraph's timeout) and the circuit breaker for each subgraph. They live
 * for the router's lifetime, not a data source's, so a supergraph reload keeps circuit state.
 * Subgraphs sharing a timeout share one fetcher (one connection pool per origin either way). Both
 * are made on first use, for whatever subgraph names the supergraph brings.
 */
export function createSubgraphClients(
  config: Pick<RouterConfig, 'subgraphTimeout' | 'subgraphMaxResponseBytes' | 'breaker'>,
  metrics: RouterMetrics,
) {
  const fetchers = new Map<number, ReturnType<typeof createFetcher>>();
  const breakers = new Map<string, CircuitBreaker>();
  const timeoutFor = (name: string): number => config.subgraphTimeout(name);
  return {
    timeoutFor,
    fetcherFor(name: string): Fetcher {
      const timeoutMs = timeoutFor(name);
      let entry = fetchers.get(timeoutMs);
      if (!entry) fetchers.set(timeoutMs, (entry = createFetcher({ timeoutMs, maxResponseBytes: config.subgraphMaxResponseBytes })));
      return entry.fetcher;
    },
    breakerFor(name: string): CircuitBreaker {
      let breaker = breakers.get(name);
      if (!breaker) {
        metrics.subgraphCircuitState.set({ subgraph: name }, CIRCUIT_STATES.closed);
        breaker = new CircuitBreaker({
          name,
          ...config.breaker,
          onStateChange: (state) => {
            metrics.subgraphCircuitState.set({ subgraph: name }, CIRCUIT_STATES[state]);
            if (state === 'open') metrics.subgraphCircuitOpens.inc({ subgraph: name });
          },
        });
        breakers.set(name, breaker);
      }
      return breaker;
    },
    async close(): Promise<void> {
      await Promise.all([...fetchers.values()].map((entry) => entry.close()));
    },
  };
}

export type SubgraphClients = ReturnType<typeof createSubgraphClients>;
