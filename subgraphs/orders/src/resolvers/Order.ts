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
};
