import type { EventEnvelope, EventType } from '@shop/events';
import type { Logger } from '@shop/platform';
import type { EventConsumerDefinition, WriteTransaction, Written } from '@shop/subgraph-kit';
import { createInventoryWrites } from './db/repository.ts';
import type { ReservationModel } from './models.ts';
import { stockChanged } from './stock.ts';
import { MAX_RESERVATION_ID_LENGTH } from './validation.ts';

/**
 * What shipping a reservation did: `shipped` (this call moved the stock), `already` (it had
 * shipped or been released before: nothing to do), `unknown` (no such reservation).
 */
export type ShipmentOutcome =
  | { outcome: 'shipped'; reservation: ReservationModel }
  | { outcome: 'already'; reservation: ReservationModel }
  | { outcome: 'unknown' };

/**
 * Turns a HELD reservation into a shipment, in the write's transaction: each line's units leave
 * `reserved` (its `available` went down when it was reserved and stays), the reservation becomes
 * SHIPPED, and one stock.changed event (reason `shipped`) goes out per product. Only a HELD
 * reservation moves: the row lock makes concurrent calls take turns and the status update is
 * conditional, so however often this runs for one reservation, its stock moves once (the second
 * guard behind the consumer's processed_events row, for the same order shipped under two event ids).
 */
export async function shipReservation(tx: WriteTransaction, reservationId: string): Promise<Written<ShipmentOutcome>> {
  const writes = createInventoryWrites(tx);
  // Locked in the same order as releaseStock (reservation, then its stock rows): a cancel racing a
  // shipment waits for it, then finds SHIPPED and gives nothing back.
  const reservation = await writes.lockReservation(reservationId);
  if (!reservation) return { value: { outcome: 'unknown' }, events: [] };
  if (reservation.status !== 'HELD') return { value: { outcome: 'already', reservation }, events: [] };
  await writes.lockStockRows(reservation.lines);
  if ((await writes.shipStock(reservation.lines)) !== reservation.lines.length) {
    throw new Error(`reservation ${reservationId} holds more than its stock rows have reserved`);
  }
  if (!(await writes.markShipped(reservationId))) throw new Error(`reservation ${reservationId} changed under a row lock`);
  const shipped: ReservationModel = { ...reservation, status: 'SHIPPED' };
  return {
    value: { outcome: 'shipped', reservation: shipped },
    events: await stockChanged(
      writes,
      reservation.lines.map((line) => line.productId),
      'shipped',
    ),
  };
}

/** The version of order.shipped's data this consumer reads (see the envelope's `version`). */
const ORDER_SHIPPED_VERSION = 1;

const isType = <T extends EventType>(event: EventEnvelope, type: T): event is EventEnvelope<T> => event.type === type;

/**
 * The reservation id an order.shipped event names: a string or null (an order placed without a
 * reservation). Anything else is a malformed event: throwing sends it, after its retries, to the
 * dead-letter subject, where someone can look at it, rather than acking something not understood.
 */
function reservationIdOf(event: EventEnvelope): string | null {
  if (!isType(event, 'order.shipped')) throw new Error(`order-shipped consumer got a ${event.type} event`);
  if (event.version !== ORDER_SHIPPED_VERSION) throw new Error(`order.shipped version ${event.version} is not one this consumer reads`);
  const { reservationId } = event.data;
  if (reservationId === null) return null;
  if (typeof reservationId !== 'string' || reservationId.length === 0 || reservationId.length > MAX_RESERVATION_ID_LENGTH) {
    throw new Error('order.shipped carries no valid reservationId');
  }
  return reservationId;
}

/**
 * The durable consumer of order.shipped (`inventory-order-shipped` on the stream): the order's
 * reservation becomes a shipment. The kit runs `handle` in one write with the event's
 * processed_events row, so a redelivered event changes nothing; the reservation's conditional
 * HELD -> SHIPPED transition (shipReservation) is the second guard. A handler that throws leaves
 * nothing behind, and the stream delivers the event again.
 *
 * No-ops, acknowledged rather than retried (retrying could never change their answer):
 *  - no reservationId: nothing was reserved for the order;
 *  - the reservation already SHIPPED (the order shipped under another event id) or RELEASED (the
 *    order was cancelled, or its checkout failed, before it shipped: nothing is left to ship): info;
 *  - an unknown reservation: warning. It happens to orders whose reservation inventory never kept
 *    (orders seeded without one, an inventory database reset or restored from before the checkout),
 *    and to a reservation removed by housekeeping; there is no stock to move either way, and the
 *    warning names the order so someone can reconcile its stock by hand (adjustStock).
 */
export function orderShippedConsumer(logger: Pick<Logger, 'info' | 'warn'>): EventConsumerDefinition {
  return {
    name: 'order-shipped',
    types: ['order.shipped'],
    async handle(event, tx) {
      const reservationId = reservationIdOf(event);
      const orderId = (event.data as { orderId?: unknown }).orderId;
      if (reservationId === null) {
        logger.info({ eventId: event.id, orderId }, 'order shipped without a reservation: no stock to move');
        return [];
      }
      const { value, events } = await shipReservation(tx, reservationId);
      if (value.outcome === 'unknown') {
        logger.warn(
          { eventId: event.id, orderId, reservationId },
          'order shipped with a reservation inventory does not know: no stock moved',
        );
      } else if (value.outcome === 'already') {
        logger.info(
          { eventId: event.id, orderId, reservationId, status: value.reservation.status },
          'order shipped with a reservation that is no longer held: no stock moved',
        );
      }
      return events;
    },
  };
}
