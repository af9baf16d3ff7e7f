import type { RegionCode } from '@shop/domain';

/** Domain models the repository returns; codegen maps the GraphQL types onto them. */
export type OrderStatusCode = 'PLACED' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED';

export interface OrderModel {
  /** Numeric part of the id; breaks created_at ties in User.orders. */
  n: number;
  id: string;
  userId: string;
  status: OrderStatusCode;
  region: RegionCode;
  currency: string;
  /** Decimal text with two places, straight from numeric(12,2). */
  total: string;
  /** Millisecond precision (timestamptz(3)), so it round-trips through cursors exactly. */
  createdAt: Date;
  /** The provider's authorisation id; null for seeded orders, which predate payments. */
  paymentId: string | null;
  /** Dates from the database; ISO strings when the order came back from a shared (Redis) cache. */
  shippedAt: Date | string | null;
  deliveredAt: Date | string | null;
  cancelledAt: Date | string | null;
}

export interface OrderLineModel {
  orderId: string;
  lineNo: number;
  productId: string;
  quantity: number;
  unitPrice: string;
  lineTotal: string;
  currency: string;
}

/** A User owned by the users subgraph; this subgraph only knows its id. */
export interface UserRef {
  id: string;
}

/** A Product owned by the products subgraph. */
export interface ProductRef {
  id: string;
}

export interface MoneyModel {
  amount: string;
  currency: string;
}
