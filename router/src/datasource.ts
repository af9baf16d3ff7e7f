import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { IDENTITY_HEADERS } from '@shop/service-kit';
import type { RouterContext } from './context.ts';
import type { RouterMetrics } from './metrics.ts';

/**
 * One per subgraph. Sends only the identity the router verified (never headers a client sent),
 * plus the shared secret that lets the subgraph believe it, and records fetch metrics.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    fetcher: Fetcher,
    private readonly routerSecret: string | undefined,
    private readonly metrics: RouterMetrics,
  ) {
    super({ url, fetcher });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = request.http!.headers;
    if (this.routerSecret) headers.set(IDENTITY_HEADERS.routerSecret, this.routerSecret);
    const viewer = 'viewer' in context ? context.viewer : null;
    if (viewer) {
      headers.set(IDENTITY_HEADERS.userId, viewer.userId);
      headers.set(IDENTITY_HEADERS.scopes, viewer.scopes.join(' '));
    }
    if ('requestId' in context && context.requestId) headers.set('x-request-id', context.requestId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<RouterContext>) {
    const stop = this.metrics.subgraphFetchDuration.startTimer({ subgraph: this.subgraph });
    try {
      const response = await super.process(options);
      this.metrics.subgraphFetches.inc({ subgraph: this.subgraph, outcome: response.errors?.length ? 'errors' : 'ok' });
      return response;
    } catch (error) {
      this.metrics.subgraphFetches.inc({ subgraph: this.subgraph, outcome: 'failed' });
      throw error;
    } finally {
      stop();
    }
  }
}
