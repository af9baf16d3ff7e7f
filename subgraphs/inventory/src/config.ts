import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { subgraph } from '@shop/registry';

export type InventoryConfig = SubgraphBaseConfig;

/** The only place the inventory subgraph reads the environment. */
export function readConfig(env: Env): InventoryConfig {
  return readSubgraphBaseConfig(env, 'inventory', subgraph('inventory').port, { readReplica: true });
}
