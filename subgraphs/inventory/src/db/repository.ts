import type { Queryable, RegionCode } from '@shop/service-kit';
import type { WarehouseModel } from '../models.ts';

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

/** All SQL the inventory subgraph runs. Batch functions take many keys and run one statement. */
export function createInventoryRepository(db: Queryable) {
  return {
    warehousesByIds: (ids: readonly string[]) =>
      db.query<WarehouseModel>(`SELECT ${WAREHOUSE_COLUMNS} FROM inventory.warehouse WHERE id = ANY($1::text[])`, [ids]),

    warehouses: (region: RegionCode | null) =>
      db.query<WarehouseModel>(
        `SELECT ${WAREHOUSE_COLUMNS} FROM inventory.warehouse WHERE ($1::text IS NULL OR region = $1) ORDER BY n`,
        [region],
      ),

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
  };
}

export type InventoryRepository = ReturnType<typeof createInventoryRepository>;
