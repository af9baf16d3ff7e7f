import { readSubgraphBaseConfig, type Env, type SubgraphBaseConfig } from '@shop/service-kit';

export type InventoryConfig = SubgraphBaseConfig;

/** The only place the inventory subgraph reads the environment. */
export function readConfig(env: Env): InventoryConfig {
  return readSubgraphBaseConfig(env, 'inventory', 4002);
}
