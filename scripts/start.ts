/**
 * `npm start`: the whole supergraph on embedded defaults, seeded, in one process.
 * Data lives in .data/pglite so later starts skip seeding.
 */
import { mkdirSync } from 'node:fs';
import { startStack } from '@shop/stack';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const env = { ...process.env };
env.PGLITE_DATA_DIR ??= '.data/pglite';
mkdirSync(env.PGLITE_DATA_DIR, { recursive: true });

const stack = await startStack({ env, routerPort: Number(env.PORT ?? 4000), onProgress: (m) => console.log(`[${elapsed()}] ${m}`) });
console.log(`\nShop supergraph ready in ${elapsed()}: ${stack.routerUrl}`);
console.log('Try: curl -s localhost:4000/graphql -H "content-type: application/json" -d \'{"query":"{ products(first: 3) { edges { node { name price(region: US) { amount currency } } } } }"}\'');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    stack.close().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
  });
}
