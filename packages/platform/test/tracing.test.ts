import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  forwardedHeaders,
  memorySpanExporter,
  readTracingConfig,
  setupTracing,
  traceRequests,
  validTraceparent,
} from '../src/index.ts';

describe('readTracingConfig', () => {
  it('is off without an OTLP endpoint', () => {
    expect(readTracingConfig({})).toEqual({ otlpTracesUrl: undefined, serviceName: undefined, sampleRatio: 1 });
  });
  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT; takes the traces endpoint as given', () => {
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otlpTracesUrl).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      readTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other:9000/traces',
      }).otlpTracesUrl,
    ).toBe('http://other:9000/traces');
  });
  it('honours OTEL_SDK_DISABLED, OTEL_SERVICE_NAME and OTEL_TRACES_SAMPLER_ARG', () => {
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).otlpTracesUrl).toBeUndefined();
    const config = readTracingConfig({ OTEL_SERVICE_NAME: 'edge', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    expect(config).toMatchObject({ serviceName: 'edge', sampleRatio: 0.25 });
    expect(() => readTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(ConfigError);
    expect(() => readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(ConfigError);
  });
});

describe('validTraceparent', () => {
  it('accepts W3C trace context and refuses anything else', () => {
    expect(validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    );
    expect(validTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeUndefined();
    expect(validTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(validTraceparent('garbage')).toBeUndefined();
    expect(validTraceparent(undefined)).toBeUndefined();
  });
});

describe('setupTracing', () => {
  // Order matters: the first case runs before anything in this file turns tracing on.
  it('off: registers nothing and adds no hooks', async () => {
    const tracing = await setupTracing({ serviceName: 'svc', config: readTracingConfig({}) });
    expect(tracing.enabled).toBe(false);
    const span = tracing.tracer.startSpan('x');
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(forwardedHeaders()).toEqual({});
    const app = Fastify();
    traceRequests(app, tracing);
    app.post('/graphql', async () => ({ active: trace.getActiveSpan() !== undefined }));
    expect((await app.inject({ method: 'POST', url: '/graphql', payload: {} })).json()).toEqual({ active: false });
    await app.close();
    await tracing.shutdown();
  });

  it('shares one provider per service and endpoint, and flushes on the last shutdown', async () => {
    const posts: string[] = [];
    const collector = createServer((req, res) => {
      posts.push(`${req.method} ${req.url}`);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const config = readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` });
    const a = await setupTracing({ serviceName: 'svc', config });
    const b = await setupTracing({ serviceName: 'svc', config });
    expect(a.enabled && b.enabled).toBe(true);
    await a.shutdown();
    await a.shutdown(); // twice is harmless
    const span = b.tracer.startSpan('still on');
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(posts).toEqual([]); // batched, not sent yet
    await b.shutdown();
    expect(posts).toEqual(['POST /v1/traces']);
    await new Promise((resolve) => collector.close(resolve));
  });

  it('shutdown does not fail when the collector is down', async () => {
    const tracing = await setupTracing({
      serviceName: 'down',
      config: readTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' }),
    });
    await expect(tracing.shutdown()).resolves.toBeUndefined(); // nothing buffered: nothing to send
  });

  it('on: a server span per request under the caller traceparent, active in the handler, forwarded onwards', async () => {
    const exporter = await memorySpanExporter();
    const tracing = await setupTracing({ serviceName: 'inventory', config: undefined, exporter });
    const app = Fastify({ genReqId: () => 'req-7' });
    traceRequests(app, tracing);
    app.post('/graphql', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      // After an await, so the context must have been carried by the context manager, not left over.
      // A span started here without a parent given, as resolvers and SQL statements start theirs.
      tracing.tracer.startSpan('resolver').end();
      return { active: trace.getSpan(context.active())?.spanContext(), forwarded: forwardedHeaders() };
    });
    app.get('/health', async () => ({ active: trace.getActiveSpan() !== undefined }));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const body = (
      await app.inject({ method: 'POST', url: '/graphql', payload: { operationName: 'Stock' }, headers: { traceparent } })
    ).json();
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ active: false });

    const [child, span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toHaveLength(0);
    expect(child!.name).toBe('resolver');
    expect(span!.kind).toBe(SpanKind.SERVER);
    expect(span!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span!.resource.attributes['service.name']).toBe('inventory');
    expect(span!.attributes).toMatchObject({ 'graphql.operation.name': 'Stock', 'http.request.id': 'req-7', 'service.name': 'inventory' });
    // The context active in the handler holds the server span itself: the caller's trace, this span's id.
    expect(body.active).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: span!.spanContext().spanId });
    expect(body.forwarded).toEqual({
      traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${span!.spanContext().spanId}-01`,
      'x-request-id': 'req-7',
    });
    expect(propagation.fields()).toContain('traceparent');
    // The span started in the handler is the server span's child, in the caller's trace.
    expect(child!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child!.parentSpanContext?.spanId).toBe(span!.spanContext().spanId);
    await app.close();
    await tracing.shutdown();
  });
});
