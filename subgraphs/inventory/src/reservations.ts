import type { RegionCode } from '@shop/domain';
import { codedError } from '@shop/platform';
import type { WriteTransaction, Written } from '@shop/subgraph-kit';
import { createInventoryRepository, createInventoryWrites, sortLines, type LockedStockRow } from './db/repository.ts';
import type { ReservationLineModel, ReservationModel } from './models.ts';
import { stockChanged } from './stock.ts';

export interface ReserveRequest {
  reservationId: string;
  region: RegionCode;
  lines: readonly { productId: string; quantity: number }[];
}

/**
 * Splits each line over the region's warehouses, fullest first (warehouse order on a tie).
 * Returns the allocation and, in request order, every product that cannot be fully covered.
 */
export function allocate(request: ReserveRequest['lines'], stock: readonly LockedStockRow[]) {
  const allocation: ReservationLineModel[] = [];
  const short: string[] = [];
  for (const { productId, quantity } of request) {
    const rows = stock
      .filter((row) => row.productId === productId && row.available > 0)
      .sort((a, b) => b.available - a.available || a.warehouseN - b.warehouseN);
    let remaining = quantity;
    const taken: ReservationLineModel[] = [];
    for (const row of rows) {
      if (remaining === 0) break;
      const units = Math.min(remaining, row.available);
      taken.push({ productId, warehouseId: row.warehouseId, quantity: units });
      remaining -= units;
    }
    if (remaining > 0) short.push(productId);
    else allocation.push(...taken);
  }
  return { allocation, short };
}

/**
 * Reserves every line or none, in the write's transaction. Idempotent per reservation id: an
 * existing reservation is returned as it is, whatever its status. The stock rows are locked before
 * they are read and the updates are conditional, so concurrent checkouts can never oversell. One
 * stock.changed event (reason `reserved`) per product this call took stock of; none when it
 * returned an existing reservation.
 */
export async function reserveStock(
  tx: WriteTransaction,
  { reservationId, region, lines }: ReserveRequest,
): Promise<Written<ReservationModel>> {
  const writes = createInventoryWrites(tx);
  if (!(await writes.claimReservation(reservationId, region))) {
    const existing = await createInventoryRepository(tx).reservation(reservationId);
    if (!existing) throw new Error(`reservation ${reservationId} conflicted but cannot be read`);
    // A retry that found the reservation already made changed nothing.
    return { value: existing, events: [] };
  }
  const stock = await writes.lockRegionStock(
    lines.map((l) => l.productId),
    region,
  );
  const { allocation, short } = allocate(lines, stock);
  if (short.length > 0) {
    throw codedError('OUT_OF_STOCK', `Not enough stock for ${short.join(', ')} in ${region}`, { productIds: short });
  }
  // The rows are locked, so this cannot miss; if it ever does, throwing rolls everything back.
  if ((await writes.takeStock(allocation)) !== allocation.length) throw new Error('stock changed under a row lock');
  await writes.insertReservationLines(reservationId, allocation);
  return {
    value: { id: reservationId, region, status: 'HELD', lines: sortLines(allocation) },
    events: await stockChanged(
      writes,
      allocation.map((line) => line.productId),
      'reserved',
    ),
  };
}

/**
 * Gives a HELD reservation's stock back and marks it RELEASED; null when unknown. Releasing twice
 * releases once: one stock.changed event (reason `released`) per product whose stock came back,
 * from the call that did. A SHIPPED reservation is returned as it is and nothing moves: its units
 * have left the warehouse, so a late cancel or a checkout's clean-up must not put them back.
 */
export async function releaseStock(tx: WriteTransaction, reservationId: string): Promise<Written<ReservationModel | null>> {
  const writes = createInventoryWrites(tx);
  // The row lock makes concurrent releases of one reservation take turns: only one sees HELD.
  const reservation = await writes.lockReservation(reservationId);
  if (reservation?.status !== 'HELD') return { value: reservation, events: [] };
  await writes.lockStockRows(reservation.lines);
  if ((await writes.returnStock(reservation.lines)) !== reservation.lines.length) {
    throw new Error(`reservation ${reservationId} holds more than its stock rows have reserved`);
  }
  if (!(await writes.markReleased(reservationId))) throw new Error(`reservation ${reservationId} changed under a row lock`);
  return {
    value: { ...reservation, status: 'RELEASED' },
    events: await stockChanged(
      writes,
      reservation.lines.map((line) => line.productId),
      'released',
    ),
  };
}
