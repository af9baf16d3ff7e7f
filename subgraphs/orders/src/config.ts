import { DEFAULT_CHECKOUT_LIMITS, MAX_LINE_QUANTITY, type CheckoutLimits } from '@shop/domain';
import { ConfigError, intVar, urlVar, type Env } from '@shop/platform';
import { readSubgraphBaseConfig, type SubgraphBaseConfig } from '@shop/subgraph-kit';
import { localUrl, subgraph } from '@shop/registry';

/** A payment no order took is swept after this long without an attempt, by default. */
export const DEFAULT_PAYMENT_SWEEP_AFTER_MS = 10 * 60_000;

export interface OrdersConfig extends SubgraphBaseConfig {
  /** Checkout prices lines through pricing's internal quote field. */
  pricingUrl: string;
  /** Checkout reserves and releases stock through inventory's internal fields. */
  inventoryUrl: string;
  /** Upper bound for one call to pricing or inventory; past it checkout fails DEPENDENCY_UNAVAILABLE. */
  dependencyTimeoutMs: number;
  /** A checkout claim with no order after this long was abandoned (crash); its stock is released. */
  abandonedCheckoutMs: number;
  /** MAX_QUANTITY_PER_PRODUCT and MAX_UNITS_PER_ORDER: past them placeOrder answers BAD_USER_INPUT. */
  checkoutLimits: CheckoutLimits;
  payments: PaymentsConfig;
}

export interface PaymentsConfig {
  /** PAYMENT_PROVIDER_URL: the payment provider's API (the sandbox `npm start` runs, by default). */
  providerUrl: string;
  /** PAYMENT_TIMEOUT_MS: one attempt of one provider call; past it the attempt counts as unavailable. */
  timeoutMs: number;
  /** PAYMENT_RETRIES: further attempts of a call that was unavailable, with the same idempotency key. */
  retries: number;
  /** PAYMENT_BREAKER_THRESHOLD: consecutive failures that open the circuit (calls then fail at once). */
  breakerThreshold: number;
  /** PAYMENT_BREAKER_HALF_OPEN_MS: how long an open circuit waits before letting one call try. */
  breakerHalfOpenMs: number;
  /** PAYMENT_SWEEP_AFTER_MS: a payment no order took, untouched this long, is voided or marked abandoned. */
  sweepAfterMs: number;
}

/** The only place the orders subgraph reads the environment. */
export function readConfig(env: Env): OrdersConfig {
  // Never above the domain's line cap: inventory refuses a reservation line past it, so a higher limit
  // would let placeOrder accept a line that checkout can only fail on.
  const maxQuantityPerProduct = { min: 1, max: MAX_LINE_QUANTITY };
  const checkoutLimits: CheckoutLimits = {
    maxQuantityPerProduct: intVar(env, 'MAX_QUANTITY_PER_PRODUCT', DEFAULT_CHECKOUT_LIMITS.maxQuantityPerProduct, maxQuantityPerProduct),
    maxUnitsPerOrder: intVar(env, 'MAX_UNITS_PER_ORDER', DEFAULT_CHECKOUT_LIMITS.maxUnitsPerOrder, { min: 1, max: 500_000 }),
  };
  if (checkoutLimits.maxUnitsPerOrder < checkoutLimits.maxQuantityPerProduct) {
    throw new ConfigError(
      `MAX_UNITS_PER_ORDER (${checkoutLimits.maxUnitsPerOrder}) must be at least ` +
        `MAX_QUANTITY_PER_PRODUCT (${checkoutLimits.maxQuantityPerProduct})`,
    );
  }
  return {
    ...readSubgraphBaseConfig(env, 'orders', subgraph('orders').port),
    pricingUrl: urlVar(env, 'PRICING_URL', localUrl('pricing')),
    inventoryUrl: urlVar(env, 'INVENTORY_URL', localUrl('inventory')),
    dependencyTimeoutMs: intVar(env, 'DEPENDENCY_TIMEOUT_MS', 3_000, { min: 1, max: 60_000 }),
    abandonedCheckoutMs: intVar(env, 'ABANDONED_CHECKOUT_MS', 60_000, { min: 1_000, max: 3_600_000 }),
    checkoutLimits,
    payments: {
      providerUrl: urlVar(env, 'PAYMENT_PROVIDER_URL', 'http://localhost:4010'),
      timeoutMs: intVar(env, 'PAYMENT_TIMEOUT_MS', 2_000, { min: 1, max: 60_000 }),
      retries: intVar(env, 'PAYMENT_RETRIES', 2, { min: 0, max: 10 }),
      breakerThreshold: intVar(env, 'PAYMENT_BREAKER_THRESHOLD', 5, { min: 1, max: 1_000 }),
      breakerHalfOpenMs: intVar(env, 'PAYMENT_BREAKER_HALF_OPEN_MS', 10_000, { min: 1, max: 3_600_000 }),
      // Tests pass small values; well past any checkout's own time (the router's timeout), in production.
      sweepAfterMs: intVar(env, 'PAYMENT_SWEEP_AFTER_MS', DEFAULT_PAYMENT_SWEEP_AFTER_MS, { min: 1, max: 7 * 24 * 3_600_000 }),
    },
  };
}
