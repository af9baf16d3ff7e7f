import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouterContext } from '../context.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { FetchStage, RouterParts, Stage } from './stage.ts';

/** Request counts and latency per operation and client, and the `/metrics` scrape endpoint. */
export function metrics({ metrics: registry }: RouterParts): Stage {
  return {
    name: 'metrics',
    fastify(app) {
      app.get('/metrics', async (_request, reply) => {
        void reply.header('content-type', registry.registry.contentType);
        return registry.registry.metrics();
      });
    },
    apollo: { plugins: [metricsPlugin(registry)] },
  };
}

/** Per subgraph fetch actually sent: its latency and outcome (ok, errors, failed). */
export function fetchMetrics({ metrics: registry }: RouterParts): Stage {
  return { name: 'fetch-metrics', fetch: measuredFetches(registry) };
}

export function measuredFetches(registry: RouterMetrics): FetchStage {
  return {
    async around(call, next) {
      const stop = registry.subgraphFetchDuration.startTimer({ subgraph: call.subgraph });
      try {
        const result = await next(call);
        registry.subgraphFetches.inc({ subgraph: call.subgraph, outcome: result.response.errors?.length ? 'errors' : 'ok' });
        return result;
      } catch (error) {
        registry.subgraphFetches.inc({ subgraph: call.subgraph, outcome: 'failed' });
        throw error;
      } finally {
        stop();
      }
    },
  };
}

/** A request answered before Apollo (response cache, request sharing) still counts in the request metrics. */
export function answeredEarly(
  registry: RouterMetrics,
  request: FastifyRequest,
  reply: FastifyReply,
  client: string,
  resolvedName?: string | null,
) {
  const operation = resolvedName ?? (request.body as { operationName?: unknown } | null | undefined)?.operationName;
  const labels = registry.labels.pair(operation, client);
  registry.requests.inc({ ...labels, status: 'ok' });
  registry.requestDuration.observe(labels, reply.elapsedTime / 1000);
  return reply;
}

function metricsPlugin(registry: RouterMetrics): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, response, errors }) {
          const { operation, client } = registry.labels.pair(operationName, contextValue.clientName);
          const failed =
            (errors?.length ?? 0) > 0 || (response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0);
          registry.requests.inc({ operation, client, status: failed ? 'error' : 'ok' });
          registry.requestDuration.observe({ operation, client }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}
