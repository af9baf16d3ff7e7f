import { readFileSync } from 'node:fs';
import { readConfig, subgraphEnvName } from '../../src/config.ts';
import { subgraphsOf } from '../../src/supergraph.ts';

/** `<NAME>_URL` for every subgraph of the committed supergraph, all pointing at `url` (one fake answering for all). */
export function everySubgraphAt(url: string): Record<string, string> {
  const sdl = readFileSync(readConfig({}).supergraphPath, 'utf8');
  return Object.fromEntries(subgraphsOf(sdl).map(({ name }) => [`${subgraphEnvName(name)}_URL`, url]));
}
