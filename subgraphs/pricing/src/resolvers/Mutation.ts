import { CURRENCY } from '@shop/domain';
import { badInput, notFound, requireAdmin as requireAdminScope, type Viewer } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { createPricingWrites } from '../db/repository.ts';
import { priceChanged, promotionEnded, promotionScheduled, promotionStarted } from '../events.ts';
import { parseAmount, requireProductId, validatePromotion } from '../validation.ts';

const requireAdmin = (viewer: Viewer | null) => requireAdminScope(viewer, 'Only an admin can change prices and promotions');

export const Mutation: MutationResolvers = {
  async setListPrice(_parent, { productId, region, amount }, { viewer, write }) {
    requireAdmin(viewer);
    const id = requireProductId(productId, { argument: 'productId' });
    const normalized = parseAmount(amount);
    // The router resolves price and listPrice on the returned product next, in this request: the
    // write clears the loaders before that.
    return write(async (tx) => {
      const changed = await createPricingWrites(tx).upsertListPrice(id, region, normalized, CURRENCY[region]);
      // Setting the price it already has changes nothing: no event.
      return { value: { id }, events: changed ? [priceChanged(changed)] : [] };
    });
  },

  async createPromotion(_parent, { input }, { viewer, loaders, write }) {
    requireAdmin(viewer);
    const valid = validatePromotion(input);
    const promotion = await write(async (tx) => {
      const created = await createPricingWrites(tx).createPromotion(valid);
      if (!created) throw badInput('endsAt must be after startsAt', { field: 'endsAt' });
      // Active now: it starts now. A scheduled one is announced (lists of promotions show it) and
      // starts when the ticker sees its time pass.
      return {
        value: created,
        events: [created.active ? promotionStarted(created, valid.productIds) : promotionScheduled(created, valid.productIds)],
      };
    });
    // Any product's best promotion may have changed (the write cleared them all); this one is known.
    loaders.promotionById.prime(promotion.id, promotion);
    return promotion;
  },

  async endPromotion(_parent, { id }, { viewer, loaders, write }) {
    requireAdmin(viewer);
    const promotion = await write(async (tx) => {
      const ended = await createPricingWrites(tx).endPromotion(id);
      if (!ended) throw notFound(`No promotion "${id}"`);
      const { promotion, productIds } = ended;
      // Ending an ended promotion changes nothing: no event (one whose time ran out is the ticker's).
      return { value: promotion, events: productIds.length ? [promotionEnded(promotion, productIds)] : [] };
    });
    loaders.promotionById.prime(id, promotion);
    return promotion;
  },
};
