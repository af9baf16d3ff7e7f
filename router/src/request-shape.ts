import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { refuse } from './errors.ts';

/**
 * How deeply a request's `variables` and `extensions` may nest (MAX_INPUT_DEPTH): the object
 * itself is level 1, so `{"x":[[1]]}` is 3 deep. No input type of the shop's schema comes near it
 * (the deepest, a checkout's lines, is 3); 32 leaves room for any hand-written client.
 */
export const DEFAULT_MAX_INPUT_DEPTH = 32;

/** The code of the refusal (HTTP 400): the request itself is malformed, as for a body that is not JSON. */
export const INPUT_TOO_DEEP_CODE = 'BAD_REQUEST';

/**
 * Refuses, on `/graphql` and before anything keys, shares, caches or parses it, a request whose
 * `variables` or `extensions` nest deeper than `maxDepth`: 400 BAD_REQUEST in GraphQL's shape.
 * Everything after this point (cache keys, in-flight sharing, Apollo's variable coercion, the
 * subgraph fetch) then sees only shallow client values. POST carries them parsed, GET as JSON
 * text in the query string; both are measured without recursion and without parsing anything
 * again, stopping at the first level past the limit.
 *
 * In the pipeline it is the route's first preValidation hook (stages/request-limits.ts), ahead of
 * the size caps, the response cache and request sharing; registerRequestShapeCheck puts it on an app.
 */
export function registerRequestShapeCheck(app: FastifyInstance, { maxDepth }: { maxDepth: number }): void {
  const check = requestShapeCheck({ maxDepth });
  app.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.url === '/graphql') return check(request, reply);
  });
}

/** The check as a `/graphql` route hook (the pipeline's request-shape stage, ahead of the size caps). */
export function requestShapeCheck({ maxDepth }: { maxDepth: number }) {
  return async function checkRequestShape(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    // GET: the query string as Apollo reads it (URLSearchParams over the raw URL), not Fastify's
    // parse, which keeps a field undecoded when one escape in it is malformed (`%FF`) and would
    // hide its brackets from the count below.
    const input = request.method === 'POST' ? request.body : request.method === 'GET' ? searchFields(request.url) : undefined;
    if (!input || typeof input !== 'object') return;
    // A JSON array body (a batch) is refused by Apollo; its items are measured all the same.
    const requests = Array.isArray(input) ? input : [input];
    for (const item of requests) {
      if (!item || typeof item !== 'object') continue;
      const { variables, extensions } = item as Record<string, unknown>;
      for (const [name, value] of [
        ['variables', variables],
        ['extensions', extensions],
      ] as const) {
        if (!nestsDeeperThan(value, maxDepth)) continue;
        return refuse(reply, 400, INPUT_TOO_DEEP_CODE, `Request ${name} nest deeper than ${maxDepth} levels`);
      }
    }
  };
}

/** The GET fields measured here, each as every value the query string gives it. */
function searchFields(url: string): Record<string, string[]> {
  const search = new URL(url, 'http://router.invalid').searchParams;
  return { variables: search.getAll('variables'), extensions: search.getAll('extensions') };
}

/**
 * Whether a client value nests deeper than `limit` levels of arrays and objects. A string is JSON
 * text (GET query-string fields, or a POST client that encoded them) and is measured as text;
 * repeated GET fields arrive as an array of such strings.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value === 'string') return textNestsDeeperThan(value, limit);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return value.some((item) => textNestsDeeperThan(item as string, limit));
  }
  return valueNestsDeeperThan(value, limit);
}

/** Depth-first over a parsed value with a stack of its own, stopping past `limit`. */
export function valueNestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (pending.length) {
    const { value: next, depth } = pending.pop()!;
    if (next === null || typeof next !== 'object') continue;
    if (depth > limit) return true;
    const children = Array.isArray(next) ? next : Object.values(next as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') pending.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/**
 * The nesting of JSON text, by counting brackets outside strings. Text that is not JSON is left
 * for Apollo to refuse; this only has to be right for text that is.
 */
export function textNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
