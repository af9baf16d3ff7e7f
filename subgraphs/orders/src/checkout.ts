import { createHash, randomUUID } from 'node:crypto';
import {
  CURRENCY,
  DEFAULT_CHECKOUT_LIMITS,
  formatCents,
  MAX_ORDER_LINES,
  parseCents,
  productNumber,
  toCents,
  type CheckoutLimits,
  type RegionCode,
} from '@shop/domain';
import { event } from '@shop/events';
import { badInput, codedError, type Logger, type Viewer } from '@shop/platform';
import type { Database, Write } from '@shop/subgraph-kit';
import {
  createCheckoutClaims,
  createOrderRepository,
  createOrderWrites,
  createPaymentRecords,
  type CheckoutClaim,
  type NewOrderLine,
} from './db/repository.ts';
import { keyExpired, orderTags, paymentError } from './errors.ts';
import type { OrderModel } from './models.ts';
import { PaymentRejected, type Authorization, type PaymentProvider } from './payments/port.ts';
import { DependencyUnavailable, type ServiceClient } from './services.ts';

export interface PlaceOrderInput {
  idempotencyKey: string;
  region: RegionCode;
  lines: readonly { productId: string; quantity: number }[];
  /** A provider token (`tok_visa`); part of the request hash. */
  paymentMethod: string;
}

interface Quote {
  productId: string;
  unitPrice: { amount: string; currency: string } | null;
}

const MAX_KEY_LENGTH = 255;
const MAX_PAYMENT_METHOD_LENGTH = 255;
/**
 * How long a retry waits for a concurrent attempt with the same key to finish, by default. It must
 * stay under the router's subgraph timeout (SUBGRAPH_TIMEOUT_MS, 10 s): a client sending the same
 * key many times at once would otherwise make the router time out on orders, and timeouts count
 * against the orders circuit that every other shopper's checkout goes through.
 */
export const DEFAULT_CONCURRENT_WAIT_MS = 5_000;

/** The order write found its payment taken by the sweeper (see takePayment). */
class PaymentSwept extends Error {}

const QUOTE = `query Quote($region: Region!, $productIds: [ID!]!) {
  quote(region: $region, productIds: $productIds) { productId unitPrice { amount currency } }
}`;
const RESERVE = `mutation Reserve($reservationId: ID!, $region: Region!, $lines: [ReserveLineInput!]!) {
  reserveStock(reservationId: $reservationId, region: $region, lines: $lines) { id status }
}`;
const RELEASE = `mutation Release($reservationId: ID!) { releaseStock(reservationId: $reservationId) { id status } }`;

/**
 * Checkout. The order of steps is what makes it safe:
 *  1. claim (user, idempotencyKey) in the orders database — concurrent retries wait for one outcome;
 *  2. quote every line from pricing — no price, no order (fails closed);
 *  3. reserve all lines in inventory in one transaction there — all or nothing, never oversold;
 *  4. record the payment as pending (committed on its own), then authorise the total with the
 *     provider under a key derived from (user, idempotencyKey) — every retry of this checkout asks
 *     with the same key, so the provider answers with its first result and charges at most once;
 *  5. write the order, its lines, the claim's completion and the payment's authorisation in one
 *     transaction here, with the events order.placed and payment.authorised.
 * Any failure after 3 releases the reservation (idempotent, retried by the sweeper if inventory
 * is down too) and drops the claim, so nothing half-done survives and the key can be retried.
 * A decline is final for the key (PAYMENT_DECLINED again on a retry); an unreachable provider
 * leaves the payment pending (PAYMENT_UNAVAILABLE), and the next attempt with the key or the
 * payment sweeper finds what the provider did. The events carry the cache tags: the order, and its
 * user, whose order list changed. Inventory announces the stock it moved itself.
 */
