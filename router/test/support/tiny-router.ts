import { fileURLToPath } from 'node:url';
import { readConfig } from '../../src/config.ts';
import { buildRouter, type Router } from '../../src/server.ts';
import type { FakeSubgraph } from './fake-subgraph.ts';

/** A two-subgraph supergraph (products, pricing) composed once; its source SDLs are in its header. */
export const TINY_SUPERGRAPH = fileURLToPath(new URL('../fixtures/tiny-supergraph.graphql', import.meta.url));

/**
 * The real router over the tiny supergraph and two fake subgraphs. The entity cache is off unless
 * `env` turns it on, so request counts at the fakes are exact.
 */
export function buildTinyRouter(
  subgraphs: { products: FakeSubgraph; pricing: FakeSubgraph },
  env: Record<string, string | undefined> = {},
): Promise<Router> {
  return buildRouter({
    config: readConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      SUPERGRAPH_PATH: TINY_SUPERGRAPH,
      PRODUCTS_URL: subgraphs.products.url,
      PRICING_URL: subgraphs.pricing.url,
      ROUTER_CACHE: 'false',
      ...env,
    }),
  });
}
