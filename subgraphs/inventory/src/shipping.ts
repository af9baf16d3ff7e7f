import { CURRENCY, formatCents, type RegionCode } from '@shop/domain';
import type { WarehouseModel } from './models.ts';
import type { StockRow } from './db/repository.ts';

/** Shipping tariff per destination region, in minor units of the region's currency. */
export const TARIFF: Record<RegionCode, { baseMinor: bigint; perKgMinor: bigint }> = {
  IN: { baseMinor: 4900n, perKgMinor: 2000n }, // 49.00 INR + 20.00 INR/kg
  SEA: { baseMinor: 400n, perKgMinor: 150n }, // 4.00 SGD + 1.50 SGD/kg
  ME: { baseMinor: 1000n, perKgMinor: 400n }, // 10.00 AED + 4.00 AED/kg
  US: { baseMinor: 500n, perKgMinor: 120n }, // 5.00 USD + 1.20 USD/kg
};

/** Shipping from another region costs this many times the in-region tariff. */
export const CROSS_REGION_MULTIPLIER = 2n;
export const IN_REGION_DAYS = { minDays: 2, maxDays: 4 };
export const CROSS_REGION_DAYS = { minDays: 6, maxDays: 10 };

export interface ShippingEstimateModel {
  minDays: number;
  maxDays: number;
  cost: { amount: string; currency: string };
  fromWarehouse: WarehouseModel | null;
}

/**
 * In-region cost: base + per-kg rate charged pro rata by the gram, rounded up to the minor unit.
 * Integer arithmetic only, so "6.80" is exactly 6.80.
 */
export function shippingCostMinor(region: RegionCode, weightGrams: number, crossRegion: boolean): bigint {
  const { baseMinor, perKgMinor } = TARIFF[region];
  const weightMinor = (perKgMinor * BigInt(weightGrams) + 999n) / 1000n;
  return (baseMinor + weightMinor) * (crossRegion ? CROSS_REGION_MULTIPLIER : 1n);
}

/**
 * Ships from the region's warehouse with the most available units (the first in warehouse order
 * on a tie). When no warehouse in the region has stock it ships from another region: slower and
 * dearer, and `fromWarehouse` is null.
 */
export function estimateShipping(stock: readonly StockRow[], region: RegionCode, weightGrams: number): ShippingEstimateModel {
  let best: StockRow | undefined;
  for (const row of stock) {
    if (row.warehouse.region === region && row.available > 0 && (!best || row.available > best.available)) best = row;
  }
  const crossRegion = best === undefined;
  return {
    ...(crossRegion ? CROSS_REGION_DAYS : IN_REGION_DAYS),
    cost: { amount: formatCents(shippingCostMinor(region, weightGrams, crossRegion)), currency: CURRENCY[region] },
    fromWarehouse: best?.warehouse ?? null,
  };
}
