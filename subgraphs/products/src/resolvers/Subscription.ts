import { GraphQLError } from 'graphql';
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.ts';

/**
 * The router serves these: it turns each product event into the query for that product
 * (`Query.product`), so nothing legitimate sends a subscription here. A caller that does gets a
 * coded refusal, not Mercurius's "cannot return null". `resolve` throws too, because an HTTP
 * request with a subscription operation is executed (resolve), never subscribed.
 */
const servedByTheRouter = (): never => {
  throw new GraphQLError('Subscriptions are served by the router, not by the products subgraph', {
    extensions: { code: 'BAD_REQUEST' },
  });
};

export const Subscription: SubscriptionResolvers = {
  productUpdated: { subscribe: servedByTheRouter, resolve: servedByTheRouter },
};
