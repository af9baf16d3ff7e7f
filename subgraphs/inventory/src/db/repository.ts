import type { RegionCode } from '@shop/domain';
import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import type { ReservationLineModel, ReservationModel, WarehouseModel } from '../models.ts';

const WAREHOUSE_COLUMNS = 'id, code, name, city, region';

/** A stock row with its warehouse joined in, keyed back to its product by `productId`. */
export interface StockRow {
  productId: string;
  available: number;
  reserved: number;
  warehouse: WarehouseModel;
}

interface FlatStockRow extends WarehouseModel {
  productId: string;
  available: number;
  reserved: number;
}

/** A stock row locked for a reservation; `warehouseN` orders warehouses (ties go to the first). */
export interface LockedStockRow {
  productId: string;
  warehouseId: string;
  warehouseN: number;
  available: number;
}

export interface StockLevel {
  available: number;
  reserved: number;
}

interface FlatReservationRow {
  id: string;
  region: ReservationModel['region'];
  status: ReservationModel['status'];
  productId: string | null;
  warehouseId: string | null;
  quantity: number | null;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Lines in one order however they were obtained (code-unit order of product, then warehouse id). */
export function sortLines(lines: ReservationLineModel[]): ReservationLineModel[] {
  return lines.sort((a, b) => byCodeUnits(a.productId, b.productId) || byCodeUnits(a.warehouseId, b.warehouseId));
}

const changeColumns = (lines: readonly ReservationLineModel[]) => [
  lines.map((l) => l.productId),
  lines.map((l) => l.warehouseId),
  lines.map((l) => l.quantity),
];

/** A reservation with its lines; `lock` takes its row lock (FOR UPDATE) until the transaction ends. */
async function selectReservation(q: Queryable, id: string, lock: boolean): Promise<ReservationModel | null> {
  const rows = await q.query<FlatReservationRow>(
    `SELECT r.id, r.region, r.status,
            l.product_id AS "productId", l.warehouse_id AS "warehouseId", l.quantity
     FROM inventory.reservation r LEFT JOIN inventory.reservation_line l ON l.reservation_id = r.id
     WHERE r.id = $1
     ${lock ? 'FOR UPDATE OF r' : ''}`,
    [id],
  );
  const [first] = rows;
  if (!first) return null;
  const lines: ReservationLineModel[] = [];
  for (const { productId, warehouseId, quantity } of rows) {
    if (productId !== null && warehouseId !== null && quantity !== null) lines.push({ productId, warehouseId, quantity });
  }
  return { id: first.id, region: first.region, status: first.status, lines: sortLines(lines) };
}

/**
 * The inventory subgraph's reads. Batch functions take many keys and run one statement. Everything
 * that changes a row is in createInventoryWrites, reachable only inside a write.
 */
export function createInventoryRepository(db: Queryable) {
  return {
    warehousesByIds: (ids: readonly string[]) =>
      db.query<WarehouseModel>(`SELECT ${WAREHOUSE_COLUMNS} FROM inventory.warehouse WHERE id = ANY($1::text[])`, [ids]),

    warehouses: (region: RegionCode | null) =>
      db.query<WarehouseModel>(`SELECT ${WAREHOUSE_COLUMNS} FROM inventory.warehouse WHERE ($1::text IS NULL OR region = $1) ORDER BY n`, [
        region,
      ]),

    /** Every stock row of the given products, warehouses joined in, in warehouse order. */
    async stockByProductIds(productIds: readonly string[]): Promise<StockRow[]> {
      const rows = await db.query<FlatStockRow>(
        `SELECT s.product_id AS "productId", s.available, s.reserved,
                w.id, w.code, w.name, w.city, w.region
         FROM inventory.stock s JOIN inventory.warehouse w ON w.id = s.warehouse_id
         WHERE s.product_id = ANY($1::text[])
         ORDER BY s.product_id, w.n`,
        [productIds],
      );
      return rows.map(({ productId, available, reserved, ...warehouse }) => ({ productId, available, reserved, warehouse }));
    },

    /** A reservation with its lines, as committed (or as the transaction reading it sees it). */
    reservation: (id: string) => selectReservation(db, id, false),
  };
}

export type InventoryRepository = ReturnType<typeof createInventoryRepository>;

/**
 * The inventory subgraph's writes and the row locks they take, over the transaction of a `write`
 * (see the kit's write.ts): the only way to reach them, so every one commits with its events.
 * Stock rows feed the cached `Product.stock`; their callers emit a stock.changed event (tagged
 * `Product:<id>`) for each product they move (stock-events.ts).
 */
export function createInventoryWrites(tx: WriteTransaction) {
  return {
    /**
     * Creates a HELD reservation header; false when one with this id exists. On Postgres a
     * concurrent transaction inserting the same id makes this wait for it to finish, so after a
     * false the other's row is committed and readable.
     */
    async claimReservation(id: string, region: RegionCode): Promise<boolean> {
      const rows = await tx.query(
        `INSERT INTO inventory.reservation (id, region, status) VALUES ($1, $2, 'HELD')
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [id, region],
      );
      return rows.length === 1;
    },

    /** The reservation with its lines, its row locked (FOR UPDATE) until the transaction ends. */
    lockReservation: (id: string) => selectReservation(tx, id, true),

    /**
     * Locks the products' stock rows in the region's warehouses until the transaction ends. Every
     * writer locks in (product_id, warehouse_id) order, so concurrent checkouts cannot deadlock.
     */
    lockRegionStock: (productIds: readonly string[], region: RegionCode) =>
      tx.query<LockedStockRow>(
        `SELECT s.product_id AS "productId", s.warehouse_id AS "warehouseId", w.n AS "warehouseN", s.available
         FROM inventory.stock s JOIN inventory.warehouse w ON w.id = s.warehouse_id
         WHERE s.product_id = ANY($1::text[]) AND w.region = $2
         ORDER BY s.product_id, s.warehouse_id
         FOR UPDATE OF s`,
        [productIds, region],
      ),

    /** Locks the stock rows the lines name, in the same order as lockRegionStock. */
    async lockStockRows(lines: readonly ReservationLineModel[]): Promise<void> {
      await tx.query(
        `SELECT 1 FROM inventory.stock
         WHERE (product_id, warehouse_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         ORDER BY product_id, warehouse_id
         FOR UPDATE`,
        changeColumns(lines).slice(0, 2),
      );
    },

    /**
     * Moves each line's quantity from available to reserved, only where that much is available.
     * Returns how many rows changed: fewer than the lines means the caller must roll back.
     */
    async takeStock(lines: readonly ReservationLineModel[]): Promise<number> {
      const rows = await tx.query(
        `UPDATE inventory.stock s
         SET available = s.available - c.quantity, reserved = s.reserved + c.quantity
         FROM unnest($1::text[], $2::text[], $3::int[]) AS c(product_id, warehouse_id, quantity)
         WHERE s.product_id = c.product_id AND s.warehouse_id = c.warehouse_id AND s.available >= c.quantity
         RETURNING s.product_id`,
        changeColumns(lines),
      );
      return rows.length;
    },

    /** The reverse of takeStock, only where that much is reserved. Returns how many rows changed. */
    async returnStock(lines: readonly ReservationLineModel[]): Promise<number> {
      const rows = await tx.query(
        `UPDATE inventory.stock s
         SET available = s.available + c.quantity, reserved = s.reserved - c.quantity
         FROM unnest($1::text[], $2::text[], $3::int[]) AS c(product_id, warehouse_id, quantity)
         WHERE s.product_id = c.product_id AND s.warehouse_id = c.warehouse_id AND s.reserved >= c.quantity
         RETURNING s.product_id`,
        changeColumns(lines),
      );
      return rows.length;
    },

    async insertReservationLines(reservationId: string, lines: readonly ReservationLineModel[]): Promise<void> {
      await tx.query(
        `INSERT INTO inventory.reservation_line (reservation_id, product_id, warehouse_id, quantity)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[])`,
        [reservationId, ...changeColumns(lines)],
      );
    },

    /**
     * The reverse of half of takeStock: the units leave the warehouse, so only `reserved` goes down
     * (`available` went down when they were reserved), only where that much is reserved. Returns
     * how many rows changed: fewer than the lines means the caller must roll back.
     */
    async shipStock(lines: readonly ReservationLineModel[]): Promise<number> {
      const rows = await tx.query(
        `UPDATE inventory.stock s
         SET reserved = s.reserved - c.quantity
         FROM unnest($1::text[], $2::text[], $3::int[]) AS c(product_id, warehouse_id, quantity)
         WHERE s.product_id = c.product_id AND s.warehouse_id = c.warehouse_id AND s.reserved >= c.quantity
         RETURNING s.product_id`,
        changeColumns(lines),
      );
      return rows.length;
    },

    /**
     * Each product's available and reserved units over all warehouses, as this transaction sees
     * them (its own changes included): what a stock.changed event reports. Products without a
     * stock row are absent.
     */
    async stockTotals(productIds: readonly string[]): Promise<Map<string, StockLevel>> {
      // A sum over warehouses can pass the `integer` range (each row holds up to MAX_AVAILABLE), and
      // pg and PGlite return `bigint` differently: text reads the same from both, exact below 2^53.
      const rows = await tx.query<{ productId: string; available: string; reserved: string }>(
        `SELECT product_id AS "productId", sum(available)::text AS available, sum(reserved)::text AS reserved
         FROM inventory.stock WHERE product_id = ANY($1::text[])
         GROUP BY product_id`,
        [productIds],
      );
      return new Map(
        rows.map(({ productId, available, reserved }) => [productId, { available: Number(available), reserved: Number(reserved) }]),
      );
    },

    /** HELD → SHIPPED; false when it was not HELD (the second guard against shipping twice). */
    async markShipped(id: string): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE inventory.reservation SET status = 'SHIPPED', shipped_at = now()
         WHERE id = $1 AND status = 'HELD' RETURNING id`,
        [id],
      );
      return rows.length === 1;
    },

    /** HELD → RELEASED; false when it was not HELD. */
    async markReleased(id: string): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE inventory.reservation SET status = 'RELEASED', released_at = now()
         WHERE id = $1 AND status = 'HELD' RETURNING id`,
        [id],
      );
      return rows.length === 1;
    },

    /** Adds available units, creating the stock row if needed; null when it would pass `max`. */
    async addStock(productId: string, warehouseId: string, units: number, max: number): Promise<StockLevel | null> {
      const [row] = await tx.query<StockLevel>(
        `INSERT INTO inventory.stock AS s (product_id, warehouse_id, available, reserved) VALUES ($1, $2, $3, 0)
         ON CONFLICT (product_id, warehouse_id) DO UPDATE SET available = s.available + EXCLUDED.available
         WHERE s.available <= $4::int - EXCLUDED.available
         RETURNING s.available, s.reserved`,
        [productId, warehouseId, units, max],
      );
      return row ?? null;
    },

    /** Removes available units, only where that many are available; null when it would go below zero. */
    async removeStock(productId: string, warehouseId: string, units: number): Promise<StockLevel | null> {
      const [row] = await tx.query<StockLevel>(
        `UPDATE inventory.stock SET available = available - $3
         WHERE product_id = $1 AND warehouse_id = $2 AND available >= $3
         RETURNING available, reserved`,
        [productId, warehouseId, units],
      );
      return row ?? null;
    },
  };
}

export type InventoryWrites = ReturnType<typeof createInventoryWrites>;
