import { readConfig } from './config.ts';
import { buildServer } from './server.ts';

const config = readConfig(process.env);
const app = await buildServer({ config });
await app.listen({ port: config.port, host: config.host });
