import { GraphQLError } from 'graphql';
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.ts';

/**
 * The router serves these: it turns each order event into the query for that order
 * (`Query.order`), so nothing legitimate sends a subscription here. A caller that does gets a
 * coded refusal, not Mercurius's "cannot return null". `resolve` throws too, because an HTTP
 * request with a subscription operation is executed (resolve), never subscribed.
 */
const servedByTheRouter = (): never => {
  throw new GraphQLError('Subscriptions are served by the router, not by the orders subgraph', {
    extensions: { code: 'BAD_REQUEST' },
  });
};

export const Subscription: SubscriptionResolvers = {
  orderUpdated: { subscribe: servedByTheRouter, resolve: servedByTheRouter },
  myOrderUpdates: { subscribe: servedByTheRouter, resolve: servedByTheRouter },
};
