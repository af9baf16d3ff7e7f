import { intVar, readSubgraphBaseConfig, urlVar, type Env, type SubgraphBaseConfig } from '@shop/service-kit';

export interface OrdersConfig extends SubgraphBaseConfig {
  /** Checkout prices lines through pricing's internal quote field. */
  pricingUrl: string;
  /** Checkout reserves and releases stock through inventory's internal fields. */
  inventoryUrl: string;
  /** Upper bound for one call to pricing or inventory; past it checkout fails DEPENDENCY_UNAVAILABLE. */
  dependencyTimeoutMs: number;
  /** A checkout claim with no order after this long was abandoned (crash); its stock is released. */
  abandonedCheckoutMs: number;
}

/** The only place the orders subgraph reads the environment. */
export function readConfig(env: Env): OrdersConfig {
  return {
    ...readSubgraphBaseConfig(env, 'orders', 4005),
    pricingUrl: urlVar(env, 'PRICING_URL', 'http://localhost:4003/graphql'),
    inventoryUrl: urlVar(env, 'INVENTORY_URL', 'http://localhost:4002/graphql'),
    dependencyTimeoutMs: intVar(env, 'DEPENDENCY_TIMEOUT_MS', 3_000, { min: 1, max: 60_000 }),
    abandonedCheckoutMs: intVar(env, 'ABANDONED_CHECKOUT_MS', 60_000, { min: 1_000, max: 3_600_000 }),
  };
}
