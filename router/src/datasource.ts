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
 *
 * That step is this class's own, not the gateway's `process`: that one builds a node-fetch
 * `Headers` and a node-fetch `Request` for every fetch (the latter only for error hooks this router
 * does not override), then copies the headers out again for the fetcher: about 3% of the router's
 * CPU on a product page by `npm run bench:profile`. The body, errors and result are the gateway's:
 * the request as JSON, `errorFromResponse` for a status outside 2xx, `parseBody`, and the HTTP
 * response beside the body (`response.http`).
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
    this.run = fetchChain(stages, (call) => this.send(call));
  }

  override async process(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    return (await this.run(this.callOf(options))).response;
  }

  /** The innermost step: one HTTP request, for the call's request (a stage may have narrowed it). */
  private async send(call: FetchCall) {
    const { http: _http, ...request } = call.request;
    if (!request.query) throw new Error('Missing query');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const setter = { set: (name: string, value: string) => void (headers[name.toLowerCase()] = value) };
    for (const stage of this.stages) stage.headers?.(setter, call);
    const http = await this.fetcher(this.url!, { method: 'POST', headers, body: JSON.stringify(request) });
    if (!http.ok) throw await this.errorFromResponse(http);
    const body = await this.parseBody(http);
    if (typeof body !== 'object' || body === null) throw new Error(`Expected JSON response body, but received: ${body}`);
    const response = { ...body, http } as GatewayResponse;
    return { response, cacheControl: http.headers.get('cache-control') };
  }

  private callOf(options: GraphQLDataSourceProcessOptions<RouterContext>): FetchCall {
    // Health checks and schema loads carry no incoming request (the gateway does not export the kind enum).
    const incoming = 'incomingRequestContext' in options;
    return {
      subgraph: this.subgraph,
      request: options.request,
      document: 'document' in options ? options.document : undefined,
      context: incoming ? options.context : undefined,
      operation: operationKind(options),
    };
  }
}

type GatewayResponse = Awaited<ReturnType<RemoteGraphQLDataSource<RouterContext>['process']>>;

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
