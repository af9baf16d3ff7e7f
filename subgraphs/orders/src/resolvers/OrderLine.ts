import type { OrderLineResolvers } from '../__generated__/resolvers-types.ts';

export const OrderLine: OrderLineResolvers = {
  product: (line) => ({ id: line.productId }),
  unitPrice: (line) => ({ amount: line.unitPrice, currency: line.currency }),
  lineTotal: (line) => ({ amount: line.lineTotal, currency: line.currency }),
};
