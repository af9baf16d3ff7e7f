import { productNumber } from '@shop/domain';
import { type AnyNewEvent, event } from '@shop/events';
import { badInput, notFound, requireAdmin as requireAdminScope, type Viewer } from '@shop/platform';
import type { MutationResolvers } from '../__generated__/resolvers-types.ts';
import { createProductWrites } from '../db/repository.ts';
import { EDITABLE_FIELDS, type ProductChanges, type ProductModel } from '../models.ts';
import { validateChanges, validateNewProduct } from '../validation.ts';

const requireAdmin = (viewer: Viewer | null) => requireAdminScope(viewer, 'Only an admin can edit the catalogue');

/**
 * Cache tags (`Product:<id>` for the entity, bare `Product` for every cached list of products,
 * `Category:<id>` for a category's own page). A product's own tag reaches every list that shows it;
 * the bare tag also reaches lists it joins or leaves, which only a change of what they select or
 * match by can do (listing filters: category and brand; search: name, brand, description).
 */

function requireProductId(id: string): string {
  if (productNumber(id) === undefined) throw badInput(`"${id}" is not a product id`, { argument: 'id' });
  return id;
}

export const Mutation: MutationResolvers = {
  async createProduct(_parent, { input }, { viewer, loaders, write }) {
    requireAdmin(viewer);
    const valid = validateNewProduct(input);
    const product = await write(async (tx) => {
      const writes = createProductWrites(tx);
      if (!(await writes.categoryExists(valid.categoryId))) throw badInput(`No category "${valid.categoryId}"`, { field: 'categoryId' });
      const created = await writes.insertProduct(valid);
      if (!created) throw badInput(`SKU "${valid.sku}" is already in use by another product`, { field: 'sku' });
      const { id, sku, name, categoryId, brand } = created;
      return {
        value: created,
        events: [
          event('product.created', id, { productId: id, sku, name, categoryId, brand }, [
            `Product:${id}`,
            'Product',
            `Category:${categoryId}`,
          ]),
        ],
      };
    });
    loaders.productById.prime(product.id, product);
    return product;
  },

  async updateProduct(_parent, { id, input }, { viewer, loaders, write }) {
    requireAdmin(viewer);
    requireProductId(id);
    const changes = validateChanges(input);
    const product = await write(async (tx) => {
      const writes = createProductWrites(tx);
      const current = await writes.lockProduct(id);
      if (!current) throw notFound(`No product "${id}"`);
      const differing = changedFields(current, changes);
      // Setting what it already has is no change: nothing to write, announce or invalidate.
      if (!differing.length) return { value: current };
      const set = Object.fromEntries(differing.map((field) => [field, changes[field]])) as ProductChanges;
      if (set.categoryId !== undefined && !(await writes.categoryExists(set.categoryId))) {
        throw badInput(`No category "${set.categoryId}"`, { field: 'categoryId' });
      }
      const updated = await writes.updateProduct(id, set);
      return { value: updated, events: [updatedEvent(current, updated, differing)] };
    });
    loaders.productById.prime(product.id, product);
    return product;
  },

  async discontinueProduct(_parent, { id }, { viewer, loaders, write }) {
    requireAdmin(viewer);
    requireProductId(id);
    const product = await write(async (tx) => {
      const writes = createProductWrites(tx);
      const discontinued = await writes.discontinueProduct(id);
      if (discontinued) {
        const events: AnyNewEvent[] = [
          event('product.discontinued', id, { productId: id }, [`Product:${id}`, 'Product', `Category:${discontinued.categoryId}`]),
        ];
        return { value: discontinued, events };
      }
      // Unknown, or discontinued already: the second changes nothing and is answered as it is.
      const existing = await writes.lockProduct(id);
      if (!existing) throw notFound(`No product "${id}"`);
      return { value: existing };
    });
    loaders.productById.prime(product.id, product);
    return product;
  },
};

/** The fields of `changes` whose value differs from the product's, in EDITABLE_FIELDS order. */
function changedFields(current: ProductModel, changes: ProductChanges): (typeof EDITABLE_FIELDS)[number][] {
  return EDITABLE_FIELDS.filter((field) => changes[field] !== undefined && changes[field] !== current[field]);
}

function updatedEvent(before: ProductModel, after: ProductModel, changed: readonly string[]): AnyNewEvent {
  const tags = new Set([`Product:${after.id}`]);
  // Any edit of a product on sale carries the bare type: a list it joins or leaves (a search) has no
  // tag of it, and neither has an entry that showed it without selecting its id (the router then
  // tags the bare type). A discontinued product is in no list, so an edit of it moves none.
  if (after.discontinuedAt === null) tags.add('Product');
  if (changed.includes('categoryId')) {
    tags.add(`Category:${before.categoryId}`);
    tags.add(`Category:${after.categoryId}`);
  }
  return event('product.updated', after.id, { productId: after.id, changed: [...changed] }, [...tags]);
}
