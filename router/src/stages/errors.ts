import type { FastifyInstance } from 'fastify';
import { fetchError, redactedErrorLogging, redactSubgraphError, scrubInternals } from '../errors.ts';
import type { FetchStage, RouterParts, Stage } from './stage.ts';

/** Larger request bodies are refused with 413 and code PAYLOAD_TOO_LARGE before they are parsed. */
export const BODY_LIMIT = 2 * 1024 * 1024;

/**
 * Errors in GraphQL's shape, and no more of them than SUBGRAPH_ERROR_MESSAGES allows: requests
 * Fastify cannot parse, fetches that throw (always a GraphQLError naming the subgraph), internals
 * scrubbed, subgraph messages redacted for clients and logged for operators (errors.ts).
 */
export function errors({ config, log }: RouterParts): Stage {
  return {
    name: 'errors',
    fastify: answerUnparseable,
    apollo: {
      plugins: [redactedErrorLogging(log, config.subgraphErrorMessages)],
      formatError: (formatted) => redactSubgraphError(scrubInternals(formatted), config.subgraphErrorMessages),
    },
    fetch: namedFetchErrors,
  };
}

/** A fetch that throws fails with a GraphQLError naming its subgraph (errors.ts fetchError). */
export const namedFetchErrors: FetchStage = {
  async around(call, next) {
    try {
      return await next(call);
    } catch (error) {
      throw fetchError(call.subgraph, error);
    }
  },
};

/** Requests Fastify cannot parse never reach Apollo: answer them in GraphQL's shape, not with a 500. */
function answerUnparseable(app: FastifyInstance): void {
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const tooLarge = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    const status = tooLarge ? 413 : error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'request failed');
    const message =
      status === 500
        ? 'Internal server error'
        : tooLarge
          ? `Request body is larger than ${BODY_LIMIT / 1024 / 1024} MB`
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'Unsupported content type; send application/json'
            : 'Request body is not valid JSON';
    const code = status === 500 ? 'INTERNAL_SERVER_ERROR' : tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    void reply.status(status).send({ errors: [{ message, extensions: { code } }] });
  });
}
