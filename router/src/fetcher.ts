import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { Agent, errors as undiciErrors } from 'undici';

/**
 * The router's subgraph fetcher: undici's `request()` over a keep-alive pool per origin, with a
 * time limit per fetch, behind the small fetch-shaped interface the gateway's data sources call.
 * Not WHATWG `fetch`: profiling the router under load put about a fifth of its CPU in fetch's web
 * streams, Request/Response objects and `AbortSignal.timeout`, none of which a JSON POST needs.
 * (The gateway's default fetcher opens connections eagerly and never times out, so one hung
 * subgraph would hold every request that touches it.)
 *
 * The limit is undici's headers and body timeouts, both `timeoutMs`: a subgraph must start its
 * answer within it and never pause longer than it while sending. Subgraphs write a response in one
 * go once it is computed, so in practice the first bound is the one that applies.
 *
 * No answer at all rejects with an Error saying the fetch failed or timed out (errors.ts reports
 * it as SUBGRAPH_UNAVAILABLE, breaker.ts counts it); a non-2xx is left to the data source, which
 * turns it into an error carrying the status, as with any fetcher.
 *
 * A body is read up to `maxResponseBytes` (SUBGRAPH_MAX_RESPONSE_BYTES; undici's own
 * `maxResponseSize`): past it the fetch fails with SubgraphResponseTooLargeError, so
 * an operation that demand control under-estimates (long strings) cannot make the router buffer
 * whatever a subgraph sends. That error is the client's query, not the subgraph's health: the
 * breaker does not count it (breaker.ts `isSubgraphFailure`).
 */
export function createFetcher({
  timeoutMs,
  maxResponseBytes,
  connections = 64,
}: {
  timeoutMs: number;
  maxResponseBytes: number;
  connections?: number;
}) {
  const agent = new Agent({
    connections,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // undici stops reading (and drops the connection) past this many body bytes.
    maxResponseSize: maxResponseBytes,
  });
  // A data source always fetches the same URL: parse it once, not on every request.
  const targets = new Map<string, { origin: string; path: string }>();
  const targetOf = (url: string) => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      targets.set(url, (target = { origin: parsed.origin, path: parsed.pathname + parsed.search }));
    }
    return target;
  };
  const fetcher = async (url: string, init?: FetcherRequestInit): Promise<FetcherResponse> => {
    const target = targetOf(url);
    try {
      const response = await agent.request({
        origin: target.origin,
        path: target.path,
        method: (init?.method ?? 'GET') as 'POST',
        headers: init?.headers as Record<string, string> | undefined,
        body: init?.body as string | undefined,
      });
      return responseLike(url, response.statusCode, response.headers, await response.body.text());
    } catch (error) {
      if (error instanceof undiciErrors.ResponseExceededMaxSizeError) throw new SubgraphResponseTooLargeError(maxResponseBytes);
      throw transportError(error);
    }
  };
  return { fetcher: fetcher as Fetcher, close: () => agent.close() };
}

export const RESPONSE_TOO_LARGE_CODE = 'SUBGRAPH_RESPONSE_TOO_LARGE';

/**
 * A subgraph answered more than the fetcher reads. A GraphQLError with its own code, so the data
 * source passes it on as this fetch's error (not as SUBGRAPH_UNAVAILABLE) and the breaker can
 * tell it from a failing subgraph.
 */
export class SubgraphResponseTooLargeError extends GraphQLError {
  constructor(readonly maxBytes: number) {
    super(`The subgraph's response is larger than the router reads (${maxBytes} bytes)`, { extensions: { code: RESPONSE_TOO_LARGE_CODE } });
    this.name = 'SubgraphResponseTooLargeError';
  }
}

/** The parts of a fetch Response the gateway's data source and our cache read, over a buffered body. */
function responseLike(url: string, status: number, headers: Record<string, string | string[] | undefined>, text: string): FetcherResponse {
  const get = (name: string): string | null => {
    const value = headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    url,
    status,
    ok: status >= 200 && status <= 299,
    statusText: STATUS_TEXT[status] ?? '',
    headers: { get },
    text: async () => text,
    json: async () => JSON.parse(text),
  } as unknown as FetcherResponse;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** One message shape for "no answer", whatever undici reports. */
function transportError(error: unknown): Error {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new Error('subgraph request aborted due to timeout', { cause: error });
  }
  const code = (error as { code?: string } | null)?.code;
  return new Error(`fetch failed${code ? ` (${code})` : ''}`, { cause: error });
}
