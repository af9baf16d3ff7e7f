import { intVar, type Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { subgraph } from '@shop/registry';

export interface PricingConfig extends SubgraphBaseConfig {
  /**
   * PROMOTION_TICK_MS: how often the promotion ticker looks for promotions whose start or end time
   * has passed, to announce them (promotion.started / promotion.ended). A promotion's price applies
   * by the clock regardless; this only bounds how late the event, and the cache drop it carries, come.
   */
  promotionTickMs: number;
}

export const DEFAULT_PROMOTION_TICK_MS = 15_000;

/** The only place the pricing subgraph reads the environment. */
export function readConfig(env: Env): PricingConfig {
  return {
    ...readSubgraphBaseConfig(env, 'pricing', subgraph('pricing').port, { readReplica: true }),
    promotionTickMs: intVar(env, 'PROMOTION_TICK_MS', DEFAULT_PROMOTION_TICK_MS, { min: 10, max: 3_600_000 }),
  };
}
