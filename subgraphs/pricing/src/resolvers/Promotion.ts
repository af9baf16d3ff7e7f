import type { PromotionResolvers } from '../__generated__/resolvers-types.ts';

export const Promotion: PromotionResolvers = {
  __resolveReference: (reference, { loaders }) => loaders.promotionById.load(reference.id),
  startsAt: (promotion) => new Date(promotion.startsAt).toISOString(),
  endsAt: (promotion) => new Date(promotion.endsAt).toISOString(),
};
