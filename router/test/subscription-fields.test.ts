import { createEnvelope, type EventData, type EventType, EVENT_TYPES } from '@shop/events';
import type { Viewer } from '@shop/platform';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SUBSCRIPTION_DEFAULTS, type SubscriptionConfig } from '../src/config.ts';
import { eventKeys, SUBSCRIPTION_FIELDS } from '../src/subscriptions/fields.ts';

const config: SubscriptionConfig = { enabled: true, ...SUBSCRIPTION_DEFAULTS };
const viewer: Viewer = { userId: 'u3', scopes: [] };

const promotion = { promotionId: 'pr1', region: 'eu', discountPercent: 10, productIds: ['p1', 'p2'], startsAt: '', endsAt: '' };

/**
 * One event of every catalogue type with the keys it reaches: a `Record<EventType, …>`, so a type
 * added to the catalogue does not compile here until someone says which subscriptions hear it.
 */
const CASES: { [T in EventType]: { data: EventData[T]; keys: { key: string; entityId: string }[] } } = {
  'order.placed': {
    data: {
      orderId: 'o1',
      userId: 'u3',
      region: 'eu',
      currency: 'EUR',
      total: '10.00',
      reservationId: 'r1',
      paymentId: 'pay1',
      lines: [{ productId: 'p1', quantity: 1, unitPrice: '10.00' }],
    },
    keys: [
      { key: 'order:o1', entityId: 'o1' },
      { key: 'orders-of:u3', entityId: 'o1' },
    ],
  },
  'order.shipped': {
    data: { orderId: 'o2', userId: 'u3', reservationId: null },
    keys: [
      { key: 'order:o2', entityId: 'o2' },
      { key: 'orders-of:u3', entityId: 'o2' },
    ],
  },
  'order.delivered': {
    data: { orderId: 'o3', userId: 'u4' },
    keys: [
      { key: 'order:o3', entityId: 'o3' },
      { key: 'orders-of:u4', entityId: 'o3' },
    ],
  },
  'order.cancelled': {
    data: { orderId: 'o4', userId: 'u5', reservationId: 'r4' },
    keys: [
      { key: 'order:o4', entityId: 'o4' },
      { key: 'orders-of:u5', entityId: 'o4' },
    ],
  },
  'product.created': {
    data: { productId: 'p1', sku: 'S', name: 'N', categoryId: 'c1', brand: 'B' },
    keys: [{ key: 'product:p1', entityId: 'p1' }],
  },
  'product.updated': { data: { productId: 'p2', changed: ['name'] }, keys: [{ key: 'product:p2', entityId: 'p2' }] },
  'product.discontinued': { data: { productId: 'p3' }, keys: [{ key: 'product:p3', entityId: 'p3' }] },
  'price.changed': {
    data: { productId: 'p4', region: 'eu', currency: 'EUR', amount: '1.00' },
    keys: [{ key: 'product:p4', entityId: 'p4' }],
  },
  'stock.changed': {
    data: { productId: 'p5', reason: 'adjusted', available: 1, reserved: 0 },
    keys: [{ key: 'product:p5', entityId: 'p5' }],
  },
  'promotion.started': {
    data: promotion,
    keys: [
      { key: 'product:p1', entityId: 'p1' },
      { key: 'product:p2', entityId: 'p2' },
    ],
  },
  'promotion.ended': {
    data: { promotionId: 'pr1', region: 'eu', productIds: ['p6', 'p7'], endedAt: '' },
    keys: [
      { key: 'product:p6', entityId: 'p6' },
      { key: 'product:p7', entityId: 'p7' },
    ],
  },
  // Scheduled: no price moves yet, so nobody watching a product hears of it.
  'promotion.scheduled': { data: promotion, keys: [] },
  // Payments come with the order event of the same write, which answers both.
  'payment.authorised': { data: { paymentId: 'pay1', key: 'k', userId: 'u3', amount: '1.00', currency: 'EUR' }, keys: [] },
  'payment.captured': { data: { paymentId: 'pay1', orderId: 'o1', amount: '1.00', currency: 'EUR' }, keys: [] },
  'payment.voided': { data: { paymentId: 'pay1', orderId: 'o1', reason: 'cancelled' }, keys: [] },
  'payment.failed': { data: { key: 'k', userId: 'u3', reason: 'declined' }, keys: [] },
  'user.created': { data: { userId: 'u9', region: 'eu' }, keys: [] },
};

const envelope = <T extends EventType>(type: T, data: EventData[T]) => createEnvelope({ type, aggregateId: 'x', data, tags: [] } as never);

const refusal = (fn: () => unknown): GraphQLError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected a refusal');
};

