import { GraphQLError } from 'graphql';
import { fetch } from 'undici';
import { codedError, forwardedHeaders, IDENTITY_HEADERS, type ErrorCode } from '@shop/platform';

/**
 * Calls to sibling subgraphs' internal (`@inaccessible`) fields. Each call carries the service
 * secret and has a hard timeout. Errors the caller must act on (OUT_OF_STOCK, BAD_USER_INPUT)
 * keep their code; anything else (refused connection, timeout, 5xx, unexpected errors) becomes
 * DEPENDENCY_UNAVAILABLE, so checkout fails closed rather than guessing.
 */
export interface ServiceClient {
  call<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

const PASS_THROUGH: ReadonlySet<string> = new Set<ErrorCode>(['OUT_OF_STOCK', 'BAD_USER_INPUT']);

export class DependencyUnavailable extends GraphQLError {
  constructor(service: string, cause?: unknown) {
    super(`${service} is unavailable; nothing was ordered, please retry`, {
      extensions: { code: 'DEPENDENCY_UNAVAILABLE', service },
      originalError: cause instanceof Error ? cause : undefined,
    });
  }
}

export function createServiceClient(service: string, url: string, secret: string | undefined, timeoutMs: number): ServiceClient {
  return {
    async call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      let body: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
      try {
        const response = await fetch(url, {
          method: 'POST',
          // With tracing on, also the request's traceparent and x-request-id, so the callee's spans and logs join it.
          headers: forwardedHeaders({ 'content-type': 'application/json', ...(secret ? { [IDENTITY_HEADERS.routerSecret]: secret } : {}) }),
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.status >= 500) throw new Error(`${service} answered HTTP ${response.status}`);
        body = (await response.json()) as typeof body;
      } catch (error) {
        throw new DependencyUnavailable(service, error);
      }
      const error = body.errors?.[0];
      if (error) {
        const code = typeof error.extensions?.code === 'string' ? error.extensions.code : undefined;
        if (code && PASS_THROUGH.has(code)) {
          const { code: _code, ...extra } = error.extensions ?? {};
          throw codedError(code as ErrorCode, error.message, extra);
        }
        throw new DependencyUnavailable(service, new Error(`${code ?? 'error'}: ${error.message}`));
      }
      if (!body.data) throw new DependencyUnavailable(service, new Error('no data'));
      return body.data;
    },
  };
}
