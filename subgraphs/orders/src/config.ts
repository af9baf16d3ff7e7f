import { readSubgraphBaseConfig, type Env, type SubgraphBaseConfig } from '@shop/service-kit';

export type OrdersConfig = SubgraphBaseConfig;

/** The only place the orders subgraph reads the environment. */
export function readConfig(env: Env): OrdersConfig {
  return readSubgraphBaseConfig(env, 'orders', 4005);
}
