import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';

/** Reads a subgraph's `schema.graphql` once at start-up. */
export function loadSdl(file: URL): { sdl: string; typeDefs: DocumentNode } {
  const sdl = readFileSync(file, 'utf8');
  return { sdl, typeDefs: parse(sdl) };
}
