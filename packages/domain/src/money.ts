/**
 * Money crosses the API as a decimal string with two places ("1299.00") and is computed in
 * integer cents (BigInt): an amount never passes through a float, so "0.10" × 3 is exactly "0.30".
 */

// At most 20 integer digits: a longer string is no amount, and BigInt would parse it at a cost.
const AMOUNT_SHAPE = /^(\d{1,20})(?:\.(\d{1,2}))?$/;

/** A non-negative decimal string with at most two places ("12", "12.5", "12.50") in cents; undefined when it is not one. */
export function parseCents(amount: string): bigint | undefined {
  const match = AMOUNT_SHAPE.exec(amount);
  if (!match) return undefined;
  return BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

/** Like parseCents, for amounts that must already be well formed (prices read back from a subgraph). */
export function toCents(amount: string): bigint {
  const cents = parseCents(amount);
  if (cents === undefined) throw new Error(`not a price: ${amount}`);
  return cents;
}

/** Cents as the API's decimal string with exactly two places (`-5n` → "-0.05"). */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}
