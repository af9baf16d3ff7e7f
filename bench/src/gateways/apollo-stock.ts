/**
 * Child process: a stock @apollo/gateway + @apollo/server set up the way Apollo's docs show —
 * static supergraph SDL, RemoteGraphQLDataSource with its default fetcher, startStandaloneServer.
 * The only additions: subgraph URLs from the environment (the supergraph's join__graph URLs point
 * at localhost:400N) and identity (peer-identity.ts), which the subgraphs need for signed-in
 * operations.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { Viewer } from '@shop/platform';
import type { SubgraphName } from '@shop/registry';
import { createVerifier, identityHeaders, readPeerConfig } from './peer-identity.ts';

interface Context {
  viewer: Viewer | null;
}

const config = readPeerConfig(process.env);
const verify = createVerifier(config.jwksUrl);

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(config.supergraphPath, 'utf8'),
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource<Context>({
      url: config.subgraphUrls[name as SubgraphName] ?? url,
      willSendRequest({ request, context }) {
        for (const [header, value] of Object.entries(identityHeaders(context.viewer ?? null, config.routerSecret))) {
          request.http!.headers.set(header, value);
        }
      },
    }),
});

const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: config.port, host: '127.0.0.1' },
  context: async ({ req }) => ({ viewer: await verify(req.headers.authorization) }),
});
process.send?.({ type: 'ready', url });
process.on('disconnect', () => process.exit(0));
