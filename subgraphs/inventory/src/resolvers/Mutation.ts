import { notFound, requireAdmin, requireTrustedCaller } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { releaseStock, reserveStock } from '../reservations.ts';
import { adjustStock } from '../stock.ts';
import { validateAdjustment, validateReservation } from '../validation.ts';

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
    const level = await write((tx) => adjustStock(tx, { productId, warehouseId, delta }));
    return { warehouse, ...level };
  },
};
