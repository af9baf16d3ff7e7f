import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger } from '@shop/platform';
import type { TokenVerifier } from '../auth.ts';
import type { RouterConfig, SubscriptionConfig } from '../config.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { SubscriptionManager } from './manager.ts';
import { fastifyTrustProxy } from '../rate-limit.ts';

export type Transport = 'ws' | 'sse' | 'multipart';

/** What every transport is built from: the bounds, the subscriptions, token checks and the connection count. */
export interface TransportParts {
  /** Where it listens. */
  path: string;
  config: SubscriptionConfig;
  manager: SubscriptionManager;
  verify: TokenVerifier;
  limiter: ConnectionLimiter;
  log: Logger;
  metrics: RouterMetrics;
}

/**
 * Open subscription connections, per client address and in all, over both transports: what
 * bounds the sockets, timers and buffers a client (or many) can make the router hold.
 */
export class ConnectionLimiter {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly config: SubscriptionConfig,
    private readonly metrics: RouterMetrics,
  ) {}

  get open(): number {
    return this.total;
  }

  /** A release function, or why the connection is refused. */
  acquire(ip: string, transport: Transport): (() => void) | { refused: 'per_ip' | 'total'; message: string } {
    if (this.total >= this.config.maxConnections) {
      this.metrics.subscriptionRefusals.inc({ reason: 'connections_total' });
      return { refused: 'total', message: 'The router holds as many subscription connections as it may; try another' };
    }
    const count = this.perIp.get(ip) ?? 0;
    if (count >= this.config.maxConnectionsPerIp) {
      this.metrics.subscriptionRefusals.inc({ reason: 'connections_per_ip' });
      return { refused: 'per_ip', message: `At most ${this.config.maxConnectionsPerIp} subscription connections per client address` };
    }
    this.perIp.set(ip, count + 1);
    this.total++;
    this.metrics.subscriptionConnections.inc({ transport });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      this.metrics.subscriptionConnections.dec({ transport });
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
    };
  }
}

/** The client address of a raw request (a WebSocket upgrade), as Fastify's request.ip would give it under TRUST_PROXY. */
export function clientIpResolver(trust: RouterConfig['trustProxy']): (request: IncomingMessage) => string {
  const setting = fastifyTrustProxy(trust);
  if (setting === false) return (request) => request.socket.remoteAddress ?? 'unknown';
  const fn = typeof setting === 'function' ? setting : setting === true ? () => true : proxyAddr.compile(setting);
  return (request) => proxyAddr(request, fn) ?? request.socket.remoteAddress ?? 'unknown';
}
