import { type EventData, event, type NewEvent } from '@shop/events';
import { badInput } from '@shop/platform';
import type { WriteTransaction, Written } from '@shop/subgraph-kit';
import { createInventoryWrites, type InventoryWrites, type StockLevel } from './db/repository.ts';
import { MAX_AVAILABLE } from './validation.ts';

export type StockReason = EventData['stock.changed']['reason'];

/** The cache tag of a product whose stock moved: `Product.stock` and `shippingEstimate` hang off it. */
export const productTag = (productId: string) => `Product:${productId}`;

/**
 * One stock.changed event per product (each once, in first-seen order), with the product's totals
 * over all warehouses read in the write's transaction after its change, and the product's cache
 * tag. Under READ COMMITTED the totals also count what other transactions committed in other
 * warehouses meanwhile: each event is the product's level as of its write, so a consumer that
 * wants the current figure keeps the latest event's (or asks inventory), never adds them up.
 */
export async function stockChanged(
  writes: InventoryWrites,
  productIds: readonly string[],
  reason: StockReason,
): Promise<NewEvent<'stock.changed'>[]> {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) return [];
  const totals = await writes.stockTotals(ids);
  return ids.map((productId) => {
    // Every product a write moved has a row; the fallback only keeps the event well-formed.
    const { available, reserved } = totals.get(productId) ?? { available: 0, reserved: 0 };
    return event('stock.changed', productId, { productId, reason, available, reserved }, [productTag(productId)]);
  });
}

export interface Adjustment {
  productId: string;
  warehouseId: string;
  /** Validated by the caller (validateAdjustment): a non-zero whole number within MAX_ADJUSTMENT. */
  delta: number;
}

/**
 * An admin's adjustment of one warehouse's available units, in the write's transaction, with its
 * stock.changed event (reason `adjusted`). Never below zero nor above MAX_AVAILABLE: either
 * answers BAD_USER_INPUT and rolls back.
 */
export async function adjustStock(tx: WriteTransaction, { productId, warehouseId, delta }: Adjustment): Promise<Written<StockLevel>> {
  const writes = createInventoryWrites(tx);
  const changed =
    delta > 0
      ? await writes.addStock(productId, warehouseId, delta, MAX_AVAILABLE)
      : await writes.removeStock(productId, warehouseId, -delta);
  if (!changed) {
    throw delta > 0
      ? badInput(`Adding ${delta} would take available above ${MAX_AVAILABLE}`, { field: 'delta' })
      : badInput(`Removing ${-delta} would take available below zero`, { field: 'delta' });
  }
  return { value: changed, events: await stockChanged(writes, [productId], 'adjusted') };
}
