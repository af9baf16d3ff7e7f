import { readConfig } from './config.ts';
import { buildRouter } from './server.ts';

const config = readConfig(process.env);
const router = await buildRouter({ config });
await router.app.listen({ port: config.port, host: config.host });
console.log(`Router ready at http://localhost:${config.port}/graphql`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void router.close().then(() => process.exit(0)));
}
