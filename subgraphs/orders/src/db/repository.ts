import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import type { OrderLineModel, OrderModel, OrderStatusCode } from '../models.ts';

// bigint comes back from pg as a string; n stays far below 2^53 so ::float8 is exact.
const ORDER_COLUMNS = `n::float8 AS n, id, user_id AS "userId", status, region, currency, total::text AS total,
  created_at AS "createdAt", payment_id AS "paymentId", shipped_at AS "shippedAt", delivered_at AS "deliveredAt",
  cancelled_at AS "cancelledAt"`;

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

/** A checkout claim: in progress while orderId is null. */
export interface CheckoutClaim {
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  reservationId: string;
  orderId: string | null;
  createdAt: Date;
  failedAt: Date | null;
}

export interface NewOrder {
  userId: string;
  region: string;
  currency: string;
  total: string;
  idempotencyKey: string;
  reservationId: string;
  paymentId: string;
}

/** A checkout's payment (orders.payments; see 003_lifecycle.sql for the statuses). */
export interface PaymentRecord {
  key: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  paymentId: string | null;
  status: 'pending' | 'authorised' | 'declined' | 'captured' | 'voided' | 'abandoned';
  amount: string;
  currency: string;
  orderId: string | null;
  sweptAt: Date | null;
}

const PAYMENT_COLUMNS = `key, user_id AS "userId", idempotency_key AS "idempotencyKey", request_hash AS "requestHash",
  payment_id AS "paymentId", status, amount::text AS amount, currency, order_id AS "orderId", swept_at AS "sweptAt"`;

export interface NewOrderLine {
  productId: string;
  quantity: number;
  unitPrice: string;
}

const CHECKOUT_COLUMNS = `user_id AS "userId", idempotency_key AS "idempotencyKey", request_hash AS "requestHash",
  reservation_id AS "reservationId", order_id AS "orderId", created_at AS "createdAt", failed_at AS "failedAt"`;

/**
 * The orders subgraph's reads. Batch functions take many keys and run one statement. The writes are
 * createOrderWrites (orders, reachable only inside a write) and createCheckoutClaims (bookkeeping).
 */
