import type { Logger } from '@shop/platform';
import { createInProcessStream } from './in-process.ts';
import { connectJetStream } from './jetstream.ts';
import type { EventMetrics } from './metrics.ts';
import type { EventStream } from './stream.ts';

/**
 * The stream a service uses: NATS JetStream when NATS_URL is set, else the in-process stream,
 * one per stream name and subject prefix, so every service in one process (`npm start`) shares it.
 * Rejects when NATS is configured and cannot be reached (a misconfigured deployment fails fast).
 */
export async function openEventStream({
  natsUrl,
  stream,
  subjectPrefix,
  logger,
  metrics,
}: {
  natsUrl: string | undefined;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
  metrics?: EventMetrics | undefined;
}): Promise<EventStream> {
  if (natsUrl) return connectJetStream({ url: natsUrl, stream, subjectPrefix, logger, metrics });
  return createInProcessStream({ scope: `${stream}/${subjectPrefix}`, logger, metrics });
}
