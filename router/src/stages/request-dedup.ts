import { keyedRequest } from '../request-key.ts';
import { RequestDedup } from '../request-dedup.ts';
import { cacheStatusOf } from './cache-status.ts';
import { answeredEarly } from './metrics.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Request sharing (request-dedup.ts; REQUEST_DEDUP): an identical request already in flight
 * answers this one with its response. After the response cache (a hit needs no sharing), and its
 * onSend takes the leader's response before conditional GET can turn it into one client's 304.
 */
export function requestDedup({ config, metrics, viewerOf }: RouterParts): Stage | undefined {
  if (!config.requestDedup) return undefined;
  const dedup = new RequestDedup(metrics);
  return {
    name: 'request-dedup',
    async preHandler(request, reply) {
      const keyed = await keyedRequest(request, viewerOf);
      if (!keyed) return;
      const shared = await dedup.handle(request, reply, keyed.key, keyed.viewer, () => (cacheStatusOf(request).collapsed = true));
      if (!shared) return;
      return answeredEarly(metrics, request, reply, keyed.client, shared.operationName);
    },
    onSend: dedup.onSend,
    context: (request) => ({ requestDedup: dedup.stateOf(request) }),
    apollo: { plugins: [dedup.plugin()] },
  };
}
