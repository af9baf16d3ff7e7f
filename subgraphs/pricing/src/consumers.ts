import { productNumber } from '@shop/domain';
import type { EventData } from '@shop/events';
import type { EventConsumerDefinition } from '@shop/subgraph-kit';
import { createPricingWrites } from './db/repository.ts';

/**
 * product.discontinued → the product is no longer sold: `quote` (and so checkout, which refuses a
 * line without a price) and `Product.price` answer no price for it from then on. The kit runs this
 * once per event id (processed_events, same transaction); the table's key makes a second event
 * about the same product a no-op too. It queues no event of its own: the products event already
 * carries the `Product:<id>` tag that drops the cached prices.
 */
export const discontinuedProducts: EventConsumerDefinition = {
  name: 'discontinued-products',
  types: ['product.discontinued'],
  async handle(event, tx) {
    // `types` lets only product.discontinued through; the envelope's type cannot say so.
    const { productId } = event.data as EventData['product.discontinued'];
    if (typeof productId !== 'string' || productNumber(productId) === undefined) {
      // Retrying cannot fix a malformed event: it goes to the dead-letter subject after its attempts.
      throw new Error(`product.discontinued ${event.id} names no valid product id`);
    }
    await createPricingWrites(tx).markDiscontinued(productId, event.occurredAt, event.id);
    return [];
  },
};
