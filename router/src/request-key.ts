import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Viewer } from '@shop/platform';
import { digest, stableJson } from './cache/keys.ts';
import { CLIENT_NAME_HEADER, clientName } from './client-name.ts';

/** The headers that make a request safe from CSRF for Apollo (see server.ts csrfPrevention). */
export const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', CLIENT_NAME_HEADER];

/** A request the response cache and request sharing may answer before Apollo: its key and verified viewer. */
export interface KeyedRequest {
  client: string;
  key: string;
  viewer: Viewer | null;
}

const keyed = new WeakMap<FastifyRequest, Promise<KeyedRequest | undefined>>();

/**
 * The request's key and viewer, worked out once per request for every stage that answers early.
 * Undefined when no stage may answer it: no key (see requestKey), or a token that does not verify
 * (the pipeline answers 401 or 503).
 */
export function keyedRequest(
  request: FastifyRequest,
  viewerOf: (request: FastifyRequest) => Promise<Viewer | null>,
): Promise<KeyedRequest | undefined> {
  let found = keyed.get(request);
  if (!found) {
    found = (async () => {
      const client = clientName(request.headers[CLIENT_NAME_HEADER]);
      const key = requestKey(request, client);
      if (!key) return undefined;
      try {
        return { client, key, viewer: await viewerOf(request) };
      } catch {
        return undefined;
      }
    })();
    keyed.set(request, found);
  }
  return found;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A GraphQL request's identity for the response cache and for request sharing (request-dedup.ts):
 * method, client name, document (its text's digest, or the persisted query's hash), operation name
 * and variables. Undefined when the request is not one either may answer: not a GraphQL request
 * object, or a request Apollo's CSRF prevention would refuse (neither a JSON POST nor carrying one
 * of the preflight headers), which must reach Apollo to be refused.
 */
export function requestKey(request: FastifyRequest, clientName: string): string | undefined {
  const input = request.method === 'POST' ? request.body : request.method === 'GET' ? request.query : undefined;
  if (!input || typeof input !== 'object' || Array.isArray(input)) return undefined;
  if (request.method === 'GET' || !/^application\/json/i.test(request.headers['content-type'] ?? '')) {
    if (!PREFLIGHT_HEADERS.some((name) => request.headers[name] !== undefined)) return undefined;
  }
  const { query, operationName, variables, extensions } = input as Record<string, unknown>;
  let document: string;
  if (typeof query === 'string') {
    // The text itself, not a hash the client claims for it: a mismatched pair must reach Apollo.
    document = createHash('sha256').update(query).digest('base64url');
  } else {
    // A persisted query: `extensions` is an object over POST, a JSON string over GET.
    const parsed = typeof extensions === 'string' ? safeJson(extensions) : extensions;
    const sha256 = (parsed as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
    if (typeof sha256 !== 'string') return undefined;
    document = `pq:${sha256}`;
  }
  const name = typeof operationName === 'string' ? operationName : '';
  // GET variables arrive as a JSON string; the same operation over POST gets its own entry.
  const variablesJson = typeof variables === 'string' ? variables : stableJson(variables ?? {});
  return digest(`${request.method}\n${clientName}\n${document}\n${name}\n${variablesJson}`);
}
