/**
 * The event catalogue: every event type the subgraphs publish, with the shape of its `data`.
 * The README's "Events" section documents the same list for people; `catalogue.test.ts` checks
 * that the two agree, so neither can drift.
 *
 * A type is `<aggregate>.<event>`; its subject on the stream is `shop.<aggregate>.<event>`.
 * Amounts are decimal strings in the currency's major unit ("1299.00"), never floats; times are
 * ISO 8601 strings; ids are the API's ids (`p42`, `o17`, `u3`, `w2`).
 */
export interface EventData {
  'product.created': { productId: string; sku: string; name: string; categoryId: string; brand: string };
  /** `changed` names the fields the edit set (name, description, brand, categoryId, imageUrl, weightGrams). */
  'product.updated': { productId: string; changed: string[] };
  'product.discontinued': { productId: string };
  /** The list price in one region; what a customer pays also depends on promotions. */
  'price.changed': { productId: string; region: string; currency: string; amount: string };
  'promotion.started': PromotionData;
  'promotion.ended': { promotionId: string; region: string; productIds: string[]; endedAt: string };
  /** A promotion created to start later (or already over): lists of promotions show it; no price moves yet. */
  'promotion.scheduled': PromotionData;
  /**
   * Stock of one product moved. `reason`: `adjusted` (an admin), `reserved` (a checkout),
   * `released` (a failed or cancelled checkout), `shipped` (a reservation left the warehouse).
   * `available`/`reserved` are the product's totals over all warehouses after the change.
   */
  'stock.changed': {
    productId: string;
    reason: 'adjusted' | 'reserved' | 'released' | 'shipped';
    available: number;
    reserved: number;
  };
  'order.placed': {
    orderId: string;
    userId: string;
    region: string;
    currency: string;
    total: string;
    reservationId: string;
    paymentId: string;
    lines: { productId: string; quantity: number; unitPrice: string }[];
  };
  'order.cancelled': { orderId: string; userId: string; reservationId: string | null };
  'order.shipped': { orderId: string; userId: string; reservationId: string | null };
  'order.delivered': { orderId: string; userId: string };
  /** `paymentId` is the provider's authorisation id; `key` the idempotency key it was made with. */
  'payment.authorised': { paymentId: string; key: string; userId: string; amount: string; currency: string };
  'payment.captured': { paymentId: string; orderId: string; amount: string; currency: string };
  'payment.voided': { paymentId: string; orderId: string | null; reason: 'cancelled' | 'abandoned' };
  /** No order was placed. `reason`: `declined` (the card), `unavailable` (the provider could not be reached in time). */
  'payment.failed': { key: string; userId: string; reason: 'declined' | 'unavailable' };
  'user.created': { userId: string; region: string };
}

export type EventType = keyof EventData;

/** A promotion as promotion.started and promotion.scheduled carry it. */
export interface PromotionData {
  promotionId: string;
  region: string;
  discountPercent: number;
  productIds: string[];
  startsAt: string;
  endsAt: string;
}

/** One line per type, for the README's catalogue and for logs. */
export const EVENT_TYPES: Readonly<Record<EventType, string>> = {
  'product.created': 'an admin added a product to the catalogue',
  'product.updated': 'an admin edited a product (name, description, brand, category, image, weight)',
  'product.discontinued': 'an admin withdrew a product: it can no longer be ordered',
  'price.changed': "an admin set a product's list price in a region",
  'promotion.started': 'a promotion began (created active, or its start time passed)',
  'promotion.ended': 'a promotion stopped (ended by an admin, or its end time passed)',
  'promotion.scheduled': 'an admin created a promotion that starts later (or is already over): no price moves yet',
  'stock.changed': "a product's stock moved (adjusted, reserved, released or shipped)",
  'order.placed': 'a checkout succeeded: payment authorised, stock reserved',
  'order.cancelled': 'an order was cancelled: authorisation voided, stock released',
  'order.shipped': 'an order left the warehouse: payment captured; inventory turns its reservation into a shipment',
  'order.delivered': 'an order reached its customer',
  'payment.authorised': 'the provider authorised a checkout’s amount',
  'payment.captured': 'the provider captured an authorisation (the customer is charged)',
  'payment.voided': 'an authorisation was released without charging (cancelled order, or abandoned checkout)',
  'payment.failed': 'a checkout could not be paid (declined, or provider unavailable); no order',
  'user.created': 'a customer signed up',
};

/** The aggregate of a type: `order` for `order.shipped`. */
export const aggregateOf = (type: EventType): string => type.slice(0, type.indexOf('.'));
