import { readSubgraphBaseConfig, type Env, type SubgraphBaseConfig } from '@shop/service-kit';

export type ProductsConfig = SubgraphBaseConfig;

/** The only place the products subgraph reads the environment. */
export function readConfig(env: Env): ProductsConfig {
  return readSubgraphBaseConfig(env, 'products', 4001);
}
