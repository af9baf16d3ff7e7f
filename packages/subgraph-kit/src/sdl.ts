import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';

/** Reads a subgraph's `schema.graphql` once at start-up. */
export function loadSdl(file: URL): { sdl: string; typeDefs: DocumentNode } {
  const sdl = readFileSync(file, 'utf8');
  return { sdl, typeDefs: parse(sdl) };
}

/** Money is a decimal string with two places: amounts never pass through a float. */
export function formatAmount(amount: string | number | bigint): string {
  const text = String(amount);
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`not a decimal amount: ${text}`);
  const [whole, frac = ''] = text.split('.');
  return `${whole}.${(frac + '00').slice(0, 2)}`;
}
