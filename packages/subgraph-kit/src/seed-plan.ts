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

export function progress(service: string, message: string): void {
  process.stderr.write(`[seed] ${service}: ${message}\n`);
}
