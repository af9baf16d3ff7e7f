import { assertOwnerOrAdmin, type Viewer } from '@shop/platform';
import type { GraphQLError } from 'graphql';
import type { UserResolvers } from '../__generated__/resolvers-types.ts';

export const User: UserResolvers = {
  // Account data is private: only the user themself or an admin may resolve it (UNAUTHENTICATED
  // when anonymous, FORBIDDEN for anyone else), checked before any SQL runs.
  //
  // The refusal is returned as this representation's value, not thrown: once Mercurius has
  // JIT-compiled a query, graphql-jit appends the null for a *rejected* list item to the end of
  // `_entities` instead of writing it at the item's index, so the list comes back short or
  // misaligned and the gateway rejects the whole fetch. An Error *value* is nulled in place (with
  // its code) by both graphql-js and graphql-jit.
  __resolveReference(reference, { viewer, loaders }) {
    const refusal = refusalFor(viewer, reference.id);
    if (refusal) return refusal as never;
    return loaders.userById.load(reference.id);
  },

  createdAt: (user) => new Date(user.createdAt).toISOString(),
};

function refusalFor(viewer: Viewer | null, userId: string): GraphQLError | undefined {
  try {
    assertOwnerOrAdmin(viewer, userId, 'this account');
    return undefined;
  } catch (error) {
    return error as GraphQLError;
  }
}
