import type { Consumer, EventMetrics } from '@shop/events';
import { inBackground } from './background.ts';
import type { EventConsumerDefinition, SubgraphServices } from './subgraph.ts';

/**
 * Starts a subgraph's durable consumers. Each event's effect runs in one write with the event's
 * `processed_events` row: a redelivered event (the stream's at-least-once delivery, a relay that
 * published twice) finds the row and changes nothing; the effect's own events are queued in the
 * same transaction. A handler that throws leaves nothing behind, and the stream delivers the event
 * again after a backoff (dead-lettered after `maxDeliver` attempts).
 */
export function startConsumers(
  services: SubgraphServices,
  schema: string,
  definitions: readonly EventConsumerDefinition[],
  metrics: EventMetrics,
): { stop(): Promise<void> } {
  const write = services.writeFor();
  const running: Consumer[] = definitions.map((definition) => {
    const consumer = `${schema}-${definition.name}`;
    return services.stream.consume(
      { name: consumer, types: definition.types, maxDeliver: definition.maxDeliver, backoffMs: definition.backoffMs },
      (event) =>
        inBackground(async () => {
          try {
            const outcome = await write(async (tx) => {
              const fresh = await tx.query(
                `INSERT INTO ${schema}.processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
                [consumer, event.id],
              );
              if (!fresh.length) return { value: 'duplicate' as const };
              const events = (await definition.handle(event, tx)) ?? [];
              return { value: 'processed' as const, events };
            });
            metrics.consumed.inc({ consumer, outcome });
          } catch (error) {
            metrics.consumed.inc({ consumer, outcome: 'failed' });
            services.logger.warn(
              { err: error, consumer, eventId: event.id, type: event.type },
              'an event consumer failed; the event comes again',
            );
            throw error;
          }
        }),
    );
  });
  return {
    async stop() {
      await Promise.all(running.map((c) => c.stop()));
    },
  };
}
