import type { GraphQLError } from 'graphql';
import { badInput, codedError } from '@shop/platform';
import type { OrderModel } from './models.ts';

/**
 * The payment outcomes a client acts on (public codes in @shop/platform's ErrorCode list, so their
 * messages reach clients in production too).
 *  - PAYMENT_DECLINED: the card was refused; no order. Try another payment method, with a new key.
 *  - PAYMENT_UNAVAILABLE: the provider could not be reached in time; no order (or no move, for a
 *    ship or cancel). Retry with the same key: whatever the provider did the first time is reused.
 *  - IDEMPOTENCY_KEY_EXPIRED: an earlier attempt with this key was abandoned and the sweeper
 *    released its payment (or prices moved since that attempt); the key cannot make an order any
 *    more. Use a new key.
 */
export type PaymentErrorCode = 'PAYMENT_DECLINED' | 'PAYMENT_UNAVAILABLE' | 'IDEMPOTENCY_KEY_EXPIRED';

export function paymentError(code: PaymentErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return codedError(code, message, extra);
}

export const keyExpired = (why: string) =>
  paymentError('IDEMPOTENCY_KEY_EXPIRED', `${why}; place the order again with a new idempotency key`, { argument: 'idempotencyKey' });

/** A lifecycle move the order's status does not allow: BAD_USER_INPUT naming the status it is in. */
export const forbiddenTransition = (order: Pick<OrderModel, 'id' | 'status'>, action: string) =>
  badInput(`Order ${order.id} is ${order.status} and cannot be ${action}`, { currentStatus: order.status });

/** An order changed, and so did its user's order list. */
export const orderTags = (order: Pick<OrderModel, 'id' | 'userId'>) => [`Order:${order.id}`, `User:${order.userId}`];
