import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);
// graphql 16 ships CJS and ESM builds; Vite would hand our sources the ESM one while Mercurius and
// the Apollo packages load the CJS one, giving two GraphQLError classes. Node (tsx, production)
// resolves the CJS build for both, so tests do the same.
const graphqlEntry = require.resolve('graphql');

/**
 * Projects split by file suffix: `*.test.ts` are unit tests beside each service (in-process,
 * embedded PGlite); `*.redis.test.ts` are unit tests that need REDIS_URL (real-services tier
 * only); `*.e2e.test.ts` start the five subgraphs and the router on free ports and go
 * through the router; `*.redis.e2e.test.ts` need a redis-server binary and run only in the
 * real-services tier. All run on real Postgres/Redis when the URLs are set in the environment.
 */
// Workspace packages export `@shop/source` (their TypeScript) beside `default` (the built `dist/`):
// tests run on the sources, so a stale or missing build can never be what a test exercises.
// The rest are Vitest's own defaults for Node, which a list given here replaces (Vite's server list
// without `module`: Vitest also hands these to Node, which would then load packages' bundler-only builds).
const conditions = ['@shop/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }], conditions },
  ssr: { resolve: { conditions } },
  // Global setup files (e2e/setup/global-setup.ts) run in Vitest's own `__vitest__` environment.
  environments: { __vitest__: { resolve: { conditions } } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,subgraphs,router,schema,deploy}/**/test/**/*.test.ts'],
          exclude: [
            '**/*.e2e.test.ts',
            '**/*.redis.test.ts',
            '**/*.nats.test.ts',
            '**/*.replica.test.ts',
            '**/*.postgres.test.ts',
            '**/node_modules/**',
          ],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Unit tests that need a real Redis (REDIS_URL): real-services tier only. They run after
          // the `unit` files, not beside them: on the shared Postgres of that tier their writes
          // (e.g. a SEA promotion) would otherwise race the unit files' counts.
          name: 'unit-redis',
          include: ['{packages,subgraphs,router,schema}/**/test/**/*.redis.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The same Redis unit tests again, on a real 3-primary Redis Cluster that the global setup
          // starts from redis-server on free ports (REDIS_URL/REDIS_CLUSTER point at it): real-services tier only.
          name: 'unit-redis-cluster',
          include: ['{packages,subgraphs,router,schema}/**/test/**/*.redis.test.ts'],
          globalSetup: ['packages/platform/test/support/redis-cluster.global.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: {
          // Need PostgreSQL itself, not embedded PGlite (PRODUCTS_DATABASE_URL): real-services tier only.
          name: 'unit-postgres',
          include: ['{packages,subgraphs,router,schema}/**/test/**/*.postgres.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Need a real streaming replica of the local PostgreSQL (pg_basebackup into a temporary
          // directory, started on a free port): real-services tier only.
          name: 'unit-replica',
          include: ['{packages,subgraphs,router,schema}/**/test/**/*.replica.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
      {
        extends: true,
        test: {
          // Unit tests that need NATS with JetStream (NATS_URL, or the nats-server binary for a
          // private server): real-services tier only, after the others.
          name: 'unit-nats',
          include: ['{packages,subgraphs,router,schema}/**/test/**/*.nats.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          exclude: ['e2e/**/*.redis.e2e.test.ts', 'e2e/**/*.nats.e2e.test.ts', '**/node_modules/**'],
          globalSetup: ['e2e/setup/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One shared stack; files run one after another so they do not race on its data.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // Needs redis-server (replicas sharing Redis, Redis failing under load): real-services tier only.
          name: 'e2e-redis',
          include: ['e2e/**/*.redis.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // Need nats-server (a private JetStream stopped and restarted under load, a router cut off
          // from the stream) with real Postgres and Redis: real-services tier only. Each file starts
          // its own processes on free ports.
          name: 'e2e-nats',
          include: ['e2e/**/*.nats.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