export function createOrderRepository(db: Queryable) {
  return {
    checkoutByKey: async (userId: string, key: string) =>
      (
        await db.query<CheckoutClaim>(`SELECT ${CHECKOUT_COLUMNS} FROM orders.checkout WHERE user_id = $1 AND idempotency_key = $2`, [
          userId,
          key,
        ])
      )[0],

    abandonedClaims: (olderThanMs: number) =>
      db.query<CheckoutClaim>(
        `SELECT ${CHECKOUT_COLUMNS} FROM orders.checkout
         WHERE order_id IS NULL AND (failed_at IS NOT NULL OR created_at < now() - make_interval(secs => $1::float8 / 1000))
         ORDER BY created_at LIMIT 100`,
        [olderThanMs],
      ),

    paymentByKey: async (key: string) =>
      (await db.query<PaymentRecord>(`SELECT ${PAYMENT_COLUMNS} FROM orders.payments WHERE key = $1`, [key]))[0],

    paymentOfOrder: async (orderId: string) =>
      (await db.query<PaymentRecord>(`SELECT ${PAYMENT_COLUMNS} FROM orders.payments WHERE order_id = $1`, [orderId]))[0],

    /** Reads an order and its reservation, bypassing request loaders (used by writes). */
    orderForUpdate: async (id: string) =>
      (
        await db.query<OrderModel & { reservationId: string | null }>(
          `SELECT ${ORDER_COLUMNS}, reservation_id AS "reservationId" FROM orders.orders WHERE id = $1`,
          [id],
        )
      )[0],

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

/**
 * Checkout's claim bookkeeping: orders.checkout rows, which no field exposes and so no cache shows,
 * so these run outside a write and publish nothing. A claim must commit on its own before checkout
 * calls pricing and inventory, so that a concurrent retry with the same key sees it and waits.
 */
export function createCheckoutClaims(db: Queryable) {
  return {
    /** Takes the (user, key) claim; undefined when someone already holds it. */
    claimCheckout: async (userId: string, key: string, requestHash: string, reservationId: string) =>
      (
        await db.query<CheckoutClaim>(
          `INSERT INTO orders.checkout (user_id, idempotency_key, request_hash, reservation_id)
           VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING
           RETURNING ${CHECKOUT_COLUMNS}`,
          [userId, key, requestHash, reservationId],
        )
      )[0],

    /** Drops a claim that produced no order, so the key can be retried. */
    dropClaim: (reservationId: string) =>
      db.query(`DELETE FROM orders.checkout WHERE reservation_id = $1 AND order_id IS NULL`, [reservationId]),

    markClaimFailed: (reservationId: string) =>
      db.query(`UPDATE orders.checkout SET failed_at = now() WHERE reservation_id = $1 AND order_id IS NULL`, [reservationId]),
  };
}

/**
 * Payment bookkeeping that commits on its own, before or between provider calls (no field shows a
 * pending payment, so no event and no cache tag): the pending row must be on record before the
 * provider is asked, so that a charge made while the call timed out can always be found by key.
 */
export function createPaymentRecords(db: Queryable) {
  return {
    /** Records (or touches, on a retry) the pending payment of a checkout attempt. */
    recordPending: (p: Pick<PaymentRecord, 'key' | 'userId' | 'idempotencyKey' | 'requestHash' | 'amount' | 'currency'>) =>
      db.query(
        `INSERT INTO orders.payments (key, user_id, idempotency_key, request_hash, status, amount, currency)
         VALUES ($1, $2, $3, $4, 'pending', $5::numeric, $6)
         ON CONFLICT (key) DO UPDATE SET updated_at = now() WHERE orders.payments.status = 'pending'`,
        [p.key, p.userId, p.idempotencyKey, p.requestHash, p.amount, p.currency],
      ),

    /**
     * Payments no order took, untouched for `olderThanMs`, whose checkout holds no claim (no attempt
     * in progress), plus those a sweep already took and could not finish.
     */
    unclaimedPayments: (olderThanMs: number) =>
      db.query<PaymentRecord>(
        `SELECT ${PAYMENT_COLUMNS} FROM orders.payments p
         WHERE order_id IS NULL AND status IN ('pending', 'authorised')
           AND (swept_at IS NOT NULL OR updated_at < now() - make_interval(secs => $1::float8 / 1000))
           AND NOT EXISTS (SELECT 1 FROM orders.checkout c
                           WHERE c.user_id = p.user_id AND c.idempotency_key = p.idempotency_key AND c.order_id IS NULL)
         ORDER BY updated_at LIMIT 100`,
        [olderThanMs],
      ),

    /**
     * The sweeper takes a payment: from here on no checkout can write an order with it (see
     * takePayment). False when an attempt claimed the key meanwhile or an order took it.
     */
    sweep: async (key: string) =>
      (
        await db.query(
          `UPDATE orders.payments p SET swept_at = coalesce(swept_at, now()), updated_at = now()
           WHERE key = $1 AND order_id IS NULL AND status IN ('pending', 'authorised')
             AND NOT EXISTS (SELECT 1 FROM orders.checkout c
                             WHERE c.user_id = p.user_id AND c.idempotency_key = p.idempotency_key AND c.order_id IS NULL)
           RETURNING key`,
          [key],
        )
      ).length > 0,

    /** The provider had nothing (or only a decline) for a swept key. */
    markSwept: (key: string, status: 'abandoned' | 'declined') =>
      db.query(`UPDATE orders.payments SET status = $2, updated_at = now() WHERE key = $1 AND order_id IS NULL`, [key, status]),
  };
}

/**
 * The orders subgraph's writes, over the transaction of a `write` (see the kit's write.ts): the only
 * way to reach them, so every one commits before its tags are published. Their callers tag the order
 * and its user (whose order list changed). completeClaim is bookkeeping, but it commits with the
 * order it names, so it lives here.
 */
export function createOrderWrites(tx: WriteTransaction) {
  return {
    insertOrder: async (order: NewOrder) =>
      (
        await tx.query<OrderModel>(
          `INSERT INTO orders.orders (user_id, status, region, currency, total, idempotency_key, reservation_id, payment_id)
           VALUES ($1, 'PLACED', $2, $3, $4::numeric, $5, $6, $7)
           RETURNING ${ORDER_COLUMNS}`,
          [order.userId, order.region, order.currency, order.total, order.idempotencyKey, order.reservationId, order.paymentId],
        )
      )[0]!,

    insertLines: (orderId: string, lines: readonly NewOrderLine[]) =>
      tx.query(
        `INSERT INTO orders.order_line (order_id, line_no, product_id, quantity, unit_price, line_total)
         SELECT $1, l.line_no, l.product_id, l.quantity, l.unit_price, l.unit_price * l.quantity
         FROM unnest($2::text[], $3::int[], $4::numeric[]) WITH ORDINALITY AS l(product_id, quantity, unit_price, line_no)`,
        [orderId, lines.map((l) => l.productId), lines.map((l) => l.quantity), lines.map((l) => l.unitPrice)],
      ),

    completeClaim: (reservationId: string, orderId: string) =>
      tx.query(`UPDATE orders.checkout SET order_id = $2 WHERE reservation_id = $1`, [reservationId, orderId]),

    /**
     * Gives a pending (or already authorised, by an attempt whose write failed) payment to its
     * order. False when the sweeper took the payment first: then no order may be written with it.
     */
    takePayment: async (key: string, paymentId: string, orderId: string) =>
      (
        await tx.query(
          `UPDATE orders.payments SET status = 'authorised', payment_id = $2, order_id = $3, updated_at = now()
           WHERE key = $1 AND status IN ('pending', 'authorised') AND order_id IS NULL AND swept_at IS NULL
           RETURNING key`,
          [key, paymentId, orderId],
        )
      ).length > 0,

    /** A payment's outcome with no order (declined, voided by the sweeper). */
    settlePayment: (key: string, status: 'declined' | 'voided', paymentId: string | null) =>
      tx.query(
        `UPDATE orders.payments SET status = $2, payment_id = coalesce($3, payment_id), updated_at = now()
         WHERE key = $1 AND order_id IS NULL`,
        [key, status, paymentId],
      ),

    /** The payment of an order moved with it (captured when shipped, voided when cancelled). */
    settleOrderPayment: (orderId: string, status: 'captured' | 'voided') =>
      tx.query(`UPDATE orders.payments SET status = $2, updated_at = now() WHERE order_id = $1`, [orderId, status]),

    /**
     * One lifecycle move, only from the status it starts at, so that of two concurrent moves one
     * writes and the other finds nothing (undefined) — the caller then reports the current status.
     */
    transition: async (id: string, from: OrderStatusCode, to: OrderStatusCode) =>
      (
        await tx.query<OrderModel>(
          `UPDATE orders.orders SET status = $3::text,
             shipped_at = CASE WHEN $3::text = 'SHIPPED' THEN now() ELSE shipped_at END,
             delivered_at = CASE WHEN $3::text = 'DELIVERED' THEN now() ELSE delivered_at END,
             cancelled_at = CASE WHEN $3::text = 'CANCELLED' THEN now() ELSE cancelled_at END
           WHERE id = $1 AND status = $2 RETURNING ${ORDER_COLUMNS}`,
          [id, from, to],
        )
      )[0],
  };
}
