import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySpanExporter, type InMemorySpanExporter } from '@shop/platform';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { buildServer as buildProducts } from '@shop/products';
import { readConfig as readProductsConfig } from '@shop/products/config';
import { readConfig } from '../src/config.ts';
import { buildRouter, type Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type ReceivedRequest } from './support/fake-subgraph.ts';
import { TINY_SUPERGRAPH } from './support/tiny-router.ts';

/**
 * Traces across the router and a real subgraph (W3C traceparent in, spans linked router → fetch →
 * subgraph → SQL), the request id in the subgraph's logs, trace context passed on untouched with
 * tracing off, and OTLP export to a collector.
 */

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`;
const SECRET = 'tracing-test-secret';

type Span = ReturnType<InMemorySpanExporter['getFinishedSpans']>[number];
const serviceOf = (span: Span) => span.resource.attributes['service.name'];
const parentOf = (span: Span) => span.parentSpanContext?.spanId;

/** True when `ancestor` is `span`'s parent, grandparent, … among `spans`. */
function descendsFrom(span: Span, ancestor: Span, spans: Span[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (let parent = parentOf(span); parent; parent = byId.get(parent) && parentOf(byId.get(parent)!)) {
    if (parent === ancestor.spanContext().spanId) return true;
  }
  return false;
}

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info', base: { service: 'products' } }, stream) };
}

describe('tracing on: router and a real subgraph', () => {
  let exporter: InMemorySpanExporter;
  let products: FastifyInstance;
  let router: Router;
  const logs = logCapture();

  beforeAll(async () => {
    exporter = await memorySpanExporter();
    products = await buildProducts({
      config: readProductsConfig({
        PORT: '0',
        ROUTER_SECRET: SECRET,
        SUBGRAPH_CACHE: 'false',
        PRODUCTS_DATABASE_URL: process.env.PRODUCTS_DATABASE_URL,
      }),
      seedSize: SMALL_SEED,
      logger: logs.logger,
      spanExporter: exporter,
    });
    await products.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(products.server.address() as AddressInfo).port}/graphql`;
    router = await buildRouter({
      config: readConfig({ PORT: '0', LOG_LEVEL: 'silent', PRODUCTS_URL: url, ROUTER_SECRET: SECRET, ROUTER_CACHE: 'false' }),
      spanExporter: exporter,
    });
  });
  afterAll(async () => {
    await router?.close();
    await products?.close();
  });

  it('continues the caller trace through the router, the subgraph fetch, the subgraph and its SQL', async () => {
    exporter.reset();
    const response = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: 'query ProductName { product(id: "p1") { id name } }', operationName: 'ProductName' },
      headers: {
        'content-type': 'application/json',
        traceparent: TRACEPARENT,
        'x-request-id': 'abc-123',
        'apollographql-client-name': 'web',
      },
    });
    expect(response.json()).toEqual({ data: { product: { id: 'p1', name: expect.any(String) } } });
    await router.tracing.forceFlush();
    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === TRACE_ID);

    const routerSpan = spans.find((span) => span.kind === SpanKind.SERVER && serviceOf(span) === 'router');
    expect(routerSpan).toBeDefined();
    expect(parentOf(routerSpan!)).toBe(CLIENT_SPAN_ID);
    expect(routerSpan!.attributes).toMatchObject({
      'graphql.operation.name': 'ProductName',
      'graphql.client.name': 'web',
      'http.request.id': 'abc-123',
      'http.response.status_code': 200,
    });

    const fetches = spans.filter((span) => span.kind === SpanKind.CLIENT && span.name === 'fetch products');
    expect(fetches).toHaveLength(1);
    const fetch = fetches[0]!;
    expect(fetch.attributes).toMatchObject({ 'shop.subgraph': 'products', 'service.name': 'router' });
    expect(fetch.attributes['graphql.operation.name']).toMatch(/ProductName/);
    expect(descendsFrom(fetch, routerSpan!, spans)).toBe(true);

    // The subgraph received the fetch span's traceparent: its server span is that span's child.
    const subgraphSpan = spans.find((span) => span.kind === SpanKind.SERVER && serviceOf(span) === 'products');
    expect(subgraphSpan).toBeDefined();
    expect(parentOf(subgraphSpan!)).toBe(fetch.spanContext().spanId);
    expect(subgraphSpan!.attributes).toMatchObject({ 'http.request.id': 'abc-123', 'service.name': 'products' });

    // Resolvers ran in the subgraph span's context: SQL spans are its descendants, without SQL text.
    const sql = spans.filter((span) => span.attributes['db.system'] === 'pglite' || span.attributes['db.system'] === 'postgresql');
    expect(sql.length).toBeGreaterThan(0);
    for (const span of sql) {
      expect(descendsFrom(span, subgraphSpan!, spans)).toBe(true);
      expect(Object.keys(span.attributes).sort()).toEqual(['db.operation.name', 'db.system']);
      expect(span.name).toMatch(/^[A-Z]+$/);
    }
  });

  it('logs the router request id and the trace id in the subgraph', async () => {
    const lines = logs.lines.filter((line) => line.reqId === 'abc-123');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.trace_id === TRACE_ID)).toBe(true);
    // An id that is not a plain token is replaced, never logged as given.
    await products.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(logs.lines.some((line) => String(line.reqId).includes('bad id'))).toBe(false);
  });

  it('exposes db_pool_connections and event-loop lag on the subgraph /metrics', async () => {
    const text = (await products.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^db_pool_connections\{state="total",service="products"\} 1$/m);
    expect(text).toMatch(/^db_pool_connections\{state="idle",service="products"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="waiting",service="products"\} \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="products"\} [\d.e+-]+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{service="products"\} [\d.e+-]+$/m);
  });
});

