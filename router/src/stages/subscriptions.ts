import { ConnectionLimiter, clientIpResolver } from '../subscriptions/connections.ts';
import { EventHub, followInto } from '../subscriptions/hub.ts';
import { SubscriptionManager, subscriptionPlugin } from '../subscriptions/manager.ts';
import { registerMultipart, type MultipartTransport } from '../subscriptions/multipart.ts';
import { registerSse, type SseTransport } from '../subscriptions/sse.ts';
import { attachWebSocket, type WebSocketTransport } from '../subscriptions/ws.ts';
import type { RouterParts, Stage } from './stage.ts';

/** Where the transports listen: WebSocket upgrades and multipart POSTs of `/graphql` itself, SSE beside it. */
export const SUBSCRIPTION_PATHS = { ws: '/graphql', multipart: '/graphql', sse: '/graphql/stream' } as const;

/**
 * Subscriptions (subscriptions/): graphql-ws on `/graphql`'s upgrade, Apollo's multipart HTTP on
 * `/graphql` (Accept: multipart/mixed;subscriptionSpec=1.0) and SSE on `/graphql/stream`,
 * fed by the event stream, each event answered through Apollo and the gateway. Its Apollo plugin
 * is there even with SUBSCRIPTIONS=false: a subscription POSTed as a query gets a clear 400.
 */
export function subscriptions(parts: RouterParts): Stage {
  const { config, log, metrics } = parts;
  const settings = config.subscriptions;
  const plugin = subscriptionPlugin();
  if (!settings.enabled) return { name: 'subscriptions', apollo: { plugins: [plugin] } };
  const stream = parts.stream;
  if (!stream) throw new Error('subscriptions need the event stream');
  const hub = new EventHub({ windowMs: settings.resumeWindowMs, maxEvents: settings.resumeMaxEvents });
  // An event's tags are dropped from the router's caches (and fetches in flight sharing) before it
  // is answered: the cache's own follower may hear it later. Dropping twice is harmless.
  const follower = followInto(stream, hub, log, async (event) => {
    if (!event.tags.length) return;
    await Promise.all([parts.entityCache?.invalidate(event.tags), parts.signals.invalidated.emit(event.tags)]);
  });
  const manager = new SubscriptionManager({
    config: settings,
    hub,
    log,
    metrics,
    execute: (request, context) => {
      if (!parts.execute) throw new Error('the router is not started');
      return parts.execute(request, context);
    },
  });
  const limiter = new ConnectionLimiter(settings, metrics);
  let ws: WebSocketTransport | undefined;
  let sse: SseTransport | undefined;
  let multipart: MultipartTransport | undefined;
  return {
    name: 'subscriptions',
    apollo: { plugins: [plugin] },
    fastify(app) {
      const common = { config: settings, manager, verify: parts.verifyToken, limiter, log, metrics };
      sse = registerSse({ app, path: SUBSCRIPTION_PATHS.sse, ...common });
      multipart = registerMultipart({ app, path: SUBSCRIPTION_PATHS.multipart, ...common });
      ws = attachWebSocket({
        server: app.server,
        path: SUBSCRIPTION_PATHS.ws,
        clientIpOf: clientIpResolver(config.trustProxy),
        requestLimit: parts.requestLimit,
        ...common,
      });
    },
    // Before the listener closes: open streams and sockets would otherwise hold the drain to its timeout.
    async beforeClose() {
      manager.close();
      sse?.close();
      multipart?.close();
      await ws?.close();
    },
    async close() {
      await follower.stop();
    },
  };
}
