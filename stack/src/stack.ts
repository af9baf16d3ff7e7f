import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { callsOf, databaseUrlVar, subgraph, SUBGRAPH_NAMES, SUBGRAPHS, urlVar, type SubgraphName } from '@shop/registry';
import { buildServer as buildPaymentSandbox, readConfig as readSandboxConfig } from '@shop/payment-sandbox';
import { buildRouter, type Router } from '@shop/router';
import { readConfig as readRouterConfig } from '@shop/router/config';
import type { Env } from '@shop/platform';
import { FULL_SEED, openPglite, type SeedSize } from '@shop/subgraph-kit';

export interface StackOptions {
  /** The environment to configure every service from (process.env for `npm start`). */
  env: Env;
  /** Router port; subgraphs use their registry ports (4001–4005). Pass 0 to put everything on free ports (tests). */
  routerPort?: number;
  freePorts?: boolean;
  seedSize?: SeedSize;
  /** Called as each part comes up, for start-up progress. */
  onProgress?: (message: string) => void;
}

export interface Stack {
  routerUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** The payment provider orders uses: the sandbox this stack started, or PAYMENT_PROVIDER_URL as given. */
  paymentProviderUrl: string;
  /** The payment sandbox, when this stack started it (PAYMENT_PROVIDER_URL unset). */
  paymentSandbox: FastifyInstance | undefined;
  router: Router;
  subgraphs: Record<SubgraphName, FastifyInstance>;
  /** Stops one subgraph (its port refuses connections) — for fault tests. */
  stop(name: SubgraphName): Promise<void>;
  /** Starts a stopped subgraph again on the same port, on the same storage. */
  start(name: SubgraphName): Promise<void>;
  /** Marks the router not ready (`/ready` answers 503) while everything keeps serving. */
  beginShutdown(): void;
  /** The router's SHUTDOWN_DELAY_MS and DRAIN_TIMEOUT_MS, which govern stopping the whole stack. */
  shutdownDelayMs: number;
  drainTimeoutMs: number;
  /** Cuts every open connection to the router and the subgraphs (a drain that ran out of time). */
  closeAllConnections(): void;
  /** The router drains and closes first, then the subgraphs in reverse registry order (callers before what they call), then PGlite. */
  close(): Promise<void>;
}

/**
 * What every subgraph package exports (the registry's `package`): `buildServer` from `.` and
 * `readConfig` from `./config`. The stack loads them by name, so a new subgraph needs no line here;
 * the names resolve through the workspace links, which is why stack/package.json does not list them.
 */
export interface SubgraphModule {
  readConfig(env: Env): unknown;
  // `config` is whatever this package's readConfig returned: each package types its own.
  buildServer(options: {
    config: never;
    pglite?: PGlite | undefined;
    seedSize?: SeedSize | undefined;
  }): Promise<FastifyInstance> | FastifyInstance;
}

async function loadSubgraph(name: SubgraphName): Promise<SubgraphModule> {
  const { package: pkg } = subgraph(name);
  const [server, config] = await Promise.all([import(pkg), import(`${pkg}/config`)]);
  const module = { buildServer: server.buildServer, readConfig: config.readConfig };
  if (typeof module.buildServer !== 'function' || typeof module.readConfig !== 'function') {
    throw new Error(`${pkg} must export buildServer (from '${pkg}') and readConfig (from '${pkg}/config')`);
  }
  return module as SubgraphModule;
}

const build = (module: SubgraphModule, env: Env, pglite: PGlite | undefined, seedSize: SeedSize) =>
  module.buildServer({ config: module.readConfig(env) as never, pglite, seedSize });

/**
 * The whole supergraph in one process. Subgraphs without a `<NAME>_DATABASE_URL` share ONE
 * embedded PGlite (each keeps its tables in its own Postgres schema): a PGlite instance costs
 * about 0.7 GB, so five would not fit the 1.5 GB budget. Each subgraph still listens on its own
 * port and the router reaches them over HTTP exactly as in a split deployment.
 */
