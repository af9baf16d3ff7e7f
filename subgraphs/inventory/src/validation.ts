import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, productNumber } from '@shop/domain';
import { badInput } from '@shop/platform';
import type { ReserveLineInput } from './__generated__/resolvers-types.ts';

export const MAX_RESERVATION_ID_LENGTH = 100;
export const MAX_ADJUSTMENT = 100_000;
/** Ceiling for one warehouse's available units, well inside Postgres `integer`. */
export const MAX_AVAILABLE = 1_000_000_000;

const RESERVATION_ID = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_RESERVATION_ID_LENGTH}}$`);

/** Throws BAD_USER_INPUT naming the first argument that is wrong (`extensions.field`). */
export function validateReservation(reservationId: string, lines: readonly ReserveLineInput[]): void {
  if (!RESERVATION_ID.test(reservationId)) {
    throw badInput(`reservationId must be 1 to ${MAX_RESERVATION_ID_LENGTH} letters, digits, "_" or "-"`, { field: 'reservationId' });
  }
  if (lines.length < 1 || lines.length > MAX_ORDER_LINES) {
    throw badInput(`A reservation has 1 to ${MAX_ORDER_LINES} lines`, { field: 'lines' });
  }
  const seen = new Set<string>();
  lines.forEach(({ productId, quantity }, i) => {
    if (productNumber(productId) === undefined) throw badInput(`"${productId}" is not a product id`, { field: `lines.${i}.productId` });
    if (seen.has(productId)) throw badInput(`${productId} appears in more than one line`, { field: `lines.${i}.productId` });
    seen.add(productId);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
      throw badInput(`Quantity must be 1 to ${MAX_LINE_QUANTITY}`, { field: `lines.${i}.quantity` });
    }
  });
}

export function validateAdjustment(productId: string, delta: number): void {
  if (productNumber(productId) === undefined) throw badInput(`"${productId}" is not a product id`, { field: 'productId' });
  if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > MAX_ADJUSTMENT) {
    throw badInput(`delta must be a non-zero whole number between -${MAX_ADJUSTMENT} and ${MAX_ADJUSTMENT}`, { field: 'delta' });
  }
}
