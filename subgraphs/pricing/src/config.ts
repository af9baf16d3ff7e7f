import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { subgraph } from '@shop/registry';

export type PricingConfig = SubgraphBaseConfig;

/** The only place the pricing subgraph reads the environment. */
export function readConfig(env: Env): PricingConfig {
  return readSubgraphBaseConfig(env, 'pricing', subgraph('pricing').port);
}
