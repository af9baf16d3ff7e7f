import type { EventEnvelope } from '@shop/events';
import type { Viewer } from '@shop/platform';
import { GraphQLError } from 'graphql';
import type { SubscriptionConfig } from '../config.ts';

/**
 * What each `Subscription` field listens to and how each event is answered. @apollo/gateway plans
 * no subscriptions, so an event names its entity (`Order o42`) and the router answers the
 * subscriber's selection as a query of that entity through a root query field: planning,
 * batching, auth, limits and caches are the ones queries use.
 *
 * A key is what an event and a subscription meet on: `order:o42` (that order), `orders-of:u3`
 * (every order of that customer), `product:p7`.
 */
export interface SubscriptionField {
  /** The root query field that answers one event: `order(id:)`, `product(id:)`. */
  queryField: 'order' | 'product';
  /** The keys this subscription listens on, from its (coerced) arguments and its viewer; throws on arguments out of bounds. */
  keys(args: Record<string, unknown>, viewer: Viewer | null, config: SubscriptionConfig): string[];
  /** Entities whose current state a subscriber is allowed to see only after a check at subscribe time (its access). */
  checkIds?(args: Record<string, unknown>): string[];
  /** Entities a resume from outside the window answers with their current state. */
  snapshotIds(args: Record<string, unknown>): string[];
}

const orderKey = (id: string) => `order:${id}`;
const ordersOfKey = (userId: string) => `orders-of:${userId}`;
const productKey = (id: string) => `product:${id}`;

export const SUBSCRIPTION_FIELDS: Readonly<Record<string, SubscriptionField>> = {
  orderUpdated: {
    queryField: 'order',
    keys: (args, viewer) => {
      if (!viewer) throw unauthenticated();
      return [orderKey(String(args.id))];
    },
    // The order query answers FORBIDDEN for someone else's order: asked before anything is sent.
    checkIds: (args) => [String(args.id)],
    snapshotIds: (args) => [String(args.id)],
  },
  myOrderUpdates: {
    queryField: 'order',
    keys: (_args, viewer) => {
      if (!viewer) throw unauthenticated();
      return [ordersOfKey(viewer.userId)];
    },
    // Which orders changed while a client was away is not known from here: it resumes from now.
    snapshotIds: () => [],
  },
  productUpdated: {
    queryField: 'product',
    keys: (args, _viewer, config) => {
      const ids = [...new Set(args.ids as string[])];
      if (ids.length === 0 || ids.length > config.maxProductIds) {
        throw new GraphQLError(`productUpdated watches 1 to ${config.maxProductIds} product ids, got ${ids.length}`, {
          extensions: { code: 'BAD_USER_INPUT', argumentName: 'ids', maxIds: config.maxProductIds },
        });
      }
      return ids.map(productKey);
    },
    snapshotIds: (args) => [...new Set(args.ids as string[])],
  },
};

/** One entity an event changed, under the key subscribers of it listen on. */
export interface EventKey {
  key: string;
  /** The id the subscriber's query is asked with (`order(id:)`, `product(id:)`). */
  entityId: string;
}

/** The keys an event reaches, from the catalogue's typed data. Events no subscription field follows reach none. */
export function eventKeys(event: EventEnvelope): EventKey[] {
  const data = event.data as Record<string, unknown>;
  const str = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
  switch (event.type) {
    case 'order.placed':
    case 'order.shipped':
    case 'order.delivered':
    case 'order.cancelled': {
      const orderId = str(data.orderId);
      const userId = str(data.userId);
      if (!orderId) return [];
      const keys = [{ key: orderKey(orderId), entityId: orderId }];
      if (userId) keys.push({ key: ordersOfKey(userId), entityId: orderId });
      return keys;
    }
    // A payment's own move (capture on ship, void on cancel) comes with the order event of the same
    // write, which answers both: counting it again would resolve the order twice.
    case 'product.created':
    case 'product.updated':
    case 'product.discontinued':
    case 'price.changed':
    case 'stock.changed': {
      const productId = str(data.productId);
      return productId ? [{ key: productKey(productId), entityId: productId }] : [];
    }
    case 'promotion.started':
    case 'promotion.ended': {
      const ids = Array.isArray(data.productIds) ? data.productIds.filter((id): id is string => typeof id === 'string') : [];
      return ids.map((id) => ({ key: productKey(id), entityId: id }));
    }
    default:
      return [];
  }
}

function unauthenticated() {
  return new GraphQLError('This subscription needs a signed-in user: send a token in connection_init or Authorization', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}
