import { injectTraceContext, inClientSpan, traceRequests, validTraceparent } from '@shop/platform';
import { CLIENT_NAME_HEADER, clientName } from '../client-name.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Tracing of client requests (OpenTelemetry, off unless configured): a SERVER span per request,
 * and what each subgraph receives to link its spans to the router's. With tracing off, a client's
 * own valid `traceparent` is passed on unchanged so a tracer upstream still links them.
 */
export function tracing({ tracing: otel }: RouterParts): Stage {
  return {
    name: 'tracing',
    fastify(app) {
      traceRequests(app, otel, {
        onEnd: (span, request) => span.setAttribute('graphql.client.name', clientName(request.headers[CLIENT_NAME_HEADER])),
      });
    },
    context: (request) => (otel.enabled ? {} : upstreamTrace(request.headers)),
    fetch: {
      headers(headers, { context }) {
        if (otel.enabled) {
          injectTraceContext(headers); // the fetch's span, active here (see fetchTracing)
        } else if (context?.traceparent) {
          headers.set('traceparent', context.traceparent);
          if (context.tracestate) headers.set('tracestate', context.tracestate);
        }
      },
    },
  };
}

/**
 * A CLIENT span per request actually sent to a subgraph (innermost, so cache hits and fetches
 * that joined another's have none), whose `traceparent` the subgraph receives.
 */
export function fetchTracing({ tracing: otel }: RouterParts): Stage | undefined {
  if (!otel.enabled) return undefined;
  return {
    name: 'fetch-tracing',
    fetch: {
      around(call, next) {
        const attributes = {
          'service.name': 'router',
          'shop.subgraph': call.subgraph,
          'graphql.operation.name': call.request.operationName ?? 'anonymous',
        };
        return inClientSpan(
          otel.tracer,
          `fetch ${call.subgraph}`,
          attributes,
          () => next(call),
          (result) => !!result.response.errors?.length,
        );
      },
    },
  };
}

/** With tracing off, the client's trace context, passed on to subgraphs as it came. */
function upstreamTrace(headers: Record<string, string | string[] | undefined>): { traceparent?: string; tracestate?: string } {
  const traceparent = validTraceparent(headers.traceparent);
  if (!traceparent) return {};
  const tracestate = headers.tracestate;
  return typeof tracestate === 'string' && tracestate.length <= 512 ? { traceparent, tracestate } : { traceparent };
}
