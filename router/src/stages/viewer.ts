import { IDENTITY_HEADERS } from '@shop/platform';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Who is asking: the verified viewer in the GraphQL context (a bad token fails the request with
 * 401, or 503 when the key set is unreachable), and the identity subgraphs receive. Subgraphs get
 * only what the router verified (never headers a client sent), plus the shared secret that lets
 * them believe it.
 */
export function viewer({ config, viewerOf }: RouterParts): Stage {
  return {
    name: 'viewer',
    context: async (request) => ({ viewer: await viewerOf(request) }),
    fetch: {
      headers(headers, { context }) {
        if (config.routerSecret) headers.set(IDENTITY_HEADERS.routerSecret, config.routerSecret);
        if (!context) return;
        if (context.viewer) {
          headers.set(IDENTITY_HEADERS.userId, context.viewer.userId);
          headers.set(IDENTITY_HEADERS.scopes, context.viewer.scopes.join(' '));
        }
        // For subgraphs that key by client (the users subgraph throttles sign-ins per account and address).
        if (context.clientIp) headers.set(IDENTITY_HEADERS.clientIp, context.clientIp);
        if (context.requestId) headers.set('x-request-id', context.requestId);
      },
    },
  };
}
