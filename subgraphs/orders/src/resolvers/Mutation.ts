import { requireViewer } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';

export const Mutation: MutationResolvers = {
  placeOrder: (_parent, { input }, { viewer, checkout }) => checkout.placeOrder(requireViewer(viewer), input),
  cancelOrder: (_parent, { id }, { viewer, checkout }) => checkout.cancelOrder(requireViewer(viewer), id),
};
