import {
  context,
  createContextKey,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { InMemorySpanExporter, NodeTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TracingConfig } from './config.ts';

export type { InMemorySpanExporter, SpanExporter };

/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured (see readTracingConfig).
 *
 * Off, nothing is loaded or registered: `setupTracing` returns `enabled: false`, the server shells
 * add no hooks and allocate no spans, and @opentelemetry/api stays on its no-op implementation.
 *
 * On, each service name gets ONE NodeTracerProvider per process (resource `service.name` =
 * OTEL_SERVICE_NAME or the service's own name), exporting through a BatchSpanProcessor to
 * OTLP/HTTP (JSON). `npm start` runs the router and five subgraphs in one process: every service
 * still gets its own provider, so each span carries the right `service.name` resource while
 * parent/child links work across them (the W3C propagator and the AsyncLocalStorage context
 * manager are process-wide and registered once). The provider of a service built with
 * `global: true` (the router) is also the process's global one, which third-party instrumentation
 * reports through (@apollo/gateway's `gateway.request`, `gateway.plan`, `gateway.fetch` spans).
 * Calling setupTracing again for a service already set up returns the same provider; each call's
 * `shutdown` releases it, and the last one flushes and stops it.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** The service's own tracer (a no-op one when tracing is off). */
  readonly tracer: Tracer;
  /** The name spans of this service are reported under. */
  readonly serviceName: string;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /**
   * Flushes, and stops the provider once no other holder of it is left. Safe to call twice; never
   * rejects (a collector that is down must not fail a shutdown: its spans are dropped).
   */
  shutdown(): Promise<void>;
}

export interface SetupTracingOptions {
  /** The service's own name; OTEL_SERVICE_NAME (config.serviceName) overrides it. */
  serviceName: string;
  config: TracingConfig | undefined;
  /**
   * Tests: export to this exporter at once (SimpleSpanProcessor) instead of OTLP. Turns tracing on
   * whatever the configuration says, with a provider of its own.
   */
  exporter?: SpanExporter | undefined;
  /** Makes this provider the process's global one (first come, first served). */
  global?: boolean;
}

const REQUEST_ID = createContextKey('shop.request-id');

interface SharedProvider {
  provider: NodeTracerProvider;
  holders: number;
  key: string | undefined;
}

const providers = new Map<string, SharedProvider>();
let globalsRegistered = false;
let globalProvider: TracerProvider | undefined;

const disabled = (serviceName: string): Tracing => ({
  enabled: false,
  tracer: trace.getTracer(serviceName),
  serviceName,
  forceFlush: async () => {},
  shutdown: async () => {},
});

export async function setupTracing({ serviceName, config, exporter, global = false }: SetupTracingOptions): Promise<Tracing> {
  const name = config?.serviceName ?? serviceName;
  if (!exporter && !config?.otlpTracesUrl) return disabled(name);

  // Loaded only when tracing is on: a service with tracing off never loads the SDK.
  const [sdk, { resourceFromAttributes }, { W3CTraceContextPropagator }, { AsyncLocalStorageContextManager }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  if (!globalsRegistered) {
    globalsRegistered = true;
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }

  const key = exporter ? undefined : `${name}\n${config!.otlpTracesUrl}`;
  let shared = key ? providers.get(key) : undefined;
  if (!shared) {
    const ratio = config?.sampleRatio ?? 1;
    const provider = new sdk.NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': name }),
      sampler: new sdk.ParentBasedSampler({ root: ratio >= 1 ? new sdk.AlwaysOnSampler() : new sdk.TraceIdRatioBasedSampler(ratio) }),
      spanProcessors: [
        exporter ? new sdk.SimpleSpanProcessor(exporter) : new sdk.BatchSpanProcessor(await otlpExporter(config!.otlpTracesUrl!)),
      ],
    });
    shared = { provider, holders: 0, key };
    if (key) providers.set(key, shared);
  }
  shared.holders++;
  if (global && !globalProvider) {
    globalProvider = shared.provider;
    trace.setGlobalTracerProvider(shared.provider);
  }

  const { provider } = shared;
  const holder = shared;
  let released = false;
  return {
    enabled: true,
    tracer: provider.getTracer(name),
    serviceName: name,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      if (released) return;
      released = true;
      if (--holder.holders > 0) {
        await provider.forceFlush().catch(() => {});
        return;
      }
      if (holder.key) providers.delete(holder.key);
      if (globalProvider === provider) {
        globalProvider = undefined;
        trace.disable();
      }
      await provider.shutdown().catch(() => {});
    },
  };
}