function productsSubgraph(request: ReceivedRequest) {
  const first = Number(/first:(\d+)/.exec(request.query)?.[1] ?? 2);
  return {
    body: {
      data: { products: Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` })) },
    },
  };
}
function pricingSubgraph(request: ReceivedRequest) {
  return { body: { data: { _entities: representationsOf(request).map(() => ({ price: 100 })) } } };
}

async function tinyRouter(env: Record<string, string>, spanExporter?: InMemorySpanExporter) {
  const products = await startFakeSubgraph(productsSubgraph);
  const pricing = await startFakeSubgraph(pricingSubgraph);
  const router = await buildRouter({
    config: readConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      SUPERGRAPH_PATH: TINY_SUPERGRAPH,
      PRODUCTS_URL: products.url,
      PRICING_URL: pricing.url,
      ROUTER_CACHE: 'false',
      ...env,
    }),
    spanExporter,
  });
  return {
    router,
    products,
    pricing,
    post: (query: string, headers: Record<string, string> = {}) =>
      router.app.inject({
        method: 'POST',
        url: '/graphql',
        payload: { query },
        headers: { 'content-type': 'application/json', ...headers },
      }),
    async close() {
      await router.close();
      await products.close();
      await pricing.close();
    },
  };
}

const header = (headers: IncomingHttpHeaders, name: string) => headers[name] as string | undefined;

describe('tracing on: fake subgraphs', () => {
  let stack: Awaited<ReturnType<typeof tinyRouter>>;
  let exporter: InMemorySpanExporter;
  beforeAll(async () => {
    exporter = await memorySpanExporter();
    stack = await tinyRouter({}, exporter);
  });
  afterAll(() => stack?.close());

  it('sends each subgraph the traceparent of its own fetch span, in the caller trace', async () => {
    const response = await stack.post('query Listing { products(first: 2) { id name price } }', { traceparent: TRACEPARENT });
    expect(response.json().errors).toBeUndefined();
    await stack.router.tracing.forceFlush();
    const fetches = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT && span.name.startsWith('fetch '));
    expect(fetches.map((span) => span.attributes['shop.subgraph']).sort()).toEqual(['pricing', 'products']);
    for (const [name, fake] of [
      ['products', stack.products],
      ['pricing', stack.pricing],
    ] as const) {
      const sent = header(fake.requests.at(-1)!.headers, 'traceparent');
      const span = fetches.find((s) => s.attributes['shop.subgraph'] === name)!;
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(sent).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    }
  });

  it('starts a new trace without a traceparent, and marks a failed fetch as an error', async () => {
    exporter.reset();
    stack.pricing.handle(() => {
      throw new Error('pricing broke');
    });
    await stack.post('{ products(first: 1) { id price } }');
    await stack.router.tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.kind === SpanKind.SERVER)!;
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.spanContext().traceId).not.toBe(TRACE_ID);
    const pricingFetch = spans.find((span) => span.name === 'fetch pricing')!;
    expect(pricingFetch.status.code).toBe(2); // SpanStatusCode.ERROR
    stack.pricing.handle(pricingSubgraph);
  });
});

describe('tracing off', () => {
  let stack: Awaited<ReturnType<typeof tinyRouter>>;
  beforeAll(async () => {
    stack = await tinyRouter({});
  });
  afterAll(() => stack?.close());

  it('is off by default', () => {
    expect(stack.router.tracing.enabled).toBe(false);
  });

  it('passes a client traceparent (and tracestate) to every subgraph unchanged', async () => {
    await stack.post('{ products(first: 1) { id price } }', { traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
    for (const fake of [stack.products, stack.pricing]) {
      expect(header(fake.requests.at(-1)!.headers, 'traceparent')).toBe(TRACEPARENT);
      expect(header(fake.requests.at(-1)!.headers, 'tracestate')).toBe('vendor=abc');
    }
  });

  it('sends none without one, and drops a malformed one', async () => {
    await stack.post('{ products(first: 1) { id } }');
    expect(header(stack.products.requests.at(-1)!.headers, 'traceparent')).toBeUndefined();
    await stack.post('{ products(first: 1) { id } }', { traceparent: '00-nothex-00f067aa0ba902b7-01' });
    expect(header(stack.products.requests.at(-1)!.headers, 'traceparent')).toBeUndefined();
  });
});

describe('OTLP export', () => {
  const received: { method: string; url: string; contentType: string | undefined; body: string }[] = [];
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method!,
        url: req.url!,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let stack: Awaited<ReturnType<typeof tinyRouter>>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    stack = await tinyRouter({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_SERVICE_NAME: 'edge-router' });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise((resolve) => collector.close(resolve));
  });

  it('is on when OTEL_EXPORTER_OTLP_ENDPOINT is set, and posts spans to /v1/traces', async () => {
    expect(stack.router.tracing.enabled).toBe(true);
    expect(stack.router.tracing.serviceName).toBe('edge-router');
    await stack.post('query Listing { products(first: 1) { id price } }', { traceparent: TRACEPARENT });
    await stack.router.tracing.forceFlush();
    const posts = received.filter((request) => request.method === 'POST' && request.url === '/v1/traces');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts[0]!.contentType).toMatch(/application\/json/);
    const body = posts.map((post) => post.body).join('\n');
    expect(body).toContain(TRACE_ID);
    expect(body).toContain('edge-router');
    expect(body).toContain('fetch pricing');
  });
});
