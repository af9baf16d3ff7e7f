/**
 * Child process: Hive Gateway (@graphql-hive/gateway's createGatewayRuntime) on the same static
 * supergraph, served by Node's http.createServer. Defaults otherwise; subgraph URLs come from the
 * environment (transportEntries overrides by subgraph name) and identity is handled as for the
 * stock Apollo gateway (peer-identity.ts): the JWT verified once per request, identity headers
 * plus the router secret sent with every subgraph fetch. With HIVE_ROUTER_RUNTIME=true, the same
 * gateway plans with Hive Router's Rust query planner (@graphql-hive/router-runtime's
 * unifiedGraphHandler, as The Guild's docs configure it) instead of its default stitching runtime.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import type { Viewer } from '@shop/platform';
import { SUBGRAPH_NAMES } from '@shop/registry';
import { createVerifier, identityHeaders, readPeerConfig } from './peer-identity.ts';

const config = readPeerConfig(process.env);
const verify = createVerifier(config.jwksUrl);
// One verification per client request, however many subgraph fetches its plan makes.
const viewers = new WeakMap<Request, Promise<Viewer | null>>();
const viewerOf = (request: Request) => {
  let viewer = viewers.get(request);
  if (!viewer) viewers.set(request, (viewer = verify(request.headers.get('authorization'))));
  return viewer;
};

// Loaded only when asked for: the native addon is not needed by the default runtime.
const rustPlanner =
  process.env.HIVE_ROUTER_RUNTIME === 'true'
    ? { unifiedGraphHandler: (await import('@graphql-hive/router-runtime')).unifiedGraphHandler }
    : {};

const gateway = createGatewayRuntime({
  ...rustPlanner,
  supergraph: readFileSync(config.supergraphPath, 'utf8'),
  transportEntries: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, { location: config.subgraphUrls[name] }])),
  propagateHeaders: {
    fromClientToSubgraphs: async ({ request }) => identityHeaders(await viewerOf(request), config.routerSecret),
  },
  logging: 'error',
  graphiql: false,
  landingPage: false,
});

const server = createServer(gateway);
server.listen(config.port, '127.0.0.1', () => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
