import { CURRENCY } from '@shop/domain';
import { badInput, notFound, requireAdmin as requireAdminScope, type Viewer } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { parseAmount, requireProductId, validatePromotion } from '../validation.ts';

const requireAdmin = (viewer: Viewer | null) => requireAdminScope(viewer, 'Only an admin can change prices and promotions');

export const Mutation: MutationResolvers = {
  async setListPrice(_parent, { productId, region, amount }, { viewer, repo, loaders, bus }) {
    requireAdmin(viewer);
    const id = requireProductId(productId, { argument: 'productId' });
    const normalized = parseAmount(amount);
    await repo.upsertListPrice(id, region, normalized, CURRENCY[region]);
    // The router resolves price and listPrice on the returned product next, in this request.
    loaders.listPrices.clear(id);
    loaders.bestPromotions.clear(id);
    await bus.publish([`Product:${id}`]);
    return { id };
  },

  async createPromotion(_parent, { input }, { viewer, repo, loaders, bus }) {
    requireAdmin(viewer);
    const valid = validatePromotion(input);
    const promotion = await repo.createPromotion(valid);
    if (!promotion) throw badInput('endsAt must be after startsAt', { field: 'endsAt' });
    // Any product's best promotion may have changed; the ids it covers can be up to a thousand.
    loaders.bestPromotions.clearAll();
    loaders.promotionById.prime(promotion.id, promotion);
    // `Promotion`: promotion lists cached before it existed do not name it.
    await bus.publish(['Promotion', ...promotionTags(promotion.id, valid.productIds)]);
    return promotion;
  },

  async endPromotion(_parent, { id }, { viewer, repo, loaders, bus }) {
    requireAdmin(viewer);
    const ended = await repo.endPromotion(id);
    if (!ended) throw notFound(`No promotion "${id}"`);
    const { promotion, productIds } = ended;
    loaders.bestPromotions.clearAll();
    loaders.promotionById.clear(id).prime(id, promotion);
    // Ending an ended promotion changes nothing, so there is nothing to invalidate.
    if (productIds.length) await bus.publish(promotionTags(id, productIds));
    return promotion;
  },
};

/** A promotion changes the promotion itself and the price of every product it covers. */
const promotionTags = (promotionId: string, productIds: readonly string[]) => [
  `Promotion:${promotionId}`,
  ...new Set(productIds.map((id) => `Product:${id}`)),
];
