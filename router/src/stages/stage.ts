import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import type { OperationPolicy, Logger, Tracing } from '@shop/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DocumentNode, GraphQLFormattedError, ParseOptions, ValidationRule } from 'graphql';
import type { RouterConfig } from '../config.ts';
import type { RouterContext } from '../context.ts';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '../gateway-types.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { SubgraphClients } from '../subgraph-clients.ts';
import type { CredentialLimit, RequestLimit, ViewerOf } from '../rate-limit.ts';
import type { RouterCache } from '../cache/router-cache.ts';
import type { EventStream } from '@shop/events';
import type { TokenVerifier } from '../auth.ts';
import type { ExecuteOperation } from '../subscriptions/manager.ts';

/**
 * One concern of the router (rate limit, a cache, demand control, …) in one small shape. A stage
 * fills in only the parts it needs; pipeline.ts lists the stages, and each kind of part runs in
 * that list's order (Fastify hooks, Apollo plugins, context fields, error formatting, and the
 * around-fetch chain of every subgraph fetch, outside in).
 */
export interface Stage {
  name: string;
  /** App-wide hooks and routes (registered in pipeline order, before the `/graphql` route). */
  fastify?(app: FastifyInstance): void | Promise<void>;
  /** `/graphql` route hooks. A preHandler that answers the request sends the reply and returns it. */
  preValidation?: RouteHook;
  preHandler?: RouteHook;
  onSend?: SendHook;
  /** Fields this stage adds to each request's GraphQL context. */
  context?(request: FastifyRequest): Partial<RouterContext> | Promise<Partial<RouterContext>>;
  apollo?: ApolloPart;
  /** Its part in every subgraph fetch. */
  fetch?: FetchStage;
  /** On shutdown, first of all (pipeline order): long-lived connections end here, so draining does not wait on them. */
  beforeClose?(): void | Promise<void>;
  /** On shutdown, in reverse pipeline order, after the listener and Apollo have stopped. */
  close?(): void | Promise<void>;
}

export type RouteHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export type SendHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

/** What a stage gives Apollo Server. */
export interface ApolloPart {
  plugins?: ApolloServerPlugin<RouterContext>[];
  validationRules?: ValidationRule[];
  parseOptions?: ParseOptions;
  persistedQueries?: ApolloServerOptions<RouterContext>['persistedQueries'];
  /** Chained in pipeline order: each gets what the previous returned. */
  formatError?(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

/** One subgraph fetch as it passes through the fetch chain. */
export interface FetchCall {
  subgraph: string;
  request: GatewayGraphQLRequest;
  /** The parsed operation when the gateway has it (it usually does). */
  document?: DocumentNode | undefined;
  /** The client request's context; undefined for the gateway's own fetches (health checks, schema loads). */
  context: RouterContext | undefined;
  /** The kind of the one operation sent; `unknown` (several, or unparseable) is treated as a mutation. */
  operation: 'query' | 'mutation' | 'subscription' | 'unknown';
}

export interface FetchResult {
  response: GatewayGraphQLResponse;
  /** The subgraph's Cache-Control for this answer (null: none). */
  cacheControl: string | null;
  /** What the client's policy narrows by; unset: what `cacheControl` says (the entity cache sets it for hits). */
  policy?: OperationPolicy | undefined;
  /** True for a caller that joined someone else's identical fetch: the one that sent it stores the answer. */
  shared?: boolean | undefined;
}

export type FetchNext = (call: FetchCall) => Promise<FetchResult>;

/** A stage's part in a subgraph fetch. */
export interface FetchStage {
  /** Wraps the rest of the chain: act before or after `next(call)`, or answer without calling it. */
  around?(call: FetchCall, next: FetchNext): Promise<FetchResult>;
  /** Headers for the request the subgraph receives; called for each request actually sent. */
  headers?(headers: { set(name: string, value: string): unknown }, call: FetchCall): void;
}

/** Runs `call` through `stages` (outermost first) and then `send`. */
export function fetchChain(stages: readonly FetchStage[], send: FetchNext): FetchNext {
  return stages.reduceRight<FetchNext>((next, stage) => (stage.around ? (call) => stage.around!(call, next) : next), send);
}

/** A tiny event: stages that must react to something another stage sees (an invalidation, a new schema) listen here. */
export class Signal<T = void> {
  private readonly listeners: ((value: T) => unknown)[] = [];
  listen(listener: (value: T) => unknown): void {
    this.listeners.push(listener);
  }
  async emit(value: T): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener(value)));
  }
}

/** What every stage factory receives: the configuration and the pieces the router shares between stages. */
export interface RouterParts {
  config: RouterConfig;
  log: Logger;
  metrics: RouterMetrics;
  tracing: Tracing;
  /** The request's verified viewer, checked once per request (rate-limit.ts viewerPerRequest). */
  viewerOf: ViewerOf;
  /** Fetcher and breaker per subgraph, made on first use. */
  subgraphClients: SubgraphClients;
  signals: {
    /** Tags dropped by a write somewhere (the invalidation bus). */
    invalidated: Signal<readonly string[]>;
    /** The gateway loaded a (new) supergraph: its core SDL (the one with `@join__*`). */
    schemaChanged: Signal<string>;
    /** The trusted documents (client manifests) were (re)loaded. */
    documentsChanged: Signal;
  };
  /** Set by the rate-limit stage: counts sign-in and sign-up attempts (read per request). */
  credentialLimit?: CredentialLimit | undefined;
  /** Set by the rate-limit stage: counts a WebSocket subscribe as one request (read per subscribe). */
  requestLimit?: RequestLimit | undefined;
  /** Set by the entity-cache stage, for Router.cache. */
  entityCache?: RouterCache | undefined;
  /** The event stream (JetStream with NATS_URL, else in-process), opened when the entity cache or subscriptions need it. */
  stream?: EventStream | undefined;
  /** Verifies a bearer token and keeps its expiry (subscriptions outlive their request). */
  verifyToken: TokenVerifier;
  /** Runs an operation through Apollo Server; set once the server has started (subscriptions answer events with it). */
  execute?: ExecuteOperation | undefined;
}

/** Makes a stage, or nothing when its configuration turns it off. */
export type StageFactory = (parts: RouterParts) => Stage | undefined | Promise<Stage | undefined>;
