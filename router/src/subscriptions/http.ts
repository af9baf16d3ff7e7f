import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { TokenVerifier } from '../auth.ts';
import { CLIENT_NAME_HEADER, clientName } from '../client-name.ts';
import type { RouterMetrics } from '../metrics.ts';
import { formatted, type SubscribeRequest, type SubscriberIdentity } from './manager.ts';

/** What the HTTP transports (SSE, multipart) share: who asks, what they ask, and a response bounded in unsent bytes. */

/** The request's subscriber: its verified token (and expiry), address and client name; or why the token was refused. */
export async function identityOf(request: FastifyRequest, verify: TokenVerifier): Promise<SubscriberIdentity | GraphQLFormattedError> {
  const identity: SubscriberIdentity = { viewer: null, clientIp: request.ip, clientName: clientName(request.headers[CLIENT_NAME_HEADER]) };
  try {
    const token = await verify(request.headers.authorization);
    identity.viewer = token?.viewer ?? null;
    identity.expiresAt = token?.expiresAt;
    return identity;
  } catch (error) {
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions;
    return formatted(error instanceof Error ? error.message : 'Token is not valid', String(extensions?.code ?? 'UNAUTHENTICATED'));
  }
}

/** The operation of a GET (query string, JSON in `variables` and `extensions`) or POST (JSON body). */
export function paramsOf(request: FastifyRequest): SubscribeRequest | GraphQLFormattedError {
  const source = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
  if (!source || typeof source !== 'object' || Array.isArray(source))
    return formatted('Send the operation as a JSON object', 'BAD_REQUEST');
  const fromJson = (value: unknown, name: string): Record<string, unknown> | undefined | GraphQLFormattedError => {
    if (value === undefined || value === null || value === '') return undefined;
    let parsed = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        return formatted(`${name} must be JSON`, 'BAD_REQUEST');
      }
    }
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : formatted(`${name} must be an object`, 'BAD_REQUEST');
  };
  const variables = fromJson(source.variables, 'variables');
  const extensions = fromJson(source.extensions, 'extensions');
  for (const value of [variables, extensions]) {
    if (value && 'message' in value && typeof value.message === 'string') return value as GraphQLFormattedError;
  }
  if (source.query !== undefined && typeof source.query !== 'string') return formatted('query must be a string', 'BAD_REQUEST');
  if (source.operationName != null && typeof source.operationName !== 'string')
    return formatted('operationName must be a string', 'BAD_REQUEST');
  return {
    query: source.query as string | undefined,
    variables: variables as Record<string, unknown> | undefined,
    operationName: source.operationName as string | undefined,
    extensions: extensions as Record<string, unknown> | undefined,
  };
}

/**
 * A streaming response whose unsent bytes are bounded: a client that does not read is not
 * buffered for without end. Past `maxBufferedBytes` (one answer larger than the bound still goes
 * to a client that has read everything before it) it gets `last` (one small final message) and
 * is cut.
 */
export class BoundedStream {
  cut = false;

  constructor(
    readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
    private readonly metrics: RouterMetrics,
    private readonly last: () => string,
  ) {}

  get open(): boolean {
    return !this.cut && !this.res.writableEnded && !this.res.destroyed;
  }

  write(text: string): boolean {
    if (!this.open) return false;
    const waiting = this.res.writableLength;
    if (waiting > 0 && waiting + Buffer.byteLength(text) > this.maxBufferedBytes) {
      this.cut = true;
      this.metrics.subscriptionRefusals.inc({ reason: 'slow_consumer' });
      this.res.end(this.last());
      // It may never read that either.
      setTimeout(() => this.res.destroy(), 1_000).unref();
      return false;
    }
    this.res.write(text);
    return true;
  }
}

export const slowConsumerError = (maxBufferedBytes: number) =>
  formatted(`Slow consumer: over ${maxBufferedBytes} bytes unsent`, 'SLOW_CONSUMER');
