import type { FastifyInstance } from 'fastify';
import type { RouterConfig } from './config.ts';
import { subgraphsOf } from './supergraph.ts';

/**
 * `/health` (the process is up) and `/ready` (serve me traffic): ready once a supergraph is loaded,
 * while every subgraph it names answers its `/health` at its effective URL (the supergraph's
 * `join__graph(url:)` unless `<NAME>_URL` overrides it) within a second, and not while shutting down.
 */
export function readiness(app: FastifyInstance, config: Pick<RouterConfig, 'subgraphUrl'>) {
  let subgraphs: { name: string; url: string }[] | undefined;
  let closing = false;
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const loaded = !closing && subgraphs !== undefined;
    const probed = loaded ? await probe(subgraphs!) : {};
    const ready = loaded && Object.values(probed).every(Boolean);
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
