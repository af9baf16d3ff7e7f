import { serveSubgraph } from '@shop/subgraph-kit';
import { readConfig } from './config.ts';
import { buildServer } from './server.ts';

const config = readConfig(process.env);
await serveSubgraph(await buildServer({ config }), config);
