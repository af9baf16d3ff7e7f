import { event, type NewEvent, type PromotionData } from '@shop/events';
import type { ListPriceRow, PromotionModel } from './models.ts';

/**
 * The events pricing publishes, with the cache tags each makes stale. A price belongs to its
 * product (`Product:<id>`); a promotion changes itself (`Promotion:<id>`), the lists of promotions
 * (`Promotion`: they gain or lose it) and the price of every product it covers.
 */
export function priceChanged(row: ListPriceRow): NewEvent<'price.changed'> {
  const { productId, region, currency, amount } = row;
  return event('price.changed', productId, { productId, region, currency, amount }, [`Product:${productId}`]);
}

export function promotionStarted(promotion: PromotionModel, productIds: readonly string[]): NewEvent<'promotion.started'> {
  return event('promotion.started', promotion.id, promotionData(promotion, productIds), promotionTags(promotion.id, productIds));
}

/** A promotion that is not active at creation: the lists of promotions change, no price does. */
export function promotionScheduled(promotion: PromotionModel, productIds: readonly string[]): NewEvent<'promotion.scheduled'> {
  return event('promotion.scheduled', promotion.id, promotionData(promotion, productIds), ['Promotion', `Promotion:${promotion.id}`]);
}

export function promotionEnded(promotion: PromotionModel, productIds: readonly string[]): NewEvent<'promotion.ended'> {
  return event(
    'promotion.ended',
    promotion.id,
    { promotionId: promotion.id, region: promotion.region, productIds: [...productIds], endedAt: new Date(promotion.endsAt).toISOString() },
    promotionTags(promotion.id, productIds),
  );
}

const promotionData = (promotion: PromotionModel, productIds: readonly string[]): PromotionData => ({
  promotionId: promotion.id,
  region: promotion.region,
  discountPercent: promotion.discountPercent,
  productIds: [...productIds],
  startsAt: new Date(promotion.startsAt).toISOString(),
  endsAt: new Date(promotion.endsAt).toISOString(),
});

const promotionTags = (promotionId: string, productIds: readonly string[]) => [
  'Promotion',
  `Promotion:${promotionId}`,
  ...new Set(productIds.map((id) => `Product:${id}`)),
];
