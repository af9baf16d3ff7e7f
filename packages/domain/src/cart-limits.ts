/**
 * Lines in one order. Checkout sends all of them to pricing's `quote` and to inventory's
 * `reserveStock` in one call each, so those accept exactly as many: one number for all three.
 */
export const MAX_ORDER_LINES = 50;

/**
 * The most units of one product a line may ask for anywhere: the hard cap under the configurable
 * limits below. Inventory refuses a reservation line above it, and the orders subgraph refuses a
 * MAX_QUANTITY_PER_PRODUCT above it, so checkout can never pass a line that inventory refuses.
 */
export const MAX_LINE_QUANTITY = 99;

/**
 * How much one order may hold, so that one order (from a fresh account, say) cannot reserve a
 * product's whole stock: units of one product, and units over all lines (the orders subgraph reads
 * them from MAX_QUANTITY_PER_PRODUCT and MAX_UNITS_PER_ORDER).
 */
export interface CheckoutLimits {
  maxQuantityPerProduct: number;
  maxUnitsPerOrder: number;
}

export const DEFAULT_CHECKOUT_LIMITS: CheckoutLimits = { maxQuantityPerProduct: 10, maxUnitsPerOrder: 100 };