export function createCheckout({
  db,
  pricing,
  inventory,
  payments,
  logger,
  abandonedAfterMs,
  paymentSweepAfterMs,
  write,
  limits = DEFAULT_CHECKOUT_LIMITS,
  concurrentWaitMs = DEFAULT_CONCURRENT_WAIT_MS,
}: {
  db: Database;
  pricing: ServiceClient;
  inventory: ServiceClient;
  /** The payment provider, already resilient (timeout, retries with the same key, breaker). */
  payments: PaymentProvider;
  logger: Logger;
  abandonedAfterMs: number;
  /** A payment no order took, untouched this long, is swept (PAYMENT_SWEEP_AFTER_MS). */
  paymentSweepAfterMs: number;
  /** How long a retry waits for a concurrent attempt with its key (see DEFAULT_CONCURRENT_WAIT_MS). */
  concurrentWaitMs?: number;
  /** The subgraph's write outside any request (`services.writeFor()`): checkout's writes clear no request's loaders. */
  write: Write;
  limits?: CheckoutLimits;
}) {
  const repo = createOrderRepository(db);
  // Claims commit on their own, outside any write: they change nothing a cache shows (see createCheckoutClaims).
  const claims = createCheckoutClaims(db);
  const records = createPaymentRecords(db);

  async function release(reservationId: string): Promise<boolean> {
    try {
      await inventory.call(RELEASE, { reservationId });
      return true;
    } catch (error) {
      logger.warn({ err: error, reservationId }, 'could not release a reservation; the sweeper will retry');
      return false;
    }
  }

  /**
   * Undo a claim that will not become an order: stock back first, then the claim. When the
   * release cannot reach inventory the claim stays, marked failed, so that a retry with the same
   * key (or the sweeper) releases the reservation before anything else happens.
   */
  async function abandon(claim: CheckoutClaim, reserved: boolean): Promise<void> {
    if (reserved && !(await release(claim.reservationId))) {
      await claims.markClaimFailed(claim.reservationId);
      return;
    }
    await claims.dropClaim(claim.reservationId);
  }

  /**
   * A payment outcome with no order, as an event (and the payment's final status when there is
   * one). Reported, never thrown: the caller is already failing with the error the client needs.
   */
  async function paymentFailed(key: string, userId: string, reason: 'declined' | 'unavailable'): Promise<void> {
    try {
      await write(async (tx) => {
        if (reason === 'declined') await createOrderWrites(tx).settlePayment(key, 'declined', null);
        return { value: undefined, events: [event('payment.failed', key, { key, userId, reason }, [])] };
      });
    } catch (error) {
      logger.error({ err: error, key }, 'could not record a failed payment');
    }
  }

  /** Authorises, mapping every way the call can go wrong to what the client is told (no order in any of them). */
  async function authorise(key: string, userId: string, request: { token: string; amount: string; currency: string }) {
    let authorization: Authorization;
    try {
      authorization = await payments.authorize({ key, ...request });
    } catch (error) {
      if (error instanceof PaymentRejected) {
        // The provider refused the request itself (a malformed token, say): it did nothing, like a decline.
        await paymentFailed(key, userId, 'declined');
        throw paymentError('PAYMENT_DECLINED', 'The payment method was refused; nothing was ordered', { reason: error.code });
      }
      // Timeout, provider down, circuit open, or a fault we cannot read: the outcome is unknown, so
      // the payment stays pending for the next attempt with this key (or the sweeper) to find.
      logger.warn({ err: error, key }, 'payment provider unavailable');
      await paymentFailed(key, userId, 'unavailable');
      throw paymentError('PAYMENT_UNAVAILABLE', 'The payment provider is unavailable; nothing was ordered. Retry with the same key', {
        retryable: true,
      });
    }
    if (authorization.outcome === 'declined') {
      await paymentFailed(key, userId, 'declined');
      throw paymentError('PAYMENT_DECLINED', 'The payment was declined; nothing was ordered', { reason: authorization.reason });
    }
    if (
      authorization.status !== 'authorised' ||
      !sameAmount(authorization.amount, request.amount) ||
      authorization.currency !== request.currency
    ) {
      // The key's first result is not this order's (released by the sweeper, or another amount):
      // the payment stays pending and the sweeper releases whatever the provider holds.
      throw keyExpired('The payment made with this idempotency key can no longer be used');
    }
    return authorization;
  }

  /** The sweeper took this checkout's payment while the attempt ran: release what the provider holds. */
  async function voidSwept(key: string, paymentId: string): Promise<void> {
    try {
      await payments.void({ key: `void:${key}`, paymentId });
      await write(async (tx) => {
        await createOrderWrites(tx).settlePayment(key, 'voided', paymentId);
        return { value: undefined, events: [event('payment.voided', key, { paymentId, orderId: null, reason: 'abandoned' }, [])] };
      });
    } catch (error) {
      logger.error({ err: error, key, paymentId }, 'could not void the authorisation of a swept checkout');
    }
  }

  async function execute(viewer: Viewer, input: PlaceOrderInput, claim: CheckoutClaim, requestHash: string): Promise<OrderModel> {
    let reserved = false;
    const key = paymentKey(viewer.userId, input.idempotencyKey);
    try {
      // The payment row outlives failed attempts (their claims are dropped): it says what the key already did.
      const previous = await repo.paymentByKey(key);
      if (previous) {
        if (previous.requestHash !== requestHash) throw keyReused();
        if (previous.sweptAt || previous.status === 'voided' || previous.status === 'abandoned') {
          throw keyExpired('An earlier attempt with this idempotency key was abandoned and its payment released');
        }
        if (previous.status === 'declined') {
          throw paymentError('PAYMENT_DECLINED', 'The payment was declined; nothing was ordered', { reason: 'declined' });
        }
      }

      const productIds = input.lines.map((l) => l.productId);
      const { quote } = await pricing.call<{ quote: Quote[] }>(QUOTE, { region: input.region, productIds });
      const prices = new Map(quote.map((q) => [q.productId, q.unitPrice]));
      const unknown = productIds.filter((id) => !prices.get(id));
      if (unknown.length) throw badInput(`Not sold in ${input.region}: ${unknown.join(', ')}`, { productIds: unknown });

      // Past this call stock may be held (even when the call fails: the answer may be what was lost).
      reserved = true;
      await inventory.call(RESERVE, {
        reservationId: claim.reservationId,
        region: input.region,
        lines: input.lines.map(({ productId, quantity }) => ({ productId, quantity })),
      });

      const currency = CURRENCY[input.region];
      const lines: NewOrderLine[] = input.lines.map(({ productId, quantity }) => {
        const price = prices.get(productId)!;
        if (price.currency !== currency) throw new Error(`pricing quoted ${price.currency} for ${input.region}`);
        return { productId, quantity, unitPrice: price.amount };
      });
      const total = sumCents(lines);
      // The provider keeps the first amount asked under a key: a retry at another price cannot reuse it.
      if (previous && (previous.amount !== total || previous.currency !== currency)) {
        throw keyExpired('Prices changed since the first attempt with this idempotency key');
      }

      // On record before the provider is asked: a charge made while the call times out is then always found.
      await records.recordPending({
        key,
        userId: viewer.userId,
        idempotencyKey: input.idempotencyKey,
        requestHash,
        amount: total,
        currency,
      });
      const authorization = await authorise(key, viewer.userId, { token: input.paymentMethod, amount: total, currency });
      const { paymentId } = authorization;
      try {
        return await write(async (tx) => {
          const writer = createOrderWrites(tx);
          const order = await writer.insertOrder({
            userId: viewer.userId,
            region: input.region,
            currency,
            total,
            idempotencyKey: input.idempotencyKey,
            reservationId: claim.reservationId,
            paymentId,
          });
          await writer.insertLines(order.id, lines);
          await writer.completeClaim(claim.reservationId, order.id);
          if (!(await writer.takePayment(key, paymentId, order.id))) throw new PaymentSwept();
          return {
            value: order,
            events: [
              event(
                'order.placed',
                order.id,
                {
                  orderId: order.id,
                  userId: order.userId,
                  region: order.region,
                  currency,
                  total,
                  reservationId: claim.reservationId,
                  paymentId,
                  lines: lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })),
                },
                orderTags(order),
              ),
              event('payment.authorised', key, { paymentId, key, userId: viewer.userId, amount: total, currency }, []),
            ],
          };
        });
      } catch (error) {
        if (!(error instanceof PaymentSwept)) throw error;
        await voidSwept(key, paymentId);
        throw keyExpired('This checkout took too long and its payment was released');
      }
    } catch (error) {
      // OUT_OF_STOCK means inventory reserved nothing; releasing an unknown reservation is harmless anyway.
      await abandon(claim, reserved && !isCode(error, 'OUT_OF_STOCK')).catch((e) => logger.error({ err: e }, 'checkout cleanup failed'));
      throw error;
    }
  }

  return {
    async placeOrder(viewer: Viewer, input: PlaceOrderInput): Promise<OrderModel> {
      validate(input, limits);
      const requestHash = hashRequest(input);
      const deadline = Date.now() + concurrentWaitMs;
      for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
        const claim = await claims.claimCheckout(viewer.userId, input.idempotencyKey, requestHash, randomUUID());
        if (claim) return execute(viewer, input, claim, requestHash);
        const existing = await repo.checkoutByKey(viewer.userId, input.idempotencyKey);
        if (existing) {
          if (existing.requestHash !== requestHash) throw keyReused();
          if (existing.orderId) {
            const order = await repo.orderForUpdate(existing.orderId);
            if (order) return order;
          }
          if (existing.failedAt) {
            // An earlier attempt failed and still holds (or may hold) stock: give it back, then start over.
            if (!(await release(existing.reservationId))) throw new DependencyUnavailable('inventory');
            await claims.dropClaim(existing.reservationId);
            continue;
          }
        }
        // Someone else is placing this very order: wait for their outcome (or for their claim to go).
        if (Date.now() > deadline) {
          throw codedError('DEPENDENCY_UNAVAILABLE', 'An earlier attempt with this idempotency key is still in progress; retry shortly');
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    },

    /** Releases the stock of checkouts that never finished (a crash between reserve and write). */
    async sweepAbandoned(olderThanMs = abandonedAfterMs): Promise<number> {
      let swept = 0;
      for (const claim of await repo.abandonedClaims(olderThanMs)) {
        if (await release(claim.reservationId)) {
          await claims.dropClaim(claim.reservationId);
          swept++;
        }
      }
      return swept;
    },

    /**
     * Settles payments no order took (a crash or a timeout after the provider charged, a client
     * that never retried): untouched for `olderThanMs` and with no attempt in progress. What the
     * provider holds under the key is voided (payment.voided, reason abandoned); a key it has
     * nothing for is marked abandoned. Either way the key is spent: a retry with it answers
     * IDEMPOTENCY_KEY_EXPIRED, telling the client to start over with a new key. Run after
     * sweepAbandoned, which drops the claims of crashed attempts and so makes their payments eligible.
     */
    async sweepPayments(olderThanMs = paymentSweepAfterMs): Promise<number> {
      let settled = 0;
      for (const payment of await records.unclaimedPayments(olderThanMs)) {
        // Taken first, so that no attempt can write an order with this payment from here on.
        if (!(await records.sweep(payment.key))) continue;
        try {
          const found = await payments.find(payment.key);
          if (found?.outcome === 'authorised') {
            if (found.status === 'captured') {
              // Only a ship captures, and only an order's payment: this is a bug to look at, not to guess about.
              logger.error({ key: payment.key, paymentId: found.paymentId }, 'a payment with no order was captured');
              continue;
            }
            if (found.status === 'authorised') await payments.void({ key: `void:${payment.key}`, paymentId: found.paymentId });
            await write(async (tx) => {
              await createOrderWrites(tx).settlePayment(payment.key, 'voided', found.paymentId);
              return {
                value: undefined,
                events: [event('payment.voided', payment.key, { paymentId: found.paymentId, orderId: null, reason: 'abandoned' }, [])],
              };
            });
          } else {
            await records.markSwept(payment.key, found ? 'declined' : 'abandoned');
          }
          settled++;
        } catch (error) {
          // The row stays taken (swept_at): the next sweep tries again.
          logger.warn({ err: error, key: payment.key }, 'could not settle an abandoned payment; the next sweep retries');
        }
      }
      return settled;
    },
  };
}