describe('eventKeys', () => {
  it('covers every type of the catalogue', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
  });

  for (const [type, { data, keys }] of Object.entries(CASES) as [EventType, (typeof CASES)[EventType]][]) {
    it(`${type} → ${keys.map((k) => k.key).join(', ') || 'no keys'}`, () => {
      expect(eventKeys(envelope(type, data as never))).toEqual(keys);
    });
  }

  it('reaches no key when the data lacks the ids it needs, and only the order when the owner is missing', () => {
    expect(eventKeys(envelope('order.shipped', { orderId: '', userId: 'u3', reservationId: null }))).toEqual([]);
    expect(eventKeys(envelope('order.delivered', { orderId: 'o1' } as never))).toEqual([{ key: 'order:o1', entityId: 'o1' }]);
    expect(eventKeys(envelope('stock.changed', {} as never))).toEqual([]);
    expect(eventKeys(envelope('promotion.ended', { productIds: ['p1', 7, null] } as never))).toEqual([
      { key: 'product:p1', entityId: 'p1' },
    ]);
    expect(eventKeys(envelope('promotion.started', {} as never))).toEqual([]);
    expect(eventKeys({ ...envelope('user.created', { userId: 'u1', region: 'eu' }), type: 'unknown.type' as EventType })).toEqual([]);
  });
});

describe('SUBSCRIPTION_FIELDS', () => {
  const { orderUpdated, myOrderUpdates, productUpdated } = SUBSCRIPTION_FIELDS;

  it('answers each field with its query field and listens on the keys eventKeys gives', () => {
    expect(orderUpdated!.queryField).toBe('order');
    expect(myOrderUpdates!.queryField).toBe('order');
    expect(productUpdated!.queryField).toBe('product');
    expect(orderUpdated!.keys({ id: 'o1' }, viewer, config)).toEqual(['order:o1']);
    expect(myOrderUpdates!.keys({}, viewer, config)).toEqual(['orders-of:u3']);
    expect(productUpdated!.keys({ ids: ['p1', 'p2'] }, null, config)).toEqual(['product:p1', 'product:p2']);
    // What the subscriptions listen on is what the events reach.
    const placed = eventKeys(envelope('order.placed', CASES['order.placed'].data)).map((k) => k.key);
    expect(placed).toEqual([...orderUpdated!.keys({ id: 'o1' }, viewer, config), ...myOrderUpdates!.keys({}, viewer, config)]);
  });

  it('checks access to the order of orderUpdated at subscribe time, and snapshots what a resume from outside the window needs', () => {
    expect(orderUpdated!.checkIds?.({ id: 'o1' })).toEqual(['o1']);
    expect(myOrderUpdates!.checkIds).toBeUndefined();
    expect(productUpdated!.checkIds).toBeUndefined();
    expect(orderUpdated!.snapshotIds({ id: 'o1' })).toEqual(['o1']);
    expect(myOrderUpdates!.snapshotIds({})).toEqual([]);
    expect(productUpdated!.snapshotIds({ ids: ['p1', 'p2', 'p1'] })).toEqual(['p1', 'p2']);
  });

  it('refuses the order subscriptions without a signed-in viewer', () => {
    expect(refusal(() => orderUpdated!.keys({ id: 'o1' }, null, config)).extensions.code).toBe('UNAUTHENTICATED');
    expect(refusal(() => myOrderUpdates!.keys({}, null, config)).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('collapses duplicate product ids and holds productUpdated to 1..SUBSCRIPTION_MAX_PRODUCT_IDS distinct ids', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i + 1}`);
    const small = { ...config, maxProductIds: 3 };
    expect(productUpdated!.keys({ ids: ['p1', 'p1', 'p2', 'p1'] }, viewer, config)).toEqual(['product:p1', 'product:p2']);
    // Duplicates do not count against the bound.
    expect(productUpdated!.keys({ ids: [...ids(3), ...ids(3)] }, viewer, small)).toHaveLength(3);
    expect(productUpdated!.keys({ ids: ids(config.maxProductIds) }, viewer, config)).toHaveLength(config.maxProductIds);

    const over = refusal(() => productUpdated!.keys({ ids: ids(config.maxProductIds + 1) }, viewer, config));
    expect(over.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'ids', maxIds: config.maxProductIds });
    expect(refusal(() => productUpdated!.keys({ ids: ids(4) }, viewer, small)).extensions.code).toBe('BAD_USER_INPUT');
    expect(refusal(() => productUpdated!.keys({ ids: [] }, viewer, config)).extensions.code).toBe('BAD_USER_INPUT');
  });
});
