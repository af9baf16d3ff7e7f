/**
 * The subgraph registry and what every copy of "the five subgraphs" is derived from: names, local
 * ports and URLs, env-var names, schema paths. No runtime dependencies, so anything may import it.
 */
import { SUBGRAPH_ENTRIES, type SubgraphEntry } from './subgraphs.ts';

export type { SubgraphEntry } from './subgraphs.ts';

/** Every subgraph, in supergraph order. */
export const SUBGRAPHS = SUBGRAPH_ENTRIES;
export type Subgraph = (typeof SUBGRAPHS)[number];
export type SubgraphName = Subgraph['name'];

type Names<T extends readonly { name: string }[]> = { readonly [K in keyof T]: T[K] extends { name: infer N } ? N : never };
/** The names, in supergraph order (a tuple of literals). */
export const SUBGRAPH_NAMES = SUBGRAPHS.map((s) => s.name) as unknown as Names<typeof SUBGRAPHS>;

// A sibling in `calls` must be a registered name: checked here at compile time, and at import time
// that it comes earlier in the list (the stack starts subgraphs in order and passes the callers' URLs).
type CalledName = Subgraph['calls'][number];
const callsAreNames: [CalledName] extends [SubgraphName] ? true : never = true;
void callsAreNames;
for (const [index, entry] of SUBGRAPHS.entries()) {
  for (const sibling of entry.calls as readonly string[]) {
    const at = SUBGRAPHS.findIndex((s) => s.name === sibling);
    if (at < 0 || at >= index) throw new Error(`registry: ${entry.name} calls ${sibling}, which must be listed before it`);
  }
}

export const isSubgraphName = (name: string): name is SubgraphName => SUBGRAPHS.some((s) => s.name === name);

/** The registry entry of one subgraph. */
export function subgraph<N extends SubgraphName>(name: N): Extract<Subgraph, { name: N }> {
  const entry = SUBGRAPHS.find((s) => s.name === name);
  if (!entry) throw new Error(`unknown subgraph "${name}"`);
  return entry as Extract<Subgraph, { name: N }>;
}

/** The siblings a subgraph calls directly. */
export const callsOf = (name: SubgraphName): readonly SubgraphName[] => (subgraph(name) as SubgraphEntry).calls as readonly SubgraphName[];

/** `products` → `PRODUCTS_URL`: where the router (and a calling sibling) reaches it. */
export const urlVar = <N extends SubgraphName>(name: N) => `${name.toUpperCase() as Uppercase<N>}_URL` as const;

/** `products` → `PRODUCTS_DATABASE_URL`: its Postgres; unset → embedded PGlite. */
export const databaseUrlVar = <N extends SubgraphName>(name: N) => `${name.toUpperCase() as Uppercase<N>}_DATABASE_URL` as const;

/** `products` → `http://localhost:4001/graphql`: the local default, and the routing URL in the composed supergraph. */
export const localUrl = (name: SubgraphName): string => `http://localhost:${subgraph(name).port}/graphql`;

/** `products` → `subgraphs/products/src/schema.graphql`, relative to the repository root. */
export const schemaPath = (name: SubgraphName): string => `subgraphs/${name}/src/schema.graphql`;

/** Every subgraph's `<NAME>_URL` variable set to its URL: how a router (ours or a peer) is pointed at running subgraphs. */
export const subgraphUrlEnv = (urls: Readonly<Record<SubgraphName, string>>): Record<string, string> =>
  Object.fromEntries(SUBGRAPH_NAMES.map((name) => [urlVar(name), urls[name]]));
