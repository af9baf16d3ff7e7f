import { assertOwnerOrAdmin, requireViewer } from '@shop/platform';
import type { OrderResolvers } from '../__generated__/resolvers-types.ts';
import { orderNumber } from '../ids.ts';

export const Order: OrderResolvers = {
  // Orders are private: only their owner or an admin gets one; a malformed or unknown id is null.
  async __resolveReference(reference, { viewer, loaders }) {
    requireViewer(viewer);
    if (typeof reference.id !== 'string' || orderNumber(reference.id) === undefined) return null;
    const order = await loaders.orderById.load(reference.id);
    if (!order) return null;
    assertOwnerOrAdmin(viewer, order.userId, 'this order');
    return order;
  },

  user: (order) => ({ id: order.userId }),
  lines: (order, _args, { loaders }) => loaders.linesByOrderId.load(order.id),
  total: (order) => ({ amount: order.total, currency: order.currency }),
  // A Date from the database; an ISO string when the order came back from a shared (Redis) cache.
  createdAt: (order) => new Date(order.createdAt).toISOString(),
  // The payment moves with the order in one transaction (lifecycle.ts), so the status says where it is.
  paymentStatus: (order) => PAYMENT_STATUS[order.status],
  shippedAt: (order) => isoOrNull(order.shippedAt),
  deliveredAt: (order) => isoOrNull(order.deliveredAt),
  cancelledAt: (order) => isoOrNull(order.cancelledAt),
};

const PAYMENT_STATUS = { PLACED: 'AUTHORISED', SHIPPED: 'CAPTURED', DELIVERED: 'CAPTURED', CANCELLED: 'VOIDED' } as const;

const isoOrNull = (value: Date | string | null | undefined) => (value == null ? null : new Date(value).toISOString());
