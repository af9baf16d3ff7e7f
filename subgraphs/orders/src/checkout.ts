import { createHash, randomUUID } from 'node:crypto';
import {
  CURRENCY,
  DEFAULT_CHECKOUT_LIMITS,
  formatCents,
  MAX_ORDER_LINES,
  productNumber,
  toCents,
  type CheckoutLimits,
  type RegionCode,
} from '@shop/domain';
import { assertOwnerOrAdmin, badInput, codedError, notFound, type Logger, type Viewer } from '@shop/platform';
import type { Database, Write } from '@shop/subgraph-kit';
import { createCheckoutClaims, createOrderRepository, createOrderWrites, type CheckoutClaim, type NewOrderLine } from './db/repository.ts';
import { orderNumber } from './ids.ts';
import type { OrderModel } from './models.ts';
import { DependencyUnavailable, type ServiceClient } from './services.ts';

export interface PlaceOrderInput {
  idempotencyKey: string;
  region: RegionCode;
  lines: readonly { productId: string; quantity: number }[];
}

interface Quote {
  productId: string;
  unitPrice: { amount: string; currency: string } | null;
}

const MAX_KEY_LENGTH = 255;
/**
 * How long a retry waits for a concurrent attempt with the same key to finish, by default. It must
 * stay under the router's subgraph timeout (SUBGRAPH_TIMEOUT_MS, 10 s): a client sending the same
 * key many times at once would otherwise make the router time out on orders, and timeouts count
 * against the orders circuit that every other shopper's checkout goes through.
 */
export const DEFAULT_CONCURRENT_WAIT_MS = 5_000;

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
 *  4. write the order, its lines and the claim's completion in one transaction here.
 * Any failure after 3 releases the reservation (idempotent, retried by the sweeper if inventory
 * is down too) and drops the claim, so nothing half-done survives and the key can be retried.
 * Once an order is written (or cancelled) its tags go on the invalidation bus: the order, and its
 * user, whose order list changed. Inventory publishes the stock it moved itself.
 */
export function createCheckout({
  db,
  pricing,
  inventory,
  logger,
  abandonedAfterMs,
  write,
  limits = DEFAULT_CHECKOUT_LIMITS,
  concurrentWaitMs = DEFAULT_CONCURRENT_WAIT_MS,
}: {
  db: Database;
  pricing: ServiceClient;
  inventory: ServiceClient;
  logger: Logger;
  abandonedAfterMs: number;
  /** How long a retry waits for a concurrent attempt with its key (see DEFAULT_CONCURRENT_WAIT_MS). */
  concurrentWaitMs?: number;
  /** The subgraph's write outside any request (`services.writeFor()`): checkout's writes clear no request's loaders. */
  write: Write;
  limits?: CheckoutLimits;
}) {
  const repo = createOrderRepository(db);
  // Claims commit on their own, outside any write: they change nothing a cache shows (see createCheckoutClaims).
  const claims = createCheckoutClaims(db);

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

  async function execute(viewer: Viewer, input: PlaceOrderInput, claim: CheckoutClaim): Promise<OrderModel> {
    let reserved = false;
    try {
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
      return await write(async (tx) => {
        const writer = createOrderWrites(tx);
        const order = await writer.insertOrder({
          userId: viewer.userId,
          region: input.region,
          currency,
          total,
          idempotencyKey: input.idempotencyKey,
          reservationId: claim.reservationId,
        });
        await writer.insertLines(order.id, lines);
        await writer.completeClaim(claim.reservationId, order.id);
        return { value: order, tags: orderTags(order) };
      });
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
        if (claim) return execute(viewer, input, claim);
        const existing = await repo.checkoutByKey(viewer.userId, input.idempotencyKey);
        if (existing) {
          if (existing.requestHash !== requestHash) {
            throw codedError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different order; use a new key', {
              argument: 'idempotencyKey',
            });
          }
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

    async cancelOrder(viewer: Viewer | null, id: string): Promise<OrderModel> {
      if (orderNumber(id) === undefined) throw badInput(`"${id}" is not an order id`, { argument: 'id' });
      const order = await repo.orderForUpdate(id);
      if (!order) throw notFound(`There is no order ${id}`);
      assertOwnerOrAdmin(viewer, order.userId, 'this order');
      if (order.status === 'CANCELLED') return order;
      if (order.status !== 'PLACED') throw badInput(`Order ${id} is ${order.status.toLowerCase()} and can no longer be cancelled`);
      // Stock first: if inventory is down the order stays PLACED and the client can retry.
      if (order.reservationId) await inventory.call(RELEASE, { reservationId: order.reservationId });
      const cancelled = await write(async (tx) => {
        const row = await createOrderWrites(tx).cancelPlaced(id);
        return { value: row, tags: row ? orderTags(row) : [] };
      });
      // Undefined: a concurrent cancel got there first (and published).
      return cancelled ?? (await repo.orderForUpdate(id))!;
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
  };
}

export type Checkout = ReturnType<typeof createCheckout>;

function validate(input: PlaceOrderInput, { maxQuantityPerProduct, maxUnitsPerOrder }: CheckoutLimits): void {
  const { idempotencyKey, lines } = input;
  if (idempotencyKey.length < 1 || idempotencyKey.length > MAX_KEY_LENGTH) {
    throw badInput(`"idempotencyKey" must be 1 to ${MAX_KEY_LENGTH} characters`, { argument: 'idempotencyKey' });
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

/** An order changed, and so did its user's order list. */
const orderTags = (order: OrderModel) => [`Order:${order.id}`, `User:${order.userId}`];

/** Same payload, same hash: line order does not matter, everything else does. */
function hashRequest({ region, lines }: PlaceOrderInput): string {
  const canonical = [...lines].map((l) => [l.productId, l.quantity]).sort(([a], [b]) => String(a).localeCompare(String(b)));
  return createHash('sha256')
    .update(JSON.stringify({ region, lines: canonical }))
    .digest('hex');
}

/** Sum of unit price × quantity in integer cents, formatted back to a decimal string. */
export function sumCents(lines: readonly NewOrderLine[]): string {
  return formatCents(lines.reduce((sum, { unitPrice, quantity }) => sum + toCents(unitPrice) * BigInt(quantity), 0n));
}

function isCode(error: unknown, code: string): boolean {
  return (error as { extensions?: { code?: unknown } }).extensions?.code === code;
}

export { DependencyUnavailable };
