import { buildSubgraphSchema } from '@apollo/subgraph';
import type { FastifyInstance } from 'fastify';
import { parse } from 'graphql';
import { createLogger, type ListenerTimeouts, readCacheHints, requireViewer, type Viewer } from '@shop/platform';
import { createServiceMetrics } from '../src/metrics.ts';
import { createSubgraphServer } from '../src/server.ts';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    me: String
    hello: String
  }
`);

/** A storage-free subgraph on the real server shell: `me` answers the believed viewer's id. */
export function tinySubgraph(options: {
  routerSecret?: string | undefined;
  production?: boolean;
  listener?: ListenerTimeouts;
}): Promise<FastifyInstance> {
  const schema = buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Query: {
        me: (_parent: unknown, _args: unknown, context: unknown) => requireViewer((context as { viewer: Viewer | null }).viewer).userId,
        hello: () => 'hi',
      },
    },
  });
  return createSubgraphServer({
    name: 'tiny',
    schema,
    metrics: createServiceMetrics('tiny', { defaults: false }),
    logger: createLogger('tiny', 'fatal'),
    routerSecret: options.routerSecret,
    production: options.production ?? false,
    context: (viewer) => ({ viewer }),
    cacheHints: readCacheHints(typeDefs),
    listener: options.listener,
  });
}
