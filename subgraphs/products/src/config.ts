import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';

export type ProductsConfig = SubgraphBaseConfig;

/** The only place the products subgraph reads the environment. */
export function readConfig(env: Env): ProductsConfig {
  return readSubgraphBaseConfig(env, 'products', 4001);
}
