import { currencyCaseSql } from '@shop/domain';
import { progress, type Database, type SeedSize } from '@shop/subgraph-kit';

const CURRENCY_OF_REGION = currencyCaseSql('r.region');
// Seeded unit prices: a per-product base in US cents, converted at a fixed rate and kept to cents.
const RATE_OF_CURRENCY = `CASE o.currency WHEN 'INR' THEN 83 WHEN 'SGD' THEN 1.35 WHEN 'AED' THEN 3.67 ELSE 1 END`;

/**
 * Deterministic order history, generated inside the database with generate_series so thousands of
 * orders take well under a second even on PGlite. Order `oI` belongs to user `u(1 + (I-1) % users)`
 * (every user gets a few; u1 the most), is placed in that user's region, has 1–4 lines of real
 * products (`p1..p<products>`), and was created within the year before seeding (1009 is coprime with
 * the 8760 hours of a year, so orders get distinct hours and one user's orders lie months apart).
 * Every 7th order shares its timestamp with the same user's previous one, so User.orders really
 * needs its id tie-break. Skipped when orders are already there.
 */
export async function seed(db: Database, size: SeedSize): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM orders.orders');
  if ((existing?.count ?? 0) > 0) return false;
  progress('orders', `seeding ${size.orders.toLocaleString('en')} orders for ${size.users.toLocaleString('en')} users`);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO orders.orders (n, user_id, status, region, currency, total, created_at)
       SELECT i, 'u' || a.u,
              CASE WHEN i % 10 = 3 THEN 'CANCELLED' WHEN a.hours_ago < 21 * 24 THEN 'SHIPPED' ELSE 'DELIVERED' END,
              r.region, ${CURRENCY_OF_REGION}, 0,
              date_trunc('hour', now()) - (1 + a.hours_ago) * interval '1 hour' - ((a.t * 37) % 3600) * interval '1 second'
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT 1 + (i - 1) % $2::int AS u,
                            CASE WHEN i % 7 = 0 AND i > $2::int THEN i - $2::int ELSE i END AS t) AS b,
            LATERAL (SELECT b.u, b.t, (b.t * 1009) % 8760 AS hours_ago) AS a,
            LATERAL (SELECT (ARRAY['IN', 'SEA', 'ME', 'US'])[1 + (a.u - 1) % 4] AS region) AS r`,
      [size.orders, size.users],
    );
    await tx.query(
      `INSERT INTO orders.order_line (order_id, line_no, product_id, quantity, unit_price, line_total)
       SELECT o.id, l, 'p' || a.p, a.q, b.price, b.price * a.q
       FROM orders.orders AS o
       CROSS JOIN LATERAL generate_series(1, 1 + ((o.n * 7) % 4)::int) AS l
       CROSS JOIN LATERAL (SELECT 1 + (o.n * 7919 + l * 104729) % $1::int AS p, 1 + (o.n * 13 + l * 7) % 3 AS q) AS a
       CROSS JOIN LATERAL (
         SELECT (round((499 + (a.p * 7919) % 20000) * ${RATE_OF_CURRENCY}) / 100)::numeric(12,2) AS price
       ) AS b`,
      [size.products],
    );
    await tx.query(
      `UPDATE orders.orders AS o SET total = s.total
       FROM (SELECT order_id, sum(line_total) AS total FROM orders.order_line GROUP BY order_id) AS s
       WHERE s.order_id = o.id`,
    );
    // History consistent with each status (seeded orders predate payments: no payment_id).
    await tx.query(
      `UPDATE orders.orders SET
         shipped_at = CASE WHEN status IN ('SHIPPED', 'DELIVERED') THEN LEAST(created_at + interval '1 day', now()) END,
         delivered_at = CASE WHEN status = 'DELIVERED' THEN LEAST(created_at + interval '4 days', now()) END,
         cancelled_at = CASE WHEN status = 'CANCELLED' THEN LEAST(created_at + interval '2 hours', now()) END`,
    );
    // Orders placed later continue the numbering after the seeded ones.
    await tx.query(`SELECT setval(pg_get_serial_sequence('orders.orders', 'n'), (SELECT max(n) FROM orders.orders))`);
  });
  progress('orders', 'done');
  return true;
}
