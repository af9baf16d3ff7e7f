/** Ids as every subgraph writes and parses them: products `p<n>`, users `u<n>`. */
export const productId = (n: number) => `p${n}`;
export const userId = (n: number) => `u${n}`;
/** The admin account sits outside the customer range so `user1..userN` stay contiguous. */
export const ADMIN_USER_ID = 'u0';

/** Parses a product id (`p42`) to its number, or undefined when malformed. */
export function productNumber(id: string): number | undefined {
  const match = /^p([1-9]\d{0,8})$/.exec(id);
  return match ? Number(match[1]) : undefined;
}
