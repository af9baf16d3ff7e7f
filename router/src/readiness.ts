import type { FastifyInstance } from 'fastify';
import type { RouterConfig } from './config.ts';
import { subgraphsOf } from './supergraph.ts';

/**
 * `/health` (the process is up) and `/ready` (serve me traffic): ready once a supergraph is loaded
 * and every subgraph it names has answered its `/health` at its effective URL (the supergraph's
 * `join__graph(url:)` unless `<NAME>_URL` overrides it) within a second, and not while shutting down.
 *
 * Once every subgraph has answered together (the router has started), a subgraph going down later
 * no longer makes the router unready: it answers the rest of each page with that subgraph's fields
 * null (SUBGRAPH_UNAVAILABLE, the circuit breaker), and a readiness that followed the subgraph would
 * take every router replica out of the balancer at once, turning one subgraph's outage into a
 * complete one. The body still reports each subgraph as the probe found it.
 */
export function readiness(app: FastifyInstance, config: Pick<RouterConfig, 'subgraphUrl'>) {
  let subgraphs: { name: string; url: string }[] | undefined;
  let closing = false;
  let started = false;
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const loaded = !closing && subgraphs !== undefined;
    const probed = loaded ? await probe(subgraphs!) : {};
    if (loaded && Object.values(probed).every(Boolean)) started = true;
    const ready = loaded && started;
    return reply.status(ready ? 200 : 503).send({ ready, supergraph: loaded, subgraphs: probed });
  });
  return {
    /** Called with every supergraph the gateway loads. */
    supergraphLoaded(supergraphSdl: string): void {
      subgraphs = subgraphsOf(supergraphSdl).map(({ name, url }) => ({ name, url: config.subgraphUrl(name, url) }));
    },
    beginShutdown(): void {
      closing = true;
    },
  };
}

async function probe(subgraphs: { name: string; url: string }[]): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    subgraphs.map(async ({ name, url }) => {
      try {
        const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(1_000) });
        return [name, response.ok] as const;
      } catch {
        return [name, false] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}
