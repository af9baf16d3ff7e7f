import { CircuitOpenError } from '../breaker.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Each subgraph's circuit breaker (breaker.ts): while a subgraph's circuit is open its fetches fail
 * at once with SUBGRAPH_UNAVAILABLE instead of waiting out a timeout. Nothing retries, so a
 * mutation is sent at most once. Breakers live per subgraph name for the router's lifetime.
 */
export function breaker({ metrics, subgraphClients }: RouterParts): Stage {
  return {
    name: 'breaker',
    fetch: {
      around(call, next) {
        return subgraphClients
          .breakerFor(call.subgraph)
          .run(() => next(call))
          .catch((error: unknown) => {
            if (error instanceof CircuitOpenError) metrics.subgraphFetches.inc({ subgraph: call.subgraph, outcome: 'circuit_open' });
            throw error;
          });
      },
    },
  };
}
