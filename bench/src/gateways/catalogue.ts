/**
 * The gateways the comparison runs, and how one is started: its own child process on a free port,
 * pointed at the subgraphs through the same variables our router reads, pinned to the gateway CPU.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort } from '@shop/platform/testing';
import { ROOT, ROUTER_NODE_FLAGS, spawnNode, spawnTs, type SubgraphUrls, waitForGateway } from '../processes.ts';
import { subgraphUrlEnv } from '@shop/registry';

export const GATEWAYS = {
  // Cache off and no in-flight sharing either: the pipeline alone against the stock gateway's.
  'router-nodedup': {
    label: 'this router (cache off, no dedup)',
    entry: 'router/src/index.ts',
    env: { ROUTER_CACHE: 'false', REQUEST_DEDUP: 'false', SUBGRAPH_DEDUP: 'false' },
    nodeFlags: ROUTER_NODE_FLAGS,
  },
  router: { label: 'this router (cache off)', entry: 'router/src/index.ts', env: { ROUTER_CACHE: 'false' }, nodeFlags: ROUTER_NODE_FLAGS },
  'router-cache': {
    label: 'this router (cache on)',
    entry: 'router/src/index.ts',
    env: { ROUTER_CACHE: 'true' },
    nodeFlags: ROUTER_NODE_FLAGS,
  },
  apollo: {
    label: 'stock @apollo/gateway',
    entry: 'bench/src/gateways/apollo-stock.ts',
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
    nodeFlags: [],
  },
  hive: { label: 'Hive Gateway', entry: 'bench/src/gateways/hive.ts', env: {}, nodeFlags: [] },
  'hive-rust': {
    label: 'Hive Gateway (Rust planner)',
    entry: 'bench/src/gateways/hive.ts',
    env: { HIVE_ROUTER_RUNTIME: 'true' },
    nodeFlags: [],
  },
} as const;
export type GatewayId = keyof typeof GATEWAYS;
export const GATEWAY_IDS = Object.keys(GATEWAYS) as GatewayId[];

export interface RunningGateway {
  child: ChildProcess;
  url: string;
}

/** Our router's built entry (`npm run build`), which the production topology runs as the image does. */
const BUILT: Partial<Record<string, string>> = { 'router/src/index.ts': 'router/dist/index.js' };

/**
 * Starts one gateway and resolves once it answers `{ __typename }`. `built`: our router from its
 * build output rather than its source (the peers are bench files, always run through tsx);
 * `env`: more variables (REDIS_URL, CACHE_KEY_PREFIX); `nodeFlags`: more flags for node (`--cpu-prof`).
 */
export async function startGateway(
  id: GatewayId,
  subgraphUrls: SubgraphUrls,
  routerSecret: string,
  cpus: string | undefined,
  options: { built?: boolean; env?: NodeJS.ProcessEnv; nodeFlags?: readonly string[] } = {},
): Promise<RunningGateway> {
  const gateway = GATEWAYS[id];
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...subgraphUrlEnv(subgraphUrls),
    PORT: String(port),
    HOST: '127.0.0.1',
    ROUTER_SECRET: routerSecret,
    RATE_LIMIT: 'false',
    NODE_ENV: 'production',
    LOG_LEVEL: 'error',
    SUPERGRAPH_PATH: `${ROOT}schema/supergraph.graphql`,
    ...gateway.env,
    ...options.env,
  };
  const built = options.built ? BUILT[gateway.entry] : undefined;
  const nodeFlags = [...gateway.nodeFlags, ...(options.nodeFlags ?? [])];
  const child = built ? spawnNode([...nodeFlags, built], env, cpus) : spawnTs(gateway.entry, env, cpus, nodeFlags);
  const url = `http://127.0.0.1:${port}/graphql`;
  await waitForGateway(url, child);
  return { child, url };
}
