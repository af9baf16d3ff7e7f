import { REGIONS } from '@shop/domain';
import { progress, type Database, type SeedSize } from '@shop/subgraph-kit';

/**
 * Two warehouses per region, in region order: warehouse `w(2r + 1)` and `w(2r + 2)` serve
 * region `REGIONS[r]`. The stock statement below relies on that layout.
 */
export const WAREHOUSES = [
  { code: 'BOM1', name: 'Mumbai Fulfilment Centre', city: 'Mumbai', region: 'IN' },
  { code: 'DEL1', name: 'Delhi Fulfilment Centre', city: 'Delhi', region: 'IN' },
  { code: 'SIN1', name: 'Singapore Distribution Hub', city: 'Singapore', region: 'SEA' },
  { code: 'CGK1', name: 'Jakarta Distribution Hub', city: 'Jakarta', region: 'SEA' },
  { code: 'DXB1', name: 'Dubai Logistics Park', city: 'Dubai', region: 'ME' },
  { code: 'RUH1', name: 'Riyadh Logistics Park', city: 'Riyadh', region: 'ME' },
  { code: 'EWR1', name: 'Newark Fulfilment Center', city: 'Newark', region: 'US' },
  { code: 'RNO1', name: 'Reno Fulfilment Center', city: 'Reno', region: 'US' },
] as const;

/**
 * Deterministic stock for products p1..p<size.products>, generated inside the database.
 *
 * Every product is stocked in one warehouse of each region, and in the region's second warehouse
 * too when (n + r) % 3 = 0 (about 5.3 rows per product). Quantities are 1..120 except:
 * - every 97th product (p97, p194, …) is out of stock everywhere (rows exist, available 0);
 * - products with n % 11 = 5 (p5, p16, p27, p38, …) are out of stock in one region,
 *   REGIONS[(1 + n / 11) % 4]: p5 in SEA, p16 in ME, p27 in US, p38 in IN.
 * So p1..p20 all have stock in IN. Skipped when warehouses already exist.
 */
export async function seed(db: Database, size: SeedSize): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM inventory.warehouse');
  if ((existing?.count ?? 0) > 0) return false;
  progress('inventory', `seeding ${WAREHOUSES.length} warehouses and stock for ${size.products.toLocaleString('en')} products`);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO inventory.warehouse (n, id, code, name, city, region)
       SELECT ord, 'w' || ord, code, name, city, region
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS w(code, name, city, region, ord)`,
      [WAREHOUSES.map((w) => w.code), WAREHOUSES.map((w) => w.name), WAREHOUSES.map((w) => w.city), WAREHOUSES.map((w) => w.region)],
    );
    await tx.query(
      `INSERT INTO inventory.stock (product_id, warehouse_id, available, reserved)
       SELECT 'p' || i,
              'w' || (2 * r + (i + r + s) % 2 + 1),
              CASE WHEN i % 97 = 0 OR (i % 11 = 5 AND r = (1 + i / 11) % $2::int) THEN 0
                   ELSE 1 + (i * 37 + r * 11 + s * 53) % 120 END,
              (i * 3 + r + s) % 4
       FROM generate_series(1, $1::int) AS i,
            generate_series(0, $2::int - 1) AS r,
            generate_series(0, 1) AS s
       WHERE s = 0 OR (i + r) % 3 = 0`,
      [size.products, REGIONS.length],
    );
  });
  progress('inventory', 'done');
  return true;
}
