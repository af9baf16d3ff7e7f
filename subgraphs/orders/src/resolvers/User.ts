import { assertOwnerOrAdmin, badInput } from '@shop/platform';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '@shop/subgraph-kit';
import type { UserResolvers } from '../__generated__/resolvers-types.ts';
import type { OrderPosition } from '../db/repository.ts';
import type { OrderModel } from '../models.ts';

const CURSOR_KIND = 'order';

/** A User.orders cursor names the last order seen by (createdAt, n), the page's sort key. */
const cursorOf = (order: OrderModel) => encodeCursor(CURSOR_KIND, `${order.createdAt.toISOString()}|${order.n}`);

function decodePosition(after: string | null | undefined): OrderPosition | null {
  const position = decodeCursor(CURSOR_KIND, after);
  if (position === undefined) return null;
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([1-9]\d{0,14})$/.exec(position);
  // Only what cursorOf could have produced: a real instant written back exactly as toISOString does.
  const createdAt = match?.[1];
  if (!match || !createdAt || Number.isNaN(Date.parse(createdAt)) || new Date(createdAt).toISOString() !== createdAt) {
    throw badInput('"after" is not a valid cursor for this list', { argument: 'after' });
  }
  return { createdAt, n: Number(match[2]) };
}

export const User: UserResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),

  async orders(user, { first, after }, { viewer, loaders }) {
    assertOwnerOrAdmin(viewer, user.id, "this user's orders");
    const limit = pageSize(first);
    const position = decodePosition(after);
    const [rows, count] = await Promise.all([
      loaders.userOrdersPage.load({ userId: user.id, after: position, limit: limit + 1 }),
      loaders.userOrderCount.load(user.id),
    ]);
    for (const row of rows) loaders.orderById.prime(row.id, row);
    return toConnection(rows, limit, cursorOf, count?.total ?? 0, position !== null);
  },
};
