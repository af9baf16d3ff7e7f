import { assertOwnerOrAdmin, badInput, notFound, requireViewer } from '@shop/platform';
import type { QueryResolvers } from '../__generated__/resolvers-types.ts';
import { orderNumber } from '../ids.ts';

export const Query: QueryResolvers = {
  async order(_parent, { id }, { viewer, loaders }) {
    requireViewer(viewer);
    if (orderNumber(id) === undefined) throw badInput(`"${id}" is not an order id`, { argument: 'id' });
    const order = await loaders.orderById.load(id);
    if (!order) throw notFound(`There is no order ${id}`);
    assertOwnerOrAdmin(viewer, order.userId, 'this order');
    return order;
  },
};
