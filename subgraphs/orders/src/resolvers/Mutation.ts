import { requireViewer } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';

export const Mutation: MutationResolvers = {
  placeOrder: (_parent, { input }, { viewer, checkout }) => checkout.placeOrder(requireViewer(viewer), input),
  cancelOrder: (_parent, { id }, { viewer, lifecycle }) => lifecycle.cancelOrder(requireViewer(viewer), id),
  // Admin only; the lifecycle checks (UNAUTHENTICATED without a viewer, FORBIDDEN without the scope).
  shipOrder: (_parent, { id }, { viewer, lifecycle }) => lifecycle.shipOrder(viewer, id),
  deliverOrder: (_parent, { id }, { viewer, lifecycle }) => lifecycle.deliverOrder(viewer, id),
};
