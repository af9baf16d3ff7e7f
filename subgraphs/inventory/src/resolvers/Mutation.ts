import { badInput, notFound, requireAdmin, requireTrustedCaller } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { createInventoryWrites } from '../db/repository.ts';
import { releaseStock, reserveStock } from '../reservations.ts';
import { MAX_AVAILABLE, validateAdjustment, validateReservation } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async reserveStock(_parent, { reservationId, region, lines }, { trusted, write }) {
    requireTrustedCaller(trusted);
    validateReservation(reservationId, lines);
    return write((tx) => reserveStock(tx, { reservationId, region, lines }));
  },

  async releaseStock(_parent, { reservationId }, { trusted, write }) {
    requireTrustedCaller(trusted);
    return write((tx) => releaseStock(tx, reservationId));
  },

  async adjustStock(_parent, { productId, warehouseId, delta }, { viewer, loaders, write }) {
    requireAdmin(viewer, 'Only admins can adjust stock');
    validateAdjustment(productId, delta);
    const warehouse = await loaders.warehouseById.load(warehouseId);
    if (!warehouse) throw notFound(`No warehouse ${warehouseId}`);
    const level = await write(async (tx) => {
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
      return { value: changed, tags: [`Product:${productId}`] };
    });
    return { warehouse, ...level };
  },
};
