import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { subgraph } from '@shop/registry';

export type ProductsConfig = SubgraphBaseConfig;

/** The only place the products subgraph reads the environment. */
export function readConfig(env: Env): ProductsConfig {
  return readSubgraphBaseConfig(env, 'products', subgraph('products').port, { readReplica: true });
}
