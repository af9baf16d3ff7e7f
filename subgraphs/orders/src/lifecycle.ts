import { type AnyNewEvent, event } from '@shop/events';
import { assertOwnerOrAdmin, badInput, notFound, requireAdmin, type Logger, type Viewer } from '@shop/platform';
import type { Database, Write } from '@shop/subgraph-kit';
import { createOrderRepository, createOrderWrites } from './db/repository.ts';
import { forbiddenTransition, orderTags, paymentError } from './errors.ts';
import { orderNumber } from './ids.ts';
import type { OrderModel } from './models.ts';
import { PaymentRejected, type PaymentProvider } from './payments/port.ts';
import type { ServiceClient } from './services.ts';

const RELEASE = `mutation Release($reservationId: ID!) { releaseStock(reservationId: $reservationId) { id status } }`;

/**
 * An order's life after checkout: PLACED → SHIPPED → DELIVERED, or PLACED → CANCELLED.
 *
 * Money moves first, then the order: a ship captures, a cancel voids, and only then does the
 * status change (with its events, in one transaction). When the provider cannot be reached the
 * order stays where it was (PAYMENT_UNAVAILABLE) and the move can be retried: the provider keys
 * (`capture:<orderId>`, `void:<orderId>`) make a repeated call answer with the first result, so a
 * retry after a capture whose answer was lost charges once.
 *
 * Every move is a conditional UPDATE from the status it starts at: of two concurrent ships both
 * capture under the one key (the provider charges once) and exactly one writes; the other answers
 * as a ship of a SHIPPED order does, BAD_USER_INPUT with extensions.currentStatus. Repeats are
 * errors too (shipping a SHIPPED order, delivering a DELIVERED one), so an operator's double
 * click is visible; the one exception is cancelling a CANCELLED order, which returns it (it always
 * has, and a customer's retry of a cancel should not look like a failure).
 *
 * Orders does not call inventory at ship time: inventory consumes order.shipped and turns the
 * reservation into a shipment itself. Orders placed before payments existed (no paymentId; the
 * seed's, or PLACED ones left in a database from before migration 003) are never shipped unpaid:
 * shipOrder refuses them (BAD_USER_INPUT), and cancelling one moves no money.
 */
export function createLifecycle({
  db,
  inventory,
  payments,
  write,
  logger,
}: {
  db: Database;
  inventory: ServiceClient;
  payments: PaymentProvider;
  /** The subgraph's write outside any request (`services.writeFor()`). */
  write: Write;
  logger: Logger;
}) {
  const repo = createOrderRepository(db);

  async function load(id: string) {
    if (orderNumber(id) === undefined) throw badInput(`"${id}" is not an order id`, { argument: 'id' });
    const order = await repo.orderForUpdate(id);
    if (!order) throw notFound(`There is no order ${id}`);
    return order;
  }

  /** One provider call for a move; the order has not changed when this throws. */
  async function moveMoney(order: OrderModel, operation: 'capture' | 'void', call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (error instanceof PaymentRejected) {
        logger.error({ err: error, orderId: order.id, operation }, 'the payment provider refused a lifecycle call');
        throw paymentError('PAYMENT_DECLINED', `The payment provider refused to ${operation} the payment of ${order.id}`, {
          operation,
          reason: error.code,
        });
      }
      logger.warn({ err: error, orderId: order.id, operation }, 'payment provider unavailable');
      throw paymentError(
        'PAYMENT_UNAVAILABLE',
        `The payment provider is unavailable; order ${order.id} is still ${order.status}. Retry shortly`,
        { operation, retryable: true },
      );
    }
  }

  /** After a conditional move found nothing: a concurrent move won; report where the order is now. */
  async function lostRace(id: string, action: string): Promise<never> {
    throw forbiddenTransition((await repo.orderForUpdate(id))!, action);
  }

  return {
    async shipOrder(viewer: Viewer | null, id: string): Promise<OrderModel> {
      requireAdmin(viewer, 'Only admins can ship orders');
      const order = await load(id);
      if (order.status !== 'PLACED') throw forbiddenTransition(order, 'shipped');
      const { paymentId } = order;
      if (!paymentId)
        throw badInput(`Order ${id} has no payment on record and cannot be shipped; cancel it`, { currentStatus: order.status });
      const payment = await repo.paymentOfOrder(id);
      await moveMoney(order, 'capture', () => payments.capture({ key: `capture:${id}`, paymentId }));
      const shipped = await write(async (tx) => {
        const writes = createOrderWrites(tx);
        const row = await writes.transition(id, 'PLACED', 'SHIPPED');
        if (!row) return { value: undefined };
        const events: AnyNewEvent[] = [
          event('order.shipped', id, { orderId: id, userId: row.userId, reservationId: order.reservationId }, orderTags(row)),
        ];
        await writes.settleOrderPayment(id, 'captured');
        events.push(
          event('payment.captured', payment?.key ?? paymentId, { paymentId, orderId: id, amount: row.total, currency: row.currency }, []),
        );
        return { value: row, events };
      });
      return shipped ?? lostRace(id, 'shipped');
    },

    async deliverOrder(viewer: Viewer | null, id: string): Promise<OrderModel> {
      requireAdmin(viewer, 'Only admins can deliver orders');
      const order = await load(id);
      if (order.status !== 'SHIPPED') throw forbiddenTransition(order, 'delivered');
      const delivered = await write(async (tx) => {
        const row = await createOrderWrites(tx).transition(id, 'SHIPPED', 'DELIVERED');
        if (!row) return { value: undefined };
        return { value: row, events: [event('order.delivered', id, { orderId: id, userId: row.userId }, orderTags(row))] };
      });
      return delivered ?? lostRace(id, 'delivered');
    },

    async cancelOrder(viewer: Viewer | null, id: string): Promise<OrderModel> {
      const order = await load(id);
      assertOwnerOrAdmin(viewer, order.userId, 'this order');
      if (order.status === 'CANCELLED') return order;
      if (order.status !== 'PLACED') throw forbiddenTransition(order, 'cancelled');
      const { paymentId } = order;
      const payment = paymentId ? await repo.paymentOfOrder(id) : undefined;
      // Money, then stock, then the order: if either call fails the order stays PLACED and the
      // client can retry (the void's key answers a repeat with its first result).
      if (paymentId) await moveMoney(order, 'void', () => payments.void({ key: `void:${id}`, paymentId }));
      if (order.reservationId) await inventory.call(RELEASE, { reservationId: order.reservationId });
      const cancelled = await write(async (tx) => {
        const writes = createOrderWrites(tx);
        const row = await writes.transition(id, 'PLACED', 'CANCELLED');
        if (!row) return { value: undefined };
        const events: AnyNewEvent[] = [
          event('order.cancelled', id, { orderId: id, userId: row.userId, reservationId: order.reservationId }, orderTags(row)),
        ];
        if (paymentId) {
          await writes.settleOrderPayment(id, 'voided');
          events.push(event('payment.voided', payment?.key ?? paymentId, { paymentId, orderId: id, reason: 'cancelled' }, []));
        }
        return { value: row, events };
      });
      if (cancelled) return cancelled;
      // A concurrent cancel got there first (and announced it); anything else is a move it lost to.
      const now = (await repo.orderForUpdate(id))!;
      if (now.status === 'CANCELLED') return now;
      throw forbiddenTransition(now, 'cancelled');
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
