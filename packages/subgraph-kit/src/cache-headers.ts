import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DocumentNode } from 'graphql';
import { cacheControlHeader, operationPolicy, type CacheHints } from '@shop/platform';

const NO_STORE = 'no-store';

/**
 * Every GraphQL response carries `Cache-Control`, from the SDL's hints: the lowest maxAge among
 * the fields the operation selects, `private` if any of them is PRIVATE (cache-control.ts has
 * the rules). The router takes its entity TTLs from it. Mutations, responses with errors and
 * requests that never reached execution (unparsable, invalid) are `no-store`.
 *
 * The policy is worked out once per parsed document: Mercurius reuses the parsed document of a
 * query it has seen, so the analysis is not repeated for every request.
 */
export function sendCacheControl(app: FastifyInstance, hints: CacheHints): void {
  const memo = new WeakMap<DocumentNode, Map<string, string>>();

  app.graphql.addHook('preExecution', async (schema, document, context) => {
    // `app.graphql(...)` called in process has no HTTP reply to put a header on.
    const reply = context.reply as typeof context.reply | undefined;
    if (!reply) return;
    const operationName = operationNameOf(reply.request) ?? '';
    let byName = memo.get(document);
    if (!byName) memo.set(document, (byName = new Map()));
    let header = byName.get(operationName);
    if (header === undefined) {
      header = cacheControlHeader(operationPolicy(schema, document, hints, operationName || undefined));
      byName.set(operationName, header);
    }
    void reply.header('cache-control', header);
  });

  app.graphql.addHook('onResolution', async (execution, context) => {
    if (execution.errors?.length) void (context.reply as typeof context.reply | undefined)?.header('cache-control', NO_STORE);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.url !== '/graphql') return payload;
    if (reply.statusCode !== 200 || !reply.hasHeader('cache-control')) void reply.header('cache-control', NO_STORE);
    return payload;
  });
}

function operationNameOf(request: FastifyRequest): string | undefined {
  const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | undefined;
  return typeof source?.operationName === 'string' && source.operationName ? source.operationName : undefined;
}
