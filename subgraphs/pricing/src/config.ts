import type { Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';

export type PricingConfig = SubgraphBaseConfig;

/** The only place the pricing subgraph reads the environment. */
export function readConfig(env: Env): PricingConfig {
  return readSubgraphBaseConfig(env, 'pricing', 4003);
}
