/**
 * Sending from a chosen loopback address: one undici Pool per (origin, source address), so the
 * router's per-IP rate limit sees hostile traffic from 127.0.0.2…127.0.0.9 and ordinary traffic
 * from 127.0.0.1 as different clients (Linux routes all of 127.0.0.0/8 to loopback). Every request
 * has header and body timeouts, so a stalled or dead process costs a bounded wait, never a hang.
 */
import { Pool } from 'undici';
import type { HostileRequest, Outcome } from '@shop/stack/hostile-requests';

export type { Outcome };

/** How long one request may wait for its headers, then for its body. */
const REQUEST_TIMEOUT_MS = 15_000;

export class Senders {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connectionsPerPool: number) {}

  private pool(origin: string, localAddress: string): Pool {
    const key = `${origin} ${localAddress}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerPool,
        pipelining: 1,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
        // The pool's own option: undici's `connect.localAddress` is not passed to the socket.
        localAddress,
        connect: { timeout: 5_000 },
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** One request from `localAddress` to `origin`; a failed connection is an outcome too (status 0). */
  async send(origin: string, localAddress: string, spec: Pick<HostileRequest, 'method' | 'path' | 'headers' | 'body'>): Promise<Outcome> {
    try {
      // The signal also bounds the time spent queued for a connection, which the pool's timeouts do not.
      const signal = AbortSignal.timeout(2 * REQUEST_TIMEOUT_MS);
      const response = await this.pool(origin, localAddress).request({
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        body: spec.body,
        signal,
      });
      return { status: response.statusCode, text: await response.body.text() };
    } catch (error) {
      return { status: 0, text: '', transport: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  /** Closes every pool at once; requests still in flight are cut. */
  async destroy() {
    await Promise.all([...this.pools.values()].map((pool) => pool.destroy().catch(() => {})));
    this.pools.clear();
  }
}

/** A GraphQL JSON POST to `/graphql`. */
export function graphqlPost(
  request: Record<string, unknown> | string,
  headers: Record<string, string> = {},
): Pick<HostileRequest, 'method' | 'path' | 'headers' | 'body'> {
  return {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof request === 'string' ? request : JSON.stringify(request),
  };
}

/** The parsed JSON body of an outcome, or undefined when it is not JSON. */
export function jsonOf(outcome: Outcome): any {
  try {
    return JSON.parse(outcome.text);
  } catch {
    return undefined;
  }
}

/** Every `extensions.code` in a GraphQL answer. */
export function errorCodes(body: any): string[] {
  return Array.isArray(body?.errors) ? body.errors.map((e: any) => String(e?.extensions?.code ?? '(none)')) : [];
}
