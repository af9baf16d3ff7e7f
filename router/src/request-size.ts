import type { FastifyReply, FastifyRequest } from 'fastify';
import { refuse } from './errors.ts';

/**
 * Size caps on what a GraphQL request carries, checked on `/graphql` before anything parses,
 * keys, stores or shares it (a route preValidation hook, ahead of the response cache, request
 * sharing and Apollo):
 *
 * | code                 | limit (env var, default)      | what counts                                            |
 * |----------------------|-------------------------------|--------------------------------------------------------|
 * | DOCUMENT_TOO_LARGE   | MAX_DOCUMENT_BYTES (32 KiB)   | UTF-8 bytes of `query` as sent, comments and whitespace included |
 * | VARIABLES_TOO_LARGE  | MAX_VARIABLES_BYTES (64 KiB)  | UTF-8 bytes of `variables` as JSON text                |
 * | EXTENSIONS_TOO_LARGE | 4 KiB (MAX_EXTENSIONS_BYTES)  | UTF-8 bytes of `extensions` as JSON text               |
 *
 * All are HTTP 413, like a body over the body limit. `extensions` carries only a persisted-query
 * hash (about 100 bytes) for our clients; anything else in it is ignored, so it has no setting. The token limit (MAX_TOKENS) does not see
 * comments, so without the document cap a registration of `{ __typename }` behind a 1.9 MB comment
 * was accepted and kept by the APQ store for a day. POST, GET and APQ registrations (a `query`
 * with `extensions.persistedQuery`) all carry the text in `query`; a hash alone names a document
 * that was capped when it was registered (or one from a manifest).
 */
export interface RequestSizeLimits {
  maxDocumentBytes: number;
  maxVariablesBytes: number;
}

export const REQUEST_SIZE_CODES = {
  document: 'DOCUMENT_TOO_LARGE',
  variables: 'VARIABLES_TOO_LARGE',
  extensions: 'EXTENSIONS_TOO_LARGE',
} as const;

/** Largest `extensions`, as JSON text: a persisted-query hash needs about 100 bytes. */
export const MAX_EXTENSIONS_BYTES = 4 * 1024;

/** UTF-8 takes at most 3 bytes per UTF-16 code unit: below this length a text is under the cap uncounted. */
const MAX_UTF8_PER_UNIT = 3;

export function requestSizeGuard(limits: RequestSizeLimits) {
  return async function checkRequestSize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const input = request.method === 'POST' ? request.body : request.method === 'GET' ? request.query : undefined;
    // Not a request object (a batch, a body that is not JSON): Apollo refuses it without parsing a document.
    if (!input || typeof input !== 'object' || Array.isArray(input)) return;
    const { query, variables, extensions } = input as Record<string, unknown>;
    if (typeof query === 'string' && overBytes(query, limits.maxDocumentBytes)) {
      return refuse(reply, 413, REQUEST_SIZE_CODES.document, `Query document is larger than ${limits.maxDocumentBytes} bytes`);
    }
    if (variables !== undefined && jsonOver(request, variables, limits.maxVariablesBytes)) {
      return refuse(reply, 413, REQUEST_SIZE_CODES.variables, `Variables are larger than ${limits.maxVariablesBytes} bytes`);
    }
    if (extensions !== undefined && jsonOver(request, extensions, MAX_EXTENSIONS_BYTES)) {
      return refuse(reply, 413, REQUEST_SIZE_CODES.extensions, `Extensions are larger than ${MAX_EXTENSIONS_BYTES} bytes`);
    }
  };
}

function overBytes(text: string, max: number): boolean {
  return text.length * MAX_UTF8_PER_UNIT > max && Buffer.byteLength(text) > max;
}

/**
 * GET variables and extensions are the JSON text itself. POST ones were parsed from a body no larger than
 * its Content-Length, and serialising parsed JSON never makes it longer, so a small body is not
 * serialised again to be measured. Serialising cannot overflow the stack: request-shape.ts (the
 * stage before this one, pipeline.ts) has refused anything nested deeper than MAX_INPUT_DEPTH.
 */
function jsonOver(request: FastifyRequest, value: unknown, max: number): boolean {
  if (typeof value === 'string') return overBytes(value, max);
  const length = Number(request.headers['content-length']);
  if (Number.isFinite(length) && length <= max) return false;
  const text = JSON.stringify(value) as string | undefined;
  return text !== undefined && overBytes(text, max);
}
