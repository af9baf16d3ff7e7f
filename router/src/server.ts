import { ApolloGateway } from '@apollo/gateway';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createLogger, setupTracing, type Logger, type SpanExporter, type Tracing } from '@shop/platform';
import { createApolloServer } from './apollo.ts';
import { openEventStream } from '@shop/events';
import { createTokenVerifier } from './auth.ts';
import { ResponseCachePolicy } from './cache/policy.ts';
import type { RouterCache } from './cache/router-cache.ts';
import { CLIENT_NAME_HEADER, clientName } from './client-name.ts';
import type { RouterConfig } from './config.ts';
import type { RouterContext } from './context.ts';
import { SubgraphDataSource } from './datasource.ts';
import { createHttpApp } from './http.ts';
import { createRouterMetrics, type RouterMetrics } from './metrics.ts';
import { installOperationCache } from './operation-cache.ts';
import { installResultShaping } from './result-shaping.ts';
import { PIPELINE } from './pipeline.ts';
import { viewerPerRequest } from './rate-limit.ts';
import { readiness } from './readiness.ts';
import { Signal, type FetchStage, type RouterParts, type Stage } from './stages/stage.ts';
import { createSubgraphClients } from './subgraph-clients.ts';
import { fileSupergraph } from './supergraph.ts';

export interface BuildRouterOptions {
  config: RouterConfig;
  logger?: Logger;
  /** Tests: trace to this exporter (turns tracing on whatever the configuration says). */
  spanExporter?: SpanExporter | undefined;
}

export interface Router {
  app: FastifyInstance;
  metrics: RouterMetrics;
  /** The entity cache, when ROUTER_CACHE is on. */
  cache: RouterCache | undefined;
  logger: Logger;
  /** OpenTelemetry tracing (`enabled: false` unless configured); close() flushes it. */
  tracing: Tracing;
  /** Marks the router not ready (`/ready` answers 503) while it keeps serving; close() does it too. */
  beginShutdown(): void;
  /** Stops accepting, lets in-flight requests finish, then closes the gateway and connections. */
  close(): Promise<void>;
}

/** The router: the stages of pipeline.ts assembled on one Fastify app, one Apollo Server and one gateway. */
export async function buildRouter({ config, logger, spanExporter }: BuildRouterOptions): Promise<Router> {
  const log = logger ?? createLogger('router', config.logLevel);
  const metrics = createRouterMetrics();
  const verifyToken = createTokenVerifier(config.jwksUrl);
  const parts: RouterParts = {
    config,
    log,
    metrics,
    // The router's provider is the process's global one, so @apollo/gateway's own spans are reported.
    tracing: await setupTracing({ serviceName: 'router', config: config.tracing, exporter: spanExporter, global: true }),
    // One JWT check per request, shared by the rate limit's key and the GraphQL context.
    viewerOf: viewerPerRequest(async (authorization) => (await verifyToken(authorization))?.viewer ?? null),
    verifyToken,
    // The caches' invalidations and the subscriptions' events (NATS_URL: JetStream, else in-process).
    // Opened at build time: a configured NATS that cannot be reached fails the start, as Postgres
    // does for a subgraph.
    stream:
      config.routerCache || config.subscriptions.enabled
        ? await openEventStream({ ...config.events, logger: log, metrics: metrics.events })
        : undefined,
    subgraphClients: createSubgraphClients(config, metrics),
    signals: { invalidated: new Signal(), schemaChanged: new Signal<string>(), documentsChanged: new Signal() },
  };
  const stages: Stage[] = [];
  for (const factory of PIPELINE) {
    const stage = await factory(parts);
    if (stage) stages.push(stage);
  }
  const fetchStages = stages.map((stage) => stage.fetch).filter((fetch): fetch is FetchStage => fetch !== undefined);

  // The gateway reads this switch from the environment only, in its constructor.
  if (!config.apolloTelemetry) process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  // The compiled result shaping keys its plans on the operations the cache keeps, so it needs the cache.
  if (!installOperationCache()) log.warn("the gateway builds each request's operation again (operation cache not installed)");
  else if (!installResultShaping()) log.warn('the gateway shapes responses with its own walk (compiled result shaping not installed)');
  const gateway = new ApolloGateway({
    supergraphSdl: fileSupergraph(config.supergraphPath, log, () => metrics.supergraphLoads.inc()),
    // Each subgraph at its supergraph URL unless `<NAME>_URL` overrides it, so one artifact serves every environment.
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        subgraph: name,
        url: config.subgraphUrl(name, url!),
        fetcher: parts.subgraphClients.fetcherFor(name),
        stages: fetchStages,
      }),
    logger: log,
  });

  const app = createHttpApp(config, log);
  const ready = readiness(app, config);
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    ready.supergraphLoaded(coreSupergraphSdl);
    void parts.signals.schemaChanged.emit(coreSupergraphSdl); // a new supergraph may remove what stored responses show
  });
  for (const stage of stages) await stage.fastify?.(app);
  const server = createApolloServer(gateway, stages, config);
  await server.start();
  parts.execute = async (request, contextValue) => {
    const response = await server.executeOperation(request, { contextValue });
    if (response.body.kind !== 'single')
      return { errors: [{ message: 'Incremental delivery is not served to subscriptions', extensions: { code: 'BAD_REQUEST' } }] };
    return response.body.singleResult;
  };

  const hooks = <K extends 'preValidation' | 'preHandler' | 'onSend'>(kind: K) =>
    stages.map((stage) => stage[kind]).filter((hook): hook is NonNullable<Stage[K]> => hook !== undefined);
  app.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/graphql',
    preValidation: hooks('preValidation'),
    preHandler: hooks('preHandler'),
    onSend: hooks('onSend'),
    handler: fastifyApolloHandler(server, { context: (request) => contextOf(request, stages) }),
  });

  return {
    app,
    metrics,
    cache: parts.entityCache,
    logger: log,
    tracing: parts.tracing,
    beginShutdown: () => ready.beginShutdown(),
    async close() {
      ready.beginShutdown();
      for (const stage of stages) await stage.beforeClose?.();
      // Fastify first: it stops accepting and waits for in-flight requests (index.ts bounds that
      // with DRAIN_TIMEOUT_MS). Then Apollo: stopping it stops the gateway, its supergraph watcher
      // and its document and query-plan caches, which otherwise stay reachable after close.
      await app.close();
      await server.stop();
      await parts.subgraphClients.close();
      for (const stage of [...stages].reverse()) await stage.close?.();
      await parts.stream?.close();
      await parts.tracing.shutdown();
    },
  };
}

/** A request's GraphQL context: what every request has, then each stage's fields in pipeline order. */
async function contextOf(request: FastifyRequest, stages: readonly Stage[]): Promise<RouterContext> {
  const context: RouterContext = {
    viewer: null,
    requestId: request.id,
    clientIp: request.ip,
    clientName: clientName(request.headers[CLIENT_NAME_HEADER]),
    cachePolicy: new ResponseCachePolicy(),
  };
  for (const stage of stages) if (stage.context) Object.assign(context, await stage.context(request));
  return context;
}