export async function startStack({
  env,
  routerPort = 4000,
  freePorts = false,
  seedSize = FULL_SEED,
  onProgress = () => {},
}: StackOptions): Promise<Stack> {
  // Subgraphs believe identity headers only with this secret; generated when none is configured.
  const routerSecret = env.ROUTER_SECRET || randomBytes(24).toString('base64url');
  const needsPglite = SUBGRAPH_NAMES.some((name) => !env[databaseUrlVar(name)]);
  const loaded = await Promise.all(SUBGRAPH_NAMES.map(async (name) => [name, await loadSubgraph(name)] as const));
  const modules = Object.fromEntries(loaded) as Record<SubgraphName, SubgraphModule>;
  let pglite: PGlite | undefined;
  if (needsPglite) {
    onProgress(`opening embedded Postgres (PGlite)${env.PGLITE_DATA_DIR ? ` in ${env.PGLITE_DATA_DIR}` : ' in memory'}`);
    pglite = await openPglite(env.PGLITE_DATA_DIR);
  }
  const subgraphs = {} as Record<SubgraphName, FastifyInstance>;
  const subgraphUrls = {} as Record<SubgraphName, string>;
  const subgraphEnvs = {} as Record<SubgraphName, Env>;
  const stopped = new Set<SubgraphName>();
  let paymentSandbox: FastifyInstance | undefined;
  try {
    // A real provider when PAYMENT_PROVIDER_URL names one; otherwise the sandbox (port 4010), so
    // checkout works with nothing installed.
    let paymentProviderUrl = env.PAYMENT_PROVIDER_URL;
    if (!paymentProviderUrl) {
      const sandboxConfig = readSandboxConfig({ ...env, PORT: freePorts ? '0' : env.PAYMENT_SANDBOX_PORT });
      paymentSandbox = await buildPaymentSandbox({ config: sandboxConfig });
      await paymentSandbox.listen({ port: sandboxConfig.port, host: '127.0.0.1' });
      paymentProviderUrl = `http://127.0.0.1:${(paymentSandbox.server.address() as AddressInfo).port}`;
      onProgress(`payment sandbox at ${paymentProviderUrl}`);
    }
    for (const { name, port: defaultPort } of SUBGRAPHS) {
      const subgraphEnv: Env = {
        ...env,
        PORT: String(freePorts ? 0 : defaultPort),
        ROUTER_SECRET: routerSecret,
        PAYMENT_PROVIDER_URL: paymentProviderUrl,
        // The siblings it calls directly (orders: pricing and inventory at checkout) come earlier
        // in the registry, so they already listen here.
        ...Object.fromEntries(callsOf(name).map((sibling) => [urlVar(sibling), subgraphUrls[sibling]])),
      };
      const app = await build(modules[name], subgraphEnv, pglite, seedSize);
      subgraphs[name] = app;
      await app.listen({ port: freePorts ? 0 : defaultPort, host: '127.0.0.1' });
      const port = (app.server.address() as AddressInfo).port;
      subgraphUrls[name] = `http://127.0.0.1:${port}/graphql`;
      subgraphEnvs[name] = { ...subgraphEnv, PORT: String(port), SEED: 'false' };
      onProgress(`${name} subgraph at ${subgraphUrls[name]}`);
    }
    const routerEnv: Env = {
      ...env,
      PORT: String(freePorts ? 0 : routerPort),
      ROUTER_SECRET: routerSecret,
      ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [urlVar(name), subgraphUrls[name]])),
    };
    const routerConfig = readRouterConfig(routerEnv);
    const router = await buildRouter({ config: routerConfig });
    await router.app.listen({ port: routerConfig.port, host: routerConfig.host });
    const port = (router.app.server.address() as AddressInfo).port;
    const routerUrl = `http://${freePorts ? '127.0.0.1' : 'localhost'}:${port}/graphql`;
    return {
      routerUrl,
      subgraphUrls,
      paymentProviderUrl,
      paymentSandbox,
      router,
      subgraphs,
      async stop(name) {
        if (stopped.has(name)) return;
        stopped.add(name);
        await subgraphs[name].close();
      },
      async start(name) {
        if (!stopped.has(name)) return;
        const env = subgraphEnvs[name];
        const app = await build(modules[name], env, pglite, seedSize);
        await app.listen({ port: Number(env.PORT), host: '127.0.0.1' });
        subgraphs[name] = app;
        stopped.delete(name);
      },
      beginShutdown() {
        router.beginShutdown();
      },
      shutdownDelayMs: routerConfig.shutdownDelayMs,
      drainTimeoutMs: routerConfig.drainTimeoutMs,
      closeAllConnections() {
        router.app.server.closeAllConnections();
        for (const app of Object.values(subgraphs)) app.server.closeAllConnections();
      },
      async close() {
        await router.close();
        for (const name of [...SUBGRAPH_NAMES].reverse()) if (!stopped.has(name)) await subgraphs[name].close();
        await paymentSandbox?.close();
        await pglite?.close();
      },
    };
  } catch (error) {
    for (const app of Object.values(subgraphs)) await app.close().catch(() => {});
    await paymentSandbox?.close().catch(() => {});
    await pglite?.close().catch(() => {});
    throw error;
  }
}
