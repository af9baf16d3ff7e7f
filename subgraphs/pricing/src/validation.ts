import { formatCents, parseCents, productNumber } from '@shop/domain';
import { badInput } from '@shop/platform';
import type { CreatePromotionInput } from './__generated__/resolvers-types.ts';
import type { NewPromotion } from './models.ts';

export const MAX_PROMOTION_PRODUCTS = 1000;
export const MAX_PROMOTION_NAME_LENGTH = 100;
export const MIN_DISCOUNT_PERCENT = 1;
export const MAX_DISCOUNT_PERCENT = 90;

/** The largest amount `numeric(12,2)` holds, in cents. */
const MAX_AMOUNT_CENTS = 999_999_999_999n;

/**
 * A positive decimal string with at most two places, normalized to exactly two ("1234.5" →
 * "1234.50"). Compared as integer cents in BigInt: a float would misjudge amounts near the limit.
 */
export function parseAmount(amount: string): string {
  const cents = parseCents(amount);
  if (cents === undefined)
    throw badInput('Amount must be a decimal string with at most two places, e.g. "1299.00"', { argument: 'amount' });
  if (cents <= 0n) throw badInput('Amount must be greater than zero', { argument: 'amount' });
  if (cents > MAX_AMOUNT_CENTS) throw badInput('Amount must be at most 9999999999.99', { argument: 'amount' });
  return formatCents(cents);
}

/** Where a bad value came from, for clients: `{ argument: 'productId' }` or `{ field: 'productIds' }`. */
type Origin = { argument: string } | { field: string };

export function requireProductId(id: string, origin: Origin): string {
  if (productNumber(id) === undefined) throw badInput(`"${id}" is not a product id`, origin);
  return id;
}

/** 1 to `max` well-formed ids, duplicates dropped (first occurrence kept, order kept). */
export function productIdList(ids: readonly string[], max: number, origin: Origin): string[] {
  if (ids.length < 1 || ids.length > max) throw badInput(`Give 1 to ${max} product ids`, origin);
  return [...new Set(ids.map((id) => requireProductId(id, origin)))];
}

// A full date and time with an explicit offset: without one, the instant would depend on the server's zone.
const TIMESTAMP_SHAPE = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** An ISO-8601 timestamp ("2030-01-31T12:00:00Z") as a Date; BAD_USER_INPUT naming `field` otherwise. */
export function parseTimestamp(value: string, field: string): Date {
  const match = TIMESTAMP_SHAPE.exec(value);
  const time = match ? Date.parse(value) : NaN;
  if (!match || !Number.isFinite(time) || !isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    throw badInput(`${field} must be an ISO-8601 timestamp with an offset, e.g. "2030-01-31T12:00:00Z"`, { field });
  }
  return new Date(time);
}

/** Date.parse rolls 30 February over into March; this does not. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Throws BAD_USER_INPUT naming the first field that is wrong (`extensions.field`). */
export function validatePromotion(input: CreatePromotionInput): NewPromotion {
  const name = input.name.trim();
  const nameLength = [...name].length;
  if (nameLength < 1 || nameLength > MAX_PROMOTION_NAME_LENGTH) {
    throw badInput(`Name must be 1 to ${MAX_PROMOTION_NAME_LENGTH} characters`, { field: 'name' });
  }
  if (/\p{Cc}/u.test(name)) throw badInput('Name must not contain control characters', { field: 'name' });

  const { discountPercent } = input;
  if (!Number.isInteger(discountPercent) || discountPercent < MIN_DISCOUNT_PERCENT || discountPercent > MAX_DISCOUNT_PERCENT) {
    throw badInput(`discountPercent must be ${MIN_DISCOUNT_PERCENT} to ${MAX_DISCOUNT_PERCENT}`, { field: 'discountPercent' });
  }

  const startsAt = input.startsAt == null ? null : parseTimestamp(input.startsAt, 'startsAt');
  const endsAt = parseTimestamp(input.endsAt, 'endsAt');
  if (endsAt.getTime() <= (startsAt ?? new Date()).getTime()) {
    throw badInput('endsAt must be after startsAt', { field: 'endsAt' });
  }

  const productIds = productIdList(input.productIds, MAX_PROMOTION_PRODUCTS, { field: 'productIds' });
  return { name, region: input.region, discountPercent, startsAt, endsAt, productIds };
}
