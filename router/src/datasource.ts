import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { Kind } from 'graphql';
import type { RouterContext } from './context.ts';
import { fetchChain, type FetchCall, type FetchNext, type FetchStage } from './stages/stage.ts';

export interface SubgraphDataSourceOptions {
  subgraph: string;
  url: string;
  fetcher: Fetcher;
  /** The fetch parts of the pipeline's stages, outermost first (pipeline.ts). */
  stages: readonly FetchStage[];
}

/**
 * One per subgraph: turns each gateway fetch into a FetchCall and runs it through the pipeline's
 * fetch chain (caches, sharing, breaker, tracing, metrics: see pipeline.ts), whose innermost step
 * is the HTTP request itself. The stages' `headers` parts set what the subgraph receives.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  private readonly subgraph: string;
  private readonly stages: readonly FetchStage[];
  private readonly run: FetchNext;

  constructor({ subgraph, url, fetcher, stages }: SubgraphDataSourceOptions) {
    // The router computes the client's Cache-Control itself (cache hits included), not the gateway.
    super({ url, fetcher, honorSubgraphCacheControlHeader: false });
    this.subgraph = subgraph;
    this.stages = stages;
    this.run = fetchChain(stages, (call) => this.send(call as GatewayCall));
    // The gateway's sendRequest is private in its typings: replaced on the instance (see below).
    (this as unknown as { sendRequest: typeof sendRequest }).sendRequest = sendRequest;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = options.request.http!.headers;
    const call = this.callOf(options);
    for (const stage of this.stages) stage.headers?.(headers, call);
  }

  override async process(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    return (await this.run(this.callOf(options))).response;
  }

  /** The innermost step: one HTTP request, for the call's request (a stage may have narrowed it). */
  private async send(call: GatewayCall) {
    const response = await super.process({ ...call.options, request: call.request });
    return { response, cacheControl: response.http?.headers.get('cache-control') ?? null };
  }

  private callOf(options: GraphQLDataSourceProcessOptions<RouterContext>): GatewayCall {
    // Health checks and schema loads carry no incoming request (the gateway does not export the kind enum).
    const incoming = 'incomingRequestContext' in options;
    return {
      subgraph: this.subgraph,
      request: options.request,
      document: 'document' in options ? options.document : undefined,
      context: incoming ? options.context : undefined,
      operation: operationKind(options),
      options,
    };
  }
}

type GatewayRequest = GraphQLDataSourceProcessOptions<RouterContext>['request'];
type GatewayResponse = Awaited<ReturnType<RemoteGraphQLDataSource<RouterContext>['process']>>;

/**
 * The gateway's own sendRequest, less the node-fetch `Request` it builds for every fetch only to
 * hand to error hooks this router does not override (about 2% of the router's CPU on a listing,
 * by `npm run bench:profile`). The same body, headers, errors and result otherwise.
 */
async function sendRequest(this: SubgraphDataSource, request: GatewayRequest): Promise<GatewayResponse> {
  const { http, ...withoutHttp } = request;
  if (!http) throw new Error("Internal error: Only 'http' requests are supported.");
  const init = { method: http.method, headers: Object.fromEntries(http.headers), body: JSON.stringify(withoutHttp) };
  const response = await this.fetcher(http.url, init);
  if (!response.ok) throw await this.errorFromResponse(response);
  const body = await this.parseBody(response);
  if (typeof body !== 'object' || body === null) throw new Error(`Expected JSON response body, but received: ${body}`);
  return { ...body, http: response } as GatewayResponse;
}

/** A call as the data source made it: stages derive new ones with `{ ...call, request }`, which keeps the gateway's options. */
interface GatewayCall extends FetchCall {
  options: GraphQLDataSourceProcessOptions<RouterContext>;
}

/**
 * The kind of the one operation the gateway sends in a fetch. Unknown (a document the gateway
 * did not parse for us, or several operations) counts as a mutation: never shared.
 */
function operationKind(options: GraphQLDataSourceProcessOptions<RouterContext>): FetchCall['operation'] {
  const document = 'document' in options ? options.document : undefined;
  if (document) {
    const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    return operations.length === 1 ? operations[0]!.operation : 'unknown';
  }
  const match = /^\s*(query|mutation|subscription)\b|^\s*\{/.exec(options.request.query ?? '');
  return match ? ((match[1] ?? 'query') as FetchCall['operation']) : 'unknown';
}
