import { registerRateLimit, type RateLimitHandle } from '../rate-limit.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Per-client request limits on `/graphql` (rate-limit.ts), in `onRequest`: a refused request
 * costs no body parsing, planning or fetch. Also makes the sign-in and sign-up buckets that the
 * credential-limits stage counts in.
 */
export function rateLimit(parts: RouterParts): Stage {
  let handle: RateLimitHandle | undefined;
  return {
    name: 'rate-limit',
    async fastify(app) {
      handle = await registerRateLimit(app, { config: parts.config, metrics: parts.metrics, logger: parts.log, viewerOf: parts.viewerOf });
      parts.credentialLimit = handle.credentialLimit;
      parts.requestLimit = handle.requestLimit;
    },
    close: () => handle?.close(),
  };
}