export type Checkout = ReturnType<typeof createCheckout>;

function validate(input: PlaceOrderInput, { maxQuantityPerProduct, maxUnitsPerOrder }: CheckoutLimits): void {
  const { idempotencyKey, lines, paymentMethod } = input;
  if (idempotencyKey.length < 1 || idempotencyKey.length > MAX_KEY_LENGTH) {
    throw badInput(`"idempotencyKey" must be 1 to ${MAX_KEY_LENGTH} characters`, { argument: 'idempotencyKey' });
  }
  if (paymentMethod.length < 1 || paymentMethod.length > MAX_PAYMENT_METHOD_LENGTH) {
    throw badInput(`"paymentMethod" must be 1 to ${MAX_PAYMENT_METHOD_LENGTH} characters`, { argument: 'paymentMethod' });
  }
  if (lines.length < 1 || lines.length > MAX_ORDER_LINES)
    throw badInput(`An order has 1 to ${MAX_ORDER_LINES} lines`, { argument: 'lines' });
  const seen = new Set<string>();
  let units = 0;
  for (const { productId, quantity } of lines) {
    if (productNumber(productId) === undefined) throw badInput(`"${productId}" is not a product id`, { argument: 'lines' });
    if (seen.has(productId)) throw badInput(`${productId} appears on more than one line; combine them`, { argument: 'lines' });
    seen.add(productId);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > maxQuantityPerProduct) {
      throw badInput(`Quantity for ${productId} must be 1 to ${maxQuantityPerProduct}`, {
        argument: 'lines',
        productId,
        max: maxQuantityPerProduct,
      });
    }
    units += quantity;
  }
  if (units > maxUnitsPerOrder) {
    throw badInput(`An order holds at most ${maxUnitsPerOrder} units in all; this one has ${units}`, {
      argument: 'lines',
      max: maxUnitsPerOrder,
    });
  }
}

