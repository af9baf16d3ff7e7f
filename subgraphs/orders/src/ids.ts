/** Parses an order id (`o17`) to its number, or undefined when malformed. */
export function orderNumber(id: string): number | undefined {
  const match = /^o([1-9]\d{0,14})$/.exec(id);
  return match ? Number(match[1]) : undefined;
}
