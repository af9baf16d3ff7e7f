import { badInput, notFound, requireAdmin, requireTrustedCaller } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { releaseStock, reserveStock } from '../reservations.ts';
import { MAX_AVAILABLE, validateAdjustment, validateReservation } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async reserveStock(_parent, { reservationId, region, lines }, { trusted, db, loaders, bus }) {
    requireTrustedCaller(trusted);
    validateReservation(reservationId, lines);
    const { reservation, reserved } = await reserveStock(db, { reservationId, region, lines });
    for (const line of lines) loaders.stockByProduct.clear(line.productId);
    // A retry that found the reservation already made changed nothing.
    if (reserved) await bus.publish(productTags(reservation.lines));
    return reservation;
  },

  async releaseStock(_parent, { reservationId }, { trusted, db, loaders, bus }) {
    requireTrustedCaller(trusted);
    const { reservation, released } = await releaseStock(db, reservationId);
    for (const line of reservation?.lines ?? []) loaders.stockByProduct.clear(line.productId);
    if (released && reservation) await bus.publish(productTags(reservation.lines));
    return reservation;
  },

  async adjustStock(_parent, { productId, warehouseId, delta }, { viewer, repo, loaders, bus }) {
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
    await bus.publish([`Product:${productId}`]);
    return { warehouse, ...level };
  },
};

/** Stock changed for these products (a line per product and warehouse: each product once). */
const productTags = (lines: readonly { productId: string }[]) => [...new Set(lines.map((line) => `Product:${line.productId}`))];