const keyReused = () =>
  codedError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different order; use a new key', {
    argument: 'idempotencyKey',
  });

/** Same payload, same hash: line order does not matter, everything else (the payment method too) does. */
function hashRequest({ region, lines, paymentMethod }: PlaceOrderInput): string {
  const canonical = [...lines].map((l) => [l.productId, l.quantity]).sort(([a], [b]) => String(a).localeCompare(String(b)));
  return createHash('sha256')
    .update(JSON.stringify({ region, lines: canonical, paymentMethod }))
    .digest('hex');
}

/**
 * The key the provider sees for a checkout: the same for every attempt with one (user,
 * idempotencyKey), so a retry finds the first attempt's authorisation; and not the client's key
 * itself, which is unique only per user.
 */
export function paymentKey(userId: string, idempotencyKey: string): string {
  return `chk_${createHash('sha256')
    .update(JSON.stringify([userId, idempotencyKey]))
    .digest('hex')}`;
}

/** Sum of unit price × quantity in integer cents, formatted back to a decimal string. */
export function sumCents(lines: readonly NewOrderLine[]): string {
  return formatCents(lines.reduce((sum, { unitPrice, quantity }) => sum + toCents(unitPrice) * BigInt(quantity), 0n));
}

/** Equal amounts however the provider writes them ("37.5" and "37.50"); never equal when either is not an amount. */
function sameAmount(a: string, b: string): boolean {
  const [x, y] = [parseCents(a), parseCents(b)];
  return x !== undefined && x === y;
}

function isCode(error: unknown, code: string): boolean {
  return (error as { extensions?: { code?: unknown } }).extensions?.code === code;
}

export { DependencyUnavailable };
