import type { Logger } from '@shop/platform';
import type { EventMetrics } from './metrics.ts';
import type { EventStream } from './stream.ts';

/** NATS JetStream stream (implementation in progress: this first commit only fixes the signature). */
export async function connectJetStream(_options: {
  url: string;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
  metrics?: EventMetrics | undefined;
  connectTimeoutMs?: number;
}): Promise<EventStream> {
  throw new Error('connectJetStream: not implemented yet; unset NATS_URL to use the in-process stream');
}
