import { requireViewer } from '@shop/platform';
import type { QueryResolvers } from '../__generated__/resolvers-types.ts';

export const Query: QueryResolvers = {
  me: (_parent, _args, { viewer, loaders }) => loaders.userById.load(requireViewer(viewer).userId),
};
