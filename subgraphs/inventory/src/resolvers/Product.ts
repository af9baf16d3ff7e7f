import { productNumber } from '@shop/domain';
import { badInput } from '@shop/platform';
import type { ProductResolvers } from '../__generated__/resolvers-types.ts';
import type { StockInfoModel } from '../models.ts';
import { estimateShipping } from '../shipping.ts';

const MAX_WEIGHT_GRAMS = 1_000_000;

export const Product: ProductResolvers = {
  // Inventory does not own products: any well-formed id resolves, and a product with no stock
  // rows simply has nothing in stock. Malformed ids resolve to null, as in the products subgraph.
  __resolveReference(reference) {
    if (typeof reference.id !== 'string' || productNumber(reference.id) === undefined) return null;
    const weightGrams = 'weightGrams' in reference ? reference.weightGrams : undefined;
    return weightGrams === undefined ? { id: reference.id } : { id: reference.id, weightGrams };
  },

  /** Sums over the region's warehouses (all when no region); unknown products: 0, not in stock, []. */
  async stock(product, { region }, { loaders }): Promise<StockInfoModel> {
    const rows = await loaders.stockByProduct.load(product.id);
    const warehouses = rows
      .filter((row) => region == null || row.warehouse.region === region)
      .map(({ warehouse, available, reserved }) => ({ warehouse, available, reserved }));
    const available = warehouses.reduce((sum, w) => sum + w.available, 0);
    return { available, inStock: available > 0, warehouses };
  },

  async shippingEstimate(product, { region }, { loaders }) {
    const { weightGrams } = product;
    if (weightGrams === undefined || weightGrams === null) {
      throw badInput('shippingEstimate needs the product\'s "weightGrams" in the representation (@requires)', { field: 'weightGrams' });
    }
    if (!Number.isInteger(weightGrams) || weightGrams <= 0 || weightGrams > MAX_WEIGHT_GRAMS) {
      throw badInput(`"weightGrams" must be a whole number of grams between 1 and ${MAX_WEIGHT_GRAMS}`, { field: 'weightGrams' });
    }
    return estimateShipping(await loaders.stockByProduct.load(product.id), region, weightGrams);
  },
};
