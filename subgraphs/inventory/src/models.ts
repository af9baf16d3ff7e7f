import type { RegionCode } from '@shop/domain';

/**
 * A product as inventory sees it: only its key, plus `weightGrams` when the router sends it for
 * a field that `@requires` it. Products are owned by the products subgraph.
 */
export interface ProductRef {
  id: string;
  weightGrams?: number;
}

export interface WarehouseModel {
  id: string;
  code: string;
  name: string;
  city: string;
  region: RegionCode;
}

/** One (product, warehouse) stock row, with its warehouse joined in. */
export interface WarehouseStockModel {
  warehouse: WarehouseModel;
  available: number;
  reserved: number;
}

/** A product's stock summed over a set of warehouses (a region's, or all of them). */
export interface StockInfoModel {
  available: number;
  inStock: boolean;
  warehouses: WarehouseStockModel[];
}

/**
 * A reservation already in its GraphQL shape (no mapper: the repository builds it). HELD until
 * it is RELEASED (checkout failed, order cancelled) or SHIPPED (order.shipped); both are final.
 */
export interface ReservationModel {
  id: string;
  region: RegionCode;
  status: 'HELD' | 'RELEASED' | 'SHIPPED';
  lines: ReservationLineModel[];
}

/** Units of one product taken from one warehouse. */
export interface ReservationLineModel {
  productId: string;
  warehouseId: string;
  quantity: number;
}
