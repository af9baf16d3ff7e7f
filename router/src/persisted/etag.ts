import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An `onSend` hook for the GraphQL route: a GET answered 200 gets a strong `ETag` (the sha256 of
 * the body), and a matching `If-None-Match` turns it into a bodyless 304, so a CDN or an app can
 * revalidate a persisted query without downloading it again. Only GET: POST responses are not
 * cacheable by CDNs or browsers. A response without `Cache-Control` (one Apollo answered with an
 * error before any plugin could set it, e.g. a refused operation) gets `no-store`, so no cache
 * keeps an error.
 */
export async function conditionalGet(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  if (request.method !== 'GET' || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
  const etag = `"${createHash('sha256').update(payload).digest('base64url')}"`;
  void reply.header('etag', etag);
  if (!matches(request.headers['if-none-match'], etag)) return payload;
  void reply.code(304);
  void reply.removeHeader('content-length');
  void reply.removeHeader('content-type');
  return '';
}

/** RFC 9110 §13.1.2: If-None-Match compares weakly, so `W/"x"` matches `"x"`; `*` matches any. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || value.replace(/^W\//, '') === etag;
  });
}
