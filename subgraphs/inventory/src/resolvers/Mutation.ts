import { badInput, notFound, requireAdmin, requireTrustedCaller } from '@shop/service-kit';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { releaseStock, reserveStock } from '../reservations.ts';
import { MAX_AVAILABLE, validateAdjustment, validateReservation } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async reserveStock(_parent, { reservationId, region, lines }, { trusted, db, loaders }) {
    requireTrustedCaller(trusted);
    validateReservation(reservationId, lines);
    const reservation = await reserveStock(db, { reservationId, region, lines });
    for (const line of lines) loaders.stockByProduct.clear(line.productId);
    return reservation;
  },

  async releaseStock(_parent, { reservationId }, { trusted, db, loaders }) {
    requireTrustedCaller(trusted);
    const reservation = await releaseStock(db, reservationId);
    for (const line of reservation?.lines ?? []) loaders.stockByProduct.clear(line.productId);
    return reservation;
  },

  async adjustStock(_parent, { productId, warehouseId, delta }, { viewer, repo, loaders }) {
    requireAdmin(viewer, 'Only admins can adjust stock');
    validateAdjustment(productId, delta);
    const warehouse = await loaders.warehouseById.load(warehouseId);
    if (!warehouse) throw notFound(`No warehouse ${warehouseId}`);
    const level =
      delta > 0 ? await repo.addStock(productId, warehouseId, delta, MAX_AVAILABLE) : await repo.removeStock(productId, warehouseId, -delta);
    if (!level) {
      throw delta > 0
        ? badInput(`Adding ${delta} would take available above ${MAX_AVAILABLE}`, { field: 'delta' })
        : badInput(`Removing ${-delta} would take available below zero`, { field: 'delta' });
    }
    loaders.stockByProduct.clear(productId);
    return { warehouse, ...level };
  },
};
