import type { RegionCode } from '@shop/domain';

/** Domain models the repository returns; codegen maps the GraphQL types onto them. */

/** Pricing owns no product data: a product is just its key, and every field loads by id. */
export interface ProductRef {
  id: string;
}

/** A decimal string with two places ("1299.00") and its ISO currency code. */
export interface MoneyModel {
  amount: string;
  currency: string;
}

export interface PromotionModel {
  id: string;
  name: string;
  region: RegionCode;
  discountPercent: number;
  startsAt: Date;
  endsAt: Date;
  /** Computed by the database against its own clock, so every row in one statement agrees. */
  active: boolean;
}

export interface ListPriceRow extends MoneyModel {
  productId: string;
  region: RegionCode;
}

/** The highest-discount active promotion for one product in one region, with the price it sets. */
export interface BestPromotionRow {
  productId: string;
  region: RegionCode;
  /** The list price with the discount applied, rounded half-up to two places by SQL numeric. */
  amount: string;
  currency: string;
  promotion: PromotionModel;
}

/** A product's list price in one region, whether it is discontinued, and the promotion that sets its price there. */
export interface PriceRow extends ListPriceRow {
  discontinued: boolean;
  best: BestPromotionRow | null;
}

/** A validated promotion to create. */
export interface NewPromotion {
  name: string;
  region: RegionCode;
  discountPercent: number;
  /** Null: it starts now, by the database's clock (the one `active` is judged by). */
  startsAt: Date | null;
  endsAt: Date;
  /** Well-formed and without duplicates. */
  productIds: string[];
}

/** What checkout needs to charge for one unit of a product in one region. */
export interface PriceQuoteModel {
  productId: string;
  /** Null when the product has no list price in the region: it is not sold there. */
  unitPrice: MoneyModel | null;
  listPrice: MoneyModel | null;
  promotionId: string | null;
}
