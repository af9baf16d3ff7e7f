/**
 * The deterministic shape of the development seed, shared so that each subgraph can seed its own
 * database independently and still agree with the others (pricing prices exactly the products the
 * products subgraph creates, orders reference real users and products).
 */
export interface SeedSize {
  products: number;
  categories: number;
  users: number;
  orders: number;
}

export const FULL_SEED: SeedSize = { products: 40_000, categories: 60, users: 1_000, orders: 5_000 };

/** A small seed with the same shape, for fast unit tests. */
export const SMALL_SEED: SeedSize = { products: 500, categories: 60, users: 20, orders: 60 };

export const REGIONS = ['IN', 'SEA', 'ME', 'US'] as const;
export type RegionCode = (typeof REGIONS)[number];
export const CURRENCY: Record<RegionCode, string> = { IN: 'INR', SEA: 'SGD', ME: 'AED', US: 'USD' };

export const productId = (n: number) => `p${n}`;
export const userId = (n: number) => `u${n}`;
/** The admin account sits outside the customer range so `user1..userN` stay contiguous. */
export const ADMIN_USER_ID = 'u0';

/** Parses a product id (`p42`) to its number, or undefined when malformed. */
export function productNumber(id: string): number | undefined {
  const match = /^p([1-9]\d{0,8})$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

export function progress(service: string, message: string): void {
  process.stderr.write(`[seed] ${service}: ${message}\n`);
}
