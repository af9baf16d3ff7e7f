import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';

// The gateway's request and response types for one subgraph fetch, without depending on the
// package that declares them. A leaf: the caches, fetch sharing and the data source all use them.
export type GatewayGraphQLRequest = GraphQLDataSourceProcessOptions['request'];
export type GatewayGraphQLResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;