async function otlpExporter(url: string): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  // OTLP/HTTP with JSON bodies. Headers (OTEL_EXPORTER_OTLP_HEADERS) and timeouts are read by the
  // exporter itself from the standard variables.
  return new OTLPTraceExporter({ url }) as unknown as SpanExporter;
}

/** For tests: an exporter that keeps finished spans in memory (`getFinishedSpans()`). */
export async function memorySpanExporter(): Promise<InMemorySpanExporter> {
  const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-node');
  return new InMemorySpanExporter();
}

type Headers = Record<string, string | string[] | undefined>;

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => void (carrier[key] = value),
};

/** A syntactically valid W3C `traceparent` (version 00), to pass on untouched when tracing is off. */
export function validTraceparent(value: string | string[] | undefined): string | undefined {
  const given = Array.isArray(value) ? value[0] : value;
  return given && /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/.test(given) && !/^[\da-f]{2}-0{32}-|-0{16}-/.test(given)
    ? given
    : undefined;
}

/**
 * Headers for a call this service makes to another on behalf of the current request: the W3C
 * trace context of the active span and the request id, so the callee's spans and logs join the
 * request's. Both need tracing on (they travel in the active OpenTelemetry context); off, this
 * adds nothing.
 */
export function forwardedHeaders(headers: Record<string, string> = {}): Record<string, string> {
  const active = context.active();
  propagation.inject(active, headers, recordSetter);
  const requestId = active.getValue(REQUEST_ID);
  if (typeof requestId === 'string') headers['x-request-id'] = requestId;
  return headers;
}

interface RequestTrace {
  span: Span;
  context: Context;
}
const requestTraces = new WeakMap<FastifyRequest, RequestTrace>();

export interface TraceRequestsOptions {
  /** Only requests whose URL starts with this get a span (health checks and scrapes do not). */
  path?: string;
  /** Extra attributes once the response is sent (e.g. the GraphQL operation name). */
  onEnd?: (span: Span, request: FastifyRequest, reply: FastifyReply) => void;
}

/**
 * One SERVER span per request, the child of the caller's `traceparent` when there is one, active
 * (with the request id) while the route's handler runs, so spans started by resolvers, SQL
 * statements and subgraph fetches are its children. Pino lines logged for the request after it
 * started carry `trace_id` and `span_id`. Add only when tracing is on.
 */
export function traceRequests(app: FastifyInstance, tracing: Tracing, { path = '/graphql', onEnd }: TraceRequestsOptions = {}): void {
  if (!tracing.enabled) return;
  const { tracer, serviceName } = tracing;
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.url.startsWith(path)) return done();
    const parent = propagation.extract(context.active(), request.headers, headerGetter);
    const span = tracer.startSpan(
      `${request.method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'service.name': serviceName,
          'http.request.method': request.method,
          'url.path': path,
          'http.request.id': request.id,
        },
      },
      parent,
    );
    requestTraces.set(request, { span, context: trace.setSpan(parent, span).setValue(REQUEST_ID, request.id) });
    const { traceId, spanId } = span.spanContext();
    request.log = request.log.child({ trace_id: traceId, span_id: spanId });
    reply.log = request.log;
    done();
  });
  // After the body is parsed: everything the handler starts runs in the request's context.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = requestTraces.get(request);
    if (!traced) return done();
    context.with(traced.context, done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const traced = requestTraces.get(request);
    if (traced) {
      const { span } = traced;
      span.setAttribute('http.response.status_code', reply.statusCode);
      span.setAttribute('graphql.operation.name', operationNameOf(request));
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      onEnd?.(span, request, reply);
      span.end();
      requestTraces.delete(request);
    }
    done();
  });
}

/** The request's operation name, from a POST body or GET query (`anonymous` without one). */
export function operationNameOf(request: FastifyRequest): string {
  const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | undefined;
  const name = source?.operationName;
  return typeof name === 'string' && name ? name : 'anonymous';
}

/**
 * Runs `fn` in a CLIENT span (active, so its `traceparent` is what gets injected): status error
 * when it throws or `failed` says the result is a failure.
 */
export async function inClientSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string>,
  fn: () => Promise<T>,
  failed?: (result: T) => boolean,
): Promise<T> {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  try {
    const result = await context.with(trace.setSpan(context.active(), span), fn);
    if (failed?.(result)) span.setStatus({ code: SpanStatusCode.ERROR });
    return result;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** Writes the active context's `traceparent` into a Headers-like object. */
export function injectTraceContext(headers: { set(name: string, value: string): unknown }): void {
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => void carrier.set(key, value) });
}
