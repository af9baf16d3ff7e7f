import { CURRENCY, REGIONS, type RegionCode } from '@shop/domain';
import { progress, type Database, type SeedSize } from '@shop/subgraph-kit';

/**
 * One promotion the seed creates in every region. A promotion covers every `every`-th product,
 * shifted per region, so coverage differs between regions but is reproducible. Days are relative
 * to the day the seed runs: active promotions run for years so tests and demos stay valid on a
 * database seeded long ago.
 */
interface PromotionTemplate {
  name: Record<RegionCode, string>;
  discount: Record<RegionCode, number>;
  every: number;
  offset: number;
  startDay: number;
  endDay: number;
}

const TEMPLATES: PromotionTemplate[] = [
  {
    name: { IN: 'Everyday Savings India', SEA: 'Everyday Savings SEA', ME: 'Everyday Savings Gulf', US: 'Everyday Savings US' },
    discount: { IN: 10, SEA: 12, ME: 15, US: 8 },
    every: 7,
    offset: 0,
    startDay: -30,
    endDay: 3650,
  },
  {
    name: { IN: 'Monsoon Deals', SEA: 'Great Singapore Sale', ME: 'Dubai Shopping Festival', US: 'Summer Deals' },
    discount: { IN: 25, SEA: 20, ME: 30, US: 18 },
    every: 11,
    offset: 3,
    startDay: -20,
    endDay: 3650,
  },
  {
    name: { IN: 'Clearance India', SEA: 'Clearance SEA', ME: 'Clearance Gulf', US: 'Clearance US' },
    discount: { IN: 40, SEA: 35, ME: 45, US: 33 },
    every: 17,
    offset: 5,
    startDay: -10,
    endDay: 3650,
  },
  {
    name: { IN: 'Diwali Sale', SEA: 'Lunar New Year Sale', ME: 'Ramadan Offers', US: 'Black Friday' },
    discount: { IN: 50, SEA: 45, ME: 55, US: 60 },
    every: 5,
    offset: 0,
    startDay: -400,
    endDay: -370,
  },
  {
    name: { IN: 'Flash Sale India', SEA: 'Flash Sale SEA', ME: 'Flash Sale Gulf', US: 'Flash Sale US' },
    discount: { IN: 70, SEA: 65, ME: 60, US: 75 },
    every: 9,
    offset: 0,
    startDay: -60,
    endDay: -2,
  },
  {
    name: { IN: 'Anniversary Sale India', SEA: 'Anniversary Sale SEA', ME: 'Anniversary Sale Gulf', US: 'Anniversary Sale US' },
    discount: { IN: 60, SEA: 60, ME: 60, US: 60 },
    every: 4,
    offset: 1,
    startDay: 3000,
    endDay: 3100,
  },
];

/** The seeded promotions, `promo1`… region by region; exported so tests can reason about coverage. */
export const SEED_PROMOTIONS = REGIONS.flatMap((region, r) =>
  TEMPLATES.map((t, i) => ({
    id: `promo${r * TEMPLATES.length + i + 1}`,
    name: t.name[region],
    region,
    discountPercent: t.discount[region],
    every: t.every,
    // Shift coverage per region; product numbers start at 1, so a residue of 0 means `every`.
    first: (t.offset + r) % t.every || t.every,
    startDay: t.startDay,
    endDay: t.endDay,
  })),
);

/**
 * Deterministic prices: a whole-dollar base per product from a multiplicative hash, turned into
 * each region's price with a rough exchange rate and the price endings shoppers there expect
 * (USD …99 cents, INR …9 rupees, SGD …90 cents, AED half-dirhams). Generated inside the database
 * with generate_series so 160,000 rows take seconds even on PGlite. Skipped when prices exist.
 */
export async function seed(db: Database, size: SeedSize): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM pricing.list_price');
  if ((existing?.count ?? 0) > 0) return false;
  progress(
    'pricing',
    `seeding prices for ${size.products.toLocaleString('en')} products in ${REGIONS.length} regions ` +
      `and ${SEED_PROMOTIONS.length} promotions`,
  );
  const seeded = await db.transaction(async (tx) => {
    // Two servers starting on one empty database (parallel test files) would both see no prices:
    // the lock makes the second wait for the first's commit, then find the prices and stop.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('pricing.seed'))`);
    const [again] = await tx.query<{ count: number }>('SELECT count(*)::int AS count FROM pricing.list_price');
    if ((again?.count ?? 0) > 0) return false;
    await tx.query(
      `INSERT INTO pricing.list_price (product_id, region, amount, currency)
       SELECT 'p' || i, r.region,
              CASE r.region
                WHEN 'US' THEN b.usd - 0.01
                WHEN 'IN' THEN ceil(b.usd * 83 / 10.0) * 10 - 1
                WHEN 'SEA' THEN round(b.usd * 1.35) - 0.10
                ELSE round(b.usd * 3.67 * 2) / 2
              END,
              r.currency
       FROM generate_series(1, $1::int) AS i
       CROSS JOIN LATERAL (SELECT 5 + (i * 7919) % 496 AS usd) AS b
       CROSS JOIN unnest($2::text[], $3::text[]) AS r(region, currency)`,
      [size.products, [...REGIONS], REGIONS.map((r) => CURRENCY[r])],
    );
    const p = SEED_PROMOTIONS;
    await tx.query(
      // A start or end already behind the seed is where the shop begins, not news: marked announced,
      // so the ticker announces only what happens after (the scheduled promotions' starts, later ends).
      `INSERT INTO pricing.promotion (id, name, region, discount_percent, starts_at, ends_at, started_event_at, ended_event_at)
       SELECT id, name, region, discount, s.starts_at, s.ends_at,
              CASE WHEN s.starts_at <= now() THEN now() END,
              CASE WHEN s.ends_at <= now() THEN now() END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[])
         AS t(id, name, region, discount, start_day, end_day)
       CROSS JOIN LATERAL (SELECT date_trunc('day', now()) + make_interval(days => start_day) AS starts_at,
                                  date_trunc('day', now()) + make_interval(days => end_day) AS ends_at) AS s`,
      [
        p.map((x) => x.id),
        p.map((x) => x.name),
        p.map((x) => x.region),
        p.map((x) => x.discountPercent),
        p.map((x) => x.startDay),
        p.map((x) => x.endDay),
      ],
    );
    await tx.query(
      `INSERT INTO pricing.promotion_product (promotion_id, product_id)
       SELECT t.id, 'p' || n
       FROM unnest($1::text[], $2::int[], $3::int[]) AS t(id, first_n, every)
       CROSS JOIN LATERAL generate_series(t.first_n, $4::int, t.every) AS n`,
      [p.map((x) => x.id), p.map((x) => x.first), p.map((x) => x.every), size.products],
    );
    return true;
  });
  if (!seeded) return false;
  // Fresh tables have no statistics (and PGlite runs no autovacuum): without them the planner
  // hash-joins all prices instead of using the product-id indexes for a batch of 100 products.
  await db.query('ANALYZE pricing.list_price, pricing.promotion, pricing.promotion_product');
  progress('pricing', 'done');
  return true;
}
