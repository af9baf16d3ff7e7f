import { badInput, CURRENCY, notFound, requireAdmin as requireAdminScope, type Viewer } from '@shop/service-kit';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { parseAmount, requireProductId, validatePromotion } from '../validation.ts';

const requireAdmin = (viewer: Viewer | null) => requireAdminScope(viewer, 'Only an admin can change prices and promotions');

export const Mutation: MutationResolvers = {
  async setListPrice(_parent, { productId, region, amount }, { viewer, repo, loaders }) {
    requireAdmin(viewer);
    const id = requireProductId(productId, { argument: 'productId' });
    const normalized = parseAmount(amount);
    await repo.upsertListPrice(id, region, normalized, CURRENCY[region]);
    // The router resolves price and listPrice on the returned product next, in this request.
    loaders.listPrices.clear(id);
    loaders.bestPromotions.clear(id);
    return { id };
  },

  async createPromotion(_parent, { input }, { viewer, repo, loaders }) {
    requireAdmin(viewer);
    const promotion = await repo.createPromotion(validatePromotion(input));
    if (!promotion) throw badInput('endsAt must be after startsAt', { field: 'endsAt' });
    // Any product's best promotion may have changed; the ids it covers can be up to a thousand.
    loaders.bestPromotions.clearAll();
    loaders.promotionById.prime(promotion.id, promotion);
    return promotion;
  },

  async endPromotion(_parent, { id }, { viewer, repo, loaders }) {
    requireAdmin(viewer);
    const promotion = await repo.endPromotion(id);
    if (!promotion) throw notFound(`No promotion "${id}"`);
    loaders.bestPromotions.clearAll();
    loaders.promotionById.clear(id).prime(id, promotion);
    return promotion;
  },
};
