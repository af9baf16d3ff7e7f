import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';

export type InventoryConfig = SubgraphBaseConfig;

/** The only place the inventory subgraph reads the environment. */
export function readConfig(env: Env): InventoryConfig {
  return readSubgraphBaseConfig(env, 'inventory', 4002);
}
