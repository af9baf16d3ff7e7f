import type { Queryable } from '@shop/service-kit';
import type { OrderLineModel, OrderModel } from '../models.ts';

// bigint comes back from pg as a string; n stays far below 2^53 so ::float8 is exact.
const ORDER_COLUMNS = `n::float8 AS n, id, user_id AS "userId", status, region, currency, total::text AS total,
  created_at AS "createdAt"`;

/** Where a User.orders page starts: after the order (createdAt, n), newest first; null for the first page. */
export interface OrderPosition {
  createdAt: string;
  n: number;
}

export interface UserOrdersPageKey {
  userId: string;
  after: OrderPosition | null;
  limit: number;
}

/** All SQL the orders subgraph runs. Batch functions take many keys and run one statement. */
export function createOrderRepository(db: Queryable) {
  return {
    ordersByIds: (ids: readonly string[]) =>
      db.query<OrderModel>(`SELECT ${ORDER_COLUMNS} FROM orders.orders WHERE id = ANY($1::text[])`, [ids]),

    /** Lines of many orders, in line order, each with its order's currency. */
    linesByOrderIds: (orderIds: readonly string[]) =>
      db.query<OrderLineModel>(
        `SELECT l.order_id AS "orderId", l.line_no AS "lineNo", l.product_id AS "productId", l.quantity,
                l.unit_price::text AS "unitPrice", l.line_total::text AS "lineTotal", o.currency
         FROM orders.order_line l JOIN orders.orders o ON o.id = l.order_id
         WHERE l.order_id = ANY($1::text[])
         ORDER BY l.order_id, l.line_no`,
        [orderIds],
      ),

    /**
     * Pages of several users' orders in one statement: each key is (user, after, limit), and a
     * LATERAL subquery takes each user's page from the (user_id, created_at desc, n desc) index.
     */
    userOrderPages: (keys: readonly UserOrdersPageKey[]) =>
      db.query<OrderModel & { key: number }>(
        `SELECT k.ord::int AS key, o.*
         FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::int[])
              WITH ORDINALITY AS k(user_id, after_at, after_n, lim, ord)
         CROSS JOIN LATERAL (
           SELECT ${ORDER_COLUMNS} FROM orders.orders
           WHERE user_id = k.user_id
             AND (k.after_at IS NULL OR (created_at, n) < (k.after_at, k.after_n))
           ORDER BY created_at DESC, n DESC LIMIT k.lim
         ) AS o
         ORDER BY k.ord, o."createdAt" DESC, o.n DESC`,
        [
          keys.map((k) => k.userId),
          keys.map((k) => k.after?.createdAt ?? null),
          keys.map((k) => k.after?.n ?? 0),
          keys.map((k) => k.limit),
        ],
      ),

    userOrderCounts: (userIds: readonly string[]) =>
      db.query<{ userId: string; total: number }>(
        `SELECT user_id AS "userId", count(*)::int AS total FROM orders.orders
         WHERE user_id = ANY($1::text[]) GROUP BY user_id`,
        [userIds],
      ),
  };
}

export type OrderRepository = ReturnType<typeof createOrderRepository>;
