import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { PUBLIC_ERROR_CODES, type Logger } from '@shop/platform';
import { SubgraphUnavailableError, unavailableMessage } from './breaker.ts';
import type { RouterContext } from './context.ts';

/**
 * How much of a subgraph's error reaches the client (SUBGRAPH_ERROR_MESSAGES):
 * - `all`: messages and extensions as the subgraph wrote them (development default);
 * - `public`: messages kept only for the documented client-facing codes (OUT_OF_STOCK,
 *   BAD_USER_INPUT, …, written by our subgraphs for shoppers); every other subgraph error gets a
 *   fixed message for its code. Extensions shrink to `code` plus, for public codes, the extras
 *   the subgraph attached for clients (e.g. `productIds`). Production default;
 * - `none`: every subgraph error message replaced; only codes reach the client.
 */
export const SUBGRAPH_ERROR_POLICIES = ['all', 'public', 'none'] as const;
export type SubgraphErrorPolicy = (typeof SUBGRAPH_ERROR_POLICIES)[number];

const PUBLIC_CODES: ReadonlySet<string> = new Set(PUBLIC_ERROR_CODES);

/** Extension keys that describe our internals, never a client's mistake. */
const INTERNAL_EXTENSIONS = new Set(['serviceName', 'exception', 'stacktrace', 'http', 'subgraph', 'originalError']);

const REDACTED_MESSAGES: Record<string, string> = {
  INTERNAL_SERVER_ERROR: 'Internal server error',
  SUBGRAPH_UNAVAILABLE: 'A service is unavailable; some fields could not be resolved',
};
const DEFAULT_REDACTED = 'An error occurred while resolving this field';

/** How a fetch that never got an answer reads (undici, timeouts, resets). */
const NETWORK_FAILURE =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|socket hang up|fetch failed|aborted due to timeout|other side closed)\b/i;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>)]+/gi;

/**
 * Errors leave the router without internal URLs, in every mode: a failed subgraph fetch says which
 * capability is unavailable and carries a code, not "request to http://10.0.0.7:4003/graphql
 * failed"; a URL inside any other message is blanked; and the gateway's `extensions.response`
 * (the subgraph's URL and raw body on a non-2xx answer) is dropped. A 502–504 from a proxy in
 * front of a subgraph is reported as the subgraph being unavailable.
 */
export function scrubInternals(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const extensions = formatted.extensions;
  const response = extensions?.response as { status?: number } | undefined;
  const serviceName = extensions?.serviceName as string | undefined;
  if (NETWORK_FAILURE.test(formatted.message) || (response?.status !== undefined && response.status >= 502 && response.status <= 504)) {
    return {
      ...formatted,
      message: unavailableMessage(serviceName ?? 'a service'),
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', ...(serviceName ? { serviceName } : {}) },
    };
  }
  if (!response && !/https?:\/\//i.test(formatted.message)) return formatted;
  const { response: _dropped, ...kept } = extensions ?? {};
  return { ...formatted, message: formatted.message.replace(URL_IN_TEXT, '<internal URL>'), ...(extensions ? { extensions: kept } : {}) };
}

/**
 * Applies the SUBGRAPH_ERROR_MESSAGES policy. The gateway marks every error it relays from a
 * subgraph (and every failed fetch) with `extensions.serviceName`; errors the router raises itself
 * (validation, limits, persisted queries, sign-in) carry none and are left alone: their messages
 * are ours and describe the client's request. Returns whether anything was redacted, so the caller
 * can log the original for operators.
 */
export function redactSubgraphError(formatted: GraphQLFormattedError, policy: SubgraphErrorPolicy): GraphQLFormattedError {
  const extensions = formatted.extensions;
  if (policy === 'all' || !extensions || !('serviceName' in extensions)) return formatted;
  const code = typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR';
  // The router's own word that a subgraph gave no answer (a timeout, an open circuit, a 502–504):
  // under `public` it names the subgraph, as the client needs to know which part of the answer is
  // missing; the message is the router's, so nothing the subgraph wrote passes.
  if (code === 'SUBGRAPH_UNAVAILABLE' && policy === 'public' && typeof extensions.serviceName === 'string') {
    return {
      message: unavailableMessage(extensions.serviceName),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code, serviceName: extensions.serviceName },
    };
  }
  const keepMessage = policy === 'public' && PUBLIC_CODES.has(code);
  const kept: Record<string, unknown> = { code };
  if (keepMessage) {
    for (const [key, value] of Object.entries(extensions)) if (!INTERNAL_EXTENSIONS.has(key)) kept[key] = value;
  }
  return {
    message: keepMessage ? formatted.message : (REDACTED_MESSAGES[code] ?? DEFAULT_REDACTED),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: kept,
  };
}

/**
 * What `public`/`none` hide from clients still reaches operators: each redacted subgraph error is
 * logged with the request id (the same id the subgraph logged it under).
 */
export function redactedErrorLogging(log: Logger, policy: SubgraphErrorPolicy): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      if (policy === 'all') return {};
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const formatted = formattedOf(error);
            if (redactSubgraphError(formatted, policy).message === formatted.message) continue;
            log.warn(
              {
                requestId: contextValue.requestId,
                serviceName: formatted.extensions?.serviceName,
                code: formatted.extensions?.code,
                path: formatted.path,
                error: formatted.message,
              },
              'subgraph error redacted for the client',
            );
          }
        },
      };
    },
  };
}

/**
 * An error as Apollo will format it. The gateway hands Apollo's plugins whatever a fetch threw;
 * the data source now throws only GraphQLErrors, but anything else the gateway meets (its own
 * faults) arrives as it is, and a logging plugin that throws on it turns the answer into a 500,
 * as `error.toJSON is not a function` once did for every subgraph timeout in production.
 */
function formattedOf(error: unknown): GraphQLFormattedError {
  const candidate = error as { toJSON?: unknown; message?: unknown; extensions?: unknown; path?: unknown } | null;
  if (typeof candidate?.toJSON === 'function') return (candidate.toJSON as () => GraphQLFormattedError).call(candidate);
  const extensions = candidate?.extensions;
  return {
    message: typeof candidate?.message === 'string' ? candidate.message : String(error),
    ...(extensions !== null && typeof extensions === 'object' ? { extensions: extensions as Record<string, unknown> } : {}),
    ...(Array.isArray(candidate?.path) ? { path: candidate.path as (string | number)[] } : {}),
  };
}

/** Refuses a request before Apollo sees it, in GraphQL's error shape and never cached. */
export function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .status(status)
    .header('cache-control', 'no-store')
    .send({ errors: [{ message, extensions: { code } }] });
}

/**
 * What the gateway gets when a fetch fails: always a GraphQLError naming the subgraph. The gateway
 * itself names only errors inside a subgraph's answer; a fetch that throws (no connection, a
 * timeout, a body that is not JSON, a non-2xx) would otherwise reach the client, and the
 * SUBGRAPH_ERROR_MESSAGES policy, with no subgraph named and maybe not as a GraphQLError at all.
 */
export function fetchError(subgraph: string, error: unknown): GraphQLError {
  if (error instanceof GraphQLError) {
    if (error.extensions.serviceName) return error;
    return new GraphQLError(error.message, { extensions: { ...error.extensions, serviceName: subgraph }, originalError: error });
  }
  return new SubgraphUnavailableError(subgraph, error);
}
